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

from ledger.errors import VerificationError
from ledger.log import merkle

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
