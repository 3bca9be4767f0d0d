"""The log's rows: entries, Merkle nodes, the tree head and checkpoints.

The log is the source of truth; every other table is derived from it
(:mod:`ledger.store._derive`). Appending assigns the next log index from the in-memory
tree, queues the entry and the perfect subtree hashes it completes, and moves the tree head;
the rows reach the database at the next sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from ledger.errors import StorageError
from ledger.log.merkle import hash_leaf
from ledger.records.admission import Opened
from ledger.records.model import REGISTRY_KINDS
from ledger.store._rows import CheckpointRow, LogEntry, MerkleNode, StoredEntry
from ledger.store._sql import LOG_ENTRY, MERKLE_NODE, chunks, rows_in
from ledger.store._stamps import stamp
from ledger.store._typed import as_bytes, as_index, as_text, raw, shown
from ledger.store._unit import Unit

_ENTRY_ROWS = select(*(raw(LOG_ENTRY.c[name]) for name in StoredEntry._fields))
"""Every column of ``log_entry`` as the driver returns it (:func:`_stored_entry` checks them)."""


def _stored_entry(row: Sequence[object]) -> StoredEntry:
    """A raw ``log_entry`` row, each column of the type it must have."""
    index = as_index(row[0], f"log index {shown(row[0])}")
    where = f"log index {index}"
    return StoredEntry(
        log_index=index,
        leaf_hash=as_bytes(row[1], f"{where}: the leaf hash"),
        record_id=as_text(row[2], f"{where}: the record id"),
        kind=as_text(row[3], f"{where}: the kind"),
        signer=as_text(row[4], f"{where}: the signer"),
        issued_at=as_text(row[5], f"{where}: issued_at"),
        appended_at=as_text(row[6], f"{where}: appended_at"),
        envelope=as_bytes(row[7], f"{where}: the envelope"),
    )


def _node_hash(level: int, index: object, digest: object) -> bytes:
    what = (
        f"log index {index}: the leaf hash"
        if level == 0
        else (f"Merkle node (level {level}, index {index}): the hash")
    )
    return as_bytes(digest, what)


class LogRows:
    """Writes and reads of the log tables for one transaction."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    # -- writes ---------------------------------------------------------------------------

    def append(self, opened: Opened, *, appended_at: datetime) -> int:
        """Queue the entry and its Merkle nodes and move the tree; returns its log index."""
        unit = self._unit
        index = unit.frontier.size
        if hash_leaf(opened.canonical) != opened.leaf_hash:  # pragma: no cover - invariant
            raise StorageError("leaf hash does not match the envelope bytes")
        frontier, nodes = unit.frontier.append(opened.leaf_hash)
        self.entry(opened, index, appended_at)
        for level, idx, digest in nodes:
            if level > 0:
                unit.work.add(MERKLE_NODE, {"level": level, "idx": idx, "hash": digest})
        unit.move_head(frontier)
        return index

    def entry(self, opened: Opened, index: int, appended_at: datetime) -> None:
        """Queue the ``log_entry`` row of ``opened`` at ``index``."""
        record = opened.record
        work = self._unit.work
        work.add(
            LOG_ENTRY,
            {
                "log_index": index,
                "leaf_hash": opened.leaf_hash,
                "record_id": opened.record_id,
                "kind": record.kind,
                "signer": record.signer,
                "issued_at": stamp(record.issued_at),
                "appended_at": stamp(appended_at),
                "envelope": opened.canonical,
            },
        )
        work.leaves[opened.leaf_hash] = index
        work.records[opened.record_id] = index

    def add_checkpoint(
        self, *, tree_size: int, root_hash: bytes, note: str, created_at: datetime
    ) -> None:
        session = self._unit.write_session
        session.add(
            CheckpointRow(
                tree_size=tree_size, root_hash=root_hash, note=note, created_at=stamp(created_at)
            )
        )
        session.flush()

    def set_checkpoint_note(self, tree_size: int, note: str) -> None:
        """Replace the stored note of the checkpoint at ``tree_size`` (to add cosignatures;
        the caller checks that the signed body is unchanged)."""
        row = self._unit.write_session.get(CheckpointRow, tree_size)
        if row is None:
            raise LookupError(f"no checkpoint at tree size {tree_size}")
        row.note = note
        self._unit.write_session.flush()

    # -- lookups by key (the working set's mirrors) ---------------------------------------

    def find_leaf(self, leaf_hash: bytes) -> int | None:
        return self._unit.work.leaf(leaf_hash)

    def find_record(self, record_id: str) -> int | None:
        return self._unit.work.record(record_id)

    # -- reads ----------------------------------------------------------------------------

    def get_node(self, level: int, index: int) -> bytes:
        """The perfect subtree hash at (level, index); level 0 is a leaf hash."""
        found = self.get_nodes([(level, index)])
        if (level, index) in found:
            return found[level, index]
        if level == 0:
            raise StorageError(f"log index {index} is missing")
        raise StorageError(f"Merkle node (level {level}, index {index}) is missing")

    def get_nodes(self, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored nodes at ``wanted`` (level 0: leaf hashes) in a few queries; absent
        ones are left out (:meth:`get_node` says what is missing)."""
        connection = self._unit.read().connection
        by_level: dict[int, set[int]] = {}
        for level, index in wanted:
            by_level.setdefault(level, set()).add(index)
        found: dict[tuple[int, int], bytes] = {}
        entries, nodes = LOG_ENTRY, MERKLE_NODE
        for level, indexes in sorted(by_level.items()):
            for chunk in chunks(indexes):
                query = (
                    select(raw(entries.c.log_index), raw(entries.c.leaf_hash)).where(
                        entries.c.log_index.in_(chunk)
                    )
                    if level == 0
                    else select(raw(nodes.c.idx), raw(nodes.c.hash)).where(
                        nodes.c.level == level, nodes.c.idx.in_(chunk)
                    )
                )
                for index, digest in connection.execute(query):
                    found[level, int(index)] = _node_hash(level, index, digest)
        return found

    def node_levels_above(self, level: int) -> list[tuple[int, int]]:
        """(level, index) of every stored node above ``level`` (none in a sound tree)."""
        rows = (
            self._unit.read()
            .session.exec(
                select(MerkleNode.level, MerkleNode.idx)
                .where(MerkleNode.level > level)
                .order_by(col(MerkleNode.level), col(MerkleNode.idx))
            )
            .all()
        )
        return [(int(level_), int(idx)) for level_, idx in rows]

    def nodes_at(self, level: int, *, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        """(index, hash) of the stored nodes of one level in index order, read in batches."""
        table = MERKLE_NODE
        position = 0
        while (
            rows := self._unit.read()
            .connection.execute(
                select(raw(table.c.idx), raw(table.c.hash))
                .where(table.c.level == level, table.c.idx >= position)
                .order_by(table.c.idx)
                .limit(batch)
            )
            .all()
        ):
            for stored_idx, digest in rows:
                idx = as_index(
                    stored_idx, f"Merkle node (level {level}, index {shown(stored_idx)})"
                )
                yield idx, _node_hash(level, idx, digest)
            position = int(rows[-1][0]) + 1

    def entries(
        self, *, start: int = 0, stop: int | None = None, batch: int = 5000
    ) -> Iterator[StoredEntry]:
        """Every stored entry from ``start`` (up to ``stop``) in log-index order, in batches."""
        table = LOG_ENTRY
        columns = [raw(table.c[name]) for name in StoredEntry._fields]
        position = start
        while True:
            query = select(*columns).where(table.c.log_index >= position)
            if stop is not None:
                query = query.where(table.c.log_index < stop)
            rows = (
                self._unit.read()
                .connection.execute(query.order_by(table.c.log_index).limit(batch))
                .all()
            )
            if not rows:
                return
            entry = None
            for row in rows:
                entry = _stored_entry(row)
                yield entry
            assert entry is not None
            position = entry.log_index + 1

    def leaf_hashes(self, *, start: int, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        """(log index, stored leaf hash) from ``start`` on, in log-index order."""
        position = start
        table = LOG_ENTRY
        while rows := (
            self._unit.read()
            .connection.execute(
                select(raw(table.c.log_index), raw(table.c.leaf_hash))
                .where(table.c.log_index >= position)
                .order_by(table.c.log_index)
                .limit(batch)
            )
            .all()
        ):
            for stored_index, stored_leaf in rows:
                index = as_index(stored_index, f"log index {shown(stored_index)}")
                yield index, as_bytes(stored_leaf, f"log index {index}: the leaf hash")
            position = index + 1

    def registry_entries(self, *, before: int) -> Iterator[StoredEntry]:
        """Registry entries (participants, facilities, revocations) below ``before``."""
        table = LOG_ENTRY
        rows = self._unit.read().connection.execute(
            _ENTRY_ROWS.where(
                table.c.kind.in_(sorted(REGISTRY_KINDS)), table.c.log_index < before
            ).order_by(table.c.log_index)
        )
        for row in rows.all():
            yield _stored_entry(row)

    def registry_leaves(self, *, start: int, stop: int) -> list[tuple[int, bytes]]:
        """(log index, leaf hash) of the registry entries from ``start`` up to ``stop``, by
        the stored ``kind`` (callers that must not trust it reopen the envelopes)."""
        table = LOG_ENTRY
        rows = self._unit.read().connection.execute(
            select(raw(table.c.log_index), raw(table.c.leaf_hash))
            .where(
                table.c.kind.in_(sorted(REGISTRY_KINDS)),
                table.c.log_index >= start,
                table.c.log_index < stop,
            )
            .order_by(table.c.log_index)
        )
        found = []
        for stored_index, stored_leaf in rows:
            index = as_index(stored_index, f"log index {shown(stored_index)}")
            found.append((index, as_bytes(stored_leaf, f"log index {index}: the leaf hash")))
        return found

    def entries_at(self, indexes: Iterable[int]) -> list[StoredEntry]:
        """The entries at ``indexes``, in log order (read raw, each column checked)."""
        rows = rows_in(self._unit.read().connection, _ENTRY_ROWS, LOG_ENTRY.c.log_index, indexes)
        return sorted((_stored_entry(row) for row in rows), key=lambda entry: entry.log_index)

    def entry_count(self) -> tuple[int, int | None]:
        """How many entries are stored, and the largest index."""
        count, top = (
            self._unit.read().session.exec(select(func.count(), func.max(LogEntry.log_index))).one()
        )
        return int(count), top

    def checkpoint(self, tree_size: int) -> CheckpointRow | None:
        return self._unit.read().session.get(CheckpointRow, tree_size)

    def latest_checkpoint(self) -> CheckpointRow | None:
        return (
            self._unit.read()
            .session.exec(
                select(CheckpointRow).order_by(col(CheckpointRow.tree_size).desc()).limit(1)
            )
            .one_or_none()
        )

    def recent_checkpoints(
        self, *, limit: int, below: int | None = None
    ) -> Sequence[CheckpointRow]:
        """Up to ``limit`` checkpoints, newest first, of tree sizes below ``below`` if given."""
        query = select(CheckpointRow)
        if below is not None:
            query = query.where(col(CheckpointRow.tree_size) < below)
        query = query.order_by(col(CheckpointRow.tree_size).desc()).limit(limit)
        return self._unit.read().session.exec(query).all()

    def checkpoints(self) -> Sequence[CheckpointRow]:
        return (
            self._unit.read()
            .session.exec(select(CheckpointRow).order_by(col(CheckpointRow.tree_size)))
            .all()
        )
