"""Pictures and pages: provenance pictures (SVG, HTML, dot) and the audit report.

The renderers take a provenance graph (:func:`ledger.provenance.graph.build`) and optionally
a verdict (:func:`ledger.compliance.judge`) and return text. Pure: values in, text out; the
same graph and verdict always give the same bytes. The work is split by job, in internal
modules re-exported here:

- ``_marks``: what a verdict marks red (offending paths) and amber (sources of unknown mass);
- ``_layout``: where each box and edge goes, stages left to right (or top to bottom when
  that is narrower than a wide picture), and what each box says;
- ``_svg``, ``_html``, ``_dot``: the picture in each format; ``_formats`` picks one by suffix;
- ``_report``: the ledger-wide report page of ``bloc report`` and ``bloc demo``;
- ``_style``: the palette, the one XML-safe escaping helper, percentages and grams.
"""

from ledger.render._dot import render_dot
from ledger.render._formats import RENDERERS, Renderer
from ledger.render._html import STYLESHEET, records_block, render_html, verdict_block
from ledger.render._layout import DIRECTIONS
from ledger.render._marks import Marks, marks, offending_paths, verdicts
from ledger.render._report import PolicyRun, counts, failing, render_report
from ledger.render._style import esc, grams, percent, shares
from ledger.render._svg import render_svg

__all__ = [
    "DIRECTIONS",
    "RENDERERS",
    "STYLESHEET",
    "Marks",
    "PolicyRun",
    "Renderer",
    "counts",
    "esc",
    "failing",
    "grams",
    "marks",
    "offending_paths",
    "percent",
    "records_block",
    "render_dot",
    "render_html",
    "render_report",
    "render_svg",
    "shares",
    "verdict_block",
    "verdicts",
]
