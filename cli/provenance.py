"""``bloc trace``, ``bloc findings`` and ``bloc reindex``: the provenance index."""

from __future__ import annotations

from datetime import date

import click

from ledger.provenance.graph import RENDERERS

from .common import (
    current_home,
    emit_json,
    json_option,
    now,
    progress_bar,
    reading_ledger,
    remote_ledger,
    writing_ledger,
)


@click.command()
@click.argument("lot")
@click.option(
    "--down", is_flag=True, help="Trace where the lot went instead of where it came from."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(RENDERERS)),
    default="tree",
    show_default=True,
    help="Output format.",
)
@click.pass_context
def trace(ctx: click.Context, lot: str, down: bool, fmt: str) -> None:
    """The provenance of LOT: every lot upstream (or downstream), each naming its log index."""
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
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Judge unreceived shipments as of this date (default: today).",
)
@json_option
@click.pass_context
def findings(ctx: click.Context, lot: str | None, as_of: object, as_json: bool) -> None:
    """Integrity findings: stable code, severity, message, and the log indexes proving it."""
    day = as_of.date() if hasattr(as_of, "date") else now().date()
    assert isinstance(day, date)
    found = reading_ledger(ctx).findings(as_of=day, lot=lot)
    if as_json:
        for f in found:
            emit_json(f.document())
        return
    if not found:
        click.echo("no findings")
        return
    for f in found:
        proof = ", ".join(str(i) for i in f.evidence)
        click.echo(f"{f.severity:<7} {f.code:<16} {f.message} [log {proof}]")


@click.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the derived index (lots, flows, shipments, findings) from the log."""
    ledger = writing_ledger(current_home(ctx))
    with progress_bar(ledger.store.tree_size(), "reindexing") as advance:
        count = ledger.reindex(progress=advance)
    click.echo(f"reindexed {count} entries")
