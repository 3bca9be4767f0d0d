"""The provenance graph (the only ``networkx`` user): lots as nodes, mass flows as edges.

:func:`build` walks a :class:`ProvenanceSource` (the index) upstream or downstream from one
lot, one batch of lots per step, so a question reads only the part of the ledger it needs.
Nodes are lots (``lot:...``) and untraced inputs (``untraced:<log index>/<n>``); an edge
``a → b`` says that ``grams`` of lot ``a`` went into lot ``b`` at the transformation
``log_index`` (its share of the ``consumed`` grams the transformation took from ``a``).
A transformation commingles: each output gets its share of every input in
proportion to its mass. Shipments move lots without changing them, so they are listed on
the lot (``hops``) rather than drawn as nodes. Renderers (tree, JSON, DOT, Mermaid,
GraphML) are pure functions of the graph. What the graph is built from (``LotInfo``,
``Flow``, ``Untraced``, ``Hop``, ``ProvenanceSource``) lives in ``_source`` and is
re-exported here.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, NotRequired, Protocol, TypeAlias, TypedDict, cast

import networkx as nx

from ledger.core.codec import format_kg
from ledger.errors import InputError
from ledger.provenance._source import (
    UNREGISTERED,
    Flow,
    Hop,
    LotInfo,
    ProvenanceSource,
    Untraced,
)
from ledger.records.model import LotId

__all__ = [
    "RENDERERS",
    "UNREGISTERED",
    "EdgeData",
    "Flow",
    "Graph",
    "Hop",
    "HopData",
    "LotInfo",
    "NodeData",
    "ProvenanceSource",
    "Untraced",
    "build",
    "build_all",
    "depths",
    "node_label",
    "render_dot",
    "render_graphml",
    "render_json",
    "render_mermaid",
    "render_tree",
    "untraced_node",
]

HopData = TypedDict(
    "HopData",
    {
        "shipment": str,
        "from": str,
        "to": str,
        "to_country": str,
        "shipped_on": str,
        "log_index": int,
        "received_index": int | None,
        "end_use": str | None,
    },
)
"""A shipment that moved a lot, as the lot's node lists it (``hops``)."""


class NodeData(TypedDict):
    """A node's attributes. ``kind`` tells a lot (``lot:...``) from an untraced input
    (``untraced:<log index>/<n>``); the keys marked for one kind are on its nodes only."""

    kind: Literal["lot", "untraced"]
    material: str
    mass_g: int
    log_index: int
    """A lot: the log index of the event that created it. An untraced input: the log index
    of the transformation it went into."""
    facility: NotRequired[str]
    """A lot's; likewise ``country``, ``operator``, ``stage``, ``date``, ``source``, ``hops``."""
    country: NotRequired[str]
    """The facility's country by its registration in force on ``date`` (ADR 0016), or
    ``unregistered`` for a day before its first registration; likewise ``operator``."""
    operator: NotRequired[str]
    stage: NotRequired[str]
    date: NotRequired[str]
    source: NotRequired[str]
    """``mined`` or ``recycled`` for an extraction; empty for a transformation."""
    origin: NotRequired[str]
    """A recycled extraction's recorded origin (ADR 0018); empty when not recorded."""
    hops: NotRequired[list[HopData]]
    """The shipments that moved the lot, when there were any."""
    declared_origin: NotRequired[str]
    """An untraced input's (empty when none was declared)."""


class EdgeData(TypedDict):
    """``grams`` of the source went into the target at the transformation ``log_index``: its
    share of the ``consumed`` grams the transformation took from the source."""

    grams: int
    consumed: int
    log_index: int


if TYPE_CHECKING:
    Graph: TypeAlias = nx.DiGraph[str, NodeData, EdgeData]
else:
    Graph = nx.DiGraph
"""The graph type callers may name without importing networkx."""


def untraced_node(item: Untraced) -> str:
    return f"untraced:{item.log_index}/{item.position}"


def _lot_attributes(info: LotInfo) -> NodeData:
    return {
        "kind": "lot",
        "material": info.material,
        "mass_g": info.mass_g,
        "log_index": info.created_index,
        "facility": info.facility,
        "country": info.country,
        "operator": info.operator,
        "stage": info.stage,
        "date": info.happened_on,
        "source": info.source or "",
        "origin": info.origin or "",
    }


def missing_lot(lot: str) -> InputError:
    """The error for a lot the ledger does not hold, with a hint when the id cannot be one."""
    if lot.startswith("lot:"):
        return InputError(f"lot {lot} does not exist")
    return InputError(
        f"lot {lot} does not exist: lot ids begin with 'lot:' and their owner, as in "
        f"lot:OWNER/{lot} ('bloc lots' lists them)"
    )


