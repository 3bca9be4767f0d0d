"""Provenance as HTML: a verdict block (the verdict and its picture), tables of the records
a picture draws, and the self-contained page of ``bloc graph -o FILE.html`` that holds both.

The page and each fragment are also well-formed XML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ledger.compliance import SourcePath, Verdict, mass_text
from ledger.core.codec import format_kg
from ledger.provenance.graph import Graph
from ledger.render._marks import marks, offending_paths, verdicts
from ledger.render._style import esc, grams, percent, shares
from ledger.render._svg import render_svg

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
.bloc-why { color: #c62828; margin: 2px 0 4px; }
.bloc-chain { font-family: Menlo, Consolas, monospace; }
.bloc-chain abbr { text-decoration: none; border-bottom: 1px dotted #5f6b7a; }
.bloc-figure { overflow-x: auto; margin-top: 12px; border-top: 1px solid #eef0f2; }
.bloc-figure svg { display: block; height: auto;
  width: max(100%, calc(var(--bloc-width) * 0.62px)); max-width: calc(var(--bloc-width) * 1px); }
.bloc-records table { border-collapse: collapse; font-size: 13px; margin: 4px 0 16px; }
.bloc-records th, .bloc-records td { border-bottom: 1px solid #e5e7eb; padding: 4px 10px;
  text-align: left; white-space: nowrap; }
.bloc-records th { background: #f5f7f9; }
.bloc-records td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bloc-records tr.restricted td { color: #c62828; font-weight: 600; }
.bloc-records tr.offending td:first-child { box-shadow: inset 3px 0 #c62828; }
.bloc-records tr.unknown td:first-child { box-shadow: inset 3px 0 #d98c00; }
""".strip()
"""CSS for :func:`verdict_block` and :func:`records_block`; include it once per page."""


def _path_html(path: SourcePath) -> str:
    steps = [
        f'<abbr title="{esc(f"{s.stage} at {s.facility} ({s.country}) on {s.date} → {s.lot}")}">'
        f"{s.log_index}</abbr>"
        for s in path.steps
    ]
    return '<span class="bloc-chain">' + " → ".join(steps) + "</span>"


def _path_grams(path: SourcePath) -> str:
    return f" ({esc(mass_text(path.grams))})" if path.grams is not None else ""


def _whys_html(path: SourcePath) -> str:
    """Why each offending step of the path offends (ADR 0024)."""
    return "".join(
        f'<div class="bloc-why">log {s.log_index}, {esc(s.stage)} at {esc(s.facility)} '
        f"({esc(s.country)}) — why: {esc(s.why)}</div>"
        for s in path.steps
        if s.why
    )


