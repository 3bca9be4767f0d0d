"""What admission reads: the ledger views, the states they answer with, and the registry replay.

:class:`LedgerView` (with its narrower :class:`KeyView` and :class:`RegistryView`) is the
read-only protocol :mod:`ledger.records.admission` checks records against; the store's
transaction implements it over the index tables. :class:`Registry` implements
:class:`RegistryView` in memory by replaying registry records with :func:`rotated_keys` and
:func:`revoked_key`, the same two rules the store applies, so a replay and the index agree on
who may sign what and when. Nothing here does I/O.

Import these names from :mod:`ledger.records.admission`, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from ledger.core.codec import format_timestamp
from ledger.core.signing import KeyId, PublicKey
from ledger.records.model import (
    Facility,
    FacilityId,
    KeyGrant,
    KeyRevocation,
    LotId,
    Participant,
    ParticipantId,
    Record,
    ShipmentId,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyState:
    """A participant's key as the registry holds it now."""

    participant: ParticipantId
    grant: KeyGrant
    compromised_since: datetime | None = None

    def problem_at(self, moment: datetime) -> str | None:
        """Why this key may not sign at ``moment``, or ``None`` when it may."""
        keyid, grant = self.grant.keyid, self.grant
        if moment < grant.valid_from:
            return (
                f"key {keyid} of {self.participant} is valid only from "
                f"{format_timestamp(grant.valid_from)}, record issued {format_timestamp(moment)}"
            )
        if grant.valid_until is not None and moment >= grant.valid_until:
            return (
                f"key {keyid} of {self.participant} expired at "
                f"{format_timestamp(grant.valid_until)}, record issued {format_timestamp(moment)}"
            )
        if self.compromised_since is not None and moment >= self.compromised_since:
            return (
                f"key {keyid} of {self.participant} is revoked: compromised since "
                f"{format_timestamp(self.compromised_since)}, record issued "
                f"{format_timestamp(moment)}"
            )
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class FacilityState:
    id: FacilityId
    operator: ParticipantId
    country: str
    stages: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentState:
    id: ShipmentId
    from_facility: FacilityId
    to_facility: FacilityId
    lots: frozenset[LotId]
    received_index: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LotPlace:
    """Where a lot is at this point of the log: held at a facility, or in transit.

    A lot is held at the facility that created it until a shipment names it; from then on
    it is in transit on that shipment, held by nobody, until a receipt of that shipment
    names it and the receiving facility holds it (ADR 0036).
    """

    id: LotId
    holder: FacilityId | None
    in_transit: ShipmentId | None


class KeyView(Protocol):
    """Who may sign: the trust root's registrar keys and the participants' keys."""

    def registrar_keys(self) -> Mapping[KeyId, PublicKey]: ...

    def key(self, keyid: KeyId) -> KeyState | None: ...


class RegistryView(KeyView, Protocol):
    """Keys plus facilities: everything the registrar decides."""

    def facility(self, facility: FacilityId) -> FacilityState | None: ...


class LedgerView(RegistryView, Protocol):
    """What admission needs to know about the ledger so far (read-only)."""

    def participant_exists(self, participant: ParticipantId) -> bool: ...

    def lot_exists(self, lot: LotId) -> bool: ...

    def lot_place(self, lot: LotId) -> LotPlace | None:
        """Where the lot is now, or ``None`` when it does not exist."""
        ...

    def shipment(self, shipment: ShipmentId) -> ShipmentState | None: ...

    def find_record(self, record_id: str) -> int | None: ...


def rotated_keys(existing: Sequence[KeyState], registration: Participant) -> list[KeyState]:
    """The key states after ``registration`` (re-)registers a participant.

    Keys the registration lists take its windows (a revocation stays in force); keys it no
    longer lists stop being valid at its ``issued_at``: that is how keys rotate.
    """
    listed = {grant.keyid: grant for grant in registration.keys}
    revoked = {state.grant.keyid: state.compromised_since for state in existing}
    states = [
        KeyState(participant=registration.id, grant=grant, compromised_since=revoked.get(keyid))
        for keyid, grant in listed.items()
    ]
    for state in existing:
        if state.grant.keyid in listed:
            continue
        until = state.grant.valid_until
        if until is None or until > registration.issued_at:
            # A key withdrawn before it became valid is never valid: until == valid_from.
            until = max(registration.issued_at, state.grant.valid_from)
            state = replace(state, grant=replace(state.grant, valid_until=until))
        states.append(state)
    return states


def revoked_key(state: KeyState, revocation: KeyRevocation) -> KeyState:
    """The key state after ``revocation``; the earliest compromise instant wins."""
    since = revocation.compromised_since
    if state.compromised_since is not None and state.compromised_since < since:
        since = state.compromised_since
    return replace(state, compromised_since=since)


class Registry:
    """Who may sign and who operates what, replayed in memory from registry records.

    ``bloc verify`` replays the whole log into one; the checkpoint signer replays just the
    registry entries (a few hundred at most), so neither trusts the database's index tables.
    """

    def __init__(self, registrars: Mapping[KeyId, PublicKey]) -> None:
        self._registrars = registrars
        self._keys: dict[KeyId, KeyState] = {}
        self._by_participant: dict[ParticipantId, list[KeyId]] = {}
        self._facilities: dict[FacilityId, FacilityState] = {}

    def registrar_keys(self) -> Mapping[KeyId, PublicKey]:
        return self._registrars

    def key(self, keyid: KeyId) -> KeyState | None:
        return self._keys.get(keyid)

    def facility(self, facility: FacilityId) -> FacilityState | None:
        return self._facilities.get(facility)

    def apply(self, record: Record) -> None:
        """Take in a registry record that was admitted; other kinds change nothing."""
        match record:
            case Participant():
                existing = [self._keys[k] for k in self._by_participant.get(record.id, [])]
                states = rotated_keys(existing, record)
                for state in states:
                    self._keys[state.grant.keyid] = state
                self._by_participant[record.id] = [state.grant.keyid for state in states]
            case Facility():
                self._facilities[record.id] = FacilityState(
                    id=record.id,
                    operator=record.operator,
                    country=record.country,
                    stages=frozenset(record.stages),
                )
            case KeyRevocation():
                current = self._keys.get(record.keyid)
                if current is not None:
                    self._keys[record.keyid] = revoked_key(current, record)
            case _:
                pass
