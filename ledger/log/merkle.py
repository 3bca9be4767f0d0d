"""RFC 6962 / RFC 9162 Merkle trees: hashing, proofs, proof verification and compact ranges.

This module is pure (standard library only) and does no I/O. What it guarantees:

* Hashing is exactly RFC 6962 §2.1 with SHA-256: a leaf hash is ``SHA-256(0x00 || data)``, an
  interior node is ``SHA-256(0x01 || left || right)``, and the root of the empty tree is
  ``SHA-256("")``. The two prefixes keep leaf and interior hashes in separate domains, so a leaf
  can never be passed off as a subtree (second-preimage resistance of the tree).
* Proof *generation* (:func:`inclusion_proof`, :func:`consistency_proof`) returns exactly the
  RFC 6962 §2.1.1 ``PATH(m, D[n])`` and §2.1.2 ``PROOF(m, D[n])`` lists. It reads the tree only
  through a :data:`NodeGetter` that serves *perfect* subtrees (level, index), so a store that
  persists every perfect node (see :meth:`Frontier.append`) answers any root or proof with
  O(log n) reads, and a root or proof for an *older* tree size uses only nodes that already
  existed at that size.
* Proof *verification* (:func:`verify_inclusion`, :func:`verify_consistency`) follows the
  RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms, first rejecting out-of-range indices and sizes,
  hashes that are not :data:`HASH_SIZE` bytes, and proofs that do not have exactly the length
  the RFC 6962 decomposition prescribes. Every failure raises :class:`ProofError` (a
  ``ValueError``) with a message that says what was wrong; success returns ``None``.
* :class:`Frontier` is the compact range ``[0, size)``: one perfect-subtree root per set bit of
  ``size``. Appending to it never reads earlier leaves, and it reports every perfect node that an
  append completes, so storage can persist the full node set incrementally.

A note on what a proof binds: an inclusion or consistency proof shows that a statement holds
for the given ``(size, root)`` pair. Some different sizes share the same proof shape (e.g. leaf 0
of trees of size 3 and 4), so callers must take the size from the same signed tree head as the
root, never from the party that supplies the proof.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.errors import VerificationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "NodeGetter",
    "ProofError",
    "consistency_proof",
    "hash_children",
    "hash_leaf",
    "inclusion_proof",
    "root_from_inclusion_proof",
    "root_hash",
    "subtree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""Root hash of the tree with no leaves: ``SHA-256("")`` (RFC 6962 §2.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

NodeGetter = Callable[[int, int], bytes]
"""``get_node(level, index)``: hash of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 returns leaf hashes."""


class ProofError(VerificationError, ValueError):
    """A Merkle inclusion or consistency proof is malformed or does not verify."""


def hash_leaf(data: bytes) -> bytes:
    """RFC 6962 leaf hash: ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# --------------------------------------------------------------------------- helpers


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _split_point(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``), RFC 6962's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")


def _read_node(get_node: NodeGetter, level: int, index: int) -> bytes:
    node = get_node(level, index)
    if len(node) != HASH_SIZE:
        raise ValueError(
            f"node getter returned {len(node)} bytes for level {level} index {index}, "
            f"expected {HASH_SIZE}"
        )
    return node


