"""``bloc witness``: run a C2SP witness that cosigns checkpoints of the logs it is given."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.serving import Listen
from ledger.witness import DEFAULT_LISTEN, init_witness, serve

from .common import emit_json, json_option, read_source


@click.group("witness")
def witness() -> None:
    """A witness: cosigns a log's checkpoint only when it extends the last one it cosigned."""


@witness.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", required=True, help="The witness's key name (a schema-less URL).")
@click.option(
    "--log",
    "roots",
    multiple=True,
    required=True,
    metavar="ROOT_JSON",
    help="A log's root.json: its origin and checkpoint key (repeatable).",
)
@json_option
def init_command(directory: Path, name: str, roots: tuple[str, ...], as_json: bool) -> None:
    """Make a witness in DIRECTORY and print its verifier key (NAME+KEYHASH+BASE64)."""
    vkey = init_witness(directory, name=name, roots=[read_source(path)[1] for path in roots])
    if as_json:
        emit_json({"directory": str(directory), "vkey": vkey.encode()})
    else:
        click.echo(vkey.encode())


@witness.command("serve")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar="HOST:PORT",
    help="Address to listen on (port 0: any free port, printed).",
)
def serve_command(directory: Path, listen: str) -> None:
    """Answer POST /add-checkpoint (C2SP tlog-witness). Prints 'listening on
    http://HOST:PORT' once it accepts requests; SIGTERM exits 0."""
    serve(directory, listen=Listen.parse(listen), announce=click.echo)
