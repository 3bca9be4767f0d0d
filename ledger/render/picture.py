"""Pictures of a lot's provenance: SVG, a self-contained HTML page, and Graphviz DOT.

The renderers take a provenance graph (:func:`ledger.provenance.graph.build`) and optionally
a verdict (:func:`ledger.compliance.judge`) and return text; the layout is computed here in pure
Python, with no Graphviz, browser or font files.

**Layout.** Stages run left to right from mine to buyer. A node's column is its depth
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

**Marks.** Without a verdict nothing is marked. With one:

- *red* (class ``offending``): every lot on one of the verdict's paths or its parts' paths
  (a path carries non-compliant mass, from the restricted stage that tainted it to the
  judged lot), and every edge between consecutive steps of a path. Consecutive steps are
  usually adjacent; when they are not (a component's later-phase path names the part and
  the lot that machined it) every edge on a route between them is red, and a part's path,
  which ends at the part, is continued the same way to the judged lot, where its mass went.
  When the judged lot is red, so are the shipments to its buyers. Red means non-compliant
  mass, not a failing verdict: a threshold policy can pass a lot with red paths below its
  threshold, an exempt lot keeps its red paths, and a verdict that fails on unknown mass
  alone has none.
- *amber* (class ``unknown``): the sources of unknown mass the verdict names — an untraced
  input (and its edge into the transformation that consumed it), the lots made by a
  transformation or extraction whose required upstream stage is not recorded, a lot named
  by an integrity finding. The checker computes no paths for unknown mass, only these
  reasons, so amber marks sources, never routes; an inconclusive verdict shows amber
  sources and, with no non-compliant mass, no red. The reasons are the checker's
  ``unknown_reasons`` texts, matched by :data:`_UNKNOWN_SOURCES`.

**Several pictures on one page.** The SVG has no ``id`` attributes, ``<defs>`` or
``<style>`` (arrowheads are drawn shapes, styles are presentation attributes), so any number
of them can share a page without clashing; :data:`STYLESHEET` only styles ``bloc-`` classes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Protocol

from ledger.compliance import SourcePath, Verdict
from ledger.core.codec import format_kg
from ledger.provenance.graph import Graph, HopData, depths, node_label
from ledger.provenance.graph import render_dot as graph_dot

RED = "#c62828"
AMBER = "#d98c00"
INK = "#1f2933"
GREY = "#5f6b7a"
BUYER = "#2f5597"

FONT = "Helvetica, Arial, 'Liberation Sans', sans-serif"

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

_UNKNOWN_SOURCES = (
    ("untraced", re.compile(r"untraced (?P<material>[a-z0-9_]+) at log index (?P<index>\d+)")),
    ("made", re.compile(r"not recorded (?:for|before) log index (?P<index>\d+)$")),
    ("made", re.compile(r"^no inputs at (?P<index>\d+)$")),
    ("lot", re.compile(r"^integrity finding on (?P<lot>\S+)$")),
)
"""How the checker words each reason for unknown mass, and what it names."""


# -- marks ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Marks:
    """What a verdict marks in a graph (see the module docstring)."""

    offending_nodes: frozenset[str] = frozenset()
    offending_edges: frozenset[tuple[str, str]] = frozenset()
    unknown_nodes: frozenset[str] = frozenset()
    unknown_edges: frozenset[tuple[str, str]] = frozenset()

    def node(self, node: str) -> str | None:
        """``"offending"``, ``"unknown"`` or ``None``; red wins over amber."""
        if node in self.offending_nodes:
            return "offending"
        return "unknown" if node in self.unknown_nodes else None

    def edge(self, a: str, b: str) -> str | None:
        if (a, b) in self.offending_edges:
            return "offending"
        return "unknown" if (a, b) in self.unknown_edges else None


def verdicts(verdict: Verdict) -> Iterator[Verdict]:
    """The verdict and its parts', depth first."""
    yield verdict
    for part in verdict.parts:
        yield from verdicts(part)


def offending_paths(verdict: Verdict) -> list[tuple[Verdict, SourcePath]]:
    """Every path of the verdict and its parts, once each (a component repeats the paths
    of its worst part), with the verdict whose mass it measures."""
    seen: set[tuple[int, ...]] = set()
    found: list[tuple[Verdict, SourcePath]] = []
    for v in verdicts(verdict):
        for path in v.paths:
            key = tuple(step.log_index for step in path.steps)
            if key not in seen:
                seen.add(key)
                found.append((v, path))
    return found


