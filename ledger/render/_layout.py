"""Where each box and edge of a provenance picture goes, in pure Python (no Graphviz,
browser or font files), and what each box says.

Stages run left to right from mine to buyer (or top to bottom, ``direction="down"``: the
same columns become rows, which keeps a long chain narrow enough for a README column).
A node's column is its depth
(:func:`ledger.provenance.graph.depths`, the longest path to it from a node without inputs), so
every edge points right; a node without inputs (a mine, scrap, an untraced input) sits in the
column just before the first lot it went into, left of what it fed, so that iron bought for
alloy melting enters there instead of crossing the whole picture. In an upstream trace the
judged lot is the only sink, hence the rightmost lot, and the shipments that moved it follow
as buyers (one more column per onward shipment). An edge that skips columns runs
through a slot reserved for it in every column it crosses, so it never passes under a box.
Within a column, nodes are ordered by barycenter sweeps (keeping the order with the fewest
crossings) and then placed as near their neighbours' mean height as the spacing allows.
Every tie is broken by id: the same graph and verdict always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ledger.core.codec import format_kg
from ledger.provenance.graph import EdgeData, Graph, HopData, depths, node_label
from ledger.render._marks import Marks
from ledger.render._style import BUYER, GREY, INK

# Geometry, in SVG user units (pixels).
MARGIN = 24
HEADER = 78
BOX_H = 74
BOX_MIN_W, BOX_MAX_W = 200, 300
PAD = 10
BADGE_W, BADGE_H = 30, 17
COLUMN_GAP = 130
BOX_GAP = 26
SLOT_H = 10
SLOT_GAP = 8
ARROW = 8
LABEL_H = 15


@dataclass(slots=True, kw_only=True)
class Box:
    key: str
    kind: str  # lot / untraced / buyer
    column: int
    lines: tuple[tuple[str, float, bool, str], ...]  # text, size, bold, colour
    badge: str
    title: str
    mark: str | None
    data: dict[str, str] = field(default_factory=dict)
    restricted: bool = False
    """Made by a restricted stage where the policy forbids it (see :class:`Marks`)."""
    x: float = 0.0
    y: float = 0.0  # centre
    w: float = 0.0
    h: float = BOX_H


@dataclass(slots=True, kw_only=True)
class Edge:
    source: str
    target: str
    kind: str  # flow / ship
    label: str
    title: str
    mark: str | None
    data: dict[str, str] = field(default_factory=dict)
    slots: list[str] = field(default_factory=list)  # its places in the columns it crosses
    slot_at: list[float] = field(default_factory=list)
    """Where it crosses each column: a height (``right``) or an abscissa (``down``)."""


@dataclass(slots=True)
class Layout:
    boxes: dict[str, Box]
    edges: list[Edge]
    width: float
    height: float
    direction: str = "right"
    """``right``: stages run left to right, a column per stage; ``down``: top to bottom, a
    row per stage (narrow enough for a README column)."""


DIRECTIONS = ("right", "down", "auto")
"""``auto``: ``down`` when a left-to-right picture would be wider than :data:`WIDE` and the
top-to-bottom one is narrower."""

WIDE = 1400.0
ROW_GAP = 60
"""Between the rows of a ``down`` picture: room for the mass labels."""


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """A generous estimate for Helvetica-like fonts (no font metrics in a pure module)."""
    return len(text) * size * (0.61 if bold else 0.57)


def fit(text: str, width: float, size: float, *, bold: bool = False) -> str:
    if text_width(text, size, bold=bold) <= width:
        return text
    keep = max(1, int(width / (size * (0.61 if bold else 0.57))) - 1)
    return text[:keep] + "…"


def _buyers(graph: Graph) -> list[tuple[str, str, HopData]]:
    """(buyer key, where it came from, hop) for the shipments of the judged lot, in log
    order: a shipment from where an earlier one went continues from that buyer."""
    root = graph.graph.get("root")
    if graph.graph.get("direction") != "up" or root is None or root not in graph:
        return []
    found: list[tuple[str, str, HopData]] = []
    arrived: dict[str, str] = {}
    for hop in sorted(graph.nodes[root].get("hops", []), key=lambda h: h["log_index"]):
        key = f"buyer:{hop['shipment']}"
        found.append((key, arrived.get(hop["from"], root), hop))
        arrived[hop["to"]] = key
    return found


def _lot_box(graph: Graph, node: str, mark: str | None, note: str) -> Box:
    data = graph.nodes[node]
    title = node_label(graph, node)
    for hop in data.get("hops", []):
        received = (
            f"received at log index {hop['received_index']}"
            if hop["received_index"] is not None
            else "not received"
        )
        title += (
            f"\nshipped {hop['shipment']} {hop['from']} → {hop['to']} ({hop['to_country']}) "
            f"on {hop['shipped_on']} (log index {hop['log_index']}, {received})"
        )
    if data["kind"] == "untraced":
        origin = data["declared_origin"]
        return Box(
            key=node,
            kind="untraced",
            column=0,
            lines=(
                (f"{data['material']} (untraced)", 12.5, True, INK),
                (f"{format_kg(data['mass_g'])} · bought outside the ledger", 12.0, False, INK),
                (f"declared origin {origin}" if origin else "no declared origin", 11, False, GREY),
                (f"input to log {data['log_index']}", 10.5, False, GREY),
            ),
            badge=origin or "?",
            title=title + note,
            mark=mark,
            data={"log-index": str(data["log_index"])},
        )
    source = " (recycled)" if data["source"] == "recycled" else ""
    return Box(
        key=node,
        kind="lot",
        column=0,
        lines=(
            (data["material"], 12.5, True, INK),
            (f"{format_kg(data['mass_g'])} · {data['stage']}{source}", 12.0, False, INK),
            (data["facility"], 11, False, GREY),
            (f"{node} · log {data['log_index']}", 10.5, False, GREY),
        ),
        badge=data["country"],
        title=title + note,
        mark=mark,
        data={"log-index": str(data["log_index"])},
    )


def _buyer_box(key: str, hop: Mapping[str, Any]) -> Box:
    index = hop["received_index"]
    received = f"received at log {index}" if index is not None else "not received"
    receipt = f"received at log index {index}" if index is not None else "not received"
    use = f"{hop['end_use']} use" if hop["end_use"] else "no end use declared"
    return Box(
        key=key,
        kind="buyer",
        column=0,
        lines=(
            (f"buyer · {use}", 12.5, True, BUYER),
            (hop["to"], 12.0, False, INK),
            (f"{hop['shipment']} · log {hop['log_index']}", 11, False, GREY),
            (f"shipped {hop['shipped_on']}, {received}", 10.5, False, GREY),
        ),
        badge=hop["to_country"],
        title=(
            f"shipment {hop['shipment']} from {hop['from']} to {hop['to']} "
            f"({hop['to_country']}) on {hop['shipped_on']}, {use} "
            f"(log index {hop['log_index']}, {receipt})"
        ),
        mark=None,
        data={"log-index": str(hop["log_index"])},
    )


_RESTRICTED = "\nmade by a restricted stage where the policy forbids it: its mass is non-compliant"
_NOTES = {
    "offending": "\non an offending path: carries non-compliant mass",
    "unknown": "\na source of unknown mass",
    None: "",
}


def lay_out(graph: Graph, found: Marks, *, direction: str = "right") -> Layout:
    """Boxes and edges for ``graph`` and its buyers, each at its place (see the module
    docstring), stages running ``right`` or ``down`` (see :data:`DIRECTIONS`)."""
    if direction == "auto":
        across = _lay_out(graph, found, down=False)
        if across.width <= WIDE:
            return across
        stacked = _lay_out(graph, found, down=True)
        return stacked if stacked.width < across.width else across
    if direction not in ("right", "down"):
        raise ValueError(f"direction {direction!r} is not one of {DIRECTIONS}")
    return _lay_out(graph, found, down=direction == "down")


def _lay_out(graph: Graph, found: Marks, *, down: bool) -> Layout:
    boxes: dict[str, Box] = {}
    for node in sorted(graph.nodes):
        mark = found.node(node)
        where = found.restricted(node)
        boxes[node] = _lot_box(graph, node, mark, _RESTRICTED if where else _NOTES[mark])
        boxes[node].restricted = where
    edges = [_flow_edge(a, b, data, found.edge(a, b)) for a, b, data in _sorted_edges(graph)]
    column = _columns(graph)
    root = graph.graph.get("root")
    root_red = root is not None and root in found.offending_nodes
    for key, origin, hop in _buyers(graph):
        assert root is not None  # there are buyers only when there is a root
        boxes[key] = _buyer_box(key, hop)
        column[key] = column[origin] + 1
        mark = "offending" if root_red else None
        edges.append(
            Edge(
                source=origin,
                target=key,
                kind="ship",
                label=format_kg(graph.nodes[root]["mass_g"]),
                title=f"{root} shipped to {hop['to']} ({hop['to_country']}){_NOTES[mark]}",
                mark=mark,
                data={"log-index": str(hop["log_index"])},
            )
        )
    for key, box in boxes.items():
        box.column = column[key]
    width = _box_width(boxes.values())
    for box in boxes.values():
        box.w = width
    columns = max((box.column for box in boxes.values()), default=0) + 1
    layers, sizes = _layers(boxes, edges, columns, box_size=width if down else BOX_H)
    _order(layers, edges)
    centres = _place(layers, edges, sizes)
    return _positioned(boxes, edges, layers, sizes, centres, down=down)


def _positioned(
    boxes: dict[str, Box],
    edges: list[Edge],
    layers: Sequence[Sequence[str]],
    sizes: Mapping[str, float],
    centres: Mapping[str, float],
    *,
    down: bool,
) -> Layout:
    """Boxes and slots at their coordinates: stage by stage along the direction, each at
    its placed centre across it."""
    width = max((box.w for box in boxes.values()), default=float(BOX_MIN_W))
    columns = len(layers)
    low = min((centres[k] - sizes[k] / 2 for layer in layers for k in layer), default=0.0)
    high = max((centres[k] + sizes[k] / 2 for layer in layers for k in layer), default=0.0)
    if down:
        for key, box in boxes.items():
            box.x = centres[key] - width / 2 - low + MARGIN
            box.y = MARGIN + HEADER + box.column * (BOX_H + ROW_GAP) + BOX_H / 2
        for edge in edges:
            edge.slot_at = [centres[slot] - low + MARGIN for slot in edge.slots]
        return Layout(
            boxes=boxes,
            edges=edges,
            width=high - low + 2 * MARGIN,
            height=2 * MARGIN + HEADER + columns * BOX_H + (columns - 1) * ROW_GAP,
            direction="down",
        )
    for key, box in boxes.items():
        box.x = MARGIN + box.column * (width + COLUMN_GAP)
        box.y = centres[key] - low + MARGIN + HEADER
    for edge in edges:
        edge.slot_at = [centres[slot] - low + MARGIN + HEADER for slot in edge.slots]
    return Layout(
        boxes=boxes,
        edges=edges,
        width=2 * MARGIN + columns * width + (columns - 1) * COLUMN_GAP,
        height=high - low + 2 * MARGIN + HEADER,
    )


def _sorted_edges(graph: Graph) -> list[tuple[str, str, EdgeData]]:
    return sorted(graph.edges(data=True), key=lambda e: (e[0], e[1]))


def _flow_edge(a: str, b: str, data: Mapping[str, Any], mark: str | None) -> Edge:
    return Edge(
        source=a,
        target=b,
        kind="flow",
        label=format_kg(data["grams"]),
        title=(
            f"{a} → {b}: {format_kg(data['grams'])} of the "
            f"{format_kg(data['consumed'])} consumed by the transformation at log index "
            f"{data['log_index']}{_NOTES[mark]}"
        ),
        mark=mark,
        data={"grams": str(data["grams"]), "log-index": str(data["log_index"])},
    )


def _columns(graph: Graph) -> dict[str, int]:
    """Each node's column: its depth, except that a source sits just before the first lot it
    went into."""
    column = depths(graph)
    for node in sorted(graph.nodes):
        users = [column[user] for user in graph.successors(node)]
        if users and not any(True for _ in graph.predecessors(node)):
            column[node] = min(users) - 1
    return column


def _box_width(boxes: Iterable[Box]) -> float:
    """One width for every box: room for the longest line, within the bounds."""
    width = float(BOX_MIN_W)
    for box in boxes:
        for i, (text, size, bold, _) in enumerate(box.lines):
            room = BADGE_W + 6 if i == 0 else 0
            width = max(width, text_width(text, size, bold=bold) + 2 * PAD + room)
    return min(width, BOX_MAX_W)


def _slot(edge: Edge, column: int) -> str:
    return f"\x00{edge.source}\x00{edge.target}\x00{column}"


def _layers(
    boxes: Mapping[str, Box], edges: Sequence[Edge], columns: int, *, box_size: float
) -> tuple[list[list[str]], dict[str, float]]:
    """The columns (rows, going down), and each box's and slot's size across them."""
    layers: list[list[str]] = [[] for _ in range(columns)]
    heights: dict[str, float] = {}
    for key in sorted(boxes):
        layers[boxes[key].column].append(key)
        heights[key] = box_size
    for edge in edges:
        first, last = boxes[edge.source].column, boxes[edge.target].column
        edge.slots = [_slot(edge, c) for c in range(first + 1, last)]
        for c, key in zip(range(first + 1, last), edge.slots, strict=True):
            layers[c].append(key)
            heights[key] = SLOT_H
    return layers, heights


def _chain(edge: Edge) -> list[str]:
    return [edge.source, *edge.slots, edge.target]


def _neighbours(edges: Sequence[Edge]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """For each box or slot, what it connects to in the column to its left and right."""
    left: dict[str, list[str]] = {}
    right: dict[str, list[str]] = {}
    for edge in edges:
        chain = _chain(edge)
        for a, b in pairwise(chain):
            right.setdefault(a, []).append(b)
            left.setdefault(b, []).append(a)
    return left, right


def _crossings(layers: Sequence[Sequence[str]], right: Mapping[str, list[str]]) -> int:
    total = 0
    for upper, lower in pairwise(layers):
        position = {key: i for i, key in enumerate(lower)}
        pairs = sorted(
            (i, position[b]) for i, a in enumerate(upper) for b in right.get(a, ()) if b in position
        )
        for n, (a1, b1) in enumerate(pairs):
            total += sum(1 for a2, b2 in pairs[n + 1 :] if a2 > a1 and b2 < b1)
    return total


def _order(layers: list[list[str]], edges: Sequence[Edge]) -> None:
    """Barycenter sweeps left to right and back; keeps the order with fewest crossings."""
    left, right = _neighbours(edges)
    best = [list(layer) for layer in layers]
    fewest = _crossings(layers, right)
    for _ in range(8):
        for c in range(1, len(layers)):
            _sort_by(layers, c, layers[c - 1], left)
        for c in range(len(layers) - 2, -1, -1):
            _sort_by(layers, c, layers[c + 1], right)
        count = _crossings(layers, right)
        if count < fewest:
            best, fewest = [list(layer) for layer in layers], count
        if fewest == 0:
            break
    layers[:] = best


def _sort_by(
    layers: list[list[str]], c: int, reference: Sequence[str], links: Mapping[str, list[str]]
) -> None:
    position = {key: i for i, key in enumerate(reference)}
    current = {key: i for i, key in enumerate(layers[c])}

    def key(item: str) -> tuple[float, int, str]:
        near = [position[n] for n in links.get(item, ()) if n in position]
        centre = sum(near) / len(near) if near else float(current[item])
        return (centre, current[item], item)

    layers[c].sort(key=key)


def _place(
    layers: Sequence[Sequence[str]], edges: Sequence[Edge], heights: Mapping[str, float]
) -> dict[str, float]:
    """Vertical centres: each item as near its neighbours' mean as the order and spacing
    allow (weighted isotonic regression per column), a few sweeps each way."""
    left, right = _neighbours(edges)
    both = {k: left.get(k, []) + right.get(k, []) for k in heights}
    centre: dict[str, float] = {}
    for layer in layers:
        y = 0.0
        for i, key in enumerate(layer):
            if i:
                y += _spacing(layer[i - 1], key, heights)
            centre[key] = y
    # Ending left to right puts a lot with one input level with it: chains run straight.
    sweeps: list[tuple[range, Mapping[str, list[str]]]] = []
    for _ in range(4):
        sweeps.append((range(len(layers)), both))
    for _ in range(4):
        sweeps.append((range(len(layers) - 2, -1, -1), right))
        sweeps.append((range(1, len(layers)), left))
    for columns, links in sweeps:
        for c in columns:
            _align(layers[c], links, heights, centre)
    return centre


def _spacing(a: str, b: str, heights: Mapping[str, float]) -> float:
    gap = SLOT_GAP if SLOT_H in (heights[a], heights[b]) else BOX_GAP
    return (heights[a] + heights[b]) / 2 + gap


def _align(
    layer: Sequence[str],
    links: Mapping[str, list[str]],
    heights: Mapping[str, float],
    centre: dict[str, float],
) -> None:
    if not layer:
        return
    offsets = [0.0]
    for a, b in pairwise(layer):
        offsets.append(offsets[-1] + _spacing(a, b, heights))
    targets: list[float] = []
    weights: list[float] = []
    for key, offset in zip(layer, offsets, strict=True):
        near = [centre[n] for n in links.get(key, ())]
        wanted = sum(near) / len(near) if near else centre[key]
        targets.append(wanted - offset)
        # Slots weigh more: long edges should run straight.
        weights.append((3.0 if heights[key] == SLOT_H else 1.0) * max(1, len(near)))
    for key, offset, z in zip(layer, offsets, _isotonic(targets, weights), strict=True):
        centre[key] = z + offset


def _isotonic(values: Sequence[float], weights: Sequence[float]) -> list[float]:
    """The non-decreasing sequence nearest ``values`` in weighted least squares (pool
    adjacent violators)."""
    blocks: list[tuple[float, float, int]] = []
    for value, weight in zip(values, weights, strict=True):
        blocks.append((value, weight, 1))
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append(((v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2))
    result: list[float] = []
    for value, _, count in blocks:
        result.extend([value] * count)
    return result
