"""Typed expressions to graphs of :class:`~aelab.backprop.engine.Value` nodes.

An expression is either one formula, ``(w + x*y) * z``, or a sequence of
named steps separated by ``;`` or new lines, ``v = x*y; u = w + v; f = u*z``,
the last of which is the output. Every node gets a readable name: a step's
name, or else the text of its sub-expression.

The text is parsed with :mod:`ast` and only a whitelist of node types is
turned into graph nodes: numbers, names, ``+ - * / **``, unary ``-`` and
``+``, and calls of exp, log, tanh, sigmoid and relu with one argument. Nothing
is ever evaluated by Python itself.
"""

from __future__ import annotations

import ast
import difflib
import logging
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aelab.backprop.engine import Value, topological_order
from aelab.errors import AelabError

log = logging.getLogger(__name__)

FUNCTIONS = ("exp", "log", "tanh", "sigmoid", "relu")

_ALLOWED = "numbers, names, + - * / **, unary -, and calls of " + ", ".join(FUNCTIONS)
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
# Operators Python accepts that a reader may have meant otherwise.
_HINTS = {ast.BitXor: " (for a power write **, e.g. x**2)"}


@dataclass(frozen=True)
class Example:
    """A worked example: the expression and the value of each input."""

    text: str
    values: dict[str, float]


# The classic node-by-node example, f = (w + x*y) * z, and its variant with a
# sum at the end. The command line's --example choices repeat these keys.
EXAMPLES = {
    "product": Example(
        "v = x * y; u = w + v; f = u * z", {"w": 5.0, "x": 3.0, "y": 2.0, "z": 4.0}
    ),
    "sum": Example(
        "v = x * y; u = w + v; f = u + z", {"w": 5.0, "x": 3.0, "y": 2.0, "z": 4.0}
    ),
}


@dataclass(frozen=True)
class Expression:
    """A parsed expression's graph.

    Attributes
    ----------
    text : str
        The expression as typed.
    output : Value
        The last step's node.
    inputs : dict of str to Value
        One leaf per input name, in the order the values were given.
    """

    text: str
    output: Value
    inputs: dict[str, Value]


def parse_values(items: Iterable[str]) -> dict[str, float]:
    """Read ``name=value`` pairs, as typed after ``--values``.

    Raises
    ------
    AelabError
        For an item without ``=``, a name that is not an identifier, a value
        that is not a number, or a name given twice.
    """
    values: dict[str, float] = {}
    for item in items:
        name, sep, number = (part.strip() for part in item.partition("="))
        if not sep or not name.isidentifier():
            raise AelabError(
                f"bad value '{item}': expected NAME=NUMBER, e.g. x=3 or w=-0.5"
            )
        if name in values:
            raise AelabError(
                f"'{name}' is given a value twice ('{item}'); give each name one"
            )
        try:
            values[name] = float(number)
        except ValueError:
            raise AelabError(
                f"bad value '{item}': '{number}' is not a number; "
                "expected NAME=NUMBER, e.g. x=3 or w=-0.5"
            ) from None
    return values


def build(text: str, values: Mapping[str, float]) -> Expression:
    """Build the graph of ``text`` with its inputs set from ``values``.

    Parameters
    ----------
    text : str
        A formula, or named steps separated by ``;`` or new lines.
    values : mapping of str to float
        One value per input name; their order is the order of the leaves.

    Returns
    -------
    Expression
        The output node and the input leaves; call ``output.backward()``
        for the gradients.

    Raises
    ------
    AelabError
        For text that does not parse, syntax outside the whitelist, an
        unsupported function, an expression without names, a name with no
        value, a value for a name the expression does not use, or a step
        name that is used before its step or given twice.
    """
    statements = _parse(text)
    for statement in statements:
        _check_syntax(text, statement.value)
    inputs = _input_names(text, statements)
    _check_values(text, inputs, values)

    # Leaves first, in the order their values were given, so that tables list
    # the inputs in that order.
    leaves = {name: Value(values[name], label=name) for name in values}
    scope: dict[str, Value] = dict(leaves)
    builder = _Builder(text, scope)
    try:
        for statement in statements:
            output = builder.node(statement.value)
            if isinstance(statement, ast.Assign):
                name = statement.targets[0].id
                # A step that only renames a node leaves that node's name be.
                if not isinstance(statement.value, ast.Name):
                    output.label = name
                scope[name] = output
    except RecursionError:
        raise AelabError(
            f"the expression {_quote(text)} is nested too deeply; "
            "split it into named steps, e.g. 'v = x*y; f = v + z'"
        ) from None

    reachable = {id(node) for node in topological_order(output)}
    for statement in statements[:-1]:
        name = statement.targets[0].id
        if id(scope[name]) not in reachable:
            log.warning("step '%s' does not feed the output; it is left out", name)
    return Expression(text=text, output=output, inputs=leaves)