def marks(graph: Graph, verdict: Verdict | None) -> Marks:
    """The red and amber marks ``verdict`` puts on ``graph``; none without a verdict."""
    if verdict is None:
        return Marks()
    red_nodes: set[str] = set()
    red_edges: set[tuple[str, str]] = set()
    for _, path in offending_paths(verdict):
        lots = [step.lot for step in path.steps if step.lot in graph]
        if lots and lots[-1] != verdict.lot and verdict.lot in graph:
            lots.append(verdict.lot)
        red_nodes.update(lots)
        for a, b in pairwise(lots):
            nodes, edges = _route(graph, a, b)
            red_nodes |= nodes
            red_edges |= edges
    amber = _unknown_sources(graph, verdict) - red_nodes
    amber_edges = {
        (node, out)
        for node in amber
        if graph.nodes[node]["kind"] == "untraced"
        for out in graph.successors(node)
    }
    return Marks(
        offending_nodes=frozenset(red_nodes),
        offending_edges=frozenset(red_edges),
        unknown_nodes=frozenset(amber),
        unknown_edges=frozenset(amber_edges - red_edges),
    )


def _reach(start: str, step: Callable[[str], Iterable[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for other in step(todo.pop()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def _route(graph: Graph, a: str, b: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The nodes and edges on every route from ``a`` to ``b``."""
    if graph.has_edge(a, b):
        return {a, b}, {(a, b)}
    between = _reach(a, graph.successors) & _reach(b, graph.predecessors)
    if b not in between:
        return set(), set()
    edges = {(u, v) for u in between for v in graph.successors(u) if v in between}
    return between, edges


def _unknown_sources(graph: Graph, verdict: Verdict) -> set[str]:
    found: set[str] = set()
    by_index: dict[int, list[str]] = {}
    for node, data in graph.nodes(data=True):
        by_index.setdefault(data["log_index"], []).append(node)
    for v in verdicts(verdict):
        if v.lot in graph and graph.nodes[v.lot]["kind"] == "untraced":
            found.add(v.lot)  # an untraced covered part of a component
        for why, _ in v.unknown_reasons:
            for what, pattern in _UNKNOWN_SOURCES:
                match = pattern.search(why)
                if match is None:
                    continue
                if what == "lot":
                    found.update({match["lot"]} & set(graph.nodes))
                    continue
                kind = "untraced" if what == "untraced" else "lot"
                for node in by_index.get(int(match["index"]), []):
                    data = graph.nodes[node]
                    if data["kind"] == kind and (
                        kind == "lot" or data["material"] == match["material"]
                    ):
                        found.add(node)
    return found


# -- layout --------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class _Box:
    key: str
    kind: str  # lot / untraced / buyer
    column: int
    lines: tuple[tuple[str, float, bool, str], ...]  # text, size, bold, colour
    badge: str
    title: str
    mark: str | None
    data: dict[str, str] = field(default_factory=dict)
    x: float = 0.0
    y: float = 0.0  # centre
    w: float = 0.0
    h: float = BOX_H


@dataclass(slots=True, kw_only=True)
class _Edge:
    source: str
    target: str
    kind: str  # flow / ship
    label: str
    title: str
    mark: str | None
    data: dict[str, str] = field(default_factory=dict)
    slots: list[str] = field(default_factory=list)  # its places in the columns it crosses
    slot_y: list[float] = field(default_factory=list)


@dataclass(slots=True)
class _Layout:
    boxes: dict[str, _Box]
    edges: list[_Edge]
    width: float
    height: float


def _text_width(text: str, size: float, *, bold: bool = False) -> float:
    """A generous estimate for Helvetica-like fonts (no font metrics in a pure module)."""
    return len(text) * size * (0.61 if bold else 0.57)


def _fit(text: str, width: float, size: float, *, bold: bool = False) -> str:
    if _text_width(text, size, bold=bold) <= width:
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


def _lot_box(graph: Graph, node: str, mark: str | None, note: str) -> _Box:
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
        return _Box(
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
    return _Box(
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


def _buyer_box(key: str, hop: Mapping[str, Any]) -> _Box:
    index = hop["received_index"]
    received = f"received at log {index}" if index is not None else "not received"
    receipt = f"received at log index {index}" if index is not None else "not received"
    use = f"{hop['end_use']} use" if hop["end_use"] else "no end use declared"
    return _Box(
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


_NOTES = {
    "offending": "\non an offending path: carries non-compliant mass",
    "unknown": "\na source of unknown mass",
    None: "",
}


def _layout(graph: Graph, found: Marks) -> _Layout:
    boxes: dict[str, _Box] = {}
    for node in sorted(graph.nodes):
        mark = found.node(node)
        boxes[node] = _lot_box(graph, node, mark, _NOTES[mark])
    edges: list[_Edge] = []
    for a, b, data in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        mark = found.edge(a, b)
        edges.append(
            _Edge(
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
        )
    column = depths(graph)
    for node in sorted(graph.nodes):  # a source sits just before the first lot it went into
        users = [column[user] for user in graph.successors(node)]
        if users and not any(True for _ in graph.predecessors(node)):
            column[node] = min(users) - 1
    root = graph.graph.get("root")
    root_red = root is not None and root in found.offending_nodes
    for key, origin, hop in _buyers(graph):
        assert root is not None  # there are buyers only when there is a root
        boxes[key] = _buyer_box(key, hop)
        column[key] = column[origin] + 1
        mark = "offending" if root_red else None
        edges.append(
            _Edge(
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
    width = float(BOX_MIN_W)
    for box in boxes.values():
        for i, (text, size, bold, _) in enumerate(box.lines):
            room = BADGE_W + 6 if i == 0 else 0
            width = max(width, _text_width(text, size, bold=bold) + 2 * PAD + room)
    width = min(width, BOX_MAX_W)
    for box in boxes.values():
        box.w = width
    columns = max((box.column for box in boxes.values()), default=0) + 1
    layers, heights = _layers(boxes, edges, columns)
    _order(layers, edges)
    centres = _place(layers, edges, heights)
    top = min((centres[k] - heights[k] / 2 for layer in layers for k in layer), default=0.0)
    bottom = max((centres[k] + heights[k] / 2 for layer in layers for k in layer), default=0.0)
    for key, box in boxes.items():
        box.x = MARGIN + box.column * (width + COLUMN_GAP)
        box.y = centres[key] - top + MARGIN + HEADER
    for edge in edges:
        edge.slot_y = [centres[slot] - top + MARGIN + HEADER for slot in edge.slots]
    return _Layout(
        boxes=boxes,
        edges=edges,
        width=2 * MARGIN + columns * width + (columns - 1) * COLUMN_GAP,
        height=bottom - top + 2 * MARGIN + HEADER,
    )


def _slot(edge: _Edge, column: int) -> str:
    return f"\x00{edge.source}\x00{edge.target}\x00{column}"


def _layers(
    boxes: Mapping[str, _Box], edges: Sequence[_Edge], columns: int
) -> tuple[list[list[str]], dict[str, float]]:
    layers: list[list[str]] = [[] for _ in range(columns)]
    heights: dict[str, float] = {}
    for key in sorted(boxes):
        layers[boxes[key].column].append(key)
        heights[key] = BOX_H
    for edge in edges:
        first, last = boxes[edge.source].column, boxes[edge.target].column
        edge.slots = [_slot(edge, c) for c in range(first + 1, last)]
        for c, key in zip(range(first + 1, last), edge.slots, strict=True):
            layers[c].append(key)
            heights[key] = SLOT_H
    return layers, heights


def _chain(edge: _Edge) -> list[str]:
    return [edge.source, *edge.slots, edge.target]


def _neighbours(edges: Sequence[_Edge]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
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


def _order(layers: list[list[str]], edges: Sequence[_Edge]) -> None:
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
    layers: Sequence[Sequence[str]], edges: Sequence[_Edge], heights: Mapping[str, float]
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
    gap = BOX_GAP if heights[a] == BOX_H and heights[b] == BOX_H else SLOT_GAP
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


# -- SVG -----------------------------------------------------------------------------------

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _esc(text: object) -> str:
    """Text for XML and HTML content or attribute values (characters XML cannot hold at
    all become U+FFFD)."""
    return html.escape(_INVALID_XML.sub("\ufffd", str(text)), quote=True)


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _stroke(mark: str | None, normal: str) -> tuple[str, float]:
    if mark == "offending":
        return RED, 2.6
    if mark == "unknown":
        return AMBER, 2.6
    return normal, 1.3


def _ports(layout: _Layout) -> dict[tuple[int, str], float]:
    """Where each edge leaves its source and enters its target: spread along the box side
    in the order of the other end, so that edges do not converge on one point."""
    centre = {key: box.y for key, box in layout.boxes.items()}
    ports: dict[tuple[int, str], float] = {}
    outgoing: dict[str, list[tuple[float, str, int]]] = {}
    incoming: dict[str, list[tuple[float, str, int]]] = {}
    for n, edge in enumerate(layout.edges):
        first = edge.slot_y[0] if edge.slot_y else centre[edge.target]
        last = edge.slot_y[-1] if edge.slot_y else centre[edge.source]
        outgoing.setdefault(edge.source, []).append((first, edge.target, n))
        incoming.setdefault(edge.target, []).append((last, edge.source, n))
    for side, table in (("out", outgoing), ("in", incoming)):
        for key, items in table.items():
            items.sort()
            step = min(12.0, (BOX_H - 24) / max(1, len(items) - 1))
            for i, (_, _, n) in enumerate(items):
                ports[(n, side)] = centre[key] + (i - (len(items) - 1) / 2) * step
    return ports


def _bezier(p: Sequence[tuple[float, float]], t: float) -> tuple[float, float]:
    u = 1 - t
    x = u**3 * p[0][0] + 3 * u * u * t * p[1][0] + 3 * u * t * t * p[2][0] + t**3 * p[3][0]
    y = u**3 * p[0][1] + 3 * u * u * t * p[1][1] + 3 * u * t * t * p[2][1] + t**3 * p[3][1]
    return x, y


def _edge_geometry(
    edge: _Edge, layout: _Layout, ports: Mapping[tuple[int, str], float], n: int
) -> tuple[str, list[list[tuple[float, float]]], tuple[float, float]]:
    """The path data, its curved pieces (for labels), and the arrow's tip."""
    source, target = layout.boxes[edge.source], layout.boxes[edge.target]
    points = [(source.x + source.w, ports[(n, "out")])]
    for column, y in zip(range(source.column + 1, target.column), edge.slot_y, strict=True):
        x = MARGIN + column * (source.w + COLUMN_GAP)
        points += [(x, y), (x + source.w, y)]
    tip = (target.x, ports[(n, "in")])
    points.append((tip[0] - ARROW, tip[1]))
    parts = [f"M{_n(points[0][0])} {_n(points[0][1])}"]
    curves: list[list[tuple[float, float]]] = []
    for i in range(0, len(points) - 1, 2):
        (x0, y0), (x1, y1) = points[i], points[i + 1]
        k = (x1 - x0) / 2
        curve = [(x0, y0), (x0 + k, y0), (x1 - k, y1), (x1, y1)]
        curves.append(curve)
        parts.append(f"C{_n(x0 + k)} {_n(y0)} {_n(x1 - k)} {_n(y1)} {_n(x1)} {_n(y1)}")
        if i + 2 < len(points):
            parts.append(f"L{_n(points[i + 2][0])} {_n(points[i + 2][1])}")
    return " ".join(parts), curves, tip


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


_SPOTS = {
    "source": (0.3, 0.2, 0.42, 0.55, 0.68, 0.8),
    "middle": (0.5, 0.35, 0.65, 0.2, 0.8),
    "target": (0.7, 0.8, 0.58, 0.45, 0.32, 0.2),
}


def _label_spot(
    curves: Sequence[Sequence[tuple[float, float]]],
    width: float,
    taken: list[tuple[float, float, float, float]],
    near: str,
) -> tuple[float, float]:
    """The first spot along the edge where the label overlaps no box and no other label.

    Where several edges meet (``near`` the end where they are fewer) their lines are
    farthest apart, so the labels of a fan-in sit near the sources, those of a fan-out near
    the targets; a long edge is labelled in its piece at that end.
    """
    first: tuple[float, float] | None = None
    pieces = [curves[0], *curves[1:]] if near == "source" else [curves[-1], *curves[:-1]]
    for curve in pieces:
        for t in _SPOTS[near]:
            x, y = _bezier(curve, t)
            rect = (x - width / 2, y - LABEL_H / 2, x + width / 2, y + LABEL_H / 2)
            first = first or (x, y)
            if not any(_overlaps(rect, other) for other in taken):
                taken.append(rect)
                return x, y
    assert first is not None
    return first


def _header(graph: Graph, verdict: Verdict | None) -> list[tuple[str, float, bool, str]]:
    root = graph.graph.get("root")
    if root is not None and root in graph:
        data = graph.nodes[root]
        title = f"Provenance of {root} — {data['material']}, {format_kg(data['mass_g'])}"
    else:
        title = "Provenance graph"
    if verdict is None:
        summary = ("no policy applied: nothing is marked", 13.0, False, GREY)
    else:
        color = {"fail": RED, "inconclusive": AMBER, "pass": "#2e7d32"}.get(verdict.verdict, INK)
        summary = (
            f"{verdict.verdict.upper()} under {verdict.policy} as of {verdict.as_of}"
            f" — {_shares(verdict)}" + (f" — {verdict.paragraph}" if verdict.paragraph else ""),
            13.0,
            True,
            color,
        )
    return [(title, 15.0, True, INK), summary]


def _shares(v: Verdict) -> str:
    return (
        f"compliant {v.compliant * 100:.2f}%, non-compliant {v.non_compliant * 100:.2f}%, "
        f"unknown {v.unknown * 100:.2f}%"
    )


def _legend(x: float, y: float) -> list[str]:
    out: list[str] = ['<g class="legend" font-size="11" fill="#5f6b7a">']
    items = [
        ("line", RED, "offending path (carries non-compliant mass)"),
        ("line", AMBER, "source of unknown mass"),
        ("dash", GREY, "untraced input"),
        ("box", BUYER, "buyer (shipment of the judged lot)"),
    ]
    for kind, color, text in items:
        if kind == "line":
            out.append(
                f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 22)}" y2="{_n(y - 4)}" '
                f'stroke="{color}" stroke-width="3"/>'
            )
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y - 10)}" width="22" height="12" rx="2" '
                f'fill="#fff" stroke="{color}" stroke-width="1.3"{dash}/>'
            )
        out.append(f'<text x="{_n(x + 28)}" y="{_n(y)}">{_esc(text)}</text>')
        x += 28 + len(text) * 5.6 + 20
    out.append("</g>")
    return out


