"""``bloc verify``: whole-ledger integrity."""

from __future__ import annotations

import click

from .common import EXIT_INTEGRITY, counted, emit_json, json_option, progress_bar, reading_ledger


@click.command()
@json_option
@click.pass_context
def verify(ctx: click.Context, as_json: bool) -> None:
    """Recompute every leaf, signature, Merkle node and root; check every checkpoint.

    Exits 3 and names the offending log index when anything was edited, deleted,
    inserted, reordered or forged.
    """
    ledger = reading_ledger(ctx)
    with ledger.store.reader() as tx:
        size = tx.tree_size
    with progress_bar(size, "verifying", quiet=as_json) as advance:
        report = ledger.verify(progress=advance)
    if as_json:
        emit_json(
            {
                "ok": report.clean,
                "tree_size": report.tree_size,
                "entries": report.entries,
                "checkpoints": report.checkpoints,
                "problems": [
                    {"log_index": p.log_index, "message": p.message} for p in report.problems
                ],
            }
        )
    elif report.clean:
        entries = counted(report.entries, "entry", "entries")
        checkpoints = counted(report.checkpoints, "checkpoint")
        click.echo(f"ok: {entries}, {checkpoints}, every signature, leaf, node and root verified")
    else:
        for problem in report.problems:
            click.echo(problem.message)
    if not report.clean:
        click.echo(f"bloc: verification failed: {len(report.problems)} problem(s)", err=True)
        raise click.exceptions.Exit(EXIT_INTEGRITY)
