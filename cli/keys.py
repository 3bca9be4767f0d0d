"""``bloc keys``: participant signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.core.signing import Signer
from ledger.service.home import write_key_pair, write_signer

from .common import (
    current_home,
    emit_json,
    json_option,
    passphrase_from,
    passphrase_option,
)


@click.group()
def keys() -> None:
    """Manage signing keys (in the home's keys/ directory, or anywhere with --out)."""


@keys.command()
@click.argument("name")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Write NAME.pem and NAME.pub.json into DIR; needs no ledger home.",
    metavar="DIR",
)
@passphrase_option
@json_option
@click.pass_context
def generate(
    ctx: click.Context, name: str, out_dir: Path | None, passphrase_env: str | None, as_json: bool
) -> None:
    """Write a new Ed25519 key to keys/NAME.pem (mode 0600, never overwritten).

    With --out DIR, write DIR/NAME.pem and DIR/NAME.pub.json (keyid and public_key, to send
    to the registrar) instead, with no ledger home at all.
    """
    passphrase = passphrase_from(passphrase_env)
    signer = Signer.generate()
    public: dict[str, str] = {"keyid": signer.keyid, "public_key": signer.public_key.to_base64()}
    if out_dir is not None:
        path, public_path = write_key_pair(out_dir, name, signer, passphrase=passphrase)
        written = [f"wrote {public_path} (send it to the registrar)"]
        public |= {"private_key_file": str(path), "public_key_file": str(public_path)}
    else:
        path = current_home(ctx).key_path(name)
        write_signer(path, signer, passphrase=passphrase)
        written = []
    if as_json:
        emit_json(public)
        return
    click.echo(f"wrote {path}{' (encrypted)' if passphrase else ''}")
    for line in written:
        click.echo(line)
    click.echo(f"keyid       {public['keyid']}")
    click.echo(f"public_key  {public['public_key']}")
