"""``bloc init``: a new ledger home."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.service.home import init_home

from .common import emit_json, json_option, settings


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: SQLite in the home).")
@click.option("--origin", metavar="NAME", help="The log's origin line in checkpoints.")
@json_option
@click.pass_context
def init(
    ctx: click.Context,
    directory: Path | None,
    db_url: str | None,
    origin: str | None,
    as_json: bool,
) -> None:
    """Create a ledger home: registrar and log keys, root.json, bloc.toml, empty database."""
    path = directory or settings(ctx).home or Path.cwd()
    home = init_home(path, db_url=db_url, origin=origin)
    root = home.root()
    if as_json:
        emit_json({"home": str(home.path), "origin": home.origin, "root": root.to_dict()})
        return
    click.echo(f"created ledger home {home.path}")
    click.echo(f"  origin     {home.origin}")
    click.echo(f"  registrar  {root.registrars[0].keyid}")
    click.echo(f"  log key    {root.log_key.keyid}")
    click.echo("  give root.json to anyone who verifies this ledger; keep keys/ secret")
