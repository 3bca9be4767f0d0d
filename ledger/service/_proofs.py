"""Proofs the log serves: inclusion of an entry, consistency between two tree sizes.

Each proof is computed from the stored nodes and checked before it is returned, and only for
a tree that still matches its signed checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import InputError
from ledger.log import merkle
from ledger.log.proofs import require_consistency, require_inclusion
from ledger.records.trust import TrustRoot
from ledger.service._checkpoints import TREE_CHANGED, accepted_checkpoint, check_signed_root
from ledger.store import Store, Transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class InclusionProof:
    log_index: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    inclusion_proof: tuple[bytes, ...]
    checkpoint: str | None

    def document(self) -> dict[str, object]:
        """What ``bloc log prove --json`` prints and the server answers."""
        return {
            "log_index": self.log_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "root_hash": self.root_hash.hex(),
            "inclusion_proof": [h.hex() for h in self.inclusion_proof],
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    consistency_proof: tuple[bytes, ...]

    def document(self) -> dict[str, object]:
        """What ``bloc log consistency --json`` prints and the server answers."""
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": self.old_root.hex(),
            "new_root": self.new_root.hex(),
            "consistency_proof": [h.hex() for h in self.consistency_proof],
        }


def prove_inclusion(
    store: Store, root: TrustRoot, log_index: int, *, tree_size: int | None
) -> InclusionProof:
    """:meth:`ledger.service.Ledger.prove_inclusion`."""
    with store.reader() as tx:
        size = _proof_size(tx, root, tree_size)
        if not 0 <= log_index < size:
            raise InputError(f"log index {log_index} is not in a tree of size {size}")
        leaf_hash = tx.get_node(0, log_index)
        proof = merkle.inclusion_proof(tx.get_node, log_index, size)
        root_hash = merkle.root_hash(tx.get_node, size)
        row = tx.checkpoint(size)
    check_signed_root(root, row, size, root_hash)
    require_inclusion(
        index=log_index,
        size=size,
        leaf_hash=leaf_hash,
        proof=proof,
        root_hash=root_hash,
        failure=lambda _: TREE_CHANGED.format(size=size),
    )
    return InclusionProof(
        log_index=log_index,
        tree_size=size,
        leaf_hash=leaf_hash,
        root_hash=root_hash,
        inclusion_proof=tuple(proof),
        checkpoint=row.note if row else None,
    )


def prove_consistency(
    store: Store, root: TrustRoot, old_size: int, new_size: int
) -> ConsistencyProof:
    """:meth:`ledger.service.Ledger.prove_consistency`."""
    with store.reader() as tx:
        if not 0 <= old_size <= new_size <= tx.tree_size:
            raise InputError(
                f"sizes must satisfy 0 <= old ({old_size}) <= new ({new_size}) <= "
                f"tree size ({tx.tree_size})"
            )
        proof = merkle.consistency_proof(tx.get_node, old_size, new_size)
        old_root = merkle.root_hash(tx.get_node, old_size)
        new_root = merkle.root_hash(tx.get_node, new_size)
        check_signed_root(root, tx.checkpoint(old_size), old_size, old_root)
        check_signed_root(root, tx.checkpoint(new_size), new_size, new_root)
    require_consistency(
        old_size=old_size,
        new_size=new_size,
        old_root=old_root,
        new_root=new_root,
        proof=proof,
        failure=lambda _: TREE_CHANGED.format(size=new_size),
    )
    return ConsistencyProof(
        old_size=old_size,
        new_size=new_size,
        old_root=old_root,
        new_root=new_root,
        consistency_proof=tuple(proof),
    )


def _proof_size(tx: Transaction, root: TrustRoot, tree_size: int | None) -> int:
    """The tree a proof is for: ``tree_size``, else the latest checkpoint's a reader
    accepts (witnessed, ADR 0037), else the head when nothing is signed yet."""
    if tree_size is None:
        if tx.latest_checkpoint() is None:
            return tx.tree_size
        return accepted_checkpoint(tx, root)[0].tree_size
    if not 0 < tree_size <= tx.tree_size:
        raise InputError(f"tree size {tree_size} is not between 1 and {tx.tree_size}")
    return tree_size
