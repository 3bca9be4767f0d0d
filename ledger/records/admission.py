"""Admission: the ordered checks a submitted envelope must pass (README, "Records").

:func:`open_envelope` takes the envelope bytes (steps 1–2) and :func:`admit` takes the
opened envelope, a read-only :class:`LedgerView` of what the ledger already holds, and the
current time (steps 3–6). Both are pure; each returns or raises
:class:`~ledger.errors.RecordRejected` naming the first failed check, the field and the value.
The checks run in this order:

1. ``envelope``   shape, payload type, base64, size (of the payload, and of the canonical
                  envelope: at most 65,535 bytes, what an entry bundle can frame), distinct
                  key ids;
2. ``payload``    strict JSON, schema, vocabulary, masses, dates, record invariants; an
                  ``issued_at`` not in the future, and an event not dated after it;
3. ``signature``  every signature verifies with a key registered and valid at
                  ``issued_at`` (registry records: a registrar key of the trust root), and
                  one of them belongs to the record's signer;
4. ``authority``  the signer operates the facility it names, which may perform the stage,
                  and holds every lot it ships or consumes: a lot held at another
                  participant's facility, or in transit, is not the signer's to act on
                  (ADR 0036);
5. ``reference``  referenced participants, facilities, lots and shipments exist;
6. ``identity``   new ids are in the signer's namespace and unused.

Plausibility problems of the signer's own lots (overdrawing them, mass balance, dates out
of order, acting at one of its facilities on a lot held at another of its own) are not
rejections: the ledger keeps them as evidence and reports them as findings
(docs/decisions/0003-rejections-versus-findings.md).

The views admission reads, the states they answer with and the in-memory :class:`Registry`
are defined in :mod:`ledger.records._views` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ledger.core.codec import MAX_CANONICAL_ENVELOPE_BYTES, format_timestamp
from ledger.core.signing import KeyId, PublicKey
from ledger.errors import InputError, RecordRejected
from ledger.log.merkle import hash_leaf
from ledger.records._views import (
    FacilityState,
    KeyState,
    KeyView,
    LedgerView,
    LotPlace,
    Registry,
    RegistryView,
    ShipmentState,
    revoked_key,
    rotated_keys,
)
from ledger.records.envelope import Envelope, Signature, parse_envelope
from ledger.records.model import (
    REGISTRAR,
    REGISTRY_KINDS,
    Extraction,
    Facility,
    FacilityId,
    KeyRevocation,
    LotId,
    Participant,
    ParticipantId,
    Receipt,
    Record,
    RecordId,
    Shipment,
    Transformation,
    decode_record,
    namespace_of,
    record_id_of,
)

__all__ = [
    "CLOCK_SKEW",
    "FacilityState",
    "KeyState",
    "KeyView",
    "LedgerView",
    "LotPlace",
    "Opened",
    "Registry",
    "RegistryView",
    "ShipmentState",
    "admit",
    "check_consistency",
    "check_event_date",
    "check_signatures",
    "check_signed_tail_entry",
    "event_date",
    "open_envelope",
    "revoked_key",
    "rotated_keys",
]

CLOCK_SKEW = timedelta(minutes=10)
"""How far in the future an ``issued_at`` may lie before the record is rejected."""

LATEST_UTC_OFFSET = timedelta(hours=14)
"""The easternmost time zone (UTC+14): an event's calendar day is local to where it
happened, so at the instant ``issued_at`` it can be at most ``(issued_at + 14 h)``'s UTC
date (ADR 0021)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Opened:
    """An envelope whose shape and payload are valid (steps 1 and 2)."""

    envelope: Envelope
    record: Record
    record_id: RecordId
    canonical: bytes
    leaf_hash: bytes
    verified: frozenset[KeyId] = frozenset()
    """Key ids whose signature was already checked cryptographically (see
    :func:`~ledger.records.envelope.verified_keyids`); step 3 still decides if they may sign."""


