"""Merkle proofs checked at a boundary: a failed proof becomes a :class:`VerificationError`
that says what it was about.

:mod:`ledger.log.merkle` raises :class:`~ledger.log.merkle.ProofError` with the arithmetic
reason ("inclusion proof does not lead to the root hash"); the callers (offline bundle replay
in :mod:`ledger.evidence`, proof serving in :mod:`ledger.service`) know what the proof vouched
for, so each passes ``failure``, which turns the proof error into the message the user reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from ledger.errors import InputError, VerificationError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint

Failure = Callable[[merkle.ProofError], str]
"""The message for a proof that failed, given the Merkle code's reason."""


def require_inclusion(
    *,
    index: int,
    size: int,
    leaf_hash: bytes,
    proof: Sequence[bytes],
    root_hash: bytes,
    failure: Failure,
) -> None:
    """:func:`merkle.verify_inclusion`, a failure raised as ``VerificationError(failure(e))``.

    Raises:
        VerificationError: the proof does not lead from ``leaf_hash`` to ``root_hash``.
    """
    with _wrapped(failure):
        merkle.verify_inclusion(
            index=index, size=size, leaf_hash=leaf_hash, proof=proof, root_hash=root_hash
        )


def require_consistency(
    *,
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
    failure: Failure,
) -> None:
    """:func:`merkle.verify_consistency`, a failure raised as ``VerificationError(failure(e))``.

    Raises:
        VerificationError: the proof does not show the old tree is a prefix of the new one.
    """
    with _wrapped(failure):
        merkle.verify_consistency(
            old_size=old_size, new_size=new_size, old_root=old_root, new_root=new_root, proof=proof
        )


@contextmanager
def _wrapped(failure: Failure) -> Iterator[None]:
    try:
        yield
    except merkle.ProofError as e:
        raise VerificationError(failure(e)) from e


ProofSource = Callable[[int, int], Sequence[bytes]]
"""``(old_size, new_size)`` → the consistency proof between them, from wherever the caller
reads the tree (its store, or a server's public tiles)."""


def require_extends(old: Checkpoint, new: Checkpoint, proof_for: ProofSource, *, kept: str) -> None:
    """The log signed ``new`` only after ``old``: the same tree, or one that grew from it.

    ``kept`` names where ``old`` came from, for the message (``the checkpoint this home
    kept``). Both checkpoints must already be verified, for the same origin.

    Raises:
        VerificationError: a *rollback* (``new`` is smaller), or a *fork* (the same size with
            another root, or a tree that does not extend ``old``); one line naming both sizes.
    """
    if new.tree_size < old.tree_size:
        raise VerificationError(
            f"rollback: the current checkpoint has tree size {new.tree_size}, smaller than "
            f"tree size {old.tree_size} of {kept}"
        )
    if new.tree_size == old.tree_size:
        if new.root_hash != old.root_hash:
            raise VerificationError(
                f"fork: the current checkpoint at tree size {new.tree_size} has another root "
                f"than {kept} at tree size {old.tree_size}"
            )
        return
    try:
        proof = proof_for(old.tree_size, new.tree_size)
    except (merkle.ProofError, InputError) as e:
        raise VerificationError(
            f"fork: no consistency proof from tree size {old.tree_size} of {kept} to the "
            f"current tree size {new.tree_size} ({e})"
        ) from e
    require_consistency(
        old_size=old.tree_size,
        new_size=new.tree_size,
        old_root=old.root_hash,
        new_root=new.root_hash,
        proof=proof,
        failure=lambda e: (
            f"fork: the current tree of size {new.tree_size} does not extend tree size "
            f"{old.tree_size} of {kept} ({e})"
        ),
    )
