"""What the jobs of one transaction share: the session, the working set, the tree, and the
one read path.

A transaction's writes wait in its working set (and its tree head in memory) until they
are flushed. Every SQL read goes through :meth:`Unit.read`, which flushes them first, so a
read always sees the writes made before it in the same transaction; the working set's own
lookups by key need no flush (see :class:`~ledger.store._working.WorkingSet`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import Connection
from sqlmodel import Session

from ledger.core.signing import KeyId, PublicKey
from ledger.errors import VerificationError
from ledger.log.merkle import Frontier
from ledger.store._rows import TreeHead
from ledger.store._working import WorkingSet


class Reading(NamedTuple):
    """The session and its connection, with every pending write flushed."""

    session: Session
    connection: Connection


class Unit:
    """One transaction's shared state.

    Raises:
        VerificationError: (on construction) the stored tree head is corrupt.
    """

    def __init__(
        self,
        session: Session,
        head: TreeHead,
        *,
        registrars: Mapping[KeyId, PublicKey],
        partial: bool,
    ) -> None:
        self._session = session
        self._connection: Connection | None = None
        self.registrars = registrars
        self.partial = partial
        """A partial replay (an evidence bundle): references outside it are skipped."""
        self.work = WorkingSet(self._connect)
        self._head = head
        self._head_moved = False
        try:
            self._frontier = Frontier.from_bytes(head.tree_size, head.frontier)
        except ValueError as e:
            raise VerificationError(
                f"the tree head is corrupt ({e}): it was edited outside the ledger"
            ) from e

    @property
    def write_session(self) -> Session:
        """The session, for ORM writes (registry rows, checkpoints); reads go through
        :meth:`read`."""
        return self._session

    @property
    def frontier(self) -> Frontier:
        return self._frontier

    def move_head(self, frontier: Frontier) -> None:
        """The tree grew to ``frontier``; its row is written at the next sync."""
        self._frontier = frontier
        self._head_moved = True

    def read(self) -> Reading:
        """Flush every pending write, then hand out the session and its connection: the one
        way the store reads through SQL."""
        self.sync()
        return Reading(self._session, self._connect())

    def sync(self) -> None:
        """Write the working set's pending rows and the moved tree head (before every SQL
        read, and before commit)."""
        moved, self._head_moved = self._head_moved, False
        if moved:
            # The tree head row follows the in-memory frontier: written once per sync, not
            # once per append.
            self._head.tree_size = self._frontier.size
            self._head.frontier = self._frontier.to_bytes()
            self._session.add(self._head)
        if self.work.pending or moved:
            self._session.flush()
            self.work.flush()

    def _connect(self) -> Connection:
        """The session's connection, asked for once: the working set reads through it per
        lookup, and asking the session each time costs more than the lookup."""
        if self._connection is None:
            self._connection = self._session.connection()
        return self._connection
