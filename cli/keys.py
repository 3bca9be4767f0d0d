"""``bloc keys``: participant signing keys."""

from __future__ import annotations

from pathlib import Path

import click

from ledger.core.signing import Signer
from ledger.errors import ConfigError, LedgerError
from ledger.service import Ledger
from ledger.service.home import (
    Home,
    is_encrypted,
    read_signer,
    write_key_pair,
    write_signer,
)

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


@keys.command("list")
@json_option
@click.pass_context
def list_keys(ctx: click.Context, as_json: bool) -> None:
    """The keys in the home's keys/ directory: key id and whose key the ledger says it is
    (an encrypted key's id needs its passphrase: 'bloc keys show NAME --passphrase-env')."""
    home = current_home(ctx)
    ledger = _registry(home)
    for name in home.key_names():
        try:
            path = home.key_path(name)
            shown = None if is_encrypted(path) else _described(home, ledger, name, None)
        except LedgerError as e:  # one bad file does not hide the others
            if as_json:
                emit_json({"name": name, "error": str(e)})
            else:
                click.echo(f"{name:<16} (unreadable: {e})")
            continue
        if as_json:
            emit_json(shown or {"name": name, "file": str(path), "encrypted": True})
        elif shown is None:
            click.echo(f"{name:<16} (encrypted)")
        else:
            click.echo(f"{name:<16} {shown['keyid']}  {shown['owner']}")


@keys.command()
@click.argument("name")
@passphrase_option
@json_option
@click.pass_context
def show(ctx: click.Context, name: str, passphrase_env: str | None, as_json: bool) -> None:
    """A key of the home's keys/ directory: its key id and public key (what a participant
    record lists), and whose key the ledger says it is."""
    home = current_home(ctx)
    shown = _described(home, _registry(home), name, passphrase_from(passphrase_env))
    if as_json:
        emit_json(shown)
        return
    click.echo(f"name        {shown['name']}{' (encrypted)' if shown['encrypted'] else ''}")
    click.echo(f"file        {shown['file']}")
    click.echo(f"keyid       {shown['keyid']}")
    click.echo(f"public_key  {shown['public_key']}")
    click.echo(f"owner       {shown['owner']}")


def _registry(home: Home) -> Ledger | None:
    """The ledger that says whose a key is (a remote home has no registry of its own)."""
    return None if home.remote is not None else home.ledger(writer=False)


def _described(
    home: Home, ledger: Ledger | None, name: str, passphrase: bytes | None
) -> dict[str, object]:
    path = home.key_path(name)
    if not path.is_file():
        raise ConfigError(f"no key {name!r} in {path.parent} ('bloc keys list' shows them)")
    signer = read_signer(path, passphrase=passphrase)
    holder = ledger.key_holder(signer.keyid) if ledger is not None else None
    return {
        "name": name,
        "file": str(path),
        "encrypted": is_encrypted(path),
        "keyid": signer.keyid,
        "public_key": signer.public_key.to_base64(),
        "owner": holder
        or ("unknown (a remote home: ask the server)" if ledger is None else "not registered"),
    }