def open_envelope(data: bytes) -> Opened:
    """Steps 1–2: envelope shape and payload.

    Every caller that opens an envelope, whether submitted or stored (``bloc verify``,
    ``bloc reindex``, evidence bundles and their replay), goes through here, so an opened
    envelope's canonical form always fits an entry bundle (ADR 0033).

    Raises:
        RecordRejected: ``envelope`` or ``payload``, naming the field and the value.
    """
    try:
        envelope = parse_envelope(data)
    except InputError as e:
        raise RecordRejected("envelope", str(e)) from e
    canonical = _framable(envelope)
    try:
        record = decode_record(envelope.payload)
    except InputError as e:
        raise RecordRejected("payload", str(e)) from e
    return Opened(
        envelope=envelope,
        record=record,
        record_id=record_id_of(envelope.payload),
        canonical=canonical,
        leaf_hash=hash_leaf(canonical),
    )


def _framable(envelope: Envelope) -> bytes:
    """The envelope's canonical bytes, once they fit the ``uint16`` length of a C2SP
    tlog-tiles entry bundle (the log could not serve a longer entry).

    Raises:
        RecordRejected: ``envelope``, naming the canonical length.
    """
    canonical = envelope.canonical_bytes()
    if len(canonical) > MAX_CANONICAL_ENVELOPE_BYTES:
        raise RecordRejected(
            "envelope",
            f"its canonical form is {len(canonical):,} bytes, more than the "
            f"{MAX_CANONICAL_ENVELOPE_BYTES:,} an entry bundle can frame (C2SP tlog-tiles)",
        )
    return canonical


def admit(opened: Opened, view: LedgerView, *, now: datetime) -> None:
    """Steps 3–6 for an opened envelope. Raises RecordRejected on the first failure."""
    record = opened.record
    if record.issued_at > now + CLOCK_SKEW:
        raise RecordRejected(
            "payload",
            f"{record.kind}.issued_at {format_timestamp(record.issued_at)} is in the future "
            f"(now {format_timestamp(now)})",
        )
    check_event_date(record)
    check_signatures(opened.envelope, record, view, verified=opened.verified)
    check_consistency(opened, view)


def event_date(record: Record) -> tuple[str, date] | None:
    """The field and day of the event a supply-chain record reports (None for registry
    records, which report no event)."""
    match record:
        case Extraction():
            return "extracted_on", record.extracted_on
        case Transformation():
            return "performed_on", record.performed_on
        case Shipment():
            return "shipped_on", record.shipped_on
        case Receipt():
            return "received_on", record.received_on
        case Participant() | Facility() | KeyRevocation():
            return None


def check_event_date(record: Record) -> None:
    """An event dated after its own signing time claims to record what had not happened
    when it was signed (ADR 0021).

    Raises:
        RecordRejected: ``payload`` naming the event's date and ``issued_at``.
    """
    found = event_date(record)
    if found is None:
        return
    field, day = found
    latest = (record.issued_at + LATEST_UTC_OFFSET).date()
    if day > latest:
        raise RecordRejected(
            "payload",
            f"{record.kind}.{field} {day.isoformat()} is after its issued_at "
            f"{format_timestamp(record.issued_at)}: a record cannot report an event that "
            "had not happened when it was signed",
        )


def check_consistency(opened: Opened, view: LedgerView) -> None:
    """Steps 4–6 (authority, references, identity): what the ledger so far must allow.

    ``bloc verify`` re-runs these while replaying the log, so an entry moved before what it
    depends on is found even when every signature is valid.
    """
    record = opened.record
    _check_authority(record, view)
    _check_holder(record, view)
    _check_references(record, view)
    _check_identity(record, view, opened.record_id)