def _box_svg(box: _Box) -> list[str]:
    normal = BUYER if box.kind == "buyer" else GREY
    stroke, width = _stroke(box.mark, normal)
    fill = {"offending": "#fdecea", "unknown": "#fff4dc"}.get(box.mark or "", "#ffffff")
    if box.mark is None and box.kind == "buyer":
        fill = "#eef3fb"
    classes = " ".join(c for c in ("node", box.kind, box.mark) if c)
    attrs = "".join(f' data-{k}="{_esc(v)}"' for k, v in sorted(box.data.items()))
    top = box.y - box.h / 2
    dash = ' stroke-dasharray="5 3"' if box.kind == "untraced" else ""
    out = [
        f'<g class="{classes}" data-id="{_esc(box.key)}" data-column="{box.column}"{attrs}>',
        f"<title>{_esc(box.title)}</title>",
        f'<rect x="{_n(box.x)}" y="{_n(top)}" width="{_n(box.w)}" height="{_n(box.h)}" '
        f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>',
        f'<rect x="{_n(box.x + box.w - BADGE_W - 6)}" y="{_n(top + 6)}" width="{BADGE_W}" '
        f'height="{BADGE_H}" rx="3" fill="#3e4c59"/>',
        f'<text x="{_n(box.x + box.w - BADGE_W / 2 - 6)}" y="{_n(top + 6 + 12.5)}" '
        f'font-size="11" font-weight="bold" fill="#ffffff" text-anchor="middle" '
        f'class="country">{_esc(box.badge)}</text>',
    ]
    baseline = top + 19
    for i, (text, size, bold, color) in enumerate(box.lines):
        room = box.w - 2 * PAD - (BADGE_W + 6 if i == 0 else 0)
        weight = ' font-weight="bold"' if bold else ""
        out.append(
            f'<text x="{_n(box.x + PAD)}" y="{_n(baseline)}" font-size="{_n(size)}"'
            f'{weight} fill="{color}">{_esc(_fit(text, room, size, bold=bold))}</text>'
        )
        baseline += 16 if i == 0 else 15
    out.append("</g>")
    return out


