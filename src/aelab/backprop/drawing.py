"""Drawing a computation graph, with each node's value and gradient, as a PNG.

The layout is computed here rather than by graphviz, which would need a
binary outside Python. Nodes stand in columns by depth, inputs on the left and
the output on the right. An edge that skips columns passes through a waypoint
in each column it crosses, and waypoints take room in their column like small
nodes, so that long edges go around boxes rather than through them. Columns
are placed from the output leftward, each node and waypoint near the ones it
feeds.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from aelab.backprop.engine import Value, topological_order
from aelab.backprop.table import format_number, unique_names
from aelab.figures.common import plt, save

log = logging.getLogger(__name__)

# Sizes in layout units: columns are one unit apart; a box needs one unit of
# height in its column, a waypoint WAYPOINT_ROOM.
BOX_WIDTH, BOX_HEIGHT = 0.66, 0.62
WAYPOINT_ROOM = 0.4
INCHES_PER_COLUMN, INCHES_PER_ROW = 2.5, 1.35
COLOURS = {"input": "#cfe2f3", "const": "#eeeeee", "output": "#d9ead3"}
OP_COLOUR = "#fff2cc"
MAX_NAME = 16
# Beyond this many nodes a drawing is too large to read (and to render
# quickly); the table still lists every node.
MAX_NODES = 60


@dataclass(eq=False)
class _Waypoint:
    """Where an edge crosses a column it skips."""

    column: int
    order: float


@dataclass(eq=False)
class _Edge:
    """One input of one node: ``source`` feeds ``consumer``."""

    source: Value
    consumer: Value
    local_grad: float
    bend: float = 0.0
    waypoints: list[_Waypoint] = field(default_factory=list)


def columns(output: Value) -> dict[Value, int]:
    """Each node's column: one more than its deepest input's.

    A leaf moves right to the column just before its first consumer, so that
    an input used late (``z`` in ``(w + x*y) * z``) stands beside its use.
    """
    nodes = sorted(topological_order(output), key=lambda node: node.order)
    column: dict[Value, int] = {}
    for node in nodes:
        column[node] = 1 + max((column[s] for s in node.inputs), default=-1)
    consumers = _consumers(nodes)
    for node in nodes:
        if not node.inputs and consumers[node]:
            column[node] = min(column[c] for c in consumers[node]) - 1
    return column


def _edges(column: dict[Value, int]) -> list[_Edge]:
    edges = []
    for consumer in sorted(column, key=lambda node: node.order):
        seen: dict[int, int] = defaultdict(int)
        for source, local in zip(consumer.inputs, consumer.local_grads, strict=True):
            edge = _Edge(source, consumer, local)
            # A node used twice by one consumer (x * x) gets two bowed edges.
            if sum(s is source for s in consumer.inputs) > 1:
                edge.bend = 0.3 if seen[id(source)] % 2 == 0 else -0.3
            seen[id(source)] += 1
            edge.waypoints = [
                _Waypoint(c, source.order + 0.5)
                for c in range(column[source] + 1, column[consumer])
            ]
            edges.append(edge)
    return edges


def layout(output: Value) -> tuple[dict, list[_Edge]]:
    """Positions ``(column, height)`` of every node and waypoint, and the edges.

    Each node or waypoint aims for the mean height of what it feeds; those of
    one column are then pushed apart to make room, and the column shifted
    back so that their mean height is the mean of their aims.

    Returns
    -------
    position : dict
        ``(x, y)`` in layout units for each node (Value) and each waypoint.
    edges : list of _Edge
        One per input of every node, with its waypoints.
    """
    column = columns(output)
    edges = _edges(column)
    feeds: dict[object, list[object]] = defaultdict(list)
    in_column: dict[int, list[object]] = defaultdict(list)
    for node in column:
        in_column[column[node]].append(node)
    for edge in edges:
        chain = [edge.source, *edge.waypoints, edge.consumer]
        for a, b in zip(chain[:-1], chain[1:], strict=True):
            feeds[a].append(b)
        for waypoint in edge.waypoints:
            in_column[waypoint.column].append(waypoint)

    height: dict[object, float] = {}
    for index in sorted(in_column, reverse=True):
        items = in_column[index]
        aim = {
            item: sum(height[f] for f in feeds[item]) / len(feeds[item])
            if feeds[item]
            else 0.0
            for item in items
        }
        # Highest aim on top; ties keep the order the nodes were made in.
        items.sort(key=lambda item: (-aim[item], item.order))
        placed: list[float] = []
        for previous, item in zip([None, *items[:-1]], items, strict=True):
            if previous is None:
                placed.append(aim[item])
            else:
                room = (_room(previous) + _room(item)) / 2
                placed.append(min(aim[item], placed[-1] - room))
        shift = (sum(aim.values()) - sum(placed)) / len(items)
        for item, y in zip(items, placed, strict=True):
            height[item] = y + shift

    position = {
        item: (float(_column_of(item, column)), height[item]) for item in height
    }
    return position, edges


def _column_of(item: object, column: dict[Value, int]) -> int:
    return item.column if isinstance(item, _Waypoint) else column[item]


def _room(item: object) -> float:
    return WAYPOINT_ROOM if isinstance(item, _Waypoint) else 1.0


def draw(output: Value, path: str | os.PathLike, title: str | None = None) -> bool:
    """Draw the graph of ``output`` after ``output.backward()`` as a PNG.

    Each box shows the node's name and operation, its forward value and its
    gradient ``d output / d node``; each edge is labelled with its local
    gradient ``d consumer / d input``. A graph of more than ``MAX_NODES``
    nodes is not drawn; a warning says so.

    Parameters
    ----------
    output : Value
        The graph's output node.
    path : str or os.PathLike
        The PNG file to write, atomically.
    title : str, optional
        Drawn above the graph.

    Returns
    -------
    bool
        Whether the file was written.
    """
    n_nodes = len(topological_order(output))
    if n_nodes > MAX_NODES:
        log.warning(
            "the graph has %d nodes, more than the %d that can be drawn legibly; "
            "%s was not written (the table lists every node)",
            n_nodes,
            MAX_NODES,
            path,
        )
        return False
    position, edges = layout(output)
    nodes = [item for item in position if isinstance(item, Value)]
    names = unique_names(sorted(nodes, key=lambda node: node.order))
    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    width, height = max(xs) - min(xs) + 1, max(ys) - min(ys) + 1
    fig, ax = plt.subplots(
        figsize=(INCHES_PER_COLUMN * width, INCHES_PER_ROW * height + 0.6)
    )
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.axis("off")

    for node in nodes:
        _box(ax, node, names[node], position[node], node is output)
    for edge in edges:
        _arrow(ax, edge, position)

    name = names[output]
    grad = f"d{name}/d node" if name.isidentifier() else "d output/d node"
    caption = (
        f"value: forward value    grad: {grad}    "
        "on each edge: local gradient d node/d input"
    )
    if title:
        caption = f"{_short(title, 100)}\n{caption}"
    ax.set_title(caption, fontsize=9)
    save(fig, path)
    return True


def _box(
    ax: plt.Axes, node: Value, name: str, centre: tuple[float, float], last: bool
) -> None:
    x, y = centre
    colour = COLOURS["output"] if last else COLOURS.get(node.op, OP_COLOUR)
    box = FancyBboxPatch(
        (x - BOX_WIDTH / 2, y - BOX_HEIGHT / 2),
        BOX_WIDTH,
        BOX_HEIGHT,
        boxstyle="round,pad=0,rounding_size=0.06",
        facecolor=colour,
        edgecolor="#444444",
        zorder=2,
    )
    ax.add_patch(box)
    lines = [
        (_short(name), 0.17, {"fontsize": 10, "fontweight": "bold"}),
        (node.op, 0.03, {"fontsize": 8, "style": "italic", "color": "#555555"}),
        (f"value = {format_number(node.data)}", -0.11, {"fontsize": 9}),
        (
            f"grad = {format_number(node.grad)}",
            -0.24,
            {"fontsize": 9, "color": "#b00000"},
        ),
    ]
    for text, offset, style in lines:
        ax.text(x, y + offset, text, ha="center", va="center", zorder=3, **style)


def _arrow(ax: plt.Axes, edge: _Edge, position: dict) -> None:
    start, end = position[edge.source], position[edge.consumer]
    if edge.bend:
        # One quadratic curve, bowed to one side of the straight line.
        (x0, y0), (x1, y1) = start, end
        control = (
            (x0 + x1) / 2 - edge.bend * (y1 - y0),
            (y0 + y1) / 2 + edge.bend * (x1 - x0),
        )
        points = [_exit(start, control), control, _exit(end, control)]
        codes = [Path.MOVETO, Path.CURVE3, Path.CURVE3]
        label = _bezier(*points, 0.7)
    else:
        via = [position[w] for w in edge.waypoints]
        first = via[0] if via else end
        last = via[-1] if via else start
        points = [_exit(start, first), *via, _exit(end, last)]
        codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
        (ax_, ay), (bx, by) = points[-2], points[-1]
        label = (bx + 0.35 * (ax_ - bx), by + 0.35 * (ay - by))
    ax.add_patch(
        FancyArrowPatch(
            path=Path(points, codes),
            arrowstyle="-|>",
            mutation_scale=12,
            color="#444444",
            linewidth=1.1,
            zorder=1,
        )
    )
    ax.text(
        *label,
        format_number(edge.local_grad),
        ha="center",
        va="center",
        fontsize=8,
        color="#1f4e9c",
        zorder=4,
        bbox={
            "boxstyle": "round,pad=0.2",
            "facecolor": "white",
            "edgecolor": "#9fb7d9",
            "linewidth": 0.6,
        },
    )


def _exit(centre: tuple[float, float], towards: tuple[float, float]) -> tuple:
    """Where the line from a box's centre towards a point leaves the box."""
    (cx, cy), (tx, ty) = centre, towards
    dx, dy = tx - cx, ty - cy
    scales = [BOX_WIDTH / 2 / abs(dx) if dx else float("inf")]
    scales.append(BOX_HEIGHT / 2 / abs(dy) if dy else float("inf"))
    t = min(1.0, *scales)
    return (cx + t * dx, cy + t * dy)


def _bezier(p0: tuple, p1: tuple, p2: tuple, t: float) -> tuple[float, float]:
    a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t**2
    return (a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1])


def _short(text: str, limit: int = MAX_NAME) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _consumers(nodes: list[Value]) -> dict[Value, list[Value]]:
    consumers: dict[Value, list[Value]] = {node: [] for node in nodes}
    for node in nodes:
        for source in node.inputs:
            if node not in consumers[source]:
                consumers[source].append(node)
    return consumers
