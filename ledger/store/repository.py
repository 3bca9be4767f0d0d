"""The repository: one class per unit of work over the log and its derived index.

:class:`Store` owns the engine. :meth:`Store.writer` opens a transaction that holds the
append lock for its whole life (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` of
the ``tree_head`` row on PostgreSQL), so log indexes are assigned gap-free and without
duplicates across processes. :meth:`Store.reader` opens a read-only transaction.

A :class:`Transaction` is the :class:`~ledger.records.admission.LedgerView` admission checks
against, and :meth:`Transaction.append` writes an entry, its Merkle nodes, the new tree
head and every derived row in that same transaction: an append commits whole or not at all.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, Engine, String, delete, func, inspect, true, tuple_
from sqlalchemy import select as core_select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, col, select

from ledger.compliance import FacilityFacts
from ledger.core.codec import canonical_json
from ledger.core.signing import KeyId, PublicKey
from ledger.errors import ConfigError, InputError, StorageError, VerificationError
from ledger.log.merkle import Frontier, hash_leaf
from ledger.provenance import findings, graph
from ledger.records.admission import (
    FacilityState,
    KeyState,
    Opened,
    ShipmentState,
    revoked_key,
    rotated_keys,
)
from ledger.records.model import (
    REGISTRY_KINDS,
    Control,
    Extraction,
    Facility,
    FacilityId,
    KeyRevocation,
    LotId,
    NewLot,
    Participant,
    ParticipantId,
    Receipt,
    Record,
    Shipment,
    ShipmentId,
    Transformation,
)
from ledger.store import working
from ledger.store.engine import READ_ONLY, backend_of, make_engine, redact
from ledger.store.rows import (
    DERIVED_TABLES,
    SCHEMA_VERSION,
    CheckpointRow,
    ControlRow,
    FacilityRow,
    FindingEffectRow,
    FindingRow,
    FlowRow,
    LogEntry,
    LotRow,
    MerkleNode,
    Meta,
    ParticipantKeyRow,
    ParticipantRow,
    ShipmentLotRow,
    ShipmentRow,
    SignatureRow,
    StoredEntry,
    TreeHead,
)
from ledger.store.stamps import stamp, unstamp
from ledger.store.working import (
    EVENT,
    FINDING,
    FINDING_EFFECT,
    FLOW,
    LOG_ENTRY,
    MERKLE_NODE,
    SIGNATURE,
    UNTRACED,
    Line,
    Lot,
    Wanted,
    WorkingSet,
)

_HEAD_ID = 1


class Store:
    """The database behind one ledger."""

    def __init__(self, engine: Engine, *, url: str, partial: bool = False) -> None:
        self.engine = engine
        self.url = url
        self.backend = backend_of(url)
        self.partial = partial
        """A partial replay (an evidence bundle): references outside it are skipped."""

    @classmethod
    def open(cls, url: str) -> Store:
        """Open an existing ledger database.

        Raises:
            ConfigError: the database is unreachable or holds no ledger.
        """
        store = cls(make_engine(url), url=url)
        try:
            with store._bind(read_only=True).connect() as connection:
                tables = set(inspect(connection).get_table_names())
        except (SQLAlchemyError, ValueError, TypeError) as e:
            raise ConfigError(f"cannot open database {redact(url)}: {_first_line(e)}") from e
        if "meta" not in tables or "tree_head" not in tables:
            raise ConfigError(f"database {redact(url)} holds no ledger (run 'bloc init')")
        return store

    @classmethod
    def create(cls, url: str) -> Store:
        """Create the tables of a new, empty ledger.

        Raises:
            ConfigError: the database is unreachable or already holds a ledger.
        """
        store = cls(make_engine(url), url=url)
        try:
            with store.engine.connect() as connection:
                if "tree_head" in inspect(connection).get_table_names():
                    raise ConfigError(f"database {redact(url)} already holds a ledger")
            SQLModel.metadata.create_all(store.engine)
            with Session(store.engine) as session:
                session.add(Meta(key="schema_version", value=SCHEMA_VERSION))
                empty = Frontier.empty()
                session.add(TreeHead(id=_HEAD_ID, tree_size=0, frontier=empty.to_bytes()))
                session.commit()
        except SQLAlchemyError as e:
            raise ConfigError(f"cannot create ledger in {redact(url)}: {_first_line(e)}") from e
        return store

    def dispose(self) -> None:
        self.engine.dispose()

    @classmethod
    @contextmanager
    def scratch(cls, *, partial: bool = False) -> Iterator[Store]:
        """A throw-away SQLite ledger in a temporary directory (for replays).

        ``partial`` replays hold part of a log (an evidence bundle's records): a lot or
        shipment that an entry refers to but the replay does not hold is skipped, where a
        full ledger would report a broken invariant.
        """
        with tempfile.TemporaryDirectory(prefix="bloc-scratch-") as directory:
            store = cls.create(f"sqlite:///{Path(directory) / 'scratch.db'}")
            store.partial = partial
            try:
                yield store
            finally:
                store.dispose()

    @contextmanager
    def writer(self, *, registrars: Mapping[KeyId, PublicKey]) -> Iterator[Transaction]:
        """A write transaction holding the append lock; commits when the block ends cleanly."""
        with self._session(read_only=False) as session:
            head = session.exec(
                select(TreeHead).where(TreeHead.id == _HEAD_ID).with_for_update()
            ).one()
            tx = Transaction(session, head, registrars=registrars, partial=self.partial)
            yield tx
            tx.sync()
            session.commit()

    @contextmanager
    def reader(
        self, *, registrars: Mapping[KeyId, PublicKey] | None = None
    ) -> Iterator[Transaction]:
        """A read-only transaction (ended without commit when the block ends)."""
        with self._session(read_only=True) as session:
            head = session.exec(select(TreeHead).where(TreeHead.id == _HEAD_ID)).one()
            # Closing the session ends the transaction without expiring loaded rows.
            yield Transaction(session, head, registrars=registrars or MappingProxyType({}))

    def _bind(self, *, read_only: bool) -> Engine:
        if not read_only:
            return self.engine
        if self.backend == "postgresql":
            # One snapshot for the whole read: a concurrent append must not make verify
            # see entries that its tree head does not count yet.
            return self.engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        return self.engine.execution_options(**{READ_ONLY: True})

    @contextmanager
    def _session(self, *, read_only: bool) -> Iterator[Session]:
        try:
            with Session(
                self._bind(read_only=read_only), autoflush=True, expire_on_commit=False
            ) as session:
                yield session
        except SQLAlchemyError as e:
            raise StorageError(f"database error: {_first_line(e)}") from e


def _first_line(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


class Transaction:
    """One unit of work; also the ledger view that admission reads."""

    def __init__(
        self,
        session: Session,
        head: TreeHead,
        *,
        registrars: Mapping[KeyId, PublicKey],
        partial: bool = False,
    ) -> None:
        self.session = session
        self._partial = partial
        self._work = WorkingSet()
        self._head = head
        self._head_moved = False
        self._conn: Connection | None = None
        try:
            self._frontier = Frontier.from_bytes(head.tree_size, head.frontier)
        except ValueError as e:
            raise VerificationError(
                f"the tree head is corrupt ({e}): it was edited outside the ledger"
            ) from e
        self._registrars = registrars

    # -- the tree -------------------------------------------------------------------------

    @property
    def tree_size(self) -> int:
        return self._frontier.size

    def root_hash(self) -> bytes:
        return self._frontier.root()

    def _connection(self) -> Connection:
        """The session's connection, asked for once: the working set reads through it per
        lookup, and asking the session each time costs more than the lookup."""
        if self._conn is None:
            self._conn = self.session.connection()
        return self._conn

    def sync(self) -> None:
        """Write the working set's pending rows. Every method that reads the index or the
        log through SQL calls it first; the writer calls it before commit."""
        moved, self._head_moved = self._head_moved, False
        if moved:
            # The tree head row follows the in-memory frontier: written once per sync, not
            # once per append.
            self._head.tree_size = self._frontier.size
            self._head.frontier = self._frontier.to_bytes()
            self.session.add(self._head)
        if self._work.pending or moved:
            self.session.flush()
            self._work.flush(self._connection())

    def prefetch(self, opened: Sequence[Opened], *, duplicates: bool = True) -> None:
        """Load, in a few queries, every row admitting and indexing ``opened`` will read.

        Without ``duplicates`` the stored leaf hashes are not loaded: a replay appends
        every entry it admits and never asks whether an envelope was logged already.
        """
        wanted = Wanted()
        for item in opened:
            if duplicates:
                wanted.leaves.add(item.leaf_hash)
            wanted.records.add(item.record_id)
            wanted.keys.update(sig.keyid for sig in item.envelope.signatures)
            _wanted_by(item.record, wanted)
        self._work.prefetch(self._connection(), wanted)

    def get_node(self, level: int, index: int) -> bytes:
        """The perfect subtree hash at (level, index); level 0 is a leaf hash."""
        self.sync()
        if level == 0:
            leaf = self.session.exec(
                select(LogEntry.leaf_hash).where(LogEntry.log_index == index)
            ).one_or_none()
            if leaf is None:
                raise StorageError(f"log index {index} is missing")
            return leaf
        node = self.session.get(MerkleNode, (level, index))
        if node is None:
            raise StorageError(f"Merkle node (level {level}, index {index}) is missing")
        return node.hash

    def get_nodes(self, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored nodes at ``wanted`` (level 0: leaf hashes) in a few queries; absent
        ones are left out (:meth:`get_node` says what is missing)."""
        self.sync()
        by_level: dict[int, set[int]] = {}
        for level, index in wanted:
            by_level.setdefault(level, set()).add(index)
        found: dict[tuple[int, int], bytes] = {}
        entries, nodes = working.LOG_ENTRY, working.MERKLE_NODE
        for level, indexes in sorted(by_level.items()):
            for chunk in _chunks(sorted(indexes)):
                query = (
                    select(entries.c.log_index, entries.c.leaf_hash).where(
                        entries.c.log_index.in_(chunk)
                    )
                    if level == 0
                    else select(nodes.c.idx, nodes.c.hash).where(
                        nodes.c.level == level, nodes.c.idx.in_(chunk)
                    )
                )
                for index, digest in self._connection().execute(query):
                    found[level, int(index)] = bytes(digest)
        return found

    def find_leaf(self, leaf_hash: bytes) -> int | None:
        return self._work.leaf(self._connection(), leaf_hash)

    def find_record(self, record_id: str) -> int | None:
        return self._work.record(self._connection(), record_id)

    def entries(
        self, *, start: int = 0, stop: int | None = None, batch: int = 5000
    ) -> Iterator[StoredEntry]:
        """Every stored entry from ``start`` (up to ``stop``) in log-index order, in batches."""
        table = working.LOG_ENTRY
        columns = [table.c[name] for name in StoredEntry._fields]
        position = start
        while True:
            self.sync()
            query = select(*columns).where(table.c.log_index >= position)
            if stop is not None:
                query = query.where(table.c.log_index < stop)
            rows = self._connection().execute(query.order_by(table.c.log_index).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield StoredEntry._make(row)
            position = int(rows[-1][0]) + 1

    def leaf_hashes(self, *, start: int, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        """(log index, stored leaf hash) from ``start`` on, in log-index order."""
        self.sync()
        position = start
        while rows := self.session.exec(
            select(LogEntry.log_index, LogEntry.leaf_hash)
            .where(LogEntry.log_index >= position)
            .order_by(col(LogEntry.log_index))
            .limit(batch)
        ).all():
            for index, leaf_hash in rows:
                yield int(index), bytes(leaf_hash)
            position = int(rows[-1][0]) + 1

    def registry_entries(self, *, before: int) -> Iterator[LogEntry]:
        """Registry entries (participants, facilities, revocations) below ``before``."""
        self.sync()
        yield from self.session.exec(
            select(LogEntry)
            .where(col(LogEntry.kind).in_(sorted(REGISTRY_KINDS)), LogEntry.log_index < before)
            .order_by(col(LogEntry.log_index))
        )

    def entries_at(self, indexes: Iterable[int]) -> list[LogEntry]:
        """The entries at ``indexes``, in log order."""
        self.sync()
        found: list[LogEntry] = []
        for chunk in _chunks(sorted(set(indexes))):
            found.extend(
                self.session.exec(select(LogEntry).where(col(LogEntry.log_index).in_(chunk)))
            )
        return sorted(found, key=lambda entry: entry.log_index)

    def records_about(self, lots: Iterable[LotId]) -> set[int]:
        """Log indexes of every record that created, consumed, shipped or received a lot."""
        self.sync()
        found: set[int] = set()
        for chunk in _chunks(sorted(set(lots))):
            found.update(
                self.session.exec(select(LotRow.created_index).where(col(LotRow.id).in_(chunk)))
            )
            found.update(
                self.session.exec(select(FlowRow.log_index).where(col(FlowRow.lot).in_(chunk)))
            )
            for created, received in self.session.exec(
                select(ShipmentRow.created_index, ShipmentRow.received_index)
                .join(ShipmentLotRow, col(ShipmentLotRow.shipment) == col(ShipmentRow.id))
                .where(col(ShipmentLotRow.lot).in_(chunk))
            ):
                found.add(created)
                if received is not None:
                    found.add(received)
        return found

    def entry_count(self) -> tuple[int, int | None]:
        """How many entries are stored, and the largest index."""
        self.sync()
        count, top = self.session.exec(select(func.count(), func.max(LogEntry.log_index))).one()
        return int(count), top

    def index_rows(
        self, table: type[SQLModel], *, batch: int = 1000
    ) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """Every row of a derived index table as (primary key, all columns), in key order."""
        self.sync()
        every = list(table.__table__.columns)  # type: ignore[attr-defined]
        keys = [c for c in every if c.primary_key]
        columns = keys + [c for c in every if not c.primary_key]
        # Byte order on every backend, whatever the database's collation: the replay it is
        # compared with is SQLite, whose text order is binary.
        binary = self.session.get_bind().dialect.name == "postgresql"
        order = [c.collate("C") if binary and isinstance(c.type, String) else c for c in keys]
        last: tuple[Any, ...] | None = None
        while True:
            statement = select(*columns).order_by(*order).limit(batch)
            if last is not None:
                statement = statement.where(tuple_(*order) > tuple_(*last))
            rows = self.session.exec(statement).all()
            if not rows:
                return
            for row in rows:
                yield tuple(row[: len(keys)]), tuple(row)
            last = tuple(rows[-1][: len(keys)])

    def index_differences(self, expected: Transaction) -> Iterator[tuple[str, str, str]]:
        """(table, row key, what) for the first difference per derived index table between
        this database and ``expected`` (a replay of the same log)."""
        for table in DERIVED_TABLES:
            stored, wanted = self.index_rows(table), expected.index_rows(table)
            for have, want in zip_longest(stored, wanted):
                if have == want:
                    continue
                if have is None or (want is not None and want[0] < have[0]):
                    assert want is not None
                    difference = (want[0], "is missing")
                elif want is None or have[0] < want[0]:
                    difference = (have[0], "was added")
                else:
                    difference = (have[0], "differs from what the log says")
                key = "/".join(str(part) for part in difference[0])
                yield str(table.__tablename__), key, difference[1]
                break

    def node_levels_above(self, level: int) -> list[tuple[int, int]]:
        """(level, index) of every stored node above ``level`` (none in a sound tree)."""
        self.sync()
        rows = self.session.exec(
            select(MerkleNode.level, MerkleNode.idx)
            .where(MerkleNode.level > level)
            .order_by(col(MerkleNode.level), col(MerkleNode.idx))
        ).all()
        return [(int(level_), int(idx)) for level_, idx in rows]

    def nodes_at(self, level: int, *, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        """(index, hash) of the stored nodes of one level in index order, read in batches."""
        self.sync()
        table = working.MERKLE_NODE
        position = 0
        while (
            rows := self._connection()
            .execute(
                select(table.c.idx, table.c.hash)
                .where(table.c.level == level, table.c.idx >= position)
                .order_by(table.c.idx)
                .limit(batch)
            )
            .all()
        ):
            for idx, digest in rows:
                yield int(idx), bytes(digest)
            position = int(rows[-1][0]) + 1

    def append(self, opened: Opened, *, appended_at: datetime) -> int:
        """Append an admitted envelope with its derived rows; returns its log index."""
        index = self._frontier.size
        if hash_leaf(opened.canonical) != opened.leaf_hash:  # pragma: no cover - invariant
            raise StorageError("leaf hash does not match the envelope bytes")
        self._frontier, nodes = self._frontier.append(opened.leaf_hash)
        self._log_entry(opened, index, appended_at)
        for level, idx, digest in nodes:
            if level > 0:
                self._work.add(MERKLE_NODE, {"level": level, "idx": idx, "hash": digest})
        self._head_moved = True
        self.index_entry(opened, index)
        return index

    def replay_entry(self, opened: Opened, index: int) -> None:
        """Store an entry of a partial replay at its own log index, with its derived rows
        (no Merkle nodes: the replay's tree is not the log's)."""
        if not self._partial:
            raise StorageError("replay_entry is for partial replays only")
        self._log_entry(opened, index, opened.record.issued_at)
        self.index_entry(opened, index)

    def _log_entry(self, opened: Opened, index: int, appended_at: datetime) -> None:
        record = opened.record
        self._work.add(
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
        self._work.leaves[opened.leaf_hash] = index
        self._work.records[opened.record_id] = index

    def index_entry(self, opened: Opened, index: int) -> None:
        """Write every derived row of the entry at ``index`` (append and reindex share it)."""
        record = opened.record
        for sig in opened.envelope.signatures:
            self._work.add(SIGNATURE, {"log_index": index, "keyid": sig.keyid})
        # Findings are judged against the index as it stood before this entry.
        found = findings.detect(record, index, self)
        self._derive(record, index)
        for seq, finding in enumerate(found):
            self._work.add(
                FINDING,
                {
                    "log_index": index,
                    "seq": seq,
                    "code": finding.code,
                    "severity": finding.severity,
                    "message": finding.message,
                    "subject": finding.subject,
                    "evidence": json.dumps(list(finding.evidence)),
                },
            )
            for lot, grams in finding.effects.items():
                if grams > 0:
                    self._work.add(
                        FINDING_EFFECT,
                        {"log_index": index, "seq": seq, "lot": lot, "unknown_g": grams},
                    )

    def clear_index(self) -> None:
        """Delete every derived row (``bloc reindex`` then replays the log)."""
        self.sync()
        for table in reversed(DERIVED_TABLES):
            self.session.exec(delete(table))
        self.session.flush()
        self._work.forget_all()

    def stored_findings(self, *, lots: Iterable[LotId] | None = None) -> list[findings.Finding]:
        """Stored findings in log order; with ``lots``, those about or affecting any of them."""
        self.sync()
        statement = select(FindingRow).order_by(col(FindingRow.log_index), col(FindingRow.seq))
        rows = list(self.session.exec(statement))
        effects: dict[tuple[int, int], dict[LotId, int]] = {}
        for effect in self.session.exec(select(FindingEffectRow)):
            effects.setdefault((effect.log_index, effect.seq), {})[LotId(effect.lot)] = (
                effect.unknown_g
            )
        wanted = set(lots) if lots is not None else None
        result = []
        for row in rows:
            touched = effects.get((row.log_index, row.seq), {})
            if wanted is not None and row.subject not in wanted and not wanted & set(touched):
                continue
            result.append(
                findings.Finding(
                    code=row.code,
                    severity=row.severity,
                    message=row.message,
                    log_index=row.log_index,
                    evidence=tuple(json.loads(row.evidence)),
                    subject=row.subject,
                    effects=touched,
                )
            )
        return result

    def unknown_grams(self, lots: Iterable[LotId]) -> dict[LotId, int]:
        """Grams of each lot that findings leave of unknown origin."""
        self.sync()
        found: dict[LotId, int] = {}
        for chunk in _chunks(sorted(set(lots))):
            for effect in self.session.exec(
                select(FindingEffectRow).where(col(FindingEffectRow.lot).in_(chunk))
            ):
                lot = LotId(effect.lot)
                found[lot] = found.get(lot, 0) + effect.unknown_g
        return found

    # -- checkpoints ----------------------------------------------------------------------

    def add_checkpoint(
        self, *, tree_size: int, root_hash: bytes, note: str, created_at: datetime
    ) -> None:
        self.session.add(
            CheckpointRow(
                tree_size=tree_size, root_hash=root_hash, note=note, created_at=stamp(created_at)
            )
        )
        self.session.flush()

    def checkpoint(self, tree_size: int) -> CheckpointRow | None:
        return self.session.get(CheckpointRow, tree_size)

    def latest_checkpoint(self) -> CheckpointRow | None:
        return self.session.exec(
            select(CheckpointRow).order_by(col(CheckpointRow.tree_size).desc()).limit(1)
        ).one_or_none()

    def checkpoints(self) -> Sequence[CheckpointRow]:
        return self.session.exec(select(CheckpointRow).order_by(col(CheckpointRow.tree_size))).all()

    # -- the view admission reads ---------------------------------------------------------

    def registrar_keys(self) -> Mapping[KeyId, PublicKey]:
        return self._registrars

    def key(self, keyid: KeyId) -> KeyState | None:
        return self._work.key(self._connection(), keyid)

    def signing_keys(self) -> dict[KeyId, PublicKey]:
        """The registrar keys this transaction was given and every participant key in the
        index, by key id.

        For checking signatures ahead of admission (ledger.service._parallel). A row whose key id is
        not the SHA-256 of its key is left out, so an edited row cannot vouch for anything;
        whether a key may sign is still decided by admission.
        """
        self.sync()
        keys = dict(self._registrars)
        rows = self.session.exec(select(ParticipantKeyRow.keyid, ParticipantKeyRow.public_key))
        for keyid, raw in rows:
            with contextlib.suppress(InputError):
                key = PublicKey(raw=bytes(raw))
                if key.keyid == keyid:
                    keys[KeyId(keyid)] = key
        return keys

    def keys_of(self, participant: ParticipantId) -> list[KeyState]:
        self.sync()
        rows = self.session.exec(
            select(ParticipantKeyRow).where(ParticipantKeyRow.participant == participant)
        ).all()
        return [working.key_state(row) for row in rows]

    def participant_exists(self, participant: ParticipantId) -> bool:
        return self._work.participant(self._connection(), participant)

    def facility(self, facility: FacilityId) -> FacilityState | None:
        return self._work.facility(self._connection(), facility)

    def lot_exists(self, lot: LotId) -> bool:
        return self._work.lot(self._connection(), lot) is not None

    def shipment(self, shipment: ShipmentId) -> ShipmentState | None:
        found = self._work.shipment(self._connection(), shipment)
        return None if found is None else found.state()

    # -- the provenance index findings read -----------------------------------------------

    def lot_state(self, lot: LotId) -> findings.LotState | None:
        found = self._work.lot(self._connection(), lot)
        return None if found is None else found.state()

    def lots_created_by(self, log_index: int) -> list[findings.LotState]:
        self.sync()
        return self._work.lots_created_by(self._connection(), log_index)

    def shipment_record(self, shipment: ShipmentId) -> findings.ShipmentRecord | None:
        found = self._work.shipment(self._connection(), shipment)
        return None if found is None else found.record()

    def shipment_records(self) -> list[findings.ShipmentRecord]:
        """Every shipment, in log order."""
        self.sync()
        rows = self.session.exec(select(ShipmentRow).order_by(col(ShipmentRow.created_index))).all()
        lots: dict[str, list[ShipmentLotRow]] = {}
        for lot in self.session.exec(select(ShipmentLotRow)).all():
            lots.setdefault(lot.shipment, []).append(lot)
        return [_shipment_record(row, lots.get(row.id, [])) for row in rows]

    def signed_by(self, keyid: KeyId) -> list[tuple[int, datetime]]:
        self.sync()
        rows = self.session.exec(
            select(LogEntry.log_index, LogEntry.issued_at)
            .join(SignatureRow, col(SignatureRow.log_index) == col(LogEntry.log_index))
            .where(SignatureRow.keyid == keyid)
            .order_by(col(LogEntry.log_index))
        ).all()
        return [(int(index), unstamp(issued)) for index, issued in rows]

    # -- the provenance graph reads (batched: one query per step of a walk) ----------------

    def lots(self, ids: Iterable[LotId]) -> dict[LotId, graph.LotInfo]:
        self.sync()
        wanted = sorted(set(ids))
        found: dict[LotId, graph.LotInfo] = {}
        for chunk in _chunks(wanted):
            found.update((info.id, info) for info in self._lot_infos(working.LOT.c.id.in_(chunk)))
        return found

    def upstream_lots(self, lot: LotId) -> set[LotId]:
        """``lot`` and every lot upstream of it: one recursive query over ``lot`` and
        ``flow`` (a transformation's inputs are the flows logged at the index that created
        its outputs)."""
        lots = working.LOT
        return self._upstream(core_select(lots.c.id.label("id")).where(lots.c.id == lot))

    def upstream_of_shipped(self, end_use: str) -> set[LotId]:
        line, shipment = working.SHIPMENT_LOT, working.SHIPMENT
        return self._upstream(
            core_select(line.c.lot.label("id"))
            .join(shipment, shipment.c.id == line.c.shipment)
            .where(shipment.c.end_use == end_use)
        )

    def _upstream(self, seed: Any) -> set[LotId]:
        """The lots ``seed`` selects and every lot upstream of them (a recursive query)."""
        self.sync()
        lots, flow = working.LOT, working.FLOW
        walk = seed.cte(recursive=True)
        walk = walk.union(
            core_select(flow.c.lot).select_from(
                walk.join(lots, lots.c.id == walk.c.id).join(
                    flow, flow.c.log_index == lots.c.created_index
                )
            )
        )
        return {LotId(found) for (found,) in self._connection().execute(core_select(walk.c.id))}

    def all_lots(self) -> dict[LotId, graph.LotInfo]:
        self.sync()
        return {info.id: info for info in self._lot_infos(true())}

    def facility_facts(self, ids: Iterable[str]) -> dict[str, FacilityFacts]:
        """Country, operator, stages and the operator's controlling holders per facility."""
        self.sync()
        found: dict[str, FacilityFacts] = {}
        for chunk in _chunks(sorted(set(ids))):
            rows = self.session.exec(
                select(FacilityRow, ParticipantRow)
                .join(ParticipantRow, col(ParticipantRow.id) == col(FacilityRow.operator))
                .where(col(FacilityRow.id).in_(chunk))
            ).all()
            history = self._control_history({operator.id for _, operator in rows})
            for facility, operator in rows:
                found[facility.id] = FacilityFacts(
                    id=facility.id,
                    country=facility.country,
                    operator=facility.operator,
                    stages=frozenset(json.loads(facility.stages)),
                    control=_holders(operator.control),
                    history=history.get(operator.id, ()),
                )
        return found

    def _control_history(
        self, participants: Iterable[str]
    ) -> dict[str, tuple[tuple[date, tuple[Control, ...]], ...]]:
        self.sync()
        found: dict[str, list[tuple[date, tuple[Control, ...]]]] = {}
        rows = self.session.exec(
            select(ControlRow)
            .where(col(ControlRow.participant).in_(sorted(set(participants))))
            .order_by(col(ControlRow.log_index))
        ).all()
        for row in rows:
            found.setdefault(row.participant, []).append(
                (unstamp(row.effective_from).date(), _holders(row.control))
            )
        return {participant: tuple(items) for participant, items in found.items()}

    def outputs_of(self, log_indexes: Iterable[int]) -> dict[int, list[graph.LotInfo]]:
        self.sync()
        found: dict[int, list[graph.LotInfo]] = {}
        for chunk in _chunks(sorted(set(log_indexes))):
            for info in self._lot_infos(working.LOT.c.created_index.in_(chunk)):
                found.setdefault(info.created_index, []).append(info)
        return found

    def _lot_infos(self, condition: Any) -> list[graph.LotInfo]:
        """Lots with their creating event and its facility (plain rows, no ORM objects:
        provenance walks read many)."""
        self.sync()
        lot, event, facility = working.LOT, working.EVENT, working.FACILITY
        rows = self._connection().execute(
            core_select(
                lot.c.id,
                lot.c.material,
                lot.c.mass_g,
                lot.c.created_index,
                event.c.facility,
                facility.c.country,
                facility.c.operator,
                event.c.stage,
                event.c.happened_on,
                event.c.source,
            )
            .join(event, event.c.log_index == lot.c.created_index)
            .join(facility, facility.c.id == event.c.facility)
            .where(condition)
            .order_by(lot.c.id)
        )
        return [
            graph.LotInfo(
                id=LotId(row.id),
                material=row.material,
                mass_g=int(row.mass_g),
                created_index=int(row.created_index),
                facility=row.facility,
                country=row.country,
                operator=row.operator,
                stage=row.stage,
                happened_on=row.happened_on,
                source=row.source,
            )
            for row in rows
        ]

    def flows_into(self, log_indexes: Iterable[int]) -> dict[int, list[graph.Flow]]:
        found: dict[int, list[graph.Flow]] = {}
        for flow in self._flows(working.FLOW.c.log_index, log_indexes, working.FLOW.c.lot):
            found.setdefault(flow.log_index, []).append(flow)
        return found

    def flows_from(self, lots: Iterable[LotId]) -> dict[LotId, list[graph.Flow]]:
        found: dict[LotId, list[graph.Flow]] = {}
        for flow in self._flows(working.FLOW.c.lot, lots, working.FLOW.c.log_index):
            found.setdefault(flow.lot, []).append(flow)
        return found

    def _flows(self, key: Any, values: Iterable[Any], order: Any) -> Iterator[graph.Flow]:
        """The flows whose ``key`` column is one of ``values``, by chunk, ordered by ``order``."""
        self.sync()
        flow = working.FLOW
        for chunk in _chunks(sorted(set(values))):
            for log_index, lot, grams in self._connection().execute(
                select(flow.c.log_index, flow.c.lot, flow.c.grams)
                .where(key.in_(chunk))
                .order_by(order)
            ):
                yield graph.Flow(log_index=int(log_index), lot=LotId(lot), grams=int(grams))

    def untraced_into(self, log_indexes: Iterable[int]) -> dict[int, list[graph.Untraced]]:
        self.sync()
        found: dict[int, list[graph.Untraced]] = {}
        for chunk in _chunks(sorted(set(log_indexes))):
            untraced = working.UNTRACED
            for row in self._connection().execute(
                core_select(untraced)
                .where(untraced.c.log_index.in_(chunk))
                .order_by(untraced.c.log_index, untraced.c.position)
            ):
                found.setdefault(int(row.log_index), []).append(
                    graph.Untraced(
                        log_index=int(row.log_index),
                        position=int(row.position),
                        material=row.material,
                        grams=int(row.grams),
                        declared_origin=row.declared_origin,
                    )
                )
        return found

    def hops(self, lots: Iterable[LotId]) -> dict[LotId, list[graph.Hop]]:
        self.sync()
        found: dict[LotId, list[graph.Hop]] = {}
        for chunk in _chunks(sorted(set(lots))):
            line, shipment, destination = working.SHIPMENT_LOT, working.SHIPMENT, working.FACILITY
            rows = self._connection().execute(
                core_select(
                    line.c.lot,
                    shipment.c.id,
                    shipment.c.from_facility,
                    shipment.c.to_facility,
                    destination.c.country,
                    shipment.c.shipped_on,
                    shipment.c.created_index,
                    shipment.c.received_index,
                    shipment.c.end_use,
                )
                .join(shipment, shipment.c.id == line.c.shipment)
                .join(destination, destination.c.id == shipment.c.to_facility)
                .where(line.c.lot.in_(chunk))
                .order_by(shipment.c.created_index)
            )
            for row in rows:
                found.setdefault(LotId(row.lot), []).append(
                    graph.Hop(
                        shipment=row.id,
                        from_facility=row.from_facility,
                        to_facility=row.to_facility,
                        to_country=row.country,
                        shipped_on=row.shipped_on,
                        shipped_index=int(row.created_index),
                        received_index=None
                        if row.received_index is None
                        else int(row.received_index),
                        end_use=row.end_use,
                    )
                )
        return found

    # -- derived rows ---------------------------------------------------------------------

    def _derive(self, record: Record, index: int) -> None:
        match record:
            case Participant() | Facility() | KeyRevocation():
                self._derive_registry(record, index)
                # Registry rows are written through the ORM: write them now, and forget
                # what the working set cached of the registry.
                self.session.flush()
                self._work.forget_registry()
            case Extraction():
                self._event(
                    index,
                    "extraction",
                    record.facility,
                    record.stage,
                    record.extracted_on,
                    source=record.source,
                )
                self._new_lots(record.lots, record.facility, index, record.extracted_on)
            case Transformation():
                self._event(
                    index, "transformation", record.facility, record.stage, record.performed_on
                )
                for amount in record.inputs:
                    self._work.add(
                        FLOW, {"log_index": index, "lot": amount.lot, "grams": amount.grams}
                    )
                    lot = self._lot(amount.lot)
                    if lot is not None:
                        lot.remaining_g -= amount.grams
                        self._work.touch_lot(lot)
                for position, untraced in enumerate(record.untraced_inputs):
                    self._work.add(
                        UNTRACED,
                        {
                            "log_index": index,
                            "position": position,
                            "material": untraced.material,
                            "grams": untraced.grams,
                            "declared_origin": untraced.declared_origin,
                        },
                    )
                self._new_lots(record.outputs, record.facility, index, record.performed_on)
            case Shipment():
                shipment = working.Shipment(
                    id=record.id,
                    from_facility=record.from_facility,
                    to_facility=record.to_facility,
                    shipped_on=record.shipped_on.isoformat(),
                    end_use=record.end_use,
                    created_index=index,
                    received_index=None,
                )
                for lot_id in record.lots:
                    lot = self._lot(lot_id)
                    if lot is None:
                        continue
                    shipment.lines[lot_id] = Line(shipped_g=max(lot.remaining_g, 0), new=True)
                    lot.holder, lot.in_transit = None, record.id
                    self._work.touch_lot(lot)
                self._work.new_shipment(shipment)
            case Receipt():
                found = self._work.shipment(self._connection(), record.shipment)
                if found is None:
                    if self._partial:
                        return
                    raise StorageError(f"shipment {record.shipment} vanished")  # pragma: no cover
                found.received_index = index
                self._work.touch_shipment(found)
                for amount in record.lots:
                    line = found.lines.get(amount.lot)
                    if line is not None:
                        line.received_g = amount.grams
                        line.dirty = True
                    lot = self._lot(amount.lot)
                    if lot is not None and lot.in_transit == record.shipment:
                        # The receiver holds what it measured.
                        lot.holder, lot.in_transit = record.facility, None
                        lot.remaining_g = amount.grams
                        self._work.touch_lot(lot)

    def _derive_registry(self, record: Participant | Facility | KeyRevocation, index: int) -> None:
        match record:
            case Participant():
                self._register_participant(record, index)
            case Facility():
                self.session.merge(
                    FacilityRow(
                        id=record.id,
                        operator=record.operator,
                        name=record.name,
                        country=record.country,
                        region=record.region,
                        stages=json.dumps(list(record.stages)),
                        log_index=index,
                    )
                )
            case KeyRevocation():
                row = self.session.get(ParticipantKeyRow, record.keyid)
                if row is None:
                    if self._partial:
                        return
                    raise StorageError(f"key {record.keyid} vanished")  # pragma: no cover
                state = revoked_key(working.key_state(row), record)
                row.compromised_since = (
                    stamp(state.compromised_since) if state.compromised_since else None
                )
                self.session.add(row)

    def _lot(self, lot_id: str) -> Lot | None:
        """The lot's row; ``None`` only in a partial replay that does not hold the lot."""
        lot = self._work.lot(self._connection(), lot_id)
        if lot is None and not self._partial:  # pragma: no cover - admission checked it
            raise StorageError(f"lot {lot_id} vanished")
        return lot

    def _event(
        self,
        index: int,
        kind: str,
        facility: str,
        stage: str,
        happened_on: date,
        *,
        source: str | None = None,
    ) -> None:
        self._work.add(
            EVENT,
            {
                "log_index": index,
                "kind": kind,
                "facility": facility,
                "stage": stage,
                "happened_on": happened_on.isoformat(),
                "source": source,
            },
        )

    def _new_lots(
        self, lots: Sequence[NewLot], facility: str, index: int, created_on: date
    ) -> None:
        for lot in lots:
            self._work.new_lot(
                Lot(
                    id=lot.id,
                    material=lot.material,
                    mass_g=lot.grams,
                    facility=facility,
                    created_index=index,
                    created_on=created_on.isoformat(),
                    remaining_g=lot.grams,
                    holder=facility,
                    in_transit=None,
                )
            )

    def _register_participant(self, record: Participant, index: int) -> None:
        control = canonical_json(
            [
                {
                    "holder": c.holder,
                    "country": c.country,
                    "percent": c.percent,
                    "government": c.government,
                }
                for c in record.control
            ]
        ).decode()
        self.session.merge(
            ParticipantRow(
                id=record.id,
                name=record.name,
                country=record.country,
                roles=json.dumps(list(record.roles)),
                control=control,
                log_index=index,
            )
        )
        self.session.add(
            ControlRow(
                participant=record.id,
                log_index=index,
                effective_from=stamp(record.issued_at),
                control=control,
            )
        )
        for state in rotated_keys(self.keys_of(record.id), record):
            self.session.merge(
                ParticipantKeyRow(
                    keyid=state.grant.keyid,
                    participant=state.participant,
                    public_key=state.grant.public_key.raw,
                    valid_from=stamp(state.grant.valid_from),
                    valid_until=stamp(state.grant.valid_until) if state.grant.valid_until else None,
                    compromised_since=(
                        stamp(state.compromised_since) if state.compromised_since else None
                    ),
                    log_index=index,
                )
            )


def _shipment_record(row: ShipmentRow, lots: Sequence[ShipmentLotRow]) -> findings.ShipmentRecord:
    return findings.ShipmentRecord(
        id=ShipmentId(row.id),
        from_facility=FacilityId(row.from_facility),
        to_facility=FacilityId(row.to_facility),
        shipped_on=date.fromisoformat(row.shipped_on),
        created_index=row.created_index,
        received_index=row.received_index,
        lots=tuple(
            findings.ShippedLot(lot=LotId(lot.lot), shipped_g=lot.shipped_g) for lot in lots
        ),
    )


def _holders(stored: str) -> tuple[Control, ...]:
    """A participant's controlling holders, from the JSON its row stores."""
    return tuple(
        Control(
            holder=c["holder"],
            country=c["country"],
            percent=Decimal(str(c["percent"])),
            government=c["government"],
        )
        for c in json.loads(stored)
    )


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """Bound IN lists: SQLite and PostgreSQL both limit bound parameters per statement."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _wanted_by(record: Record, wanted: Wanted) -> None:
    """The rows admitting and indexing ``record`` reads (see :meth:`Transaction.prefetch`)."""
    match record:
        case Extraction():
            wanted.facilities.add(record.facility)
            wanted.lots.update(lot.id for lot in record.lots)
        case Transformation():
            wanted.facilities.add(record.facility)
            wanted.lots.update(amount.lot for amount in record.inputs)
            wanted.lots.update(lot.id for lot in record.outputs)
        case Shipment():
            wanted.facilities.update((record.from_facility, record.to_facility))
            wanted.lots.update(record.lots)
            wanted.shipments.add(record.id)
        case Receipt():
            wanted.facilities.add(record.facility)
            wanted.lots.update(amount.lot for amount in record.lots)
            wanted.shipments.add(record.shipment)
        case Participant():
            wanted.participants.add(record.id)
            wanted.keys.update(grant.keyid for grant in record.keys)
        case Facility():
            wanted.facilities.add(record.id)
            wanted.participants.add(record.operator)
        case KeyRevocation():
            wanted.participants.add(record.participant)
            wanted.keys.add(record.keyid)
