"""``bloc log``: checkpoints, inclusion proofs and consistency proofs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ledger.core.files import read_bounded
from ledger.errors import VerificationError
from ledger.log.checkpoint import MAX_NOTE_BYTES, verify_checkpoint
from ledger.log.cosignature import parse_vkey
from ledger.log.proofs import require_extends
from ledger.records.admission import open_envelope
from ledger.records.trust import WitnessEntry
from ledger.service.home import replace_root

from .common import (
    ask_witnesses,
    current_home,
    emit_json,
    json_option,
    now,
    reading_ledger,
    remote_ledger,
    writing_ledger,
)


@click.group()
def log() -> None:
    """The log's signed checkpoints and proofs."""


@log.command()
@json_option
@click.pass_context
def checkpoint(ctx: click.Context, as_json: bool) -> None:
    """The latest checkpoint readers accept: signed by the log key and, when root.json names
    witnesses, cosigned by their quorum (its cosignature lines follow the log's)."""
    home = current_home(ctx)
    remote = remote_ledger(home)
    source = remote if remote is not None else home.ledger(writer=False)
    cp, note = source.latest_checkpoint()
    if as_json:
        emit_json(
            {
                "origin": cp.origin,
                "tree_size": cp.tree_size,
                "root_hash": cp.root_hash.hex(),
                "cosigned_by": list(source.root.cosigned_by(note)),
                "note": note,
            }
        )
    else:
        click.echo(note, nl=False)


@log.command()
@json_option
@click.pass_context
def publish(ctx: click.Context, as_json: bool) -> None:
    """Sign a checkpoint over the log's tail if none covers it (after a crash between an
    append and its checkpoint), and ask the witnesses of root.json to cosign the newest
    checkpoint; prints it. Exits 3 when the witnesses' quorum is not reached."""
    ledger = writing_ledger(current_home(ctx))
    note = ledger.publish_checkpoint(now=now())
    witnessed = ask_witnesses(ledger, warn=False)
    published = note if witnessed is None else witnessed.note
    if as_json:
        emit_json(
            {
                "tree_size": int(published.splitlines()[1]),
                "cosigned_by": list(ledger.root.cosigned_by(published)),
                "quorum_met": witnessed is None or witnessed.met,
                "note": published,
            }
        )
    else:
        click.echo(published, nl=False)
    if witnessed is not None and not witnessed.met:
        raise VerificationError(witnessed.describe())


@log.group()
def witness() -> None:
    """The witnesses that cosign this log's checkpoints (root.json)."""


@witness.command("add")
@click.argument("witness_spec", metavar="VKEY@URL")
@click.option(
    "--quorum",
    type=click.IntRange(min=1),
    help="How many witnesses must cosign a checkpoint (default: unchanged; 1 at first).",
)
@json_option
@click.pass_context
def witness_add(ctx: click.Context, witness_spec: str, quorum: int | None, as_json: bool) -> None:
    """Add a witness (its verifier key, as 'bloc witness init' printed it, '@' and its URL)
    to root.json, or change its URL. Restart 'bloc serve' afterwards, and give the new
    root.json to everyone who verifies this ledger."""
    vkey_text, at, url = witness_spec.partition("@")
    if not at or not url:
        raise click.BadParameter("give VKEY@URL, e.g. w1+1a2b3c4d+BASE64@http://127.0.0.1:8770")
    home = current_home(ctx)
    entry = WitnessEntry(vkey=parse_vkey(vkey_text), url=url)
    root = home.root().with_witness(entry, quorum=quorum)
    replace_root(home, root)  # checks the new root.json against its schema first
    if as_json:
        emit_json(
            {
                "witness": entry.name,
                "url": url,
                "quorum": root.witness_quorum,
                "witnesses": len(root.witnesses),
                "root_sha256": home.identity().root_sha256,
            }
        )
        return
    click.echo(
        f"witness {entry.name} at {url} added; quorum {root.witness_quorum} of "
        f"{len(root.witnesses)} (root.json sha256 {home.identity().root_sha256})"
    )


