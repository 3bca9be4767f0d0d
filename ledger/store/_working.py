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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update

from ledger.core.signing import KeyId, PublicKey
from ledger.provenance import findings
from ledger.records.admission import FacilityState, KeyState, LotPlace, ShipmentState
from ledger.records.model import FacilityId, KeyGrant, LotId, ParticipantId, ShipmentId
from ledger.store._sql import (
    APPEND_ONLY,
    FACILITY,
    LOG_ENTRY,
    LOT,
    PARTICIPANT,
    PARTICIPANT_KEY,
    SHIPMENT,
    SHIPMENT_LOT,
    chunks,
    insert_many,
    log_index_of,
)
from ledger.store._stamps import unstamp


@dataclass(slots=True)
class LotMirror:
    """A ``lot`` row in the working set; ``new`` rows are inserted, ``dirty`` ones updated,
    at flush."""

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

    @classmethod
    def from_row(cls, row: Any) -> LotMirror:
        """A stored ``lot`` row (a Core row)."""
        return cls(
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

    def place(self) -> LotPlace:
        """Where the lot is, as admission reads it."""
        return LotPlace(
            id=LotId(self.id),
            holder=FacilityId(self.holder) if self.holder else None,
            in_transit=ShipmentId(self.in_transit) if self.in_transit else None,
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
class LineMirror:
    """A ``shipment_lot`` row in the working set."""

    shipped_g: int
    received_g: int | None = None
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class ShipmentMirror:
    """A ``shipment`` row in the working set, with its lines (lot → line)."""

    id: str
    from_facility: str
    to_facility: str
    shipped_on: str
    end_use: str | None
    created_index: int
    received_index: int | None
    lines: dict[str, LineMirror] = field(default_factory=dict)
    new: bool = False
    dirty: bool = False

    @classmethod
    def from_row(cls, row: Any) -> ShipmentMirror:
        """A stored ``shipment`` row (a Core row or an ORM object), without its lines."""
        return cls(
            id=row.id,
            from_facility=row.from_facility,
            to_facility=row.to_facility,
            shipped_on=row.shipped_on,
            end_use=row.end_use,
            created_index=row.created_index,
            received_index=row.received_index,
        )

    def state(self) -> ShipmentState:
        return ShipmentState(
            id=ShipmentId(self.id),
            from_facility=FacilityId(self.from_facility),
            to_facility=FacilityId(self.to_facility),
            lots=frozenset(LotId(lot) for lot in self.lines),
            received_index=self.received_index,
        )

    def record(self) -> findings.ShipmentRecord:
        """The shipment as findings read it: its lots in lot order."""
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

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from_facility": self.from_facility,
            "to_facility": self.to_facility,
            "shipped_on": self.shipped_on,
            "end_use": self.end_use,
            "created_index": self.created_index,
            "received_index": self.received_index,
        }


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
    """Mirrors and pending writes of one transaction (see the module docstring).

    Its lookups by key need no flush first: every row it has made or changed is in its
    mirrors, so what it loads from the database for a key it does not know cannot be
    pending. Queries by anything else go through the transaction's read path, which
    flushes it.
    """

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._reset()

    def _reset(self) -> None:
        self.lots: dict[str, LotMirror | None] = {}
        self.shipments: dict[str, ShipmentMirror | None] = {}
        self.leaves: dict[bytes, int | None] = {}
        self.records: dict[str, int | None] = {}
        self.keys: dict[str, KeyState | None] = {}
        self.facilities: dict[str, FacilityState | None] = {}
        self.participants: dict[str, bool] = {}
        self.inserts: dict[Table, list[dict[str, Any]]] = {t: [] for t in APPEND_ONLY}
        self._touched_lots: list[LotMirror] = []
        self._touched_shipments: list[ShipmentMirror] = []

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

    def new_lot(self, lot: LotMirror) -> None:
        lot.new = True
        self.lots[lot.id] = lot
        self._touched_lots.append(lot)

    def touch_lot(self, lot: LotMirror) -> None:
        if not lot.new and not lot.dirty:
            lot.dirty = True
            self._touched_lots.append(lot)

    def new_shipment(self, shipment: ShipmentMirror) -> None:
        shipment.new = True
        self.shipments[shipment.id] = shipment
        self._touched_shipments.append(shipment)

    def touch_shipment(self, shipment: ShipmentMirror) -> None:
        if not shipment.new and not shipment.dirty:
            shipment.dirty = True
            self._touched_shipments.append(shipment)

    # -- reads by key -----------------------------------------------------------------

    def prefetch(self, wanted: Wanted) -> None:
        """Load every wanted row this set does not know yet, absent ones as absent."""
        self._load_leaves(wanted.leaves - self.leaves.keys())
        self._load_records(wanted.records - self.records.keys())
        self._load_keys(wanted.keys - self.keys.keys())
        self._load_facilities(wanted.facilities - self.facilities.keys())
        self._load_participants(wanted.participants - self.participants.keys())
        self._load_lots(wanted.lots - self.lots.keys())
        self._load_shipments(wanted.shipments - self.shipments.keys())

    def leaf(self, leaf_hash: bytes) -> int | None:
        if leaf_hash not in self.leaves:
            self._load_leaves([leaf_hash])
        return self.leaves[leaf_hash]

    def record(self, record_id: str) -> int | None:
        if record_id not in self.records:
            self._load_records([record_id])
        return self.records[record_id]

    def key(self, keyid: str) -> KeyState | None:
        if keyid not in self.keys:
            self._load_keys([keyid])
        return self.keys[keyid]

    def facility(self, facility: str) -> FacilityState | None:
        if facility not in self.facilities:
            self._load_facilities([facility])
        return self.facilities[facility]

    def participant(self, participant: str) -> bool:
        if participant not in self.participants:
            self._load_participants([participant])
        return self.participants[participant]

    def lot(self, lot: str) -> LotMirror | None:
        if lot not in self.lots:
            self._load_lots([lot])
        return self.lots[lot]

    def lots_of(self, ids: Sequence[str]) -> list[LotMirror]:
        """The lots ``ids`` that exist, in the order given (loaded in one query)."""
        self._load_lots([i for i in ids if i not in self.lots])
        return [lot for i in ids if (lot := self.lots[i]) is not None]

    def shipment(self, shipment: str) -> ShipmentMirror | None:
        if shipment not in self.shipments:
            self._load_shipments([shipment])
        return self.shipments[shipment]

    def _load_leaves(self, leaves: Iterable[bytes]) -> None:
        wanted = set(leaves)
        self.leaves.update(dict.fromkeys(wanted))
        found = log_index_of(self._connect(), LOG_ENTRY.c.leaf_hash, wanted)
        self.leaves.update({bytes(leaf): int(index) for leaf, index in found})

    def _load_records(self, records: Iterable[str]) -> None:
        wanted = set(records)
        self.records.update(dict.fromkeys(wanted))
        found = log_index_of(self._connect(), LOG_ENTRY.c.record_id, wanted)
        self.records.update({str(r): int(index) for r, index in found})

    def _load_keys(self, keyids: Iterable[str]) -> None:
        for chunk in chunks(keyids):
            self.keys.update(dict.fromkeys(chunk))
            for row in self._connect().execute(
                select(PARTICIPANT_KEY).where(PARTICIPANT_KEY.c.keyid.in_(chunk))
            ):
                self.keys[row.keyid] = key_state(row)

    def _load_facilities(self, ids: Iterable[str]) -> None:
        for chunk in chunks(ids):
            self.facilities.update(dict.fromkeys(chunk))
            for row in self._connect().execute(select(FACILITY).where(FACILITY.c.id.in_(chunk))):
                self.facilities[row.id] = FacilityState(
                    id=FacilityId(row.id),
                    operator=ParticipantId(row.operator),
                    country=row.country,
                    stages=frozenset(json.loads(row.stages)),
                )

    def _load_participants(self, ids: Iterable[str]) -> None:
        for chunk in chunks(ids):
            self.participants.update(dict.fromkeys(chunk, False))
            statement = select(PARTICIPANT.c.id).where(PARTICIPANT.c.id.in_(chunk))
            self.participants.update({str(p): True for (p,) in self._connect().execute(statement)})

    def _load_lots(self, ids: Iterable[str]) -> None:
        for chunk in chunks(ids):
            self.lots.update(dict.fromkeys(chunk))
            for row in self._connect().execute(select(LOT).where(LOT.c.id.in_(chunk))):
                self.lots[row.id] = LotMirror.from_row(row)

    def _load_shipments(self, ids: Iterable[str]) -> None:
        for chunk in chunks(ids):
            self.shipments.update(dict.fromkeys(chunk))
            found: dict[str, ShipmentMirror] = {}
            for row in self._connect().execute(select(SHIPMENT).where(SHIPMENT.c.id.in_(chunk))):
                found[row.id] = ShipmentMirror.from_row(row)
            if found:
                for line in self._connect().execute(
                    select(SHIPMENT_LOT).where(SHIPMENT_LOT.c.shipment.in_(sorted(found)))
                ):
                    found[line.shipment].lines[line.lot] = LineMirror(
                        shipped_g=line.shipped_g, received_g=line.received_g
                    )
            self.shipments.update(found)

    # -- writes -----------------------------------------------------------------------

    def flush(self) -> None:
        """Write every pending row: one executemany per table and kind of change."""
        connection = self._connect()
        for into, rows in self.inserts.items():
            if rows:
                insert_many(connection, into, rows)
                rows.clear()
        lots, self._touched_lots = self._touched_lots, []
        self._flush_lots(connection, lots)
        shipments, self._touched_shipments = self._touched_shipments, []
        self._flush_shipments(connection, shipments)

    @classmethod
    def _flush_lots(cls, connection: Connection, lots: Sequence[LotMirror]) -> None:
        cls._write(
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

    @classmethod
    def _flush_shipments(cls, connection: Connection, shipments: Sequence[ShipmentMirror]) -> None:
        # The lines are collected before the flags are cleared, the shipments written before
        # their lines.
        new_lines, changed_lines = _touched_lines(shipments)
        cls._write(
            connection,
            SHIPMENT,
            [s.row() for s in shipments if s.new],
            [{"key": s.id, "v_received_index": s.received_index} for s in shipments if not s.new],
        )
        for shipment in shipments:
            shipment.new = shipment.dirty = False
        if new_lines:
            insert_many(connection, SHIPMENT_LOT, new_lines)
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
            insert_many(connection, into, new)
        if changed:
            columns = [name for name in changed[0] if name != "key"]
            connection.execute(
                update(into)
                .where(into.c.id == bindparam("key"))
                .values({name.removeprefix("v_"): bindparam(name) for name in columns}),
                list(changed),
            )


def _touched_lines(
    shipments: Sequence[ShipmentMirror],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The new and the changed lines of ``shipments`` as rows; marks every line clean."""
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
    return new_lines, changed_lines