def build(source: ProvenanceSource, lot: LotId, *, downstream: bool = False) -> Graph:
    """The provenance graph of ``lot``: its whole upstream (or downstream).

    Raises:
        InputError: the lot does not exist.
    """
    root = source.lots([lot]).get(lot)
    if root is None:
        raise missing_lot(lot)
    graph: Graph = nx.DiGraph(root=lot, direction="down" if downstream else "up")
    graph.add_node(lot, **_lot_attributes(root))
    frontier: dict[LotId, LotInfo] = {lot: root}
    # Upstream, the lots are known in one query first; each step then reads from memory.
    walk = source if downstream else _Upstream(source, lot)
    while frontier:
        frontier = (
            _step_down(source, graph, frontier) if downstream else _step_up(walk, graph, frontier)
        )
    _add_hops(
        graph, source.hops([LotId(n) for n, d in graph.nodes(data=True) if d["kind"] == "lot"])
    )
    return graph


def build_all(
    source: ProvenanceSource, only: Iterable[LotId] | None = None, *, hops: bool = True
) -> Graph:
    """Every lot of the ledger and every flow between them (for ``check --all``).

    With ``only``, just those lots, which must be closed upstream (every input of one of
    them is one of them, as :meth:`ProvenanceSource.upstream_lots` gives): what a verdict
    on any of them reads is the same as in the whole graph. Without ``hops``, the lots'
    shipments are left out (verdicts do not read them).
    """
    lots = source.all_lots() if only is None else source.lots(only)
    graph: Graph = nx.DiGraph(root=None, direction="up")
    graph.add_nodes_from((lot, _lot_attributes(info)) for lot, info in lots.items())
    made = {info.created_index for info in lots.values() if info.source is None}
    flows, untraced = source.flows_into(made), source.untraced_into(made)
    outputs: dict[int, list[LotInfo]] = {}
    for info in lots.values():
        outputs.setdefault(info.created_index, []).append(info)
    totals: Mapping[int, int]
    if only is None:
        totals = {index: sum(o.mass_g for o in outs) for index, outs in outputs.items()}
    else:
        totals = source.output_grams(made)  # siblings outside count towards the shares
    for index in made:
        for out in outputs[index]:
            _link(graph, index, out, totals[index], flows.get(index, ()), untraced.get(index, ()))
    if hops:
        _add_hops(graph, source.hops(lots))
    return graph


def _add_hops(graph: Graph, hops: Mapping[LotId, Sequence[Hop]]) -> None:
    for node, lot_hops in hops.items():
        graph.nodes[node]["hops"] = [_hop(h) for h in lot_hops]


def _hop(hop: Hop) -> HopData:
    return {
        "shipment": hop.shipment,
        "from": hop.from_facility,
        "to": hop.to_facility,
        "to_country": hop.to_country,
        "shipped_on": hop.shipped_on,
        "log_index": hop.shipped_index,
        "received_index": hop.received_index,
        "end_use": hop.end_use,
    }


def _link(
    graph: Graph,
    index: int,
    out: LotInfo,
    out_total: int,
    flows: Sequence[Flow],
    untraced: Sequence[Untraced],
) -> None:
    """Edges into ``out`` from everything the transformation at ``index`` consumed."""
    for flow in flows:
        graph.add_edge(
            flow.lot,
            out.id,
            grams=flow.grams * out.mass_g // out_total if out_total else 0,
            consumed=flow.grams,
            log_index=index,
        )
    for item in untraced:
        node = untraced_node(item)
        graph.add_node(
            node,
            kind="untraced",
            material=item.material,
            mass_g=item.grams,
            log_index=index,
            declared_origin=item.declared_origin or "",
        )
        graph.add_edge(
            node,
            out.id,
            grams=item.grams * out.mass_g // out_total if out_total else 0,
            consumed=item.grams,
            log_index=index,
        )


