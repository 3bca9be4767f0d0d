"""Read views over the derived index: what admission, findings and verification ask.

Each class answers one caller's protocol: :class:`RegistryReads` the registry part of
admission's :class:`~ledger.records.admission.LedgerView`, :class:`FindingsIndex` the
:class:`~ledger.provenance.findings.IndexView` plus the stored findings, and
:class:`IndexAudit` the row-by-row comparison ``bloc verify`` makes with a replay. Lookups by
key come from the working set's mirrors; everything else reads through :meth:`Unit.read`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import zip_longest
from typing import Any, Protocol

from sqlalchemy import String, tuple_
from sqlalchemy import select as core_select
from sqlmodel import SQLModel, col, select

from ledger.core.signing import KeyId, PublicKey
from ledger.errors import InputError
from ledger.provenance import findings
from ledger.records.admission import FacilityState, KeyState, LotPlace, ShipmentState
from ledger.records.model import FacilityId, LotId, ParticipantId, ShipmentId
from ledger.store._rows import (
    DERIVED_TABLES,
    FacilityRow,
    FindingEffectRow,
    FindingRow,
    FlowRow,
    LogEntry,
    LotRow,
    ParticipantKeyRow,
    ParticipantRow,
    ShipmentLotRow,
    ShipmentRow,
    SignatureRow,
)
from ledger.store._sql import FINDING_EFFECT, LOT, chunks, rows_in
from ledger.store._stamps import unstamp
from ledger.store._unit import Unit
from ledger.store._working import LineMirror, ShipmentMirror, key_state

IndexRows = Iterator[tuple[tuple[Any, ...], tuple[Any, ...]]]
"""Rows of an index table as (primary key, all columns), in key order."""


_EFFECT_ROWS = core_select(FINDING_EFFECT.c.lot, FINDING_EFFECT.c.unknown_g)
"""The grams each finding leaves of unknown origin, by lot."""


class RegistryReads:
    """Keys, facilities, participants, and whether a lot or shipment exists."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    def registrar_keys(self) -> Mapping[KeyId, PublicKey]:
        return self._unit.registrars

    def key(self, keyid: KeyId) -> KeyState | None:
        return self._unit.work.key(keyid)

    def signing_keys(self) -> dict[KeyId, PublicKey]:
        """The registrar keys and every participant key in the index, by key id; a row whose
        key id is not the SHA-256 of its key is left out."""
        keys = dict(self._unit.registrars)
        rows = self._unit.read().session.exec(
            select(ParticipantKeyRow.keyid, ParticipantKeyRow.public_key)
        )
        for keyid, raw in rows:
            with contextlib.suppress(InputError):
                key = PublicKey(raw=bytes(raw))
                if key.keyid == keyid:
                    keys[KeyId(keyid)] = key
        return keys

    def keys_of(self, participant: ParticipantId) -> list[KeyState]:
        rows = (
            self._unit.read()
            .session.exec(
                select(ParticipantKeyRow).where(ParticipantKeyRow.participant == participant)
            )
            .all()
        )
        return [key_state(row) for row in rows]

    def participant_exists(self, participant: ParticipantId) -> bool:
        return self._unit.work.participant(participant)

    def facility(self, facility: FacilityId) -> FacilityState | None:
        return self._unit.work.facility(facility)

    def participant_roles(self, participant: ParticipantId) -> tuple[str, ...] | None:
        """The roles of a registered participant by its latest registration, or ``None``."""
        roles = (
            self._unit.read()
            .session.exec(select(ParticipantRow.roles).where(ParticipantRow.id == participant))
            .one_or_none()
        )
        return None if roles is None else tuple(json.loads(roles))

    def lot_exists(self, lot: LotId) -> bool:
        return self._unit.work.lot(lot) is not None

    def lot_place(self, lot: LotId) -> LotPlace | None:
        found = self._unit.work.lot(lot)
        return None if found is None else found.place()

    def shipment(self, shipment: ShipmentId) -> ShipmentState | None:
        found = self._unit.work.shipment(shipment)
        return None if found is None else found.state()


