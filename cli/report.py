"""``bloc report``: the auditor's deliverable for any ledger, one self-contained HTML page
(``bloc demo`` writes its report.html through the same :func:`audit` and :func:`page`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import click

from ledger import compliance, render
from ledger.compliance import policy as policies
from ledger.errors import InputError
from ledger.provenance.findings import Finding
from ledger.provenance.graph import Graph
from ledger.records.model import END_USES
from ledger.service import Ledger

from .common import (
    DATE,
    as_of_day,
    counted,
    emit_json,
    json_option,
    output_option,
    progress_steps,
    reading_ledger,
    refuse_existing,
    warn_nothing_judged,
    write_output,
)

PICTURES = 24
"""At most this many failing or inconclusive lots are drawn (the page says how many more)."""

BUILT_IN = ("dfars-252.225-7052", "bloc-2026")
"""The policies a report judges under when none is named."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Audit:
    """What a report shows: ``check --all`` under each policy, the findings, and the
    pictures of the worst lots."""

    runs: list[render.PolicyRun]
    findings: list[Finding]
    failing: list[compliance.Verdict]
    """Each lot that failed or was inconclusive under some policy, once."""
    pictures: list[tuple[Graph, compliance.Verdict]]


def audit(
    ledger: Ledger,
    by_name: Mapping[str, policies.Policy],
    *,
    as_of: date,
    end_use: str | None,
    quiet: bool = False,
) -> Audit:
    """``by_name``: the policies of :func:`load_policies`."""
    runs = []
    for chosen in by_name.values():
        with progress_steps(f"judging under {chosen.name}", quiet=quiet) as steps:
            verdicts = ledger.check_all(policy=chosen, as_of=as_of, end_use=end_use, steps=steps)
        runs.append(render.PolicyRun(policy=chosen.name, as_of=as_of, verdicts=verdicts))
    failing = worst(runs)
    # Each drawn lot is judged again alone, which also names the restricted stages upstream
    # of its paths (check --all does not look for them).
    return Audit(
        runs=runs,
        findings=ledger.findings(as_of=as_of),
        failing=failing,
        pictures=[
            (ledger.trace(v.lot), ledger.check(v.lot, policy=by_name[v.policy], as_of=as_of))
            for v in failing[:PICTURES]
        ],
    )


def load_policies(names: Sequence[str]) -> dict[str, policies.Policy]:
    """Every policy named, loaded before any judging (a bad name fails at once), by name;
    two that share a name could not be told apart on the page.

    Raises:
        InputError: two of them have the same name.
    """
    loaded: dict[str, policies.Policy] = {}
    for name in names:
        chosen = policies.load(name)
        if chosen.name in loaded:
            raise InputError(f"--policy {name}: a policy named {chosen.name} is given twice")
        loaded[chosen.name] = chosen
    return loaded


def worst(runs: Sequence[render.PolicyRun]) -> list[compliance.Verdict]:
    """Each lot that failed or was inconclusive under some policy, once, with its worst
    verdict (a fail before an inconclusive; the first policy's of equals): the failed lots
    first, then the inconclusive, each by lot id."""
    chosen: dict[str, compliance.Verdict] = {}
    for run in runs:
        for v in render.failing(run):
            held = chosen.get(v.lot)
            if held is None or v.verdict.severity > held.verdict.severity:
                chosen[v.lot] = v
    return sorted(chosen.values(), key=lambda v: (-v.verdict.severity, v.lot))


def page(
    found: Audit, *, title: str, lede: str, highlights: Mapping[str, str] | None = None
) -> str:
    return render.render_report(
        title=title,
        lede=lede,
        runs=found.runs,
        pictures=found.pictures,
        failing_total=len(found.failing),
        findings=found.findings,
        highlights=highlights or {},
    )


def counts_document(runs: Sequence[render.PolicyRun]) -> dict[str, dict[str, int]]:
    """How many lots got each verdict under each policy, as JSON."""
    return {run.policy: {str(k): n for k, n in render.counts(run).items()} for run in runs}


def scope(end_use: str | None) -> str:
    return f"every lot shipped for {end_use} use" if end_use else "every lot"


@click.command()
@click.option(
    "--policy",
    "policy_names",
    multiple=True,
    help="A built-in policy name or a file; repeat for several (default: both built-ins).",
)
@click.option(
    "--as-of", type=DATE, help="The delivery date that picks the window (default: today)."
)
@click.option(
    "--end-use",
    type=click.Choice(END_USES, case_sensitive=False),
    help="Only lots shipped with this end use (default: every lot).",
)
@output_option("The page to write (default: report.html).")
@json_option
@click.pass_context
def report(
    ctx: click.Context,
    policy_names: tuple[str, ...],
    as_of: date | None,
    end_use: str | None,
    output: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Write the audit report of this ledger (one HTML page): the summary under each
    policy, every verdict with its reason, the integrity findings, and a picture of each lot
    that failed or was inconclusive.

    Exits 0 once the page is written, whatever the verdicts ('bloc check --all' is the gate).
    """
    target = output or Path("report.html")
    refuse_existing(target, force=force)
    day = as_of_day(as_of)
    chosen = load_policies(policy_names or BUILT_IN)  # refused before any work
    ledger = reading_ledger(ctx)
    found = audit(ledger, chosen, as_of=day, end_use=end_use, quiet=as_json)
    judged = len(found.runs[0].verdicts)
    lede = (
        f"{scope(end_use).capitalize()} ({counted(judged, 'lot')}), judged as of {day} under "
        f"{' and '.join(r.policy for r in found.runs)}; the ledger holds "
        f"{counted(ledger.store.tree_size(), 'signed record')}. Red marks the stages where "
        "restricted processing happened and the paths that carry its mass; amber marks "
        "sources of unknown mass."
    )
    write_output(
        page(found, title="Bloc Ledger audit report", lede=lede).encode(), target, force=force
    )
    if not judged:
        warn_nothing_judged(end_use)
    if as_json:
        emit_json(
            {
                "output": str(target),
                "as_of": str(day),
                "end_use": end_use,
                "lots": judged,
                "policies": counts_document(found.runs),
                "findings": len(found.findings),
                "pictures": len(found.pictures),
                "failing_or_inconclusive": len(found.failing),
            }
        )
        return
    counts = "; ".join(
        f"{run.policy}: " + ", ".join(f"{n} {k}" for k, n in render.counts(run).items() if n)
        for run in found.runs
    )
    click.echo(
        f"wrote {target}: {counted(judged, 'lot')} ({counts or 'none'}), "
        f"{counted(len(found.findings), 'finding')}, "
        f"{counted(len(found.pictures), 'picture')}"
    )
