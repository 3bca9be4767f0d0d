"""The ledger-wide report (``report.html`` of ``bloc demo``): pure, values in, HTML out.

One page: a summary table per policy (how many lots pass, fail, ...), every judged lot with
its verdict under each policy and the reason, the integrity findings with the log indexes
that prove them, and the picture (:func:`ledger.render.verdict_block`) of each lot that
failed or was inconclusive, offending paths in red. Self-contained: inline CSS, inline SVG,
no scripts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ledger.compliance import FAIL, INCONCLUSIVE, PASS, Outcome, Verdict
from ledger.provenance.findings import Finding
from ledger.provenance.graph import Graph
from ledger.render._html import STYLESHEET, verdict_block
from ledger.render._style import esc

_CSS = """
.bloc-page { max-width: 1400px; }
.bloc-page h2 { font-size: 18px; margin: 28px 0 10px; }
table.bloc-summary, table.bloc-lots, table.bloc-findings { border-collapse: collapse;
  font-size: 14px; margin: 4px 0 12px; }
table.bloc-summary { font-size: 15px; }
table.bloc-summary th, table.bloc-summary td, table.bloc-lots th, table.bloc-lots td,
table.bloc-findings th, table.bloc-findings td { border-bottom: 1px solid #e5e7eb;
  padding: 6px 12px; text-align: left; vertical-align: top; }
table.bloc-summary th, table.bloc-lots th, table.bloc-findings th { background: #f5f7f9;
  font-weight: 600; }
table.bloc-summary td.num { text-align: right; font-variant-numeric: tabular-nums;
  min-width: 4em; }
td.lot, td.code { white-space: nowrap; font-family: Menlo, Consolas, monospace;
  font-size: 13px; }
