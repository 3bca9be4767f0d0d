"""``bloc log``: checkpoints, inclusion proofs and consistency proofs."""

from __future__ import annotations

import click

from .common import current_home, emit_json, json_option, reading_ledger, remote_ledger


@click.group()
def log() -> None:
    """The log's signed checkpoints and proofs."""


@log.command()
@json_option
@click.pass_context
def checkpoint(ctx: click.Context, as_json: bool) -> None:
    """The latest signed checkpoint (verified against root.json before it is shown)."""
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
                "note": note,
            }
        )
    else:
        click.echo(note, nl=False)


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
@click.argument("old", type=click.IntRange(min=0))
@click.argument("new", type=click.IntRange(min=0))
@json_option
@click.pass_context
def consistency(ctx: click.Context, old: int, new: int, as_json: bool) -> None:
    """A consistency proof that the tree of size NEW extends the tree of size OLD."""
    proof = reading_ledger(ctx).prove_consistency(old, new)
    if as_json:
        emit_json(proof.document())
        return
    click.echo(f"tree size {proof.old_size} -> {proof.new_size}")
    click.echo(f"old root {proof.old_root.hex()}")
    click.echo(f"new root {proof.new_root.hex()}")
    for i, digest in enumerate(proof.consistency_proof):
        click.echo(f"  {i:2d} {digest.hex()}")
