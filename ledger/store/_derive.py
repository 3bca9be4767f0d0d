"""Index derivation: the rows an admitted record adds to the index.

:meth:`Indexer.index_entry` writes everything the entry at a log index implies — who signed
it, the findings it proves (judged against the index as it stood before it), and the rows
of its kind: registry rows through the ORM, events, flows, lots and shipments through the
working set. Appending and reindexing share it, so a rebuilt index equals the one written
as the log grew.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from sqlalchemy import delete

from ledger.core.codec import canonical_json
from ledger.errors import StorageError
from ledger.provenance import findings
from ledger.records.admission import Opened, revoked_key, rotated_keys
from ledger.records.model import (
    Extraction,
    Facility,
    KeyRevocation,
    NewLot,
    Participant,
    Receipt,
    Record,
    Shipment,
    Transformation,
)
from ledger.store._rows import (
    DERIVED_TABLES,
    ControlRow,
    FacilityRegistrationRow,
    FacilityRow,
    ParticipantKeyRow,
    ParticipantRow,
)
from ledger.store._sql import EVENT, FINDING, FINDING_EFFECT, FLOW, SIGNATURE, UNTRACED
from ledger.store._stamps import stamp
from ledger.store._unit import Unit
from ledger.store._views import FindingsIndex, RegistryReads
from ledger.store._working import LineMirror, LotMirror, ShipmentMirror, Wanted, key_state


class Indexer:
    """Derives and clears the index rows of one transaction."""

    def __init__(self, unit: Unit, *, registry: RegistryReads, index: FindingsIndex) -> None:
        self._unit = unit
        self._registry = registry
        self._index = index

    def prefetch(self, opened: Sequence[Opened], *, duplicates: bool = True) -> None:
        """Load, in a few queries, every row admitting and indexing ``opened`` will read."""
        wanted = Wanted()
        for item in opened:
            if duplicates:
                wanted.leaves.add(item.leaf_hash)
            wanted.records.add(item.record_id)
            wanted.keys.update(sig.keyid for sig in item.envelope.signatures)
            _wanted_by(item.record, wanted)
        self._unit.work.prefetch(wanted)

    def index_entry(self, opened: Opened, index: int) -> None:
        """Write every derived row of the entry at ``index``."""
        work = self._unit.work
        record = opened.record
        for sig in opened.envelope.signatures:
            work.add(SIGNATURE, {"log_index": index, "keyid": sig.keyid})
        # Findings are judged against the index as it stood before this entry.
        found = findings.detect(record, index, self._index)
        self._derive(record, index)
        for seq, finding in enumerate(found):
            work.add(
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
                    work.add(
                        FINDING_EFFECT,
                        {"log_index": index, "seq": seq, "lot": lot, "unknown_g": grams},
                    )

    def clear_index(self) -> None:
        """Delete every derived row."""
        session = self._unit.read().session  # pending rows are written, then deleted
        for table in reversed(DERIVED_TABLES):
            session.exec(delete(table))
        session.flush()
        self._unit.work.forget_all()

    # -- by kind ----------------------------------------------------------------------

    def _derive(self, record: Record, index: int) -> None:
        match record:
            case Participant() | Facility() | KeyRevocation():
                self._registry_rows(record, index)
                # Registry rows are written through the ORM: write them now, and forget
                # what the working set cached of the registry.
                self._unit.write_session.flush()
                self._unit.work.forget_registry()
            case Extraction():
                self._event(index, "extraction", record, record.extracted_on, record.source)
                self._new_lots(record.lots, record.facility, index, record.extracted_on)
            case Transformation():
                self._event(index, "transformation", record, record.performed_on, None)
                self._transformation(record, index)
                self._new_lots(record.outputs, record.facility, index, record.performed_on)
            case Shipment():
                self._shipment(record, index)
            case Receipt():
                self._receipt(record, index)

    def _transformation(self, record: Transformation, index: int) -> None:
        work = self._unit.work
        for amount in record.inputs:
            work.add(FLOW, {"log_index": index, "lot": amount.lot, "grams": amount.grams})
            lot = self._lot(amount.lot)
            if lot is not None:
                lot.remaining_g -= amount.grams
                work.touch_lot(lot)
        for position, untraced in enumerate(record.untraced_inputs):
            work.add(
                UNTRACED,
                {
                    "log_index": index,
                    "position": position,
                    "material": untraced.material,
                    "grams": untraced.grams,
                    "declared_origin": untraced.declared_origin,
                },
            )

    def _shipment(self, record: Shipment, index: int) -> None:
        shipment = ShipmentMirror(
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
            shipment.lines[lot_id] = LineMirror(shipped_g=max(lot.remaining_g, 0), new=True)
            lot.holder, lot.in_transit = None, record.id
            self._unit.work.touch_lot(lot)
        self._unit.work.new_shipment(shipment)

    def _receipt(self, record: Receipt, index: int) -> None:
        work = self._unit.work
        found = work.shipment(record.shipment)
        if found is None:
            if self._unit.partial:
                return
            raise StorageError(f"shipment {record.shipment} vanished")  # pragma: no cover
        found.received_index = index
        work.touch_shipment(found)
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
                work.touch_lot(lot)

    def _lot(self, lot_id: str) -> LotMirror | None:
        """The lot's row; ``None`` only in a partial replay that does not hold the lot."""
        lot = self._unit.work.lot(lot_id)
        if lot is None and not self._unit.partial:  # pragma: no cover - admission checked it
            raise StorageError(f"lot {lot_id} vanished")
        return lot

    def _event(
        self,
        index: int,
        kind: str,
        record: Extraction | Transformation,
        happened_on: date,
        source: str | None,
    ) -> None:
        self._unit.work.add(
            EVENT,
            {
                "log_index": index,
                "kind": kind,
                "facility": record.facility,
                "stage": record.stage,
                "happened_on": happened_on.isoformat(),
                "source": source,
                "origin": record.origin if isinstance(record, Extraction) else None,
            },
        )

    def _new_lots(
        self, lots: Sequence[NewLot], facility: str, index: int, created_on: date
    ) -> None:
        for lot in lots:
            self._unit.work.new_lot(
                LotMirror(
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

    # -- the registry (through the ORM) -----------------------------------------------

    def _registry_rows(self, record: Participant | Facility | KeyRevocation, index: int) -> None:
        match record:
            case Participant():
                self._participant(record, index)
            case Facility():
                self._unit.write_session.merge(
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
                # Every registration is kept, dated: history is not rewritten (ADR 0016).
                self._unit.write_session.add(
                    FacilityRegistrationRow(
                        facility=record.id,
                        log_index=index,
                        effective_from=stamp(record.issued_at),
                        operator=record.operator,
                        country=record.country,
                        region=record.region,
                        stages=json.dumps(list(record.stages)),
                    )
                )
            case KeyRevocation():
                self._revocation(record)

    def _revocation(self, record: KeyRevocation) -> None:
        row = self._unit.read().session.get(ParticipantKeyRow, record.keyid)
        if row is None:
            if self._unit.partial:
                return
            raise StorageError(f"key {record.keyid} vanished")  # pragma: no cover
        state = revoked_key(key_state(row), record)
        row.compromised_since = stamp(state.compromised_since) if state.compromised_since else None
        self._unit.write_session.add(row)

    def _participant(self, record: Participant, index: int) -> None:
        session = self._unit.write_session
        control = canonical_json([c.to_dict() for c in record.control]).decode()
        session.merge(
            ParticipantRow(
                id=record.id,
                name=record.name,
                country=record.country,
                roles=json.dumps(list(record.roles)),
                control=control,
                log_index=index,
            )
        )
        session.add(
            ControlRow(
                participant=record.id,
                log_index=index,
                effective_from=stamp(record.issued_at),
                control=control,
            )
        )
        for state in rotated_keys(self._registry.keys_of(record.id), record):
            grant = state.grant
            session.merge(
                ParticipantKeyRow(
                    keyid=grant.keyid,
                    participant=state.participant,
                    public_key=grant.public_key.raw,
                    valid_from=stamp(grant.valid_from),
                    valid_until=stamp(grant.valid_until) if grant.valid_until else None,
                    compromised_since=(
                        stamp(state.compromised_since) if state.compromised_since else None
                    ),
                    log_index=index,
                )
            )


def _wanted_by(record: Record, wanted: Wanted) -> None:
    """The rows admitting and indexing ``record`` reads (see :meth:`Indexer.prefetch`)."""
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
