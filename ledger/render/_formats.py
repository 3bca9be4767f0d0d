"""The picture formats ``bloc graph`` writes, by file suffix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ledger.compliance import Verdict
from ledger.provenance.graph import Graph
from ledger.render._dot import render_dot
from ledger.render._html import render_html
from ledger.render._svg import render_svg


class Renderer(Protocol):
    """A graph and, optionally, the verdict to mark on it in; the picture's text out."""

    def __call__(
        self, graph: Graph, *, verdict: Verdict | None = None, direction: str = "auto"
    ) -> str: ...


RENDERERS: Mapping[str, Renderer] = {
    ".svg": render_svg,
    ".html": render_html,
    ".dot": render_dot,
}
"""The picture formats ``bloc graph`` writes, by file suffix."""
