"""A scalar automatic-differentiation engine: values that remember how they were made.

Every operation on a :class:`Value` returns a new node holding its result, the
nodes it was computed from (its inputs) and the local gradient of the result
with respect to each input. :meth:`Value.backward` then walks the graph from
the output back to the leaves and gives every node the gradient of the output
with respect to it: the sum, over the nodes it feeds, of their gradient times
the local gradient on the edge between them. That sum is the chain rule, and it
is why a node used twice collects two contributions.

Eight primitives compute a value and local gradients: add, multiply, power,
exp, log, tanh, sigmoid and relu. Negation, subtraction and division are
written in terms of them and need no gradient code of their own.

Arithmetic follows IEEE rules, as numpy and torch do: ``log(0)`` is ``-inf``,
``1 / 0`` is ``inf`` and ``log(-1)`` is ``nan``, with no exception raised.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

# Creation order numbers every node. It is a topological order (a node's inputs
# exist before it does), which the table uses to list nodes in the order they
# were computed.
_counter = itertools.count()


def _ieee(func: Callable, *args: float) -> float:
    """``func(*args)`` in float64 with IEEE results instead of exceptions.

    Python's own ``**``, ``math.exp`` and ``math.log`` raise on overflow, on
    zero and on negative bases; numpy returns inf or nan, as torch does.
    """
    with np.errstate(all="ignore"):
        return float(func(*(np.float64(a) for a in args)))


class Value:
    """One scalar node of a computation graph.

    Parameters
    ----------
    data : float
        The node's forward value.
    inputs : tuple of Value, default=()
        The nodes this one was computed from; empty for a leaf.
    local_grads : tuple of float, default=()
        ``d self / d inputs[i]`` for each input, at the forward values.
    op : str, default="input"
        The operation that made the node: "input" and "const" for leaves,
        else a primitive's name ("add", "mul", "pow", "exp", ...).
    label : str or None, default=None
        A name for tables and drawings; :attr:`name` makes one up if None.

    Attributes
    ----------
    grad : float
        ``d output / d self`` after ``output.backward()``; 0.0 before.
    order : int
        When the node was made; inputs always come before the nodes they feed.
    exponent : float or None
        The exponent of a "pow" node whose exponent is a number, else None.
    """

    __slots__ = (
        "data",
        "grad",
        "inputs",
        "local_grads",
        "op",
        "label",
        "order",
        "exponent",
    )

    def __init__(
        self,
        data: float,
        inputs: tuple[Value, ...] = (),
        local_grads: tuple[float, ...] = (),
        op: str = "input",
        label: str | None = None,
    ) -> None:
        if len(inputs) != len(local_grads):
            raise ValueError(
                f"{len(inputs)} inputs but {len(local_grads)} local gradients; "
                "give one local gradient per input"
            )
        self.data = float(data)
        self.grad = 0.0
        self.inputs = tuple(inputs)
        self.local_grads = tuple(float(g) for g in local_grads)
        self.op = op
        self.label = label
        self.order = next(_counter)
        self.exponent: float | None = None

    @property
    def name(self) -> str:
        """The label, or a formula built from the inputs' names.

        A formula goes at most four operations deep, with ``…`` for the
        rest, so that an unlabelled deep graph still gets short names.
        """
        return self._name(depth=4)

    def _name(self, depth: int) -> str:
        if self.label is not None:
            return self.label
        if self.op == "const":
            return f"{self.data:g}"
        if not self.inputs:
            return f"node{self.order}"
        if depth == 0:
            return "…"
        names = [node._name(depth - 1) for node in self.inputs]
        if self.op in _INFIX:
            return f" {_INFIX[self.op]} ".join(map(_parenthesise, names))
        if self.exponent is not None:
            base, exponent = names[0], f"{self.exponent:g}"
            return f"{_parenthesise(base)} ** {_parenthesise(exponent)}"
        return f"{self.op}({', '.join(names)})"

    def __repr__(self) -> str:
        return f"Value({self.name}={self.data:g}, grad={self.grad:g})"

    # ------------------------------------------------------------------
    # Primitives: each computes its value, then its local gradients.

    def __add__(self, other: Value | float) -> Value:
        other = _lift(other)
        out = self.data + other.data

        return Value(out, (self, other), (1.0, 1.0), "add")

    def __mul__(self, other: Value | float) -> Value:
        other = _lift(other)
        out = self.data * other.data

        return Value(out, (self, other), (other.data, self.data), "mul")

    def __pow__(self, exponent: Value | float) -> Value:
        """``self ** exponent``; a number exponent is part of the operation.

        With a :class:`Value` exponent, the exponent is an input too and gets
        a gradient, ``self ** exponent * log(self)``.
        """
        if isinstance(exponent, Value):
            return self._pow_value(exponent)
        k = float(exponent)
        out = _ieee(np.power, self.data, k)

        # k * x**(k-1) is 0 * inf at x = 0 when k = 0; x**0 is flat, so 0.
        local = 0.0 if k == 0 else k * _ieee(np.power, self.data, k - 1)
        node = Value(out, (self,), (local,), "pow")
        node.exponent = k
        return node

    def _pow_value(self, exponent: Value) -> Value:
        x, k = self.data, exponent.data
        out = _ieee(np.power, x, k)

        d_base = 0.0 if k == 0 else k * _ieee(np.power, x, k - 1)
        # x**k * log(x) is 0 * -inf at x = 0; torch takes the limit, 0, for
        # k >= 0, and so does this.
        d_exponent = 0.0 if x == 0 and k >= 0 else out * _ieee(np.log, x)
        return Value(out, (self, exponent), (d_base, d_exponent), "pow")

    def exp(self) -> Value:
        out = _ieee(np.exp, self.data)

        return Value(out, (self,), (out,), "exp")

    def log(self) -> Value:
        out = _ieee(np.log, self.data)

        return Value(out, (self,), (_ieee(np.divide, 1.0, self.data),), "log")

    def tanh(self) -> Value:
        out = math.tanh(self.data)

        return Value(out, (self,), (1.0 - out * out,), "tanh")

    def sigmoid(self) -> Value:
        # exp of a negative number only: exp(-x) overflows for x below -709.
        x = self.data
        if x >= 0:
            out = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x) if x == x else x  # a nan input stays nan
            out = e / (1.0 + e)

        return Value(out, (self,), (out * (1.0 - out),), "sigmoid")

    def relu(self) -> Value:
        # Written as "not <= 0" so that nan passes through, as in torch.
        out = self.data if not self.data <= 0 else 0.0

        return Value(out, (self,), (1.0 if self.data > 0 else 0.0,), "relu")

    # ------------------------------------------------------------------
    # Derived operations: built from the primitives, so their gradients are.

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        # A number is negated here, to give one constant rather than two nodes.
        return self + (-other)

    def __truediv__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return self * other**-1.0
        return self * _ieee(np.divide, 1.0, other)

    def __radd__(self, other: float) -> Value:
        return _lift(other) + self

    def __rmul__(self, other: float) -> Value:
        return _lift(other) * self

    def __rsub__(self, other: float) -> Value:
        return _lift(other) + (-self)

    def __rtruediv__(self, other: float) -> Value:
        return _lift(other) * self**-1.0

    def __rpow__(self, base: float) -> Value:
        return _lift(base) ** self

    # ------------------------------------------------------------------

    def backward(self) -> None:
        """Fill in ``grad`` of every node this one depends on.

        Each node's gradient is reset to 0 first and this node's set to 1, so
        calling it twice gives the same gradients, not twice them.
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for source, local in zip(node.inputs, node.local_grads, strict=True):
                source.grad += local * node.grad


def _lift(x: Value | float) -> Value:
    """``x`` itself if it is a node, else a constant leaf holding it."""
    if isinstance(x, Value):
        return x
    return Value(float(x), op="const")


_INFIX = {"add": "+", "mul": "*"}


def _parenthesise(name: str) -> str:
    """``name`` in parentheses unless it is one name, number, call or ``…``."""
    if name == "…":
        return name
    bare = name.replace(".", "").replace("_", "")
    if bare.isalnum() or (name.startswith("-") and bare[1:].isalnum()):
        return name
    head, paren, _ = name.partition("(")
    if paren and head.isidentifier() and _closes_at_end(name, len(head)):
        return name
    return f"({name})"


def _closes_at_end(text: str, start: int) -> bool:
    """Whether the parenthesis opened at ``start`` closes at the last character."""
    depth = 0
    for i, char in enumerate(text[start:], start):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return i == len(text) - 1
    return False


def topological_order(output: Value) -> list[Value]:
    """Every node ``output`` depends on, each after all of its inputs.

    Iterative depth-first search, so that a deep graph does not hit Python's
    recursion limit.

    Returns
    -------
    list of Value
        Each reachable node once, ``output`` last.
    """
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(output, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((source, False) for source in reversed(node.inputs))
    return order