class _Upstream:
    """What the upward walk from ``lot`` reads, loaded in a handful of queries: the lots
    upstream of it, then the flows, untraced inputs and outputs of every transformation
    that made one of them. Each step of the walk reads from here instead of the index."""

    def __init__(self, source: ProvenanceSource, lot: LotId) -> None:
        self._lots = dict(source.lots(source.upstream_lots(lot)))
        made = {info.created_index for info in self._lots.values() if info.source is None}
        self._flows = source.flows_into(made)
        self._untraced = source.untraced_into(made)
        self._outputs = source.outputs_of(made)

    def lots(self, ids: Iterable[LotId]) -> Mapping[LotId, LotInfo]:
        return {lot: self._lots[lot] for lot in ids}

    def flows_into(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[Flow]]:
        return {i: self._flows[i] for i in log_indexes if i in self._flows}

    def untraced_into(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[Untraced]]:
        return {i: self._untraced[i] for i in log_indexes if i in self._untraced}

    def outputs_of(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[LotInfo]]:
        return {i: self._outputs[i] for i in log_indexes if i in self._outputs}


class _UpwardSource(Protocol):
    def lots(self, ids: Iterable[LotId]) -> Mapping[LotId, LotInfo]: ...

    def flows_into(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[Flow]]: ...

    def untraced_into(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[Untraced]]: ...

    def outputs_of(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[LotInfo]]: ...


def _step_up(
    source: _UpwardSource, graph: Graph, frontier: Mapping[LotId, LotInfo]
) -> dict[LotId, LotInfo]:
    made_by = {info.created_index: info for info in frontier.values() if info.source is None}
    if not made_by:
        return {}
    flows = source.flows_into(made_by)
    untraced = source.untraced_into(made_by)
    outputs = source.outputs_of(made_by)
    wanted = {flow.lot for items in flows.values() for flow in items}
    known = source.lots(wanted - set(graph.nodes))
    found: dict[LotId, LotInfo] = {}
    for index in made_by:
        outs = outputs.get(index, ())
        out_total = sum(o.mass_g for o in outs)
        # Only the lots being traced: their sibling outputs are not upstream of the root.
        for out in (o for o in outs if o.id in frontier):
            for flow in flows.get(index, ()):
                if flow.lot not in graph:
                    info = known[flow.lot]
                    graph.add_node(flow.lot, **_lot_attributes(info))
                    found[flow.lot] = info
            _link(graph, index, out, out_total, flows.get(index, ()), untraced.get(index, ()))
    return found


def _step_down(
    source: ProvenanceSource, graph: Graph, frontier: Mapping[LotId, LotInfo]
) -> dict[LotId, LotInfo]:
    flows = source.flows_from(frontier)
    consumers = {flow.log_index for items in flows.values() for flow in items}
    if not consumers:
        return {}
    outputs = source.outputs_of(consumers)
    found: dict[LotId, LotInfo] = {}
    for lot, items in flows.items():
        for flow in items:
            outs = outputs.get(flow.log_index, ())
            out_total = sum(o.mass_g for o in outs)
            for out in outs:
                if out.id not in graph:
                    graph.add_node(out.id, **_lot_attributes(out))
                    found[out.id] = out
                graph.add_edge(
                    lot,
                    out.id,
                    grams=flow.grams * out.mass_g // out_total if out_total else 0,
                    consumed=flow.grams,
                    log_index=flow.log_index,
                )
    return found


def depths(graph: Graph) -> dict[str, int]:
    """Each node's depth: the length of the longest path to it from a node without inputs
    (a mine, scrap, an untraced input), so that every edge goes to a deeper node.

    Raises:
        ValueError: the graph has a cycle (records arrive in causal order, so it never does).
    """
    try:
        # The stubs type the algorithms for graphs with plain dict attributes only.
        generations = list(nx.topological_generations(cast("nx.DiGraph[str]", graph)))
    except nx.NetworkXUnfeasible as e:
        raise ValueError("the provenance graph has a cycle") from e
    return {node: depth for depth, nodes in enumerate(generations) for node in nodes}


# -- renderers ---------------------------------------------------------------------------


def node_label(graph: Graph, node: str) -> str:
    data = graph.nodes[node]
    mass = format_kg(data["mass_g"])
    if data["kind"] == "untraced":
        origin = f", declared {data['declared_origin']}" if data["declared_origin"] else ""
        return f"untraced {data['material']} {mass}{origin} (log index {data['log_index']})"
    return (
        f"{node} {data['material']} {mass} — {data['stage']} at {data['facility']} "
        f"({data['country']}) on {data['date']} (log index {data['log_index']})"
    )