def _parse(text: str) -> list[ast.stmt]:
    source = text.strip()
    if not source:
        raise AelabError("the expression is empty; give one, e.g. '(w + x*y) * z'")
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else ""
        raise AelabError(
            f"cannot parse the expression {_quote(text)}: {err.msg}{where}. "
            f"Write a formula of {_ALLOWED}, e.g. '(w + x*y) * z', or steps "
            "such as 'v = x*y; f = v + z'"
        ) from None
    except (RecursionError, MemoryError):
        raise AelabError(
            f"the expression {_quote(text)} is nested too deeply to parse; "
            "split it into named steps, e.g. 'v = x*y; f = v + z'"
        ) from None
    for index, statement in enumerate(tree.body):
        last = index == len(tree.body) - 1
        if isinstance(statement, ast.Assign) and _simple_target(statement):
            continue
        if isinstance(statement, ast.Expr) and last:
            continue
        segment = ast.get_source_segment(source, statement) or ""
        raise AelabError(
            f"{_quote(segment)} in {_quote(text)} is not a step: every step but "
            "the last must be NAME = FORMULA, and the last a formula or "
            "NAME = FORMULA"
        )
    return tree.body


def _check_syntax(text: str, tree: ast.expr) -> None:
    """Raise unless ``tree`` uses only the whitelisted syntax."""
    # An explicit stack rather than recursion: a long sum is a deep tree.
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant):
            # bool is an int to Python; True is not a number here.
            ok = isinstance(node.value, int | float) and not isinstance(
                node.value, bool
            )
            if isinstance(node.value, int) and abs(node.value) > sys.float_info.max:
                raise AelabError(
                    f"the number {_quote(str(node.value), 20)} in {_quote(text)} "
                    "is too large for a float (at most about 1.8e308)"
                )
        elif isinstance(node, ast.Name):
            ok = True
        elif isinstance(node, ast.BinOp):
            ok = type(node.op) in _BINARY
            stack += [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            ok = isinstance(node.op, ast.USub | ast.UAdd)
            stack.append(node.operand)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            _check_call(text, node)
            ok = True
            stack += node.args
        else:
            ok = False
        if not ok:
            raise _unsupported(text, node)


def _check_call(text: str, call: ast.Call) -> None:
    name = call.func.id
    if name not in FUNCTIONS:
        raise AelabError(
            f"function '{name}' in {_quote(text)} is not supported; "
            f"use one of {', '.join(FUNCTIONS)}{_suggest(name, FUNCTIONS)}"
        )
    if len(call.args) != 1 or call.keywords:
        raise AelabError(
            f"{_quote(ast.unparse(call))} in {_quote(text)}: {name} takes exactly one "
            f"argument, e.g. {name}(x)"
        )


def _unsupported(text: str, tree: ast.AST) -> AelabError:
    segment = ast.get_source_segment(text.strip(), tree) or ast.unparse(tree)
    hint = _HINTS.get(type(getattr(tree, "op", None)), "")
    where = "" if segment == text.strip() else f" in {_quote(text)}"
    return AelabError(
        f"{_quote(segment)}{where} is not supported{hint}; "
        f"an expression may use only {_ALLOWED}"
    )


def _simple_target(statement: ast.Assign) -> bool:
    return len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name)


