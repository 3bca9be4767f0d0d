"""An append-only Merkle tree in memory: the node store the Merkle tests read proofs from.

The ledger persists every perfect-subtree node in its database
(:meth:`ledger.log.merkle.Frontier.append` reports them); :class:`MemoryTree` keeps the same
nodes in lists, so the tests can check roots and proofs at any size without a database.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.log.merkle import Frontier, consistency_proof, hash_leaf, inclusion_proof, root_hash


class MemoryTree:
    """An append-only Merkle tree held in memory, storing every perfect-subtree node.

    The tests' reference store: roots and proofs can be asked for any size up to the current
    one, because perfect nodes never change once complete.
    """

    __slots__ = ("_frontier", "_levels")

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = []
        self._frontier = Frontier.empty()
        for leaf_hash in leaf_hashes:
            self.append(leaf_hash)

    @classmethod
    def from_data(cls, leaves: Sequence[bytes]) -> MemoryTree:
        """A tree over ``hash_leaf(d)`` for each ``d`` in ``leaves``."""
        return cls([hash_leaf(data) for data in leaves])

    @property
    def size(self) -> int:
        return self._frontier.size

    @property
    def frontier(self) -> Frontier:
        return self._frontier

    def append(self, leaf_hash: bytes) -> int:
        """Append a leaf hash; returns its index."""
        index = self._frontier.size
        self._frontier, completed = self._frontier.append(leaf_hash)
        for level, position, node in completed:
            if level == len(self._levels):
                self._levels.append([])
            row = self._levels[level]
            if position != len(row):  # pragma: no cover - Frontier guarantees the order
                raise RuntimeError(f"perfect node ({level}, {position}) completed out of order")
            row.append(node)
        return index

    def get_node(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree at (``level``, ``index``); ``IndexError`` if incomplete."""
        if (
            level < 0
            or index < 0
            or level >= len(self._levels)
            or index >= len(self._levels[level])
        ):
            raise IndexError(
                f"no complete subtree at level {level} index {index} in a tree of size {self.size}"
            )
        return self._levels[level][index]

    def leaf_hash(self, index: int) -> bytes:
        return self.get_node(0, index)

    def _resolve(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is out of range (current size {self.size})")
        return size

    def root(self, size: int | None = None) -> bytes:
        """Root hash at ``size`` (default: current size)."""
        return root_hash(self.get_node, self._resolve(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(self.get_node, index, self._resolve(size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(self.get_node, old_size, self._resolve(new_size))