def check_signatures(
    envelope: Envelope, record: Record, view: KeyView, *, verified: frozenset[KeyId] = frozenset()
) -> None:
    """Step 3: every signature verifies with a key allowed to sign at ``issued_at``.

    Signatures by the key ids in ``verified`` were checked cryptographically already
    (their keys are fixed by their ids); everything else about them is checked here.

    Raises:
        RecordRejected: ``signature`` naming the key and why it may not sign.
    """
    registry = record.kind in REGISTRY_KINDS
    _check_signer_kind(record, registry=registry)
    by_signer = False
    others: list[str] = []
    registrars = view.registrar_keys()
    for i, sig in enumerate(envelope.signatures):
        where = f"envelope.signatures[{i}]"
        if registry:
            _check_registrar_signature(envelope, sig, where, registrars, verified)
            by_signer = True
            continue
        state = _check_participant_signature(envelope, sig, where, record, view, verified)
        by_signer = by_signer or state.participant == record.signer
        others.append(f"key {sig.keyid} of {state.participant}")
    if not by_signer:
        raise RecordRejected(
            "signature",
            f"{record.kind}.signer {record.signer}: no signature by a key of {record.signer} "
            f"(signed with {', '.join(others)}: sign with a key of {record.signer})",
        )


def _check_signer_kind(record: Record, *, registry: bool) -> None:
    """Only the registrar signs registry records, and it signs nothing else."""
    if registry and record.signer != REGISTRAR:
        raise RecordRejected(
            "signature",
            f"{record.kind}.signer {record.signer} is not {REGISTRAR}: only the registrar "
            "registers participants, facilities and revocations",
        )
    if not registry and record.signer == REGISTRAR:
        raise RecordRejected(
            "signature", f"{record.kind}.signer {REGISTRAR} cannot sign supply-chain events"
        )


def _check_registrar_signature(
    envelope: Envelope,
    sig: Signature,
    where: str,
    registrars: Mapping[KeyId, PublicKey],
    verified: frozenset[KeyId],
) -> None:
    key = registrars.get(sig.keyid)
    if key is None:
        raise RecordRejected(
            "signature", f"{where}.keyid {sig.keyid} is not a registrar key of root.json"
        )
    if sig.keyid not in verified and not envelope.verifies(sig, key):
        raise RecordRejected("signature", f"{where}: signature by key {sig.keyid} does not verify")


def _check_participant_signature(
    envelope: Envelope,
    sig: Signature,
    where: str,
    record: Record,
    view: KeyView,
    verified: frozenset[KeyId],
) -> KeyState:
    """The state of the registered key behind ``sig``, once it verifies and may sign."""
    state = view.key(sig.keyid)
    if state is None:
        raise RecordRejected(
            "signature", f"{where}.keyid {sig.keyid} is not a registered participant key"
        )
    if sig.keyid not in verified and not envelope.verifies(sig, state.grant.public_key):
        raise RecordRejected("signature", f"{where}: signature by key {sig.keyid} does not verify")
    problem = state.problem_at(record.issued_at)
    if problem is None and state.compromised_since is not None:
        # issued_at is the signer's claim: once a compromise is on the ledger, whoever
        # holds the key could back-date a record, so the key signs nothing new at all.
        problem = (
            f"key {sig.keyid} of {state.participant} is revoked (compromised since "
            f"{format_timestamp(state.compromised_since)}): it signs nothing new, whatever "
            "its issued_at"
        )
    if problem is not None:
        if state.compromised_since is not None:
            problem += (
                f"; to recover, the registrar registers a new key for {state.participant} "
                "(a participant record listing it, with 'bloc register') and you sign again "
                "with that key"
            )
        raise RecordRejected("signature", f"{where}: {problem}")
    return state


def _facility(view: RegistryView, facility: FacilityId, field: str) -> FacilityState:
    state = view.facility(facility)
    if state is None:
        raise RecordRejected("authority", f"{field} {facility} is not a registered facility")
    return state


def _operated(
    view: RegistryView, record: Record, facility: FacilityId, field: str
) -> FacilityState:
    state = _facility(view, facility, field)
    if state.operator != record.signer:
        raise RecordRejected(
            "authority",
            f"{field} {facility} is operated by {state.operator}, not by {record.signer}",
        )
    return state


