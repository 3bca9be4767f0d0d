"""``bloc check`` and ``bloc policy``: verdicts under policies as data."""

from __future__ import annotations

import json
from datetime import date

import click

from ledger import compliance, render
from ledger.compliance import policy as policies
from ledger.records.model import END_USES

from .common import (
    DATE,
    as_of_day,
    counted,
    current_home,
    emit_json,
    json_option,
    progress_steps,
    reading_ledger,
    remote_ledger,
    warn_nothing_judged,
)


def print_verdict(v: compliance.Verdict) -> None:
    click.echo(f"{v.lot}: {v.verdict.upper()} under {v.policy} as of {v.as_of}")
    if v.rule:
        click.echo(f"  rule       {v.rule} — {v.paragraph} (window {v.window}; {v.citation})")
    click.echo(f"  reason     {v.reason}")
    if v.verdict != compliance.NOT_APPLICABLE:
        click.echo(f"  shares     {render.shares(v)}")
        if v.grams is not None:
            click.echo(f"  grams      {render.grams(v)}")
    for number, path in enumerate(v.paths, 1):
        _print_path(number, path)
    for step in v.upstream_offences:
        click.echo(
            f"  upstream   log {step.log_index:<6} {step.stage} at {step.facility} "
            f"({step.country}) on {step.date} → {step.lot} ({step.material})"
        )
        click.echo(f"{'':<15}why: {step.why}")
    for why, share in v.unknown_reasons[:5]:
        click.echo(f"  unknown    {render.percent(share)}: {why}")
    for part in v.parts:
        click.echo(f"  contains   {part.lot} ({part.material}): {part.verdict} — {part.reason}")
    print_exceptions(v)


def print_exceptions(v: compliance.Verdict) -> None:
    """The exceptions the verdict judged on a declaration, and those it names unjudged."""
    for note in v.exceptions:
        label = "not judged" if note.status == "not_judged" else "exception"
        click.echo(f"  {label:<10} {note.paragraph}: {note.detail}")


def _print_path(number: int, path: compliance.SourcePath) -> None:
    """One offending path: its share (and exact grams), each step, and why the offending
    step offends (ADR 0023, 0024)."""
    grams = f" ({compliance.mass_text(path.grams)})" if path.grams is not None else ""
    click.echo(f"  path {number}     {render.percent(path.share)} of the judged mass{grams}:")
    for step in path.steps:
        click.echo(
            f"    log {step.log_index:<6} {step.stage} at {step.facility} ({step.country}) "
            f"on {step.date} → {step.lot} ({step.material})"
        )
        if step.why:
            click.echo(f"{'':<15}why: {step.why}")


@click.command()
@click.argument("lot", required=False)
@click.option("--policy", "policy_name", required=True, help="A built-in policy name or a file.")
@click.option(
    "--as-of", type=DATE, help="The delivery date that picks the window (default: today)."
)
@click.option("--all", "check_all", is_flag=True, help="Check every lot.")
@click.option(
    "--end-use",
    type=click.Choice(END_USES, case_sensitive=False),
    help="With --all: only lots shipped with this end use.",
)
@json_option
@click.pass_context
def check(
    ctx: click.Context,
    lot: str | None,
    policy_name: str,
    as_of: date | None,
    check_all: bool,
    end_use: str | None,
    as_json: bool,
) -> None:
    """The verdict on LOT (or --all lots) under a policy as of a date.

    Exits 0 for pass, exempt or not applicable, 1 for fail, 4 for inconclusive (--all: the
    worst of them).
    """
    if check_all == (lot is not None):
        raise click.UsageError("give either LOT or --all")
    if end_use and not check_all:
        raise click.UsageError("--end-use goes with --all")
    chosen = policies.load(policy_name)
    home = current_home(ctx)
    day = as_of_day(as_of)
    remote = remote_ledger(home)
    if remote is not None and lot is not None:
        _show(ctx, remote.check(lot, policy=chosen, as_of=day), as_json)
    ledger = reading_ledger(ctx)
    if lot is not None:
        _show(ctx, ledger.check(lot, policy=chosen, as_of=day), as_json)
    with progress_steps("judging", quiet=as_json) as steps:
        verdicts = ledger.check_all(policy=chosen, as_of=day, end_use=end_use, steps=steps)
    if not verdicts:
        warn_nothing_judged(end_use)
    if as_json:
        for v in verdicts:
            emit_json(compliance.verdict_document(v))
    else:
        _summary(verdicts, chosen.name, day, end_use)
    worst = compliance.worst(verdicts)
    ctx.exit(worst.exit_code if worst else 0)


def _show(ctx: click.Context, verdict: compliance.Verdict, as_json: bool) -> None:
    if as_json:
        emit_json(compliance.verdict_document(verdict))
    else:
        print_verdict(verdict)
    ctx.exit(verdict.exit_code)


def _summary(verdicts: list[compliance.Verdict], name: str, day: date, end_use: str | None) -> None:
    lots = counted(len(verdicts), "lot")
    scope = f"{lots} shipped for {end_use} use" if end_use else lots
    click.echo(f"{scope} under {name} as of {day}")
    counts: dict[compliance.Outcome, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    for outcome in compliance.Outcome:  # in report order
        click.echo(f"  {outcome:<15} {counts.get(outcome, 0)}")
    failures = [v for v in verdicts if v.verdict in (compliance.FAIL, compliance.INCONCLUSIVE)]
    for v in failures:
        click.echo("")
        print_verdict(v)


@click.group()
def policy() -> None:
    """Compliance policies (built in, or JSON files)."""


@policy.command("list")
@json_option
def list_policies(as_json: bool) -> None:
    """The built-in policies."""
    for name in policies.builtin_names():
        p = policies.load(name)
        if as_json:
            emit_json(
                {"name": p.name, "title": p.title, "citation": p.citation, "digest": p.digest}
            )
        else:
            click.echo(f"{p.name:<22} {p.title}")


@policy.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the document on one line.")
def show_policy(name: str, as_json: bool) -> None:
    """Print a policy document (a built-in name or a file, validated first)."""
    p = policies.load(name)
    indent = None if as_json else 2
    click.echo(json.dumps(p.document, indent=indent, ensure_ascii=False, default=str))