def _input_names(text: str, statements: list[ast.stmt]) -> list[str]:
    """The names the expression reads without a step assigning them first."""
    step_of: dict[str, int] = {}
    for index, statement in enumerate(statements):
        if not isinstance(statement, ast.Assign):
            continue
        name = statement.targets[0].id
        if name in step_of:
            raise AelabError(
                f"'{name}' is assigned twice in {_quote(text)}; "
                "give each step its own name"
            )
        if name in FUNCTIONS:
            raise AelabError(
                f"'{name}' in {_quote(text)} cannot name a step: it is a function; "
                "choose another name"
            )
        step_of[name] = index

    inputs: list[str] = []
    for index, statement in enumerate(statements):
        for name in _names_read(statement.value):
            if name in step_of and step_of[name] >= index:
                raise AelabError(
                    f"'{name}' is used in {_quote(text)} before its step "
                    f"'{name} = ...' has run; move that step first, or give "
                    "the step a name that no input has"
                )
            if name not in step_of and name not in inputs:
                inputs.append(name)
    if not inputs:
        raise AelabError(
            f"the expression {_quote(text)} has no input names, so there is nothing "
            "to differentiate; use names, e.g. '(w + x*y) * z'"
        )
    return inputs


def _names_read(tree: ast.AST) -> list[str]:
    """Names in ``tree`` in reading order, less those called as functions."""
    called = {
        id(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    names = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in called
    ]
    names.sort(key=lambda node: (node.lineno, node.col_offset))
    return [node.id for node in names]


def _check_values(text: str, inputs: list[str], values: Mapping[str, float]) -> None:
    for name in inputs:
        if name not in values:
            raise AelabError(
                f"name '{name}' in {_quote(text)} has no value; "
                f"give one as {name}=NUMBER{_suggest(name, values)}"
            )
    for name in values:
        if name not in inputs:
            raise AelabError(
                f"a value is given for '{name}', which {_quote(text)} does not use "
                f"as an input (its inputs: {', '.join(inputs)})"
                f"{_suggest(name, inputs)}"
            )


def _quote(text: str, limit: int = 60) -> str:
    """``text`` in quotes, cut short if long, for an error message."""
    text = text.strip()
    return f"'{text}'" if len(text) <= limit else f"'{text[: limit - 3]}...'"


def _suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Builder:
    """Turns checked syntax into nodes, one node per sub-expression.

    A sub-expression without names (``2 * 3``) folds to a plain number, so
    that it becomes one constant, or an exponent that needs no gradient.
    """

    def __init__(self, text: str, scope: dict[str, Value]) -> None:
        self.text = text
        self.scope = scope

    def node(self, tree: ast.expr) -> Value:
        result = self.build(tree)
        if isinstance(result, float):
            return Value(result, op="const", label=ast.unparse(tree))
        return result

    def build(self, tree: ast.expr) -> Value | float:
        if isinstance(tree, ast.Constant):
            return float(tree.value)
        if isinstance(tree, ast.Name):
            return self.scope[tree.id]
        if isinstance(tree, ast.BinOp):
            left, right = self.build(tree.left), self.build(tree.right)
            operation = _BINARY[type(tree.op)]
            if isinstance(left, float) and isinstance(right, float):
                # Through the engine, for IEEE results: 1/0 is inf, not an error.
                return operation(Value(left, op="const"), right).data
            return self.named(operation(left, right), tree)
        if isinstance(tree, ast.UnaryOp):
            operand = self.build(tree.operand)
            if isinstance(tree.op, ast.UAdd):
                return operand
            if isinstance(operand, float):
                return -operand
            return self.named(-operand, tree)
        if isinstance(tree, ast.Call):
            argument = self.build(tree.args[0])
            function = tree.func.id
            if isinstance(argument, float):
                return getattr(Value(argument, op="const"), function)().data
            return self.named(getattr(argument, function)(), tree)
        # _check_syntax lets nothing else through; this guards against drift.
        raise _unsupported(self.text, tree)

    def named(self, result: Value, tree: ast.expr) -> Value:
        result.label = ast.unparse(tree)
        return result
