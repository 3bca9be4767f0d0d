"""A write transaction's working set: the hot index rows, mirrored in memory.

Admission and findings read a handful of rows per record — the lots it consumes or ships,
the shipment it receives, the facility and keys it names, whether its leaf or record id is
already logged — and indexing writes a handful more. Through the ORM each read and each
written object costs tens of microseconds, which made ingest a few hundred records a
second. The working set instead keeps plain mirrors of the rows a transaction has read or
made, loads what it lacks with one ``IN`` query per table (:meth:`WorkingSet.prefetch`),
and writes with one executemany per table when the transaction flushes it (before any
query that reads those tables through SQL, and before commit).

Only the rows that records touch on the hot path live here: log entries, Merkle nodes,
signatures, events, flows, untraced inputs, findings, lots and shipments. Registry rows
(participants, keys, facilities) are still written through the ORM; the working set only
caches reads of them and forgets them whenever the registry changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Connection, Dialect, Table, bindparam, insert, select, update

from ledger.core.signing import KeyId, PublicKey
from ledger.provenance import findings
from ledger.records.admission import FacilityState, KeyState, ShipmentState
from ledger.records.model import FacilityId, KeyGrant, LotId, ParticipantId, ShipmentId
from ledger.store.rows import (
    EventRow,
    FacilityRow,
    FindingEffectRow,
    FindingRow,
    FlowRow,
    LogEntry,
    LotRow,
    MerkleNode,
    ParticipantKeyRow,
    ParticipantRow,
    ShipmentLotRow,
    ShipmentRow,
    SignatureRow,
    UntracedRow,
)
from ledger.store.stamps import unstamp

_CHUNK = 500
"""Bound IN lists: SQLite and PostgreSQL both limit bound parameters per statement."""


def table(row: type[Any]) -> Table:
    found: Table = row.__table__
    return found


LOG_ENTRY = table(LogEntry)
MERKLE_NODE = table(MerkleNode)
SIGNATURE = table(SignatureRow)
EVENT = table(EventRow)
FLOW = table(FlowRow)
UNTRACED = table(UntracedRow)
FINDING = table(FindingRow)
FINDING_EFFECT = table(FindingEffectRow)
LOT = table(LotRow)
SHIPMENT = table(ShipmentRow)
SHIPMENT_LOT = table(ShipmentLotRow)
FACILITY = table(FacilityRow)
PARTICIPANT = table(ParticipantRow)
PARTICIPANT_KEY = table(ParticipantKeyRow)

APPEND_ONLY = (LOG_ENTRY, MERKLE_NODE, SIGNATURE, EVENT, FLOW, UNTRACED, FINDING, FINDING_EFFECT)


@dataclass(slots=True)
class Lot:
    """A ``lot`` row; ``new`` rows are inserted, ``dirty`` ones updated, at flush."""

    id: str
    material: str
    mass_g: int
    facility: str
    created_index: int
    created_on: str
    remaining_g: int
    holder: str | None
    in_transit: str | None
    new: bool = False
    dirty: bool = False

    def state(self) -> findings.LotState:
        return findings.LotState(
            id=LotId(self.id),
            material=self.material,
            mass_g=self.mass_g,
            remaining_g=self.remaining_g,
            facility=FacilityId(self.facility),
            holder=FacilityId(self.holder) if self.holder else None,
            in_transit=ShipmentId(self.in_transit) if self.in_transit else None,
            created_index=self.created_index,
            created_on=date.fromisoformat(self.created_on),
        )

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "material": self.material,
            "mass_g": self.mass_g,
            "facility": self.facility,
            "created_index": self.created_index,
            "created_on": self.created_on,
            "remaining_g": self.remaining_g,
            "holder": self.holder,
            "in_transit": self.in_transit,
        }


@dataclass(slots=True)
class Line:
    """A ``shipment_lot`` row."""

    shipped_g: int
    received_g: int | None = None
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class Shipment:
    """A ``shipment`` row with its lines (lot → line)."""

    id: str
    from_facility: str
    to_facility: str
    shipped_on: str
    end_use: str | None
    created_index: int
    received_index: int | None
    lines: dict[str, Line] = field(default_factory=dict)
    new: bool = False
    dirty: bool = False

    def state(self) -> ShipmentState:
        return ShipmentState(
            id=ShipmentId(self.id),
            from_facility=FacilityId(self.from_facility),
            to_facility=FacilityId(self.to_facility),
            lots=frozenset(LotId(lot) for lot in self.lines),
            received_index=self.received_index,
        )

    def record(self) -> findings.ShipmentRecord:
        return findings.ShipmentRecord(
            id=ShipmentId(self.id),
            from_facility=FacilityId(self.from_facility),
            to_facility=FacilityId(self.to_facility),
            shipped_on=date.fromisoformat(self.shipped_on),
            created_index=self.created_index,
            received_index=self.received_index,
            lots=tuple(
                findings.ShippedLot(lot=LotId(lot), shipped_g=self.lines[lot].shipped_g)
                for lot in sorted(self.lines)
            ),
        )


def key_state(row: Any) -> KeyState:
    """A ``participant_key`` row (ORM object or Core row) as the registry's key state."""
    return KeyState(
        participant=ParticipantId(row.participant),
        grant=KeyGrant(
            keyid=KeyId(row.keyid),
            public_key=PublicKey(raw=bytes(row.public_key)),
            valid_from=unstamp(row.valid_from),
            valid_until=unstamp(row.valid_until) if row.valid_until else None,
        ),
        compromised_since=unstamp(row.compromised_since) if row.compromised_since else None,
    )


