"""What a verdict marks in a provenance graph: red offending paths, amber sources of
unknown mass. Pure: a graph and a verdict in, sets of node and edge keys out.

Without a verdict nothing is marked. With one:

- *red* (class ``offending``): every lot on one of the verdict's paths or its parts' paths
  (a path carries non-compliant mass, from the restricted stage that tainted it to the
  judged lot), and every edge between consecutive steps of a path. Consecutive steps are
  usually adjacent; when they are not (a component's later-phase path names the part and
  the lot that machined it) every edge on a route between them is red, and a part's path,
  which ends at the part, is continued the same way to the judged lot, where its mass went.
  When the judged lot is red, so are the shipments to its buyers. Red means non-compliant
  mass, not a failing verdict: a threshold policy can pass a lot with red paths below its
  threshold, an exempt lot keeps its red paths, and a verdict that fails on unknown mass
  alone has none. Of the red lots, those made by a step the path says offends (class
  ``restricted``) are *where* the mass became non-compliant; the others only carry it.
  The restricted stages upstream of a path's start that the verdict names
  (``upstream_offences``) are ``restricted`` too, though no path is drawn through them.
- *amber* (class ``unknown``): the sources of unknown mass the verdict names — an untraced
  input (and its edge into the transformation that consumed it), the lots made by a
  transformation or extraction whose required upstream stage is not recorded, a lot named
  by an integrity finding. The checker computes no paths for unknown mass, only these
  reasons, so amber marks sources, never routes; an inconclusive verdict shows amber
  sources and, with no non-compliant mass, no red. The reasons are the checker's
  ``unknown_reasons`` texts, matched by :data:`_UNKNOWN_SOURCES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise

from ledger.compliance import SourcePath, Verdict
from ledger.provenance.graph import Graph

_UNKNOWN_SOURCES = (
    ("untraced", re.compile(r"untraced (?P<material>[a-z0-9_]+) at log index (?P<index>\d+)")),
    ("made", re.compile(r"not recorded (?:for|before) log index (?P<index>\d+)$")),
    ("made", re.compile(r"^no inputs at (?P<index>\d+)$")),
    ("lot", re.compile(r"^integrity finding on (?P<lot>\S+)$")),
)
"""How the checker words each reason for unknown mass, and what it names."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Marks:
    """What a verdict marks in a graph (see the module docstring)."""

    offending_nodes: frozenset[str] = frozenset()
    offending_edges: frozenset[tuple[str, str]] = frozenset()
    unknown_nodes: frozenset[str] = frozenset()
    unknown_edges: frozenset[tuple[str, str]] = frozenset()
    restricted_nodes: frozenset[str] = frozenset()
    """Of the offending nodes, those made by a restricted stage done where the policy forbids
    it (a path step that says why it offends): *where* the mass became non-compliant, as
    opposed to the lots that merely carry it downstream."""

    def restricted(self, node: str) -> bool:
        return node in self.restricted_nodes

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
    where = {
        step.lot for v in verdicts(verdict) for step in v.upstream_offences if step.lot in graph
    }
    for _, path in offending_paths(verdict):
        where.update(step.lot for step in path.steps if step.why and step.lot in graph)
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
        restricted_nodes=frozenset(where),
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
