"""``bloc init``: a new ledger home."""

from __future__ import annotations

from pathlib import Path

import click

from ledger import net
from ledger.service.home import init_home

from .common import emit_json, json_option, passphrase_from, settings


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: SQLite in the home).")
@click.option("--origin", metavar="NAME", help="The log's origin line in checkpoints.")
@click.option(
    "--passphrase-env",
    metavar="VAR",
    help="Encrypt the registrar key with the passphrase in $VAR ('bloc register "
    "--passphrase-env VAR' then reads it).",
)
@click.option(
    "--log-passphrase-env",
    metavar="VAR",
    help="Encrypt the log key with the passphrase in $VAR; every writer then needs it in "
    "$BLOC_LOG_PASSPHRASE.",
)
@json_option
@click.pass_context
def init(
    ctx: click.Context,
    directory: Path | None,
    db_url: str | None,
    origin: str | None,
    passphrase_env: str | None,
    log_passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Create a ledger home: registrar and log keys, root.json, bloc.toml, empty database."""
    path = directory or settings(ctx).home or Path.cwd()
    home = init_home(
        path,
        db_url=db_url,
        origin=origin,
        registrar_passphrase=passphrase_from(passphrase_env),
        log_passphrase=passphrase_from(log_passphrase_env),
    )
    root = home.root()
    if as_json:
        emit_json({"home": str(home.path), "origin": home.origin, "root": root.to_dict()})
        return
    click.echo(f"created ledger home {home.path}")
    click.echo(f"  origin     {home.origin}")
    click.echo(f"  registrar  {root.registrars[0].keyid}")
    click.echo(f"  log key    {root.log_key.keyid}")
    click.echo("  give root.json to anyone who verifies this ledger; keep keys/ secret")


@click.command()
@click.argument("url")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--root",
    "root_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The ledger's root.json, obtained from its operator (pinned in the home).",
)
@click.option(
    "--key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your private key (PEM), for signed reads (check, evidence, trace).",
)
@json_option
@click.pass_context
def connect(
    ctx: click.Context,
    url: str,
    directory: Path | None,
    root_path: Path,
    key_path: Path | None,
    as_json: bool,
) -> None:
    """Make a remote home for the ledger served at URL: no database, root.json pinned, and
    the server's checkpoint verified and kept; later checkpoints must extend it."""
    path = directory or settings(ctx).home or Path.cwd()
    remote, note = net.connect(url, path, root=root_path.read_bytes(), key=key_path)
    size = note.splitlines()[1]
    if as_json:
        emit_json(
            {
                "home": str(remote.home.path),
                "url": url,
                "origin": remote.home.origin,
                "tree_size": int(size),
                "cosigned_by": list(remote.root.cosigned_by(note)),
            }
        )
        return
    click.echo(f"connected {remote.home.path} to {url}")
    click.echo(f"  origin     {remote.home.origin}")
    click.echo(
        f"  verified   checkpoint at tree size {size} (kept in {remote.home.kept_path.name})"
    )
    cosigned = remote.root.cosigned_by(note)
    if remote.root.witnesses:
        click.echo(
            f"  witnesses  cosigned by {', '.join(cosigned)} (quorum "
            f"{remote.root.witness_quorum} of {len(remote.root.witnesses)})"
        )