def _edge_svg(
    edge: _Edge,
    n: int,
    layout: _Layout,
    ports: Mapping[tuple[int, str], float],
    taken: list[tuple[float, float, float, float]],
    near: str,
) -> list[str]:
    color, width = _stroke(edge.mark, "#8a96a3")
    d, curves, (tx, ty) = _edge_geometry(edge, layout, ports, n)
    classes = " ".join(c for c in ("edge", edge.kind, edge.mark) if c)
    attrs = "".join(f' data-{k}="{_esc(v)}"' for k, v in sorted(edge.data.items()))
    label_w = _text_width(edge.label, 11) + 8
    lx, ly = _label_spot(curves, label_w, taken, near)
    head = ARROW + (2 if edge.mark else 0)
    half = head * 0.55
    return [
        f'<g class="{classes}" data-from="{_esc(edge.source)}" data-to="{_esc(edge.target)}"'
        f"{attrs}>",
        f"<title>{_esc(edge.title)}</title>",
        f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"/>',
        f'<path d="M{_n(tx - head)} {_n(ty - half)} L{_n(tx)} {_n(ty)} '
        f'L{_n(tx - head)} {_n(ty + half)} Z" fill="{color}"/>',
        f'<text x="{_n(lx)}" y="{_n(ly + 4)}" font-size="11" text-anchor="middle" '
        f'fill="{color if edge.mark else INK}" stroke="#ffffff" stroke-width="4" '
        f'stroke-linejoin="round" paint-order="stroke" class="mass">{_esc(edge.label)}</text>',
        "</g>",
    ]


