"""``bloc trace``, ``bloc findings`` and ``bloc reindex``: the provenance index."""

from __future__ import annotations

from datetime import date

import click

from ledger.provenance.findings import ERROR, WARNING
from ledger.provenance.graph import RENDERERS

from .common import (
    DATE,
    EXIT_FAIL,
    as_of_day,
    current_home,
    emit_json,
    json_option,
    now,
    progress_bar,
    reading_ledger,
    remote_ledger,
    writing_ledger,
)

SEVERITIES = (ERROR, WARNING)
"""Most severe first: ``--fail-on S`` fails on S and those before it."""
FAIL_ON = (*SEVERITIES, "never")


@click.command()
@click.argument("lot")
@click.option(
    "--down", is_flag=True, help="Trace where the lot went instead of where it came from."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(RENDERERS), case_sensitive=False),
    default="tree",
    show_default=True,
    help="Output format.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the same as --format json).")
@click.pass_context
def trace(ctx: click.Context, lot: str, down: bool, fmt: str, as_json: bool) -> None:
    """The provenance of LOT: every lot upstream (or downstream), each naming its log index."""
    if as_json:
        source = ctx.get_parameter_source("fmt")
        if source is not None and source.name != "DEFAULT" and fmt != "json":
            raise click.UsageError(f"--json and --format {fmt} ask for different outputs")
        fmt = "json"
    remote = remote_ledger(current_home(ctx))
    if remote is not None and not down:
        graph = remote.trace(lot, as_of=now().date())  # any reader of the lot, verified
    else:
        graph = reading_ledger(ctx).trace(lot, downstream=down)
    click.echo(RENDERERS[fmt](graph), nl=False)


@click.command()
@click.option("--lot", help="Only findings about this lot or anything upstream of it.")
@click.option(
    "--as-of",
    type=DATE,
    help="Judge unreceived shipments as of this date (default: today).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON, case_sensitive=False),
    default="error",
    show_default=True,
    help="Exit 1 when a finding of this severity or worse is found ('never': always exit 0).",
)
@json_option
@click.pass_context
def findings(
    ctx: click.Context, lot: str | None, as_of: date | None, fail_on: str, as_json: bool
) -> None:
    """Integrity findings: stable code, severity, message, and the log indexes proving it.

    Exits 1 when there is an error-severity finding (see --fail-on), as linters do.
    """
    day = as_of_day(as_of)
    found = reading_ledger(ctx).findings(as_of=day, lot=lot)
    for f in found:
        if as_json:
            emit_json(f.document())
        else:
            proof = ", ".join(str(i) for i in f.evidence)
            click.echo(f"{f.severity:<7} {f.code:<16} {f.message} [log {proof}]")
    if not found and not as_json:
        click.echo("no findings")
    failing = SEVERITIES[: SEVERITIES.index(fail_on) + 1] if fail_on in SEVERITIES else ()
    if any(f.severity in failing for f in found):
        ctx.exit(EXIT_FAIL)


@click.command()
@json_option
@click.pass_context
def reindex(ctx: click.Context, as_json: bool) -> None:
    """Rebuild the derived index (lots, flows, shipments, findings) from the log."""
    ledger = writing_ledger(current_home(ctx))
    with progress_bar(ledger.store.tree_size(), "reindexing", quiet=as_json) as advance:
        count = ledger.reindex(progress=advance)
    if as_json:
        emit_json({"entries": count})
    else:
        click.echo(f"reindexed {count} entries")