def _chunks(items: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(set(items))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


@dataclass(slots=True)
class Wanted:
    """What a batch of records will read: loaded up front by :meth:`WorkingSet.prefetch`."""

    leaves: set[bytes] = field(default_factory=set)
    records: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    facilities: set[str] = field(default_factory=set)
    participants: set[str] = field(default_factory=set)
    lots: set[str] = field(default_factory=set)
    shipments: set[str] = field(default_factory=set)


class WorkingSet:
    """Mirrors and pending writes of one transaction (see the module docstring)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.lots: dict[str, Lot | None] = {}
        self.shipments: dict[str, Shipment | None] = {}
        self.leaves: dict[bytes, int | None] = {}
        self.records: dict[str, int | None] = {}
        self.keys: dict[str, KeyState | None] = {}
        self.facilities: dict[str, FacilityState | None] = {}
        self.participants: dict[str, bool] = {}
        self.inserts: dict[Table, list[dict[str, Any]]] = {t: [] for t in APPEND_ONLY}
        self._touched_lots: list[Lot] = []
        self._touched_shipments: list[Shipment] = []

    # -- state ------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        return bool(
            self._touched_lots
            or self._touched_shipments
            or any(rows for rows in self.inserts.values())
        )

    def forget_registry(self) -> None:
        """The registry changed: cached keys, facilities and participants may be stale."""
        self.keys.clear()
        self.facilities.clear()
        self.participants.clear()

    def forget_all(self) -> None:
        """The tables were rewritten outside the working set (``clear_index``)."""
        assert not self.pending, "flush before forgetting"
        self._reset()

    def add(self, into: Table, row: dict[str, Any]) -> None:
        self.inserts[into].append(row)

    def new_lot(self, lot: Lot) -> None:
        lot.new = True
        self.lots[lot.id] = lot
        self._touched_lots.append(lot)

    def touch_lot(self, lot: Lot) -> None:
        if not lot.new and not lot.dirty:
            lot.dirty = True
            self._touched_lots.append(lot)

    def new_shipment(self, shipment: Shipment) -> None:
        shipment.new = True
        self.shipments[shipment.id] = shipment
        self._touched_shipments.append(shipment)

    def touch_shipment(self, shipment: Shipment) -> None:
        if not shipment.new and not shipment.dirty:
            shipment.dirty = True
            self._touched_shipments.append(shipment)

    # -- reads ------------------------------------------------------------------------

    def prefetch(self, connection: Connection, wanted: Wanted) -> None:
        """Load every wanted row this set does not know yet, absent ones as absent."""
        self._load_leaves(connection, wanted.leaves - self.leaves.keys())
        self._load_records(connection, wanted.records - self.records.keys())
        self._load_keys(connection, wanted.keys - self.keys.keys())
        self._load_facilities(connection, wanted.facilities - self.facilities.keys())
        self._load_participants(connection, wanted.participants - self.participants.keys())
        self._load_lots(connection, wanted.lots - self.lots.keys())
        self._load_shipments(connection, wanted.shipments - self.shipments.keys())

    def leaf(self, connection: Connection, leaf_hash: bytes) -> int | None:
        if leaf_hash not in self.leaves:
            self._load_leaves(connection, [leaf_hash])
        return self.leaves[leaf_hash]

    def record(self, connection: Connection, record_id: str) -> int | None:
        if record_id not in self.records:
            self._load_records(connection, [record_id])
        return self.records[record_id]

    def key(self, connection: Connection, keyid: str) -> KeyState | None:
        if keyid not in self.keys:
            self._load_keys(connection, [keyid])
        return self.keys[keyid]

    def facility(self, connection: Connection, facility: str) -> FacilityState | None:
        if facility not in self.facilities:
            self._load_facilities(connection, [facility])
        return self.facilities[facility]

    def participant(self, connection: Connection, participant: str) -> bool:
        if participant not in self.participants:
            self._load_participants(connection, [participant])
        return self.participants[participant]

    def lot(self, connection: Connection, lot: str) -> Lot | None:
        if lot not in self.lots:
            self._load_lots(connection, [lot])
        return self.lots[lot]

    def shipment(self, connection: Connection, shipment: str) -> Shipment | None:
        if shipment not in self.shipments:
            self._load_shipments(connection, [shipment])
        return self.shipments[shipment]

    def _load_leaves(self, connection: Connection, leaves: Iterable[bytes]) -> None:
        for chunk in _chunks(leaves):
            self.leaves.update(dict.fromkeys(chunk))
            found = _log_index_of(connection, LOG_ENTRY.c.leaf_hash, chunk)
            self.leaves.update({bytes(leaf): int(index) for leaf, index in found})

    def _load_records(self, connection: Connection, records: Iterable[str]) -> None:
        for chunk in _chunks(records):
            self.records.update(dict.fromkeys(chunk))
            found = _log_index_of(connection, LOG_ENTRY.c.record_id, chunk)
            self.records.update({str(r): int(index) for r, index in found})

    def _load_keys(self, connection: Connection, keyids: Iterable[str]) -> None:
        for chunk in _chunks(keyids):
            self.keys.update(dict.fromkeys(chunk))
            for row in connection.execute(
                select(PARTICIPANT_KEY).where(PARTICIPANT_KEY.c.keyid.in_(chunk))
            ):
                self.keys[row.keyid] = key_state(row)

    def _load_facilities(self, connection: Connection, ids: Iterable[str]) -> None:
        for chunk in _chunks(ids):
            self.facilities.update(dict.fromkeys(chunk))
            for row in connection.execute(select(FACILITY).where(FACILITY.c.id.in_(chunk))):
                self.facilities[row.id] = FacilityState(
                    id=FacilityId(row.id),
                    operator=ParticipantId(row.operator),
                    country=row.country,
                    stages=frozenset(json.loads(row.stages)),
                )

    def _load_participants(self, connection: Connection, ids: Iterable[str]) -> None:
        for chunk in _chunks(ids):
            self.participants.update(dict.fromkeys(chunk, False))
            statement = select(PARTICIPANT.c.id).where(PARTICIPANT.c.id.in_(chunk))
            self.participants.update({str(p): True for (p,) in connection.execute(statement)})

    def _load_lots(self, connection: Connection, ids: Iterable[str]) -> None:
        for chunk in _chunks(ids):
            self.lots.update(dict.fromkeys(chunk))
            for row in connection.execute(select(LOT).where(LOT.c.id.in_(chunk))):
                self.lots[row.id] = Lot(
                    id=row.id,
                    material=row.material,
                    mass_g=row.mass_g,
                    facility=row.facility,
                    created_index=row.created_index,
                    created_on=row.created_on,
                    remaining_g=row.remaining_g,
                    holder=row.holder,
                    in_transit=row.in_transit,
                )

    def _load_shipments(self, connection: Connection, ids: Iterable[str]) -> None:
        for chunk in _chunks(ids):
            self.shipments.update(dict.fromkeys(chunk))
            found: dict[str, Shipment] = {}
            for row in connection.execute(select(SHIPMENT).where(SHIPMENT.c.id.in_(chunk))):
                found[row.id] = Shipment(
                    id=row.id,
                    from_facility=row.from_facility,
                    to_facility=row.to_facility,
                    shipped_on=row.shipped_on,
                    end_use=row.end_use,
                    created_index=row.created_index,
                    received_index=row.received_index,
                )
            if found:
                for line in connection.execute(
                    select(SHIPMENT_LOT).where(SHIPMENT_LOT.c.shipment.in_(sorted(found)))
                ):
                    found[line.shipment].lines[line.lot] = Line(
                        shipped_g=line.shipped_g, received_g=line.received_g
                    )
            self.shipments.update(found)

    def lots_created_by(self, connection: Connection, log_index: int) -> list[findings.LotState]:
        """Read from the database: flush first."""
        rows = connection.execute(
            select(LOT.c.id).where(LOT.c.created_index == log_index).order_by(LOT.c.id)
        )
        ids = [str(lot_id) for (lot_id,) in rows]
        self._load_lots(connection, [i for i in ids if i not in self.lots])
        return [lot.state() for i in ids if (lot := self.lots[i]) is not None]

    # -- writes -----------------------------------------------------------------------

    def flush(self, connection: Connection) -> None:
        """Write every pending row: one executemany per table and kind of change."""
        for into, rows in self.inserts.items():
            if rows:
                _insert_many(connection, into, rows)
                rows.clear()
        lots, self._touched_lots = self._touched_lots, []
        self._write(
            connection,
            LOT,
            [lot.row() for lot in lots if lot.new],
            [
                {
                    "key": lot.id,
                    "v_remaining_g": lot.remaining_g,
                    "v_holder": lot.holder,
                    "v_in_transit": lot.in_transit,
                }
                for lot in lots
                if not lot.new
            ],
        )
        for lot in lots:
            lot.new = lot.dirty = False
        shipments, self._touched_shipments = self._touched_shipments, []
        new_lines: list[dict[str, Any]] = []
        changed_lines: list[dict[str, Any]] = []
        for shipment in shipments:
            for lot_id, line in shipment.lines.items():
                if line.new:
                    new_lines.append(
                        {
                            "shipment": shipment.id,
                            "lot": lot_id,
                            "shipped_g": line.shipped_g,
                            "received_g": line.received_g,
                        }
                    )
                elif line.dirty:
                    changed_lines.append(
                        {
                            "key_shipment": shipment.id,
                            "key_lot": lot_id,
                            "v_received_g": line.received_g,
                        }
                    )
                line.new = line.dirty = False
        self._write(
            connection,
            SHIPMENT,
            [_shipment_row(s) for s in shipments if s.new],
            [{"key": s.id, "v_received_index": s.received_index} for s in shipments if not s.new],
        )
        for shipment in shipments:
            shipment.new = shipment.dirty = False
        if new_lines:
            _insert_many(connection, SHIPMENT_LOT, new_lines)
        if changed_lines:
            connection.execute(
                update(SHIPMENT_LOT)
                .where(
                    SHIPMENT_LOT.c.shipment == bindparam("key_shipment"),
                    SHIPMENT_LOT.c.lot == bindparam("key_lot"),
                )
                .values(received_g=bindparam("v_received_g")),
                changed_lines,
            )

    @staticmethod
    def _write(
        connection: Connection,
        into: Table,
        new: Sequence[dict[str, Any]],
        changed: Sequence[dict[str, Any]],
    ) -> None:
        if new:
            _insert_many(connection, into, new)
        if changed:
            columns = [name for name in changed[0] if name != "key"]
            connection.execute(
                update(into)
                .where(into.c.id == bindparam("key"))
                .values({name.removeprefix("v_"): bindparam(name) for name in columns}),
                list(changed),
            )


def _log_index_of(connection: Connection, key: Column[Any], values: Sequence[Any]) -> Sequence[Any]:
    """(key, log_index) of the log entries whose ``key`` column is one of ``values``.

    Straight to the driver, like :func:`_insert_many`: one lookup per envelope of a batch,
    where SQLAlchemy's handling of the IN list cost three times the query itself.
    """
    sql = _log_index_sql(connection.dialect, key, len(values))
    if connection.dialect.paramstyle == "qmark":
        return connection.exec_driver_sql(sql, tuple(values)).all()
    return connection.exec_driver_sql(sql, {f"k{i}": v for i, v in enumerate(values)}).all()


@lru_cache(maxsize=64)
def _log_index_sql(dialect: Dialect, key: Column[Any], count: int) -> str:
    statement = select(key, LOG_ENTRY.c.log_index).where(
        key.in_([bindparam(f"k{i}") for i in range(count)])
    )
    return str(statement.compile(dialect=dialect))


def _insert_many(connection: Connection, into: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT per row, handed to the driver's executemany in one call.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself; the
    values here are plain str, int, bool and bytes, which both drivers adapt directly.
    Every row of one call has the same fields (one builder per table).
    """
    sql, order = _insert_sql(connection.dialect, into, tuple(rows[0]))
    if order is None:
        connection.exec_driver_sql(sql, list(rows))
    else:
        connection.exec_driver_sql(sql, [tuple(row[name] for name in order) for row in rows])


@lru_cache(maxsize=256)
def _insert_sql(
    dialect: Dialect, into: Table, names: tuple[str, ...]
) -> tuple[str, tuple[str, ...] | None]:
    """The dialect's INSERT text for ``names``, and the parameter order when positional."""
    compiled = insert(into).compile(dialect=dialect, column_keys=list(names))
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return str(compiled), order


def _shipment_row(shipment: Shipment) -> dict[str, Any]:
    return {
        "id": shipment.id,
        "from_facility": shipment.from_facility,
        "to_facility": shipment.to_facility,
        "shipped_on": shipment.shipped_on,
        "end_use": shipment.end_use,
        "created_index": shipment.created_index,
        "received_index": shipment.received_index,
    }