def _may_perform(state: FacilityState, stage: str, field: str) -> None:
    if stage not in state.stages:
        raise RecordRejected(
            "authority",
            f"{field} {stage!r} is not a stage facility {state.id} is registered for "
            f"({', '.join(sorted(state.stages))})",
        )


def _check_authority(record: Record, view: RegistryView) -> None:
    match record:
        case Extraction():
            state = _operated(view, record, record.facility, "extraction.facility")
            _may_perform(state, record.stage, f"extraction.source {record.source!r} means stage")
        case Transformation():
            state = _operated(view, record, record.facility, "transformation.facility")
            _may_perform(state, record.stage, "transformation.stage")
        case Shipment():
            _operated(view, record, record.from_facility, "shipment.from_facility")
        case Receipt():
            _operated(view, record, record.facility, "receipt.facility")
        case Participant() | Facility() | KeyRevocation():
            pass


def _check_holder(record: Record, view: LedgerView) -> None:
    """Step 4, continued: a shipment or transformation acts only on lots its signer holds.

    The signer holds a lot when the facility holding it at this point of the log (where it
    was created, or last received, and not shipped away since) is operated by the signer,
    as that facility's latest registration so far says (the same registration the check of
    the signer's own facility reads). A lot in transit is held by nobody until its receipt.
    Which of the signer's own facilities holds it is not checked here: acting on it at
    another of them is the signer's own inconsistency, kept as a ``not-holder`` finding
    (ADR 0036). A lot that does not exist is left to the ``reference`` step.

    Raises:
        RecordRejected: ``authority`` naming the lot, who holds it and where.
    """
    match record:
        case Transformation():
            _held_by_signer(
                record, view, [amount.lot for amount in record.inputs], "transformation.inputs"
            )
        case Shipment():
            _held_by_signer(record, view, record.lots, "shipment.lots")
        case _:
            pass


def _held_by_signer(record: Record, view: LedgerView, lots: Sequence[LotId], field: str) -> None:
    for i, lot in enumerate(lots):
        place = view.lot_place(lot)
        if place is None:
            continue
        held = _whereabouts(place, view)
        if held is not None and held[0] == record.signer:
            continue
        where = (
            f"is held by {held[0]} at {held[1]}" if held is not None else _in_transit(place, view)
        )
        raise RecordRejected("authority", f"{field}[{i}] {lot} {where}, not by {record.signer}")


def _whereabouts(place: LotPlace, view: LedgerView) -> tuple[ParticipantId, FacilityId] | None:
    """(operator, facility) holding the lot, or ``None`` while nobody does."""
    if place.holder is None:
        return None
    state = view.facility(place.holder)
    if state is None:  # pragma: no cover - a lot is only ever held at a registered facility
        return None
    return state.operator, place.holder


def _in_transit(place: LotPlace, view: LedgerView) -> str:
    if place.in_transit is None:  # pragma: no cover - a lot is held or in transit
        return "is held by nobody"
    shipment = view.shipment(place.in_transit)
    to = f" to {shipment.to_facility}" if shipment is not None else ""
    return f"is in transit on {place.in_transit}{to}, held by nobody until received"


def _lots_exist(view: LedgerView, lots: Iterable[LotId], field: str) -> None:
    for i, lot in enumerate(lots):
        if not view.lot_exists(lot):
            raise RecordRejected(
                "reference", f"{field}[{i}] {lot} does not exist (not created by an earlier record)"
            )


def _check_references(record: Record, view: LedgerView) -> None:
    match record:
        case Facility():
            if not view.participant_exists(record.operator):
                raise RecordRejected(
                    "reference",
                    f"facility.operator {record.operator} is not a registered participant",
                )
        case KeyRevocation():
            state = view.key(record.keyid)
            if state is None or state.participant != record.participant:
                raise RecordRejected(
                    "reference",
                    f"key_revocation.keyid {record.keyid} is not a key of {record.participant}",
                )
        case Transformation():
            _lots_exist(view, (a.lot for a in record.inputs), "transformation.inputs")
        case Shipment():
            _lots_exist(view, record.lots, "shipment.lots")
            if view.facility(record.to_facility) is None:
                raise RecordRejected(
                    "reference",
                    f"shipment.to_facility {record.to_facility} is not a registered facility",
                )
        case Receipt():
            _check_receipt(record, view)
        case Participant() | Extraction():
            pass


