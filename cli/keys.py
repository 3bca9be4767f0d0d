"""``bloc keys``: participant signing keys."""

from __future__ import annotations

import click

from ledger.core.signing import Signer
from ledger.service.home import write_signer

from .common import (
    current_home,
    emit_json,
    json_option,
    passphrase_from,
    passphrase_option,
)


@click.group()
def keys() -> None:
    """Manage signing keys kept in the home's keys/ directory."""


@keys.command()
@click.argument("name")
@passphrase_option
@json_option
@click.pass_context
def generate(ctx: click.Context, name: str, passphrase_env: str | None, as_json: bool) -> None:
    """Write a new Ed25519 key to keys/NAME.pem (mode 0600, never overwritten)."""
    home = current_home(ctx)
    passphrase = passphrase_from(passphrase_env)
    path = home.key_path(name)
    signer = Signer.generate()
    write_signer(path, signer, passphrase=passphrase)
    public = {"keyid": signer.keyid, "public_key": signer.public_key.to_base64()}
    if as_json:
        emit_json(public)
        return
    click.echo(f"wrote {path}{' (encrypted)' if passphrase else ''}")
    click.echo(f"keyid       {public['keyid']}")
    click.echo(f"public_key  {public['public_key']}")