def _inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in RFC 6962 ``PATH(index, D[size])`` (``0 <= index < size``)."""
    length = 0
    while size > 1:
        k = _split_point(size)
        if index < k:
            size = k
        else:
            index -= k
            size -= k
        length += 1
    return length


def _consistency_proof_length(old_size: int, new_size: int) -> int:
    """Number of hashes in RFC 6962 ``PROOF(old_size, D[new_size])`` (``0 < old < new``)."""
    length = 0
    complete = True  # SUBPROOF's b flag: is the old tree still a complete left subtree?
    while old_size != new_size:
        k = _split_point(new_size)
        if old_size <= k:
            new_size = k
        else:
            old_size -= k
            new_size -= k
            complete = False
        length += 1
    return length if complete else length + 1


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, expected {HASH_SIZE}")


def _check_proof_hashes(kind: str, proof: Sequence[bytes]) -> None:
    for position, node in enumerate(proof):
        _check_hash(f"{kind} proof hash {position}", node)


# --------------------------------------------------------------------------- roots and proofs


def subtree_hash(get_node: NodeGetter, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` for a range that occurs in RFC 6962 decompositions.

    Such a range has ``start`` aligned to the smallest power of two ``>= end - start``. A
    perfect range costs one ``get_node`` call; any other splits at the largest power of two
    ``k < end - start`` (a perfect left half) and recurses into the right, so at most
    ``log2(end - start) + 1`` calls. Raises ``ValueError`` for empty or unaligned ranges.
    """
    if start < 0 or end <= start:
        raise ValueError(f"invalid subtree range [{start}, {end})")
    width = end - start
    aligned_to = 1 << (width - 1).bit_length()  # smallest power of two >= width
    if start % aligned_to != 0:
        raise ValueError(
            f"range [{start}, {end}) is not a Merkle subtree: start must be a multiple "
            f"of {aligned_to}"
        )
    lefts: list[bytes] = []
    while not _is_power_of_two(width):
        k = _split_point(width)
        lefts.append(_read_node(get_node, k.bit_length() - 1, start // k))
        start += k
        width -= k
    node = _read_node(get_node, width.bit_length() - 1, start // width)
    for left in reversed(lefts):
        node = hash_children(left, node)
    return node


def root_hash(get_node: NodeGetter, size: int) -> bytes:
    """``MTH(D[0:size])``; :data:`EMPTY_ROOT` when ``size`` is 0."""
    _check_size("tree size", size)
    if size == 0:
        return EMPTY_ROOT
    return subtree_hash(get_node, 0, size)


def inclusion_proof(get_node: NodeGetter, index: int, size: int) -> list[bytes]:
    """RFC 6962 §2.1.1 audit path ``PATH(index, D[size])``, leaf-side sibling first.

    Raises ``ValueError`` unless ``0 <= index < size``. Uses O(log size) node reads.
    """
    _check_size("leaf index", index)
    if index >= size:
        raise ValueError(f"leaf index {index} is out of range for a tree of size {size}")
    siblings: list[bytes] = []  # collected root-side first
    start, end = 0, size
    while end - start > 1:
        k = _split_point(end - start)
        middle = start + k
        if index < middle:
            siblings.append(subtree_hash(get_node, middle, end))
            end = middle
        else:
            siblings.append(subtree_hash(get_node, start, middle))
            start = middle
    siblings.reverse()
    return siblings


def inclusion_proof_nodes(index: int, size: int) -> list[tuple[int, int]]:
    """The ``(level, index)`` of every node :func:`inclusion_proof` reads, in order, so that
    a store can fetch the nodes of many proofs at once. Which nodes are read depends only
    on ``index`` and ``size``, never on their hashes."""
    wanted: list[tuple[int, int]] = []

    def record(level: int, at: int) -> bytes:
        wanted.append((level, at))
        return bytes(HASH_SIZE)

    inclusion_proof(record, index, size)
    return wanted


def consistency_proof(get_node: NodeGetter, old_size: int, new_size: int) -> list[bytes]:
    """RFC 6962 §2.1.2 ``PROOF(old_size, D[new_size])`` (via ``SUBPROOF``).

    Empty when ``old_size == new_size`` or ``old_size == 0``. Raises ``ValueError`` for
    negative sizes or ``old_size > new_size``. Uses O(log new_size) node reads.
    """
    _check_size("old tree size", old_size)
    _check_size("new tree size", new_size)
    if old_size > new_size:
        raise ValueError(f"old tree size {old_size} is larger than new tree size {new_size}")
    if old_size in (0, new_size):
        return []
    nodes: list[bytes] = []  # collected root-side first
    start, end, m = 0, new_size, old_size
    complete = True
    while m != end - start:
        k = _split_point(end - start)
        middle = start + k
        if m <= k:
            nodes.append(subtree_hash(get_node, middle, end))
            end = middle
        else:
            nodes.append(subtree_hash(get_node, start, middle))
            start = middle
            m -= k
            complete = False
    if not complete:
        nodes.append(subtree_hash(get_node, start, end))
    nodes.reverse()
    return nodes


# --------------------------------------------------------------------------- verification


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2), after validating its form.

    Raises :class:`ProofError` if ``index`` is not below ``size``, a hash is not
    :data:`HASH_SIZE` bytes, or the proof does not have the length RFC 6962 prescribes.
    """
    if index < 0 or size < 0:
        raise ProofError(f"leaf index {index} and tree size {size} must be non-negative")
    if index >= size:
        raise ProofError(f"leaf index {index} is out of range for a tree of size {size}")
    _check_hash("leaf hash", leaf_hash)
    expected = _inclusion_proof_length(index, size)
    if len(proof) != expected:
        raise ProofError(
            f"inclusion proof has {len(proof)} hashes, expected {expected} "
            f"for index {index} in a tree of size {size}"
        )
    _check_proof_hashes("inclusion", proof)

    fn, sn = index, size - 1
    node = leaf_hash
    for sibling in proof:
        if sn == 0:  # unreachable after the length check; kept as in RFC 9162
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            node = hash_children(sibling, node)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = hash_children(node, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # unreachable after the length check; kept as in RFC 9162
        raise ProofError("inclusion proof is shorter than the path to the root")
    return node


def verify_inclusion(
    *,
    index: int,
    size: int,
    leaf_hash: bytes,
    proof: Sequence[bytes],
    root_hash: bytes,
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree with ``size`` and ``root_hash``.

    Returns ``None`` on success; raises :class:`ProofError` otherwise.
    """
    _check_hash("root hash", root_hash)
    computed = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if not hmac.compare_digest(computed, root_hash):
        raise ProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    *,
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    Follows RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; an old size of 0
    needs an empty proof and ``old_root == EMPTY_ROOT``. Raises :class:`ProofError` otherwise.
    """
    _check_consistency_form(old_size, new_size, old_root, new_root, proof)
    if old_size == 0:
        if not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise ProofError("old root hash of an empty tree is not the empty-tree hash")
        if new_size == 0 and not hmac.compare_digest(new_root, EMPTY_ROOT):
            raise ProofError("new root hash of an empty tree is not the empty-tree hash")
        return
    if old_size == new_size:
        if not hmac.compare_digest(old_root, new_root):
            raise ProofError(f"root hashes differ for the same tree size {old_size}")
        return
    old_node, new_node = _roots_from_consistency_proof(old_size, new_size, old_root, proof)
    if not hmac.compare_digest(old_node, old_root):
        raise ProofError("consistency proof does not lead to the old root hash")
    if not hmac.compare_digest(new_node, new_root):
        raise ProofError("consistency proof does not lead to the new root hash")


def _check_consistency_form(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Sizes in order, hashes of :data:`HASH_SIZE` bytes, and a proof of the length RFC 6962
    prescribes, checked before any hashing."""
    if old_size < 0 or new_size < 0:
        raise ProofError(f"tree sizes {old_size} and {new_size} must be non-negative")
    if old_size > new_size:
        raise ProofError(f"old tree size {old_size} is larger than new tree size {new_size}")
    _check_hash("old root hash", old_root)
    _check_hash("new root hash", new_root)
    expected = 0 if old_size in (0, new_size) else _consistency_proof_length(old_size, new_size)
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof has {len(proof)} hashes, expected {expected} "
            f"from size {old_size} to size {new_size}"
        )
    _check_proof_hashes("consistency", proof)


def _roots_from_consistency_proof(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """The old and new roots a well-formed proof implies (RFC 9162 §2.1.4.2, steps 1–8),
    for ``0 < old_size < new_size``."""
    path = list(proof)
    if _is_power_of_two(old_size):
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_node = new_node = path[0]
    for node in path[1:]:
        if sn == 0:  # unreachable after the length check; kept as in RFC 9162
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            old_node = hash_children(node, old_node)
            new_node = hash_children(node, new_node)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            new_node = hash_children(new_node, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:  # unreachable after the length check; kept as in RFC 9162
        raise ProofError("consistency proof is shorter than the path to the root")
    return old_node, new_node


# --------------------------------------------------------------------------- compact range


@dataclass(frozen=True, slots=True)
class Frontier:
    """The compact range ``[0, size)``: roots of its perfect subtrees, largest first.

    There is one hash per set bit of ``size``; the hash for bit ``2**level`` covers leaves
    ``[size & ~(2**(level + 1) - 1), size & ~(2**level - 1))``. Instances are immutable and
    validated on construction.
    """

    size: int
    hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"frontier size must be non-negative, got {self.size}")
        expected = self.size.bit_count()
        if len(self.hashes) != expected:
            raise ValueError(
                f"frontier of size {self.size} needs {expected} hashes, got {len(self.hashes)}"
            )
        for position, node in enumerate(self.hashes):
            if len(node) != HASH_SIZE:
                raise ValueError(
                    f"frontier hash {position} is {len(node)} bytes, expected {HASH_SIZE}"
                )

    @classmethod
    def empty(cls) -> Frontier:
        """The frontier of the tree with no leaves."""
        return cls(0, ())

    @staticmethod
    def node_positions(size: int) -> list[tuple[int, int]]:
        """The (level, index) of the perfect nodes :meth:`from_getter` reads for ``size``,
        largest first, so a store can fetch them together."""
        _check_size("frontier size", size)
        positions: list[tuple[int, int]] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                positions.append((level, start >> level))
                start += 1 << level
        return positions

    @classmethod
    def from_getter(cls, get_node: NodeGetter, size: int) -> Frontier:
        """Rebuild the frontier of ``[0, size)`` from stored perfect nodes (popcount reads)."""
        positions = cls.node_positions(size)
        return cls(size, tuple(_read_node(get_node, level, index) for level, index in positions))

    def append(self, leaf_hash: bytes) -> tuple[Frontier, list[tuple[int, int, bytes]]]:
        """Append one leaf hash.

        Returns the new frontier and every perfect-subtree node ``(level, index, hash)`` that
        this append completes, starting with the leaf itself at level 0 and going up.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hash is {len(leaf_hash)} bytes, expected {HASH_SIZE}")
        stack = list(self.hashes)
        node = leaf_hash
        new_size = self.size + 1
        completed: list[tuple[int, int, bytes]] = [(0, self.size, leaf_hash)]
        level = 0
        while self.size >> level & 1:
            node = hash_children(stack.pop(), node)
            level += 1
            completed.append((level, (new_size >> level) - 1, node))
        stack.append(node)
        return Frontier(new_size, tuple(stack)), completed

    def root(self) -> bytes:
        """``MTH(D[0:size])``: the frontier folded right to left; :data:`EMPTY_ROOT` if empty."""
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            node = hash_children(left, node)
        return node

    def to_bytes(self) -> bytes:
        """The hashes concatenated, largest subtree first (``size`` is stored separately)."""
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        """Inverse of :meth:`to_bytes`; ``data`` must be ``popcount(size) * HASH_SIZE`` bytes."""
        _check_size("frontier size", size)
        expected = size.bit_count() * HASH_SIZE
        if len(data) != expected:
            raise ValueError(f"frontier of size {size} needs {expected} bytes, got {len(data)}")
        return cls(
            size, tuple(bytes(data[i : i + HASH_SIZE]) for i in range(0, expected, HASH_SIZE))
        )