class FindingsIndex:
    """The provenance index as findings read it, and the findings stored in it."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    def facility_registered(self, facility: FacilityId) -> tuple[int, str] | None:
        row = self._unit.read().session.get(FacilityRow, facility)
        return None if row is None else (row.log_index, row.country)

    def lot_state(self, lot: LotId) -> findings.LotState | None:
        found = self._unit.work.lot(lot)
        return None if found is None else found.state()

    def lots_created_by(self, log_index: int) -> list[findings.LotState]:
        rows = self._unit.read().connection.execute(
            select(LOT.c.id).where(LOT.c.created_index == log_index).order_by(LOT.c.id)
        )
        return [lot.state() for lot in self._unit.work.lots_of([str(i) for (i,) in rows])]

    def shipment_record(self, shipment: ShipmentId) -> findings.ShipmentRecord | None:
        found = self._unit.work.shipment(shipment)
        return None if found is None else found.record()

    def shipment_records(self) -> list[findings.ShipmentRecord]:
        """Every shipment, in log order."""
        session = self._unit.read().session
        rows = session.exec(select(ShipmentRow).order_by(col(ShipmentRow.created_index))).all()
        shipments = {row.id: ShipmentMirror.from_row(row) for row in rows}
        for line in session.exec(select(ShipmentLotRow)).all():
            if (shipment := shipments.get(line.shipment)) is not None:
                shipment.lines[line.lot] = LineMirror(
                    shipped_g=line.shipped_g, received_g=line.received_g
                )
        return [shipment.record() for shipment in shipments.values()]

    def facility(self, facility: FacilityId) -> FacilityState | None:
        return self._unit.work.facility(facility)

    def signed_by(self, keyid: KeyId) -> list[tuple[int, datetime]]:
        rows = (
            self._unit.read()
            .session.exec(
                select(LogEntry.log_index, LogEntry.issued_at)
                .join(SignatureRow, col(SignatureRow.log_index) == col(LogEntry.log_index))
                .where(SignatureRow.keyid == keyid)
                .order_by(col(LogEntry.log_index))
            )
            .all()
        )
        return [(int(index), unstamp(issued)) for index, issued in rows]

    def records_about(self, lots: Iterable[LotId]) -> set[int]:
        """Log indexes of every record that created, consumed, shipped or received a lot."""
        session = self._unit.read().session
        found: set[int] = set()
        for chunk in chunks(lots):
            found.update(
                session.exec(select(LotRow.created_index).where(col(LotRow.id).in_(chunk)))
            )
            found.update(session.exec(select(FlowRow.log_index).where(col(FlowRow.lot).in_(chunk))))
            for created, received in session.exec(
                select(ShipmentRow.created_index, ShipmentRow.received_index)
                .join(ShipmentLotRow, col(ShipmentLotRow.shipment) == col(ShipmentRow.id))
                .where(col(ShipmentLotRow.lot).in_(chunk))
            ):
                found.add(created)
                if received is not None:
                    found.add(received)
        return found

    def stored_findings(self, *, lots: Iterable[LotId] | None = None) -> list[findings.Finding]:
        """Stored findings in log order; with ``lots``, those about or affecting any of them."""
        session = self._unit.read().session
        statement = select(FindingRow).order_by(col(FindingRow.log_index), col(FindingRow.seq))
        rows = list(session.exec(statement))
        effects: dict[tuple[int, int], dict[LotId, int]] = {}
        for effect in session.exec(select(FindingEffectRow)):
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
        found: dict[LotId, int] = {}
        rows = rows_in(self._unit.read().connection, _EFFECT_ROWS, FINDING_EFFECT.c.lot, lots)
        for lot, grams in rows:
            found[LotId(lot)] = found.get(LotId(lot), 0) + int(grams)
        return found


class _HasIndexRows(Protocol):
    def index_rows(self, table: type[SQLModel], *, batch: int = 1000) -> IndexRows: ...


class IndexAudit:
    """The derived index row by row, for comparison with a replay of the log."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    def index_rows(self, table: type[SQLModel], *, batch: int = 1000) -> IndexRows:
        """Every row of a derived index table as (primary key, all columns), in key order."""
        every = list(table.__table__.columns)  # type: ignore[attr-defined]
        keys = [c for c in every if c.primary_key]
        columns = keys + [c for c in every if not c.primary_key]
        last: tuple[Any, ...] | None = None
        while True:
            session = self._unit.read().session
            # Byte order on every backend, whatever the database's collation: the replay it
            # is compared with is SQLite, whose text order is binary.
            binary = session.get_bind().dialect.name == "postgresql"
            order = [c.collate("C") if binary and isinstance(c.type, String) else c for c in keys]
            statement = select(*columns).order_by(*order).limit(batch)
            if last is not None:
                statement = statement.where(tuple_(*order) > tuple_(*last))
            rows = session.exec(statement).all()
            if not rows:
                return
            for row in rows:
                yield tuple(row[: len(keys)]), tuple(row)
            last = tuple(rows[-1][: len(keys)])

    @staticmethod
    def index_differences(
        stored: _HasIndexRows, expected: _HasIndexRows
    ) -> Iterator[tuple[str, str, str]]:
        """(table, row key, what) for the first difference per derived index table between
        ``stored`` and ``expected`` (a replay of the same log)."""
        for table in DERIVED_TABLES:
            for have, want in zip_longest(stored.index_rows(table), expected.index_rows(table)):
                if have == want:
                    continue
                key, what = _difference(have, want)
                yield str(table.__tablename__), "/".join(str(part) for part in key), what
                break


def _difference(
    have: tuple[tuple[Any, ...], tuple[Any, ...]] | None,
    want: tuple[tuple[Any, ...], tuple[Any, ...]] | None,
) -> tuple[tuple[Any, ...], str]:
    """The key of two unequal rows at the same place of two key-ordered walks, and what the
    stored side did to it."""
    if have is None or (want is not None and want[0] < have[0]):
        assert want is not None
        return want[0], "is missing"
    if want is None or have[0] < want[0]:
        return have[0], "was added"
    return have[0], "differs from what the log says"