@log.command()
@click.argument("index", type=click.IntRange(min=0))
@json_option
@click.pass_context
def show(ctx: click.Context, index: int, as_json: bool) -> None:
    """The entry at INDEX, decoded: its record, who signed it with which key, its leaf hash."""
    ledger = reading_ledger(ctx)
    entry = ledger.entry(index)
    opened = open_envelope(entry.envelope)
    record = json.loads(opened.envelope.payload)
    signatures = [
        {"keyid": sig.keyid, "owner": ledger.key_holder(sig.keyid)}
        for sig in opened.envelope.signatures
    ]
    if as_json:
        emit_json(
            {
                "log_index": entry.log_index,
                "leaf_hash": entry.leaf_hash.hex(),
                "record_id": entry.record_id,
                "kind": entry.kind,
                "signer": entry.signer,
                "issued_at": entry.issued_at,
                "appended_at": entry.appended_at,
                "signatures": signatures,
                "record": record,
            }
        )
        return
    click.echo(f"log index {entry.log_index}: {entry.kind} {entry.record_id}")
    click.echo(f"leaf hash  {entry.leaf_hash.hex()}")
    click.echo(f"signer     {entry.signer}, issued {entry.issued_at}")
    click.echo(f"appended   {entry.appended_at}")
    for sig in signatures:
        click.echo(f"signed     with key {sig['keyid']} ({sig['owner'] or 'unknown key'})")
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))


@log.command()
@click.argument("index", type=click.IntRange(min=0))
@click.option("--size", type=click.IntRange(min=1), help="Tree size (default: latest checkpoint).")
@json_option
@click.pass_context
def prove(ctx: click.Context, index: int, size: int | None, as_json: bool) -> None:
    """An inclusion proof of the entry at INDEX."""
    proof = reading_ledger(ctx).prove_inclusion(index, tree_size=size)
    if as_json:
        emit_json(proof.document())
        return
    click.echo(f"log index {proof.log_index} in tree size {proof.tree_size}")
    click.echo(f"leaf hash {proof.leaf_hash.hex()}")
    click.echo(f"root hash {proof.root_hash.hex()}")
    for i, digest in enumerate(proof.inclusion_proof):
        click.echo(f"  {i:2d} {digest.hex()}")


@log.command()
@click.argument("old", type=click.IntRange(min=0), required=False)
@click.argument("new", type=click.IntRange(min=0), required=False)
@click.option(
    "--kept",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint you kept earlier ('bloc log checkpoint > FILE'): check that the "
    "current one extends it (exit 3 on a rollback or fork).",
)
@json_option
@click.pass_context
def consistency(
    ctx: click.Context, old: int | None, new: int | None, kept: Path | None, as_json: bool
) -> None:
    """A consistency proof that the tree of size NEW extends the tree of size OLD; or, with
    --kept, that the current checkpoint extends one you kept (signature, then proof)."""
    if kept is not None:
        if old is not None or new is not None:
            raise click.UsageError("give either OLD NEW or --kept FILE")
        _check_kept(ctx, kept, as_json)
        return
    if old is None or new is None:
        raise click.UsageError("give OLD NEW, or --kept FILE")
    proof = reading_ledger(ctx).prove_consistency(old, new)
    if as_json:
        emit_json(proof.document())
        return
    click.echo(f"tree size {proof.old_size} -> {proof.new_size}")
    click.echo(f"old root {proof.old_root.hex()}")
    click.echo(f"new root {proof.new_root.hex()}")
    for i, digest in enumerate(proof.consistency_proof):
        click.echo(f"  {i:2d} {digest.hex()}")


def _check_kept(ctx: click.Context, path: Path, as_json: bool) -> None:
    home = current_home(ctx)
    root = home.root()
    try:
        note = read_bounded(path, limit=MAX_NOTE_BYTES, what="checkpoint").decode("utf-8")
        old = verify_checkpoint(note, origin=root.origin, key=root.log_key)
    except (UnicodeDecodeError, VerificationError) as e:
        raise VerificationError(f"{path} is not a checkpoint of this ledger: {e}") from e
    kept = f"the checkpoint kept in {path}"
    remote = remote_ledger(home)
    if remote is not None:
        new, _ = remote.latest_checkpoint()
        remote.require_extends(old, new, kept=kept)
    else:
        ledger = home.ledger(writer=False)
        new, _ = ledger.latest_checkpoint()
        require_extends(
            old, new, lambda a, b: ledger.prove_consistency(a, b).consistency_proof, kept=kept
        )
    if as_json:
        emit_json({"ok": True, "kept_size": old.tree_size, "tree_size": new.tree_size})
    else:
        click.echo(
            f"ok: the current checkpoint (tree size {new.tree_size}) extends {kept} "
            f"(tree size {old.tree_size})"
        )
