"""``bloc sign``, ``bloc submit`` and ``bloc register``: records in, envelopes in the log."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click

from ledger.core.signing import Signer
from ledger.errors import ConfigError, InputError
from ledger.net import RemoteLedger
from ledger.records.authoring import prepare_record, seal
from ledger.records.model import REGISTRAR, REGISTRY_KINDS
from ledger.service import CheckpointRefused, SubmitInterrupted, SubmitResult
from ledger.service.home import REGISTRAR_KEY, Home, read_signer

from .common import (
    EXIT_REJECTED,
    Item,
    ask_witnesses,
    counted,
    current_home,
    emit_json,
    json_option,
    now,
    optional_home,
    output_option,
    passphrase_from,
    passphrase_option,
    progress_bar,
    read_items,
    read_source,
    refuse_existing,
    remote_ledger,
    split_documents,
    write_output,
    writing_ledger,
)


@click.command()
@click.argument("file")
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM private key to sign with.",
)
@passphrase_option
@output_option("Write the envelope(s) here instead of standard output.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="With -o: say what was written as JSON (without -o the envelopes are JSON already).",
)
@click.pass_context
def sign(
    ctx: click.Context,
    file: str,
    key_path: Path,
    passphrase_env: str | None,
    output: Path | None,
    force: bool,
    as_json: bool,
) -> None:
    """Sign a record (JSON) or records (JSON Lines) into DSSE envelope(s) of the same shape.

    Fills issued_at with the current time when absent. When run in a ledger home whose
    registry knows the key, refuses records whose signer does not own it.
    """
    refuse_existing(output, force=force)
    label, data = read_source(file)
    items = split_documents(label, data)
    signer = read_signer(key_path, passphrase=passphrase_from(passphrase_env))
    home = optional_home(ctx)
    owner = home.ledger(writer=False).key_owner(signer.keyid) if home else None
    moment = now()
    lines: list[bytes] = []
    for item in items:
        try:
            payload, record = prepare_record(item.data, now=moment)
            lines.append(seal(payload, record, signer, key_owner=owner).canonical_bytes())
        except InputError as e:
            raise InputError(f"{item.label}: {e}") from e
    write_output(b"".join(line + b"\n" for line in lines), output, force=force)
    if output is not None and as_json:
        emit_json(
            {
                "output": str(output),
                "envelopes": len(lines),
                "keyid": signer.keyid,
                "owner": owner,
            }
        )
    elif output is not None:
        whose = f" ({owner})" if owner else ""
        envelopes = counted(len(lines), "envelope")
        click.echo(f"wrote {output}: {envelopes} signed with key {signer.keyid}{whose}")


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--atomic", is_flag=True, help="Store all envelopes or none.")
@json_option
@click.pass_context
def submit(ctx: click.Context, files: tuple[str, ...], atomic: bool, as_json: bool) -> None:
    """Submit DSSE envelopes (JSON, JSON Lines, or - for standard input).

    Prints one result per envelope; exits 5 when any was rejected.
    """
    home = current_home(ctx)
    items = read_items(files)
    remote = remote_ledger(home)
    if remote is not None:
        _send(remote, items, [i.data for i in items], atomic=atomic, as_json=as_json)
        return
    ledger = writing_ledger(home)
    with progress_bar(len(items), "submitting", quiet=as_json) as advance:
        results = _submitted(
            lambda: ledger.submit(
                [i.data for i in items], now=now(), atomic=atomic, progress=advance
            ),
            items,
            as_json,
        )
    try:
        _report(items, results, as_json)
    finally:
        ask_witnesses(ledger)


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--atomic", is_flag=True, help="Store all records or none.")
@passphrase_option
@json_option
@click.pass_context
def register(
    ctx: click.Context,
    files: tuple[str, ...],
    atomic: bool,
    passphrase_env: str | None,
    as_json: bool,
) -> None:
    """Sign participant, facility and key_revocation records with the registrar key and submit them.

    Fills signer (org:registrar) and issued_at when absent. Exits 5 when any was rejected.
    """
    home = current_home(ctx)
    items = read_items(files)
    remote = remote_ledger(home)
    registrar = _registrar_signer(home, passphrase_from(passphrase_env))
    moment = now()
    envelopes: list[bytes] = []
    for item in items:
        try:
            payload, record = prepare_record(item.data, now=moment, default_signer=REGISTRAR)
            if record.kind not in REGISTRY_KINDS:
                raise InputError(
                    f"{record.kind} records are not registrations; sign and submit them instead"
                )
            envelopes.append(seal(payload, record, registrar).canonical_bytes())
        except InputError as e:
            raise InputError(f"{item.label}: {e}") from e
    if remote is not None:
        _send(remote, items, envelopes, atomic=atomic, as_json=as_json)
        return
    ledger = writing_ledger(home)
    with progress_bar(len(items), "registering", quiet=as_json) as advance:
        results = _submitted(
            lambda: ledger.submit(envelopes, now=moment, atomic=atomic, progress=advance),
            items,
            as_json,
        )
    try:
        _report(items, results, as_json)
    finally:
        ask_witnesses(ledger)


def _send(
    remote: RemoteLedger,
    items: Sequence[Item],
    envelopes: list[bytes],
    *,
    atomic: bool,
    as_json: bool,
) -> None:
    """Submit through a remote home's server and report as a local submit does."""
    if atomic:
        raise click.UsageError("--atomic needs the ledger's database; a server commits in groups")
    results = remote.submit(envelopes)
    try:
        _report(items, results, as_json, final=remote.checkpoint_problem is None)
    finally:
        if remote.checkpoint_problem is not None:
            raise remote.checkpoint_problem
        if remote.uncovered:
            click.echo(
                f"bloc: warning: {remote.uncovered} accepted records are not yet covered by a "
                "witnessed checkpoint: the server's witnesses have not cosigned one",
                err=True,
            )


def _registrar_signer(home: Home, passphrase: bytes | None) -> Signer:
    """The registrar key: the home's own, or a remote home's key (which the server refuses
    unless it is a registrar key of root.json)."""
    if home.remote is None:
        return home.signer(REGISTRAR_KEY, passphrase=passphrase)
    if home.reader_key is None:
        raise ConfigError(
            f"{home.path} has no key: connect it with the registrar's key "
            "('bloc connect URL DIR --root root.json --key registrar.pem')"
        )
    return read_signer(home.reader_key, passphrase=passphrase)


def _submitted(
    call: Callable[[], list[SubmitResult]], items: Sequence[Item], as_json: bool
) -> list[SubmitResult]:
    """Run a submission; if the checkpoint is refused, still say what became of each item."""
    try:
        return call()
    except (CheckpointRefused, SubmitInterrupted) as e:
        _report(items, e.results, as_json, final=False)
        raise


def _report(
    items: Sequence[Item], results: Sequence[SubmitResult], as_json: bool, *, final: bool = True
) -> None:
    for item, result in zip(items, results, strict=True):
        if as_json:
            emit_json({"source": item.label, **result.document()})
        elif not result.accepted:
            click.echo(f"{item.label}: rejected: {result.error}")
        elif result.duplicate:
            click.echo(f"{item.label}: already in the log at index {result.log_index}")
        else:
            click.echo(
                f"{item.label}: accepted at log index {result.log_index} "
                f"({result.kind} {result.record_id})"
            )
            for warning in result.warnings:
                click.echo(f"{item.label}: warning: {warning}")
    rejected = sum(not r.accepted for r in results)
    if rejected and final:
        click.echo(f"bloc: {rejected} of {len(results)} envelopes rejected", err=True)
        raise click.exceptions.Exit(EXIT_REJECTED)