def render_tree(graph: Graph) -> str:
    """An indented tree from the root lot; each line names the log index that proves it.

    A lot reached again (a DAG: one lot blended into two others upstream) is printed once,
    in full where it is first reached, and afterwards as one line referring to it, so the
    output is linear in the size of the graph, never exponential in its depth.
    """
    root = graph.graph["root"]
    down = graph.graph["direction"] == "down"
    lines: list[str] = []
    printed: set[str] = set()
    # An explicit stack, not recursion: a chain thousands of stages deep must print too.
    stack: list[tuple[str, int, EdgeData | None]] = [(root, 0, None)]
    while stack:
        node, depth, via = stack.pop()
        flow = f"{format_kg(via['grams'])} {'→' if down else '←'} " if via is not None else ""
        if node in printed:
            lines.append(
                "  " * depth
                + f"{flow}{node} (shown above, log index {graph.nodes[node]['log_index']})"
            )
            continue
        printed.add(node)
        lines.append("  " * depth + flow + node_label(graph, node))
        lines.extend(_hop_lines(graph, node, depth + 1))
        neighbours = graph.successors(node) if down else graph.predecessors(node)
        for other in sorted(neighbours, reverse=True):
            edge = graph.edges[node, other] if down else graph.edges[other, node]
            stack.append((other, depth + 1, edge))
    return "\n".join(lines) + "\n"


def _hop_lines(graph: Graph, node: str, depth: int) -> list[str]:
    lines = []
    for hop in graph.nodes[node].get("hops", []):
        received = (
            f", received at log index {hop['received_index']}"
            if hop["received_index"] is not None
            else ", not received"
        )
        lines.append(
            "  "
            * depth
            + f"shipped {hop['shipment']} {hop['from']} → {hop['to']} ({hop['to_country']}) "
            f"on {hop['shipped_on']} (log index {hop['log_index']}{received})"
        )
    return lines


def render_json(graph: Graph) -> str:
    nodes = [{"id": node, **graph.nodes[node]} for node in sorted(graph.nodes)]
    edges = [
        {"from": a, "to": b, **data}
        for a, b, data in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1]))
    ]
    return (
        json.dumps(
            {
                "root": graph.graph["root"],
                "direction": graph.graph["direction"],
                "nodes": nodes,
                "edges": edges,
            },
            ensure_ascii=False,
        )
        + "\n"
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_dot(
    graph: Graph,
    *,
    node_colors: Mapping[str, str] | None = None,
    edge_colors: Mapping[tuple[str, str], str] | None = None,
    across: bool = True,
) -> str:
    """Graphviz DOT; ``node_colors`` and ``edge_colors`` draw the nodes and edges they name
    in that colour (any DOT colour, e.g. ``"#c62828"``), with a thicker line."""
    nodes, edges = node_colors or {}, edge_colors or {}
    rankdir = "LR" if across else "TB"
    lines = [
        "digraph provenance {",
        f"  rankdir={rankdir};",
        "  node [shape=box, fontname=Helvetica];",
    ]
    for node in sorted(graph.nodes):
        extra = _dot_color(nodes.get(node))
        lines.append(f"  {_quote(node)} [label={_quote(node_label(graph, node))}{extra}];")
    for a, b, data in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        label = f"{format_kg(data['grams'])} (log index {data['log_index']})"
        extra = _dot_color(edges.get((a, b)))
        lines.append(f"  {_quote(a)} -> {_quote(b)} [label={_quote(label)}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_color(color: str | None) -> str:
    if color is None:
        return ""
    return f", color={_quote(color)}, fontcolor={_quote(color)}, penwidth=2.5"


def render_mermaid(graph: Graph) -> str:
    ids = {node: f"n{i}" for i, node in enumerate(sorted(graph.nodes))}
    lines = ["flowchart LR"]
    for node, key in ids.items():
        label = node_label(graph, node).replace('"', "'")
        lines.append(f'  {key}["{label}"]')
    for a, b, data in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
        lines.append(f"  {ids[a]} -->|{format_kg(data['grams'])}| {ids[b]}")
    return "\n".join(lines) + "\n"


def render_graphml(graph: Graph) -> str:
    plain: nx.DiGraph[str] = nx.DiGraph()
    for node, attributes in graph.nodes(data=True):
        plain.add_node(node, **{k: v for k, v in attributes.items() if k != "hops"})
        plain.nodes[node]["shipments"] = json.dumps(attributes.get("hops", []))
    for a, b, flow in graph.edges(data=True):
        plain.add_edge(a, b, **flow)
    buffer = io.BytesIO()
    nx.write_graphml(plain, buffer, encoding="utf-8")
    return buffer.getvalue().decode("utf-8")


RENDERERS = {
    "tree": render_tree,
    "json": render_json,
    "dot": render_dot,
    "mermaid": render_mermaid,
    "graphml": render_graphml,
}