def render_svg(graph: Graph, *, verdict: Verdict | None = None) -> str:
    """A self-contained SVG picture of ``graph``, marked by ``verdict`` when given.

    Elements tests and style sheets can rely on: ``<g class="node lot|untraced|buyer
    [offending|unknown]" data-id=...>`` with its ``<rect>`` first after the ``<title>``,
    and ``<g class="edge flow|ship [offending|unknown]" data-from=... data-to=...>``.
    """
    found = marks(graph, verdict)
    layout = _layout(graph, found)
    header = _header(graph, verdict)
    width = max(
        layout.width,
        2 * MARGIN + max(_text_width(t, s, bold=b) for t, s, b, _ in header),
        2 * MARGIN + 640,  # the legend
    )
    height = layout.height
    judged = f' data-verdict="{_esc(verdict.verdict)}"' if verdict else ""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}" class="bloc-provenance" '
        f'data-root="{_esc(graph.graph.get("root") or "")}"{judged}>',
        f"<title>{_esc(header[0][0])}: {_esc(header[1][0])}</title>",
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
    ]
    baseline = MARGIN + 10
    for text, size, bold, color in header:
        weight = ' font-weight="bold"' if bold else ""
        out.append(
            f'<text x="{MARGIN}" y="{_n(baseline)}" font-size="{_n(size)}"{weight} '
            f'fill="{color}" class="heading">{_esc(text)}</text>'
        )
        baseline += 20
    out += _legend(MARGIN, baseline + 2)
    ports = _ports(layout)
    taken = [
        (b.x - 2, b.y - b.h / 2 - 2, b.x + b.w + 2, b.y + b.h / 2 + 2)
        for b in layout.boxes.values()
    ]
    # Marked edges last, so they are drawn over the others.
    order = sorted(
        range(len(layout.edges)),
        key=lambda i: ({None: 0, "unknown": 1, "offending": 2}[layout.edges[i].mark], i),
    )
    fan_out: dict[str, int] = {}
    fan_in: dict[str, int] = {}
    for edge in layout.edges:
        fan_out[edge.source] = fan_out.get(edge.source, 0) + 1
        fan_in[edge.target] = fan_in.get(edge.target, 0) + 1
    out.append('<g class="edges">')
    for n in order:
        edge = layout.edges[n]
        many, few = fan_in[edge.target], fan_out[edge.source]
        near = "source" if many > few else "target" if few > many else "middle"
        out += _edge_svg(edge, n, layout, ports, taken, near)
    out.append("</g>")
    out.append('<g class="nodes">')
    for key in sorted(layout.boxes):
        out += _box_svg(layout.boxes[key])
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# -- HTML ----------------------------------------------------------------------------------

