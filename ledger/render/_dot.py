"""A provenance picture as Graphviz DOT, the verdict's marks coloured."""

from __future__ import annotations

from ledger.compliance import Verdict
from ledger.provenance.graph import Graph
from ledger.provenance.graph import render_dot as graph_dot
from ledger.render._layout import lay_out
from ledger.render._marks import marks
from ledger.render._style import AMBER, RED


def render_dot(graph: Graph, *, verdict: Verdict | None = None, direction: str = "auto") -> str:
    """Graphviz DOT (:func:`ledger.provenance.graph.render_dot`), the verdict's marks coloured
    (``direction`` as for SVG: ``rankdir`` LR or TB; Graphviz lays the graph out itself)."""
    found = marks(graph, verdict)
    node_colors = {n: AMBER for n in found.unknown_nodes} | {n: RED for n in found.offending_nodes}
    edge_colors = {e: AMBER for e in found.unknown_edges} | {e: RED for e in found.offending_edges}
    across = direction == "right" or (
        direction == "auto" and lay_out(graph, found, direction="auto").direction == "right"
    )
    dot = graph_dot(graph, node_colors=node_colors, edge_colors=edge_colors, across=across)
    if verdict is None:
        return f"// no policy applied\n{dot}"
    return (
        f"// {verdict.lot}: {verdict.verdict} under {verdict.policy} as of {verdict.as_of}; "
        f"red: offending paths, amber: sources of unknown mass\n{dot}"
    )
