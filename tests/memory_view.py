"""An in-memory ledger for admission tests: the store's answers without a database.

:func:`~ledger.records.admission.admit` is pure: it reads a
:class:`~ledger.records.admission.LedgerView`. :class:`MemoryView` answers that protocol the
way :class:`ledger.store.Transaction` does, from the records taken in with
:meth:`MemoryView.append`:

- keys and facilities through :class:`~ledger.records.admission.Registry`, the replay that
  ``bloc verify`` and the checkpoint signer trust (key rotation and revocation are the same
  :func:`~ledger.records.admission.rotated_keys` and
  :func:`~ledger.records.admission.revoked_key` the store applies);
- participants, lots, shipments (with the log index of their receipt) and the record ids and
  leaf hashes already in the log, as the store's index rows hold them.

:class:`MemoryWorld` is :class:`helpers.World` on top of a :class:`MemoryView`: the same
participants, facilities and chain at the same log indexes, submitted the way
:meth:`ledger.service.Ledger.submit` submits one envelope (a logged leaf is a duplicate,
anything else is admitted at ``NOW`` and appended). ``tests/records/test_memory_view.py`` checks the
view against the store on both database backends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ledger.core.signing import KeyId, PublicKey, Signer
from ledger.errors import RecordRejected
from ledger.log.merkle import Frontier
from ledger.records.admission import (
    FacilityState,
    KeyState,
    LotPlace,
    Opened,
    Registry,
    ShipmentState,
    admit,
    open_envelope,
)
from ledger.records.model import (
    Extraction,
    FacilityId,
    LotId,
    Participant,
    ParticipantId,
    Receipt,
    Shipment,
    ShipmentId,
    Transformation,
)
from ledger.service import SubmitResult

from helpers import NOW, World, key_for


class MemoryView:
    """A :class:`~ledger.records.admission.LedgerView` over records held in memory."""

    def __init__(self, registrars: Mapping[KeyId, PublicKey]) -> None:
        self._registry = Registry(registrars)
        self._participants: set[ParticipantId] = set()
        self._lots: dict[LotId, LotPlace] = {}
        self._shipments: dict[ShipmentId, ShipmentState] = {}
        self._records: dict[str, int] = {}
        self._leaves: dict[bytes, int] = {}
        self._frontier = Frontier.empty()

    # -- the view admission reads ---------------------------------------------------------

    def registrar_keys(self) -> Mapping[KeyId, PublicKey]:
        return self._registry.registrar_keys()

    def key(self, keyid: KeyId) -> KeyState | None:
        return self._registry.key(keyid)

    def facility(self, facility: FacilityId) -> FacilityState | None:
        return self._registry.facility(facility)

    def participant_exists(self, participant: ParticipantId) -> bool:
        return participant in self._participants

    def lot_exists(self, lot: LotId) -> bool:
        return lot in self._lots

    def lot_place(self, lot: LotId) -> LotPlace | None:
        return self._lots.get(lot)

    def shipment(self, shipment: ShipmentId) -> ShipmentState | None:
        return self._shipments.get(shipment)

    def find_record(self, record_id: str) -> int | None:
        return self._records.get(record_id)

    # -- the log --------------------------------------------------------------------------

    def find_leaf(self, leaf_hash: bytes) -> int | None:
        return self._leaves.get(leaf_hash)

    @property
    def tree_size(self) -> int:
        return self._frontier.size

    def root_hash(self) -> bytes:
        return self._frontier.root()

    def append(self, opened: Opened) -> int:
        """Append an admitted envelope and take in what its record registers or creates."""
        index = self._frontier.size
        self._frontier, _ = self._frontier.append(opened.leaf_hash)
        self._leaves[opened.leaf_hash] = index
        self._records[opened.record_id] = index
        record = opened.record
        self._registry.apply(record)
        match record:
            case Participant():
                self._participants.add(record.id)
            case Extraction():
                self._made([lot.id for lot in record.lots], record.facility)
            case Transformation():
                self._made([lot.id for lot in record.outputs], record.facility)
            case Shipment():
                for lot in record.lots:
                    self._lots[lot] = replace(self._lots[lot], holder=None, in_transit=record.id)
                self._shipments[record.id] = ShipmentState(
                    id=record.id,
                    from_facility=record.from_facility,
                    to_facility=record.to_facility,
                    lots=frozenset(record.lots),
                    received_index=None,
                )
            case Receipt():
                shipment = self._shipments[record.shipment]
                self._shipments[record.shipment] = replace(shipment, received_index=index)
                for amount in record.lots:
                    # The receiver holds what arrived on this shipment (as the store does).
                    if self._lots[amount.lot].in_transit == record.shipment:
                        self._lots[amount.lot] = replace(
                            self._lots[amount.lot], holder=record.facility, in_transit=None
                        )
            case _:
                pass
        return index

    def _made(self, lots: list[LotId], facility: FacilityId) -> None:
        for lot in lots:
            self._lots[lot] = LotPlace(id=lot, holder=facility, in_transit=None)

    def state(self) -> tuple[int, bytes, int]:
        """(tree size, root hash, number of facts held): "nothing was stored" when unchanged."""
        facts = len(self._participants) + len(self._lots) + len(self._shipments)
        return self.tree_size, self.root_hash(), facts + len(self._records)


@dataclass
class MemoryWorld:
    """:class:`helpers.World` without a database: the same registrations and chain, in memory."""

    registrar: Signer = field(default_factory=lambda: key_for("registrar"))
    view: MemoryView = field(init=False)
    log: list[SubmitResult] = field(default_factory=list)

    lynas = World.lynas
    shinetsu = World.shinetsu
    mallory = World.mallory

    # The world's records and how the registrar signs them are defined once, on World; they
    # use nothing of it but the keys above.
    registrations = World.registrations
    chain = World.chain
    registrar_envelope = World.registrar_envelope

    def __post_init__(self) -> None:
        self.view = MemoryView({self.registrar.keyid: self.registrar.public_key})

    def register(self, records: list[dict[str, Any]]) -> list[SubmitResult]:
        return self.submit([self.registrar_envelope(r) for r in records])

    def submit(self, envelopes: list[bytes]) -> list[SubmitResult]:
        results = [self._submit_one(position, data) for position, data in enumerate(envelopes)]
        self.log.extend(results)
        return results

    def _submit_one(self, position: int, data: bytes) -> SubmitResult:
        try:
            opened = open_envelope(data)
        except RecordRejected as e:
            return SubmitResult(position=position, error=str(e))
        record = opened.record
        existing = self.view.find_leaf(opened.leaf_hash)
        if existing is not None:
            return SubmitResult(
                position=position,
                kind=record.kind,
                record_id=opened.record_id,
                log_index=existing,
                duplicate=True,
            )
        try:
            admit(opened, self.view, now=NOW)
        except RecordRejected as e:
            return SubmitResult(
                position=position, error=str(e), kind=record.kind, record_id=opened.record_id
            )
        return SubmitResult(
            position=position,
            kind=record.kind,
            record_id=opened.record_id,
            log_index=self.view.append(opened),
        )

    def build(self) -> MemoryWorld:
        for result in self.register(self.registrations()) + self.submit(self.chain()):
            assert result.accepted, result.error
        return self

    def state(self) -> tuple[int, bytes, int]:
        return self.view.state()