STYLESHEET = """
.bloc-page { font-family: Helvetica, Arial, sans-serif; color: #1f2933; margin: 24px; }
.bloc-page h1 { font-size: 22px; margin: 0 0 12px; }
.bloc-verdict { border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 16px;
  margin: 16px 0; }
.bloc-verdict h2 { font-size: 18px; margin: 0 0 10px; }
.bloc-verdict h3 { font-size: 14px; margin: 12px 0 4px; }
.bloc-word { display: inline-block; padding: 2px 10px; border-radius: 4px; color: #fff;
  background: #616161; letter-spacing: 0.04em; margin-right: 8px; }
.bloc-word.fail { background: #c62828; }
.bloc-word.pass { background: #2e7d32; }
.bloc-word.inconclusive { background: #d98c00; }
.bloc-word.exempt { background: #1565c0; }
.bloc-verdict dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px;
  margin: 0; font-size: 14px; }
.bloc-verdict dt { color: #5f6b7a; }
.bloc-verdict dd { margin: 0; }
.bloc-verdict ol, .bloc-verdict ul { margin: 0; padding-left: 22px; font-size: 14px; }
.bloc-chain { font-family: Menlo, Consolas, monospace; }
.bloc-chain abbr { text-decoration: none; border-bottom: 1px dotted #5f6b7a; }
.bloc-figure { overflow-x: auto; margin-top: 12px; border-top: 1px solid #eef0f2; }
.bloc-figure svg { display: block; }
.bloc-records table { border-collapse: collapse; font-size: 13px; margin: 4px 0 16px; }
.bloc-records th, .bloc-records td { border-bottom: 1px solid #e5e7eb; padding: 4px 10px;
  text-align: left; white-space: nowrap; }
.bloc-records th { background: #f5f7f9; }
.bloc-records td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bloc-records tr.offending td { color: #c62828; }
.bloc-records tr.offending td:first-child { box-shadow: inset 3px 0 #c62828; }
.bloc-records tr.unknown td:first-child { box-shadow: inset 3px 0 #d98c00; }
""".strip()
"""CSS for :func:`verdict_block` and :func:`records_block`; include it once per page."""


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.2f}%"