def verdict_block(graph: Graph, verdict: Verdict | None = None, *, direction: str = "auto") -> str:
    """An HTML fragment: the verdict on the graph's lot and its picture, for a page that
    shows several (style it with :data:`STYLESHEET`)."""
    root = graph.graph.get("root") or ""
    picture = render_svg(graph, verdict=verdict, direction=direction)
    # A wide picture shrinks to the card down to 62% of its size (text stays legible),
    # and scrolls sideways beyond that.
    width = re.search(r'width="([0-9.]+)"', picture)
    style = f' style="--bloc-width: {width.group(1)}"' if width else ""
    figure = f'<div class="bloc-figure"{style}>\n{picture}</div>'
    if verdict is None:
        return (
            f'<section class="bloc-verdict none" data-lot="{esc(root)}">\n'
            f'<h2><span class="bloc-word none">NO POLICY</span>{esc(root)}</h2>\n'
            "<p>No policy was applied: the picture marks nothing.</p>\n"
            f"{figure}\n</section>\n"
        )
    v = verdict
    rows = [
        ("policy", f"{v.policy} as of {v.as_of}" + (f" (window {v.window})" if v.window else "")),
        ("shares", shares(v)),
    ]
    if v.grams is not None:
        rows.append(("grams", grams(v)))
    if v.rule:
        rows.append(("rule", v.rule))
    if v.paragraph or v.citation:
        rows.append(("paragraph", " — ".join(x for x in (v.paragraph, v.citation) if x)))
    rows.append(("reason", v.reason))
    out = [
        f'<section class="bloc-verdict {esc(v.verdict)}" data-lot="{esc(v.lot)}">',
        f'<h2><span class="bloc-word {esc(v.verdict)}">{esc(v.verdict.upper())}</span>'
        f"{esc(v.lot)} <small>({esc(v.material)})</small></h2>",
        "<dl>",
        *(f"<dt>{esc(k)}</dt><dd>{esc(val)}</dd>" for k, val in rows),
    ]
    reasons = [(why, share) for part in verdicts(v) for why, share in part.unknown_reasons]
    if reasons:
        out.append("<dt>unknown mass</dt><dd><ul>")
        out += [f"<li>{percent(share)}: {esc(why)}</li>" for why, share in reasons]
        out.append("</ul></dd>")
    out.append("</dl>")
    paths = offending_paths(v)
    if paths:
        out.append("<h3>Offending paths (log indexes, from the restricted stage on)</h3>")
        out.append('<ol class="bloc-paths">')
        for owner, path in paths:
            out.append(
                f"<li>{percent(path.share)} of {esc(owner.lot)}{_path_grams(path)}: "
                f"{_path_html(path)}{_whys_html(path)}</li>"
            )
        out.append("</ol>")
    earlier = [step for part in verdicts(v) for step in part.upstream_offences]
    if earlier:
        out.append(
            "<h3>Restricted stages further upstream (their mass was already non-compliant "
            "where the paths start)</h3>"
        )
        out.append('<ul class="bloc-upstream">')
        out += [
            f'<li><div class="bloc-why">log {s.log_index}, {esc(s.stage)} at '
            f"{esc(s.facility)} ({esc(s.country)}) → {esc(s.lot)} — why: {esc(s.why or '')}"
            "</div></li>"
            for s in earlier
        ]
        out.append("</ul>")
    if v.parts:
        out.append("<h3>Parts</h3>")
        out.append('<ul class="bloc-parts">')
        out += [
            f"<li>{esc(p.lot)} ({esc(p.material)}): <strong>{esc(p.verdict)}</strong> — "
            f"{esc(p.reason)}</li>"
            for p in v.parts
        ]
        out.append("</ul>")
    out += [figure, "</section>"]
    return "\n".join(out) + "\n"


def _row(cells: Iterable[tuple[str, bool]], classes: str, attrs: str) -> str:
    tds = "".join(
        f'<td class="num">{esc(text)}</td>' if number else f"<td>{esc(text)}</td>"
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
        where = "restricted" if found.restricted(node) else None
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
                " ".join(c for c in ("lot", mark, where) if c),
                f' data-id="{esc(node)}"',
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
                    f' data-id="{esc(node)}"',
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
                f' data-shipment="{esc(hop["shipment"])}" data-lot="{esc(node)}"',
            )
        )
    if not hops:
        out.append('<tr><td colspan="7">no shipments</td></tr>')
    out += ["</tbody></table>", "</section>"]
    return "\n".join(out) + "\n"


def render_html(
    graph: Graph,
    *,
    verdict: Verdict | None = None,
    title: str | None = None,
    direction: str = "auto",
) -> str:
    """A self-contained HTML page: the verdict, the picture, and the tables of records
    (inline CSS; no scripts, fonts or other URLs). It is also well-formed XML."""
    root = graph.graph.get("root")
    heading = title if title is not None else f"Provenance of {root or 'a ledger'}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
        f"<title>{esc(heading)}</title>\n<style>\n{STYLESHEET}\n</style>\n</head>\n"
        f'<body class="bloc-page">\n<h1>{esc(heading)}</h1>\n'
        f"{verdict_block(graph, verdict, direction=direction)}"
        f"{records_block(graph, verdict=verdict)}"
        "</body>\n</html>\n"
    )
