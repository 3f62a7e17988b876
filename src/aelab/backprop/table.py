"""The node-by-node table of a graph after backpropagation.

One row per node, in the order the nodes were computed: its operation, its
forward value, the local gradient of the node with respect to each of its
inputs, and the gradient of the output with respect to the node. The last
column is what backpropagation computes; each entry is the sum, over the rows
that use the node, of their gradient times their local gradient.
"""

from __future__ import annotations

import csv
import logging
import os
from collections import Counter
from dataclasses import dataclass

from aelab.backprop.engine import Value, topological_order
from aelab.fileio import atomic_output

log = logging.getLogger(__name__)

CSV_COLUMNS = ("node", "operation", "inputs", "value", "local_gradients", "grad")


@dataclass(frozen=True)
class Row:
    """One node of the table.

    Attributes
    ----------
    node : str
        The node's name, unique within the table.
    operation : str
        "input", "const", or the primitive that made the node.
    inputs : tuple of str
        Names of the nodes it was computed from.
    value : float
        The forward value.
    local_grads : tuple of float
        ``d node / d inputs[i]``.
    grad : float
        ``d output / d node``.
    """

    node: str
    operation: str
    inputs: tuple[str, ...]
    value: float
    local_grads: tuple[float, ...]
    grad: float


def unique_names(nodes: list[Value]) -> dict[Value, str]:
    """Each node's name, numbered ``name [2]``, ... where names repeat.

    Two nodes can share a name: ``x*y + x*y`` computes ``x * y`` twice, and
    every constant 2 is called "2".
    """
    counts = Counter(node.name for node in nodes)
    seen: Counter[str] = Counter()
    names = {}
    for node in nodes:
        name = node.name
        seen[name] += 1
        names[node] = name if counts[name] == 1 else f"{name} [{seen[name]}]"
    return names


def rows(output: Value) -> list[Row]:
    """The table of every node ``output`` depends on, ``output`` last.

    Call ``output.backward()`` first; before it, every gradient is 0.
    """
    nodes = sorted(topological_order(output), key=lambda node: node.order)
    names = unique_names(nodes)
    return [
        Row(
            node=names[node],
            operation=node.op,
            inputs=tuple(names[source] for source in node.inputs),
            value=node.data,
            local_grads=node.local_grads,
            grad=node.grad,
        )
        for node in nodes
    ]


def format_number(x: float) -> str:
    """Six significant digits, no trailing zeros: 44, 0.333333, 1e-08."""
    return f"{x:.6g}"


def _d(name: str) -> str:
    # d(x * y) reads better than dx * y.
    return f"d{name}" if name.isidentifier() else f"d({name})"


def local_gradient_text(row: Row) -> str:
    """``dv/dx = 2, dv/dy = 3`` for the row of ``v = x * y``.

    A node without a one-word name is written ``d/dx``, not with its whole
    formula, which stands in the row's first column already.
    """
    node = f"d{row.node}" if row.node.isidentifier() else "d"
    return ", ".join(
        f"{node}/{_d(source)} = {format_number(local)}"
        for source, local in zip(row.inputs, row.local_grads, strict=True)
    )


def gradient_header(table: list[Row]) -> str:
    """``df/dnode`` when the output has a one-word name, else ``doutput/dnode``."""
    output = table[-1].node
    return f"d{output}/dnode" if output.isidentifier() else "doutput/dnode"


def format_table(table: list[Row]) -> str:
    """The table as aligned text, numbers right-aligned, for a terminal."""
    header = ("node", "operation", "value", "local gradients", gradient_header(table))
    body = [
        (
            row.node,
            row.operation,
            format_number(row.value),
            local_gradient_text(row),
            format_number(row.grad),
        )
        for row in table
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(5)]
    right = (False, False, True, False, True)

    def line(cells: tuple[str, ...]) -> str:
        padded = [
            cell.rjust(width) if r else cell.ljust(width)
            for cell, width, r in zip(cells, widths, right, strict=True)
        ]
        return "  ".join(padded).rstrip()

    rule = tuple("-" * width for width in widths)
    return "\n".join([line(header), line(rule), *(line(cells) for cells in body)])


def write_csv(table: list[Row], path: str | os.PathLike) -> None:
    """Write the table as CSV, atomically, with full-precision numbers.

    Columns are ``CSV_COLUMNS``; ``inputs`` and ``local_gradients`` hold one
    entry per input, separated by ``;``.
    """
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in table:
            writer.writerow(
                [
                    row.node,
                    row.operation,
                    ";".join(row.inputs),
                    repr(row.value),
                    ";".join(repr(g) for g in row.local_grads),
                    repr(row.grad),
                ]
            )
    log.info("wrote %s", path)