def _path_html(path: SourcePath) -> str:
    steps = [
        f'<abbr title="{_esc(f"{s.stage} at {s.facility} ({s.country}) on {s.date} → {s.lot}")}">'
        f"{s.log_index}</abbr>"
        for s in path.steps
    ]
    return '<span class="bloc-chain">' + " → ".join(steps) + "</span>"


def verdict_block(graph: Graph, verdict: Verdict | None = None) -> str:
    """An HTML fragment: the verdict on the graph's lot and its picture, for a page that
    shows several (style it with :data:`STYLESHEET`)."""
    root = graph.graph.get("root") or ""
    figure = f'<div class="bloc-figure">\n{render_svg(graph, verdict=verdict)}</div>'
    if verdict is None:
        return (
            f'<section class="bloc-verdict none" data-lot="{_esc(root)}">\n'
            f'<h2><span class="bloc-word none">NO POLICY</span>{_esc(root)}</h2>\n'
            "<p>No policy was applied: the picture marks nothing.</p>\n"
            f"{figure}\n</section>\n"
        )
    v = verdict
    rows = [
        ("policy", f"{v.policy} as of {v.as_of}" + (f" (window {v.window})" if v.window else "")),
        ("shares", _shares(v)),
    ]
    if v.rule:
        rows.append(("rule", v.rule))
    if v.paragraph or v.citation:
        rows.append(("paragraph", " — ".join(x for x in (v.paragraph, v.citation) if x)))
    rows.append(("reason", v.reason))
    out = [
        f'<section class="bloc-verdict {_esc(v.verdict)}" data-lot="{_esc(v.lot)}">',
        f'<h2><span class="bloc-word {_esc(v.verdict)}">{_esc(v.verdict.upper())}</span>'
        f"{_esc(v.lot)} <small>({_esc(v.material)})</small></h2>",
        "<dl>",
        *(f"<dt>{_esc(k)}</dt><dd>{_esc(val)}</dd>" for k, val in rows),
    ]
    reasons = [(why, share) for part in verdicts(v) for why, share in part.unknown_reasons]
    if reasons:
        out.append("<dt>unknown mass</dt><dd><ul>")
        out += [f"<li>{_percent(share)}: {_esc(why)}</li>" for why, share in reasons]
        out.append("</ul></dd>")
    out.append("</dl>")
    paths = offending_paths(v)
    if paths:
        out.append("<h3>Offending paths (log indexes, from the restricted stage on)</h3>")
        out.append('<ol class="bloc-paths">')
        for owner, path in paths:
            out.append(f"<li>{_percent(path.share)} of {_esc(owner.lot)}: {_path_html(path)}</li>")
        out.append("</ol>")
    if v.parts:
        out.append("<h3>Parts</h3>")
        out.append('<ul class="bloc-parts">')
        out += [
            f"<li>{_esc(p.lot)} ({_esc(p.material)}): <strong>{_esc(p.verdict)}</strong> — "
            f"{_esc(p.reason)}</li>"
            for p in v.parts
        ]
        out.append("</ul>")
    out += [figure, "</section>"]
    return "\n".join(out) + "\n"


def _row(cells: Iterable[tuple[str, bool]], classes: str, attrs: str) -> str:
    tds = "".join(
        f'<td class="num">{_esc(text)}</td>' if number else f"<td>{_esc(text)}</td>"
        for text, number in cells
    )
    return f'<tr class="{classes}"{attrs}>{tds}</tr>'