def _check_receipt(record: Receipt, view: LedgerView) -> None:
    shipment = view.shipment(record.shipment)
    if shipment is None:
        raise RecordRejected("reference", f"receipt.shipment {record.shipment} does not exist")
    if shipment.to_facility != record.facility:
        raise RecordRejected(
            "reference",
            f"receipt.facility {record.facility} is not the destination of {record.shipment} "
            f"({shipment.to_facility})",
        )
    if shipment.received_index is not None:
        raise RecordRejected(
            "reference",
            f"receipt.shipment {record.shipment} was already received at log index "
            f"{shipment.received_index}",
        )
    for i, amount in enumerate(record.lots):
        if amount.lot not in shipment.lots:
            raise RecordRejected(
                "reference", f"receipt.lots[{i}].lot {amount.lot} is not in {record.shipment}"
            )


def _owned(record: Record, identifier: str, field: str) -> None:
    if namespace_of(identifier) != namespace_of(record.signer):
        raise RecordRejected(
            "identity",
            f"{field} {identifier} is not in the namespace of its signer {record.signer}",
        )


def _new_lots(record: Record, lots: Sequence[LotId], field: str, view: LedgerView) -> None:
    for i, lot in enumerate(lots):
        if view.lot_exists(lot):
            raise RecordRejected("identity", f"{field}[{i}].id {lot} already exists")


def _check_namespaces(record: Record) -> None:
    """New lot and shipment ids must be in the signer's namespace (needs no ledger state)."""
    match record:
        case Extraction():
            for i, lot in enumerate(record.lots):
                _owned(record, lot.id, f"extraction.lots[{i}].id")
        case Transformation():
            for i, lot in enumerate(record.outputs):
                _owned(record, lot.id, f"transformation.outputs[{i}].id")
        case Shipment():
            _owned(record, record.id, "shipment.id")
        case _:
            pass


def _check_identity(record: Record, view: LedgerView, record_id: RecordId) -> None:
    other = view.find_record(record_id)
    if other is not None:
        raise RecordRejected(
            "identity",
            f"record {record_id} is already in the log at index {other} (with other signatures)",
        )
    _check_namespaces(record)
    match record:
        case Participant():
            _check_new_participant(record, view)
        case Extraction():
            _new_lots(record, [lot.id for lot in record.lots], "extraction.lots", view)
        case Transformation():
            _new_lots(record, [lot.id for lot in record.outputs], "transformation.outputs", view)
        case Shipment():
            if view.shipment(record.id) is not None:
                raise RecordRejected("identity", f"shipment.id {record.id} already exists")
        case Facility() | KeyRevocation() | Receipt():
            pass


def _check_new_participant(record: Participant, view: LedgerView) -> None:
    """The registrar's own id is reserved, and no key may belong to two participants."""
    if record.id == REGISTRAR:
        raise RecordRejected("identity", f"participant.id {REGISTRAR} is reserved")
    for i, grant in enumerate(record.keys):
        state = view.key(grant.keyid)
        if state is not None and state.participant != record.id:
            raise RecordRejected(
                "identity",
                f"participant.keys[{i}].keyid {grant.keyid} is already a key of "
                f"{state.participant}",
            )


def check_signed_tail_entry(opened: Opened, registry: Registry) -> None:
    """What can be re-checked of an entry without the index: its event date against its
    ``issued_at``, signatures (as the replayed registry allows), authority over its facility
    and stage, and its namespaces.

    Raises:
        RecordRejected: the first check that fails.
    """
    record = opened.record
    check_event_date(record)
    check_signatures(opened.envelope, record, registry, verified=opened.verified)
    _check_authority(record, registry)
    _check_namespaces(record)