td.why { max-width: 46em; color: #3e4c59; }
p.bloc-note { color: #5f6b7a; }
td.v-pass, td.v-exempt { color: #1b5e20; font-weight: 600; }
td.v-fail { color: #c62828; font-weight: 600; }
td.v-inconclusive { color: #b26a00; font-weight: 600; }
td.v-not_applicable { color: #5f6b7a; }
p.bloc-lede { max-width: 60em; }
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRun:
    """``check --all`` under one policy."""

    policy: str
    as_of: date
    verdicts: Sequence[Verdict]


def failing(run: PolicyRun) -> list[Verdict]:
    """The lots a reader must look at: failed, then inconclusive, in lot order."""
    return sorted(
        (v for v in run.verdicts if v.verdict in (FAIL, INCONCLUSIVE)),
        key=lambda v: (v.verdict != FAIL, v.lot),
    )


def counts(run: PolicyRun) -> dict[Outcome, int]:
    """How many verdicts of each outcome the run gave, every outcome counted."""
    found = dict.fromkeys(Outcome, 0)
    for v in run.verdicts:
        found[v.verdict] += 1
    return found


def render_report(
    *,
    title: str,
    lede: str,
    runs: Sequence[PolicyRun],
    pictures: Sequence[tuple[Graph, Verdict]],
    findings: Sequence[Finding],
    highlights: Mapping[str, str],
    failing_total: int | None = None,
) -> str:
    """The page. ``pictures`` pairs a lot's upstream graph with the verdict drawn on it;
    ``failing_total`` is how many lots failed or were inconclusive in all (the page says
    when it draws fewer)."""
    out = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f"<style>\n{STYLESHEET}\n{_CSS}</style>\n</head>",
        f'<body class="bloc-page">\n<h1>{esc(title)}</h1>',
        f'<p class="bloc-lede">{esc(lede)}</p>',
        "<h2>Summary</h2>",
        '<table class="bloc-summary"><thead><tr><th>policy</th><th>as of</th>',
        *(f"<th>{esc(v)}</th>" for v in Outcome),
        "</tr></thead><tbody>",
    ]
    for run in runs:
        found = counts(run)
        cells = "".join(f'<td class="num v-{v}">{found[v]}</td>' for v in Outcome)
        out.append(f"<tr><td>{esc(run.policy)}</td><td>{run.as_of}</td>{cells}</tr>")
    out.append("</tbody></table>")
    out += _lots_table(runs, highlights)
    out += _findings_table(findings)
    if pictures:
        out.append("<h2>Lots that failed or were inconclusive</h2>")
        total = failing_total if failing_total is not None else len(pictures)
        if total > len(pictures):
            out.append(
                f'<p class="bloc-note">The first {len(pictures)} of {total} lots are drawn '
                "(failed first, then inconclusive, by lot id); every one is in the table "
                "above, and <code>bloc graph LOT --policy P -o LOT.html</code> draws any of "
                "them.</p>"
            )
        out += [verdict_block(graph, verdict) for graph, verdict in pictures]
    out.append("</body>\n</html>\n")
    return "\n".join(out)


def _lots_table(runs: Sequence[PolicyRun], highlights: Mapping[str, str]) -> list[str]:
    by_lot: dict[str, dict[str, Verdict]] = {}
    for run in runs:
        for v in run.verdicts:
            by_lot.setdefault(v.lot, {})[run.policy] = v
    shows = any(lot in highlights for lot in by_lot)
    out = [
        "<h2>Every judged lot</h2>",
        '<table class="bloc-lots"><thead><tr><th>lot</th><th>material</th>',
        *(f"<th>{esc(run.policy)}</th>" for run in runs),
        "<th>why</th>",
        "<th>what it shows</th>" if shows else "",
        "</tr></thead><tbody>",
    ]
    for lot in sorted(by_lot):
        verdicts = by_lot[lot]
        material = next(iter(verdicts.values())).material
        cells = []
        for run in runs:
            found = verdicts.get(run.policy)
            if found is None:
                cells.append("<td>—</td>")
                continue
            cells.append(
                f'<td class="v-{esc(found.verdict)}" title="{esc(found.reason)}">'
                f"{esc(found.verdict)}</td>"
            )
        note = f"<td>{esc(highlights.get(lot, '—'))}</td>" if shows else ""
        out.append(
            f'<tr><td class="lot">{esc(lot)}</td><td>{esc(material)}</td>{"".join(cells)}'
            f'<td class="why">{_why(runs, verdicts)}</td>{note}</tr>'
        )
    out.append("</tbody></table>")
    return out


def _why(runs: Sequence[PolicyRun], verdicts: Mapping[str, Verdict]) -> str:
    """The reason once: the reasons of the verdicts that did not pass (each once, naming
    its policies when they differ), or the pass's when every policy passed."""
    judged = [(run.policy, verdicts[run.policy]) for run in runs if run.policy in verdicts]
    shown = [(p, v) for p, v in judged if v.verdict != PASS] or judged[:1]
    by_reason: dict[str, list[str]] = {}
    for policy, v in shown:
        by_reason.setdefault(v.reason, []).append(policy)
    if len(by_reason) == 1:
        return esc(next(iter(by_reason)))
    return "<br>".join(
        f"<b>{esc(', '.join(policies))}</b>: {esc(reason)}"
        for reason, policies in by_reason.items()
    )


def _findings_table(findings: Sequence[Finding]) -> list[str]:
    out = [
        "<h2>Integrity findings</h2>",
        '<table class="bloc-findings"><thead><tr><th>log index</th><th>code</th>'
        "<th>severity</th><th>message</th><th>proved by</th></tr></thead><tbody>",
    ]
    for f in findings:
        proof = ", ".join(str(i) for i in f.evidence)
        out.append(
            f'<tr><td class="num">{f.log_index}</td><td class="code">{esc(f.code)}</td>'
            f"<td>{esc(f.severity)}</td><td>{esc(f.message)}</td><td>{esc(proof)}</td></tr>"
        )
    if not findings:
        out.append('<tr><td colspan="5">no findings</td></tr>')
    out.append("</tbody></table>")
    return out