def records_block(graph: Graph, *, verdict: Verdict | None = None) -> str:
    """An HTML fragment: tables of the records the picture draws — every lot, every
    untraced input, every shipment — each with its log index; rows of marked lots (and
    their shipments) carry the mark."""
    found = marks(graph, verdict)
    lots = sorted(
        (n for n, d in graph.nodes(data=True) if d["kind"] == "lot"),
        key=lambda n: (graph.nodes[n]["log_index"], n),
    )
    untraced = sorted(
        (n for n, d in graph.nodes(data=True) if d["kind"] == "untraced"),
        key=lambda n: (graph.nodes[n]["log_index"], n),
    )
    out = [
        '<section class="bloc-records">',
        "<h2>Lots</h2>",
        '<table class="lots"><thead><tr><th>log index</th><th>lot</th><th>material</th>'
        "<th>mass</th><th>stage</th><th>facility</th><th>country</th><th>date</th></tr>"
        "</thead><tbody>",
    ]
    for node in lots:
        d = graph.nodes[node]
        mark = found.node(node)
        stage = f"{d['stage']} ({d['source']})" if d["source"] else d["stage"]
        out.append(
            _row(
                [
                    (str(d["log_index"]), True),
                    (node, False),
                    (d["material"], False),
                    (format_kg(d["mass_g"]), True),
                    (stage, False),
                    (d["facility"], False),
                    (d["country"], False),
                    (d["date"], False),
                ],
                " ".join(c for c in ("lot", mark) if c),
                f' data-id="{_esc(node)}"',
            )
        )
    out.append("</tbody></table>")
    if untraced:
        out += [
            "<h2>Untraced inputs</h2>",
            '<table class="untraced"><thead><tr><th>log index</th><th>input</th>'
            "<th>material</th><th>mass</th><th>declared origin</th></tr></thead><tbody>",
        ]
        for node in untraced:
            d = graph.nodes[node]
            mark = found.node(node)
            out.append(
                _row(
                    [
                        (str(d["log_index"]), True),
                        (node, False),
                        (d["material"], False),
                        (format_kg(d["mass_g"]), True),
                        (d["declared_origin"] or "not declared", False),
                    ],
                    " ".join(c for c in ("untraced", mark) if c),
                    f' data-id="{_esc(node)}"',
                )
            )
        out.append("</tbody></table>")
    hops = sorted(
        ((hop, node) for node in lots for hop in graph.nodes[node].get("hops", [])),
        key=lambda item: (item[0]["log_index"], item[0]["shipment"], item[1]),
    )
    out += [
        "<h2>Shipments</h2>",
        '<table class="shipments"><thead><tr><th>shipment</th><th>log index</th><th>lot</th>'
        "<th>from → to</th><th>destination</th><th>end use</th><th>received</th></tr>"
        "</thead><tbody>",
    ]
    for hop, node in hops:
        received = (
            f"log index {hop['received_index']}"
            if hop["received_index"] is not None
            else "not received"
        )
        out.append(
            _row(
                [
                    (hop["shipment"], False),
                    (str(hop["log_index"]), True),
                    (node, False),
                    (f"{hop['from']} → {hop['to']}", False),
                    (hop["to_country"], False),
                    (hop["end_use"] or "", False),
                    (received, False),
                ],
                " ".join(c for c in ("hop", found.node(node)) if c),
                f' data-shipment="{_esc(hop["shipment"])}" data-lot="{_esc(node)}"',
            )
        )
    if not hops:
        out.append('<tr><td colspan="7">no shipments</td></tr>')
    out += ["</tbody></table>", "</section>"]
    return "\n".join(out) + "\n"


def render_html(graph: Graph, *, verdict: Verdict | None = None, title: str | None = None) -> str:
    """A self-contained HTML page: the verdict, the picture, and the tables of records
    (inline CSS; no scripts, fonts or other URLs). It is also well-formed XML."""
    root = graph.graph.get("root")
    heading = title if title is not None else f"Provenance of {root or 'a ledger'}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
        f"<title>{_esc(heading)}</title>\n<style>\n{STYLESHEET}\n</style>\n</head>\n"
        f'<body class="bloc-page">\n<h1>{_esc(heading)}</h1>\n'
        f"{verdict_block(graph, verdict)}{records_block(graph, verdict=verdict)}"
        "</body>\n</html>\n"
    )


# -- DOT -----------------------------------------------------------------------------------


def render_dot(graph: Graph, *, verdict: Verdict | None = None) -> str:
    """Graphviz DOT (:func:`ledger.provenance.graph.render_dot`), the verdict's marks coloured."""
    found = marks(graph, verdict)
    node_colors = {n: AMBER for n in found.unknown_nodes} | {n: RED for n in found.offending_nodes}
    edge_colors = {e: AMBER for e in found.unknown_edges} | {e: RED for e in found.offending_edges}
    dot = graph_dot(graph, node_colors=node_colors, edge_colors=edge_colors)
    if verdict is None:
        return f"// no policy applied\n{dot}"
    return (
        f"// {verdict.lot}: {verdict.verdict} under {verdict.policy} as of {verdict.as_of}; "
        f"red: offending paths, amber: sources of unknown mass\n{dot}"
    )


class Renderer(Protocol):
    def __call__(self, graph: Graph, *, verdict: Verdict | None = None) -> str: ...


RENDERERS: Mapping[str, Renderer] = {
    ".svg": render_svg,
    ".html": render_html,
    ".dot": render_dot,
}
"""The picture formats ``bloc graph`` writes, by file suffix."""
