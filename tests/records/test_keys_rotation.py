"""Key rotation and revocation: rotated_keys, revoked_key, KeyState.problem_at, Registry,
and the signature step of admission (check_signatures) on top of them.

All pure functions: deterministic keys, records decoded from builders, times as literals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from ledger.core.codec import parse_timestamp
from ledger.core.signing import Signer
from ledger.errors import RecordRejected
from ledger.records.admission import KeyState, Registry, check_signatures, revoked_key, rotated_keys
from ledger.records.envelope import Envelope, sign_envelope
from ledger.records.model import (
    KeyGrant,
    KeyRevocation,
    Participant,
    ParticipantId,
    Record,
    decode_record,
)

from helpers import extraction, key_for, participant, revocation, to_json

OLD = key_for("acme-old")
NEW = key_for("acme-new")
REGISTRAR = key_for("registrar")
ACME = ParticipantId("org:acme")


def at(text: str) -> datetime:
    return parse_timestamp(text, field="test")


def registration(
    keys: list[Signer],
    *,
    issued_at: str = "2026-01-05T09:00:00Z",
    valid_from: str = "2026-01-01T00:00:00Z",
    slug: str = "acme",
) -> Participant:
    record = decode_record(
        to_json(participant(slug, keys=keys, issued_at=issued_at, valid_from=valid_from))
    )
    assert isinstance(record, Participant)
    return record


def revoke(key: Signer, since: str, *, slug: str = "acme") -> KeyRevocation:
    record = decode_record(to_json(revocation(slug, key.keyid, since)))
    assert isinstance(record, KeyRevocation)
    return record


def by_keyid(states: list[KeyState]) -> dict[str, KeyState]:
    return {state.grant.keyid: state for state in states}


def state(
    key: Signer,
    *,
    valid_from: str = "2026-01-01T00:00:00Z",
    valid_until: str | None = None,
    compromised_since: str | None = None,
) -> KeyState:
    return KeyState(
        participant=ACME,
        grant=KeyGrant(
            keyid=key.keyid,
            public_key=key.public_key,
            valid_from=at(valid_from),
            valid_until=at(valid_until) if valid_until else None,
        ),
        compromised_since=at(compromised_since) if compromised_since else None,
    )


# --- KeyState.problem_at ----------------------------------------------------------------------


def test_problem_at_valid() -> None:
    key = state(OLD, valid_until="2026-03-01T00:00:00Z", compromised_since="2026-02-01T00:00:00Z")
    assert key.problem_at(at("2026-01-01T00:00:00Z")) is None  # valid_from is inclusive
    assert key.problem_at(at("2026-01-31T23:59:59.999999Z")) is None


def test_problem_at_not_yet_valid() -> None:
    assert state(OLD).problem_at(at("2025-12-31T23:59:59Z")) == (
        f"key {OLD.keyid} of org:acme is valid only from 2026-01-01T00:00:00Z, "
        "record issued 2025-12-31T23:59:59Z"
    )


def test_problem_at_expired() -> None:
    key = state(OLD, valid_until="2026-03-01T00:00:00Z")
    assert key.problem_at(at("2026-02-28T23:59:59Z")) is None
    # valid_until is exclusive: the key has expired at that very instant.
    assert key.problem_at(at("2026-03-01T00:00:00Z")) == (
        f"key {OLD.keyid} of org:acme expired at 2026-03-01T00:00:00Z, "
        "record issued 2026-03-01T00:00:00Z"
    )


def test_problem_at_revoked() -> None:
    key = state(OLD, compromised_since="2026-02-01T00:00:00Z")
    assert key.problem_at(at("2026-02-01T00:00:00Z")) == (
        f"key {OLD.keyid} of org:acme is revoked: compromised since 2026-02-01T00:00:00Z, "
        "record issued 2026-02-01T00:00:00Z"
    )


def test_problem_at_reports_times_in_utc_with_fraction() -> None:
    key = state(OLD, valid_until="2026-03-01T02:00:00+02:00")
    assert key.problem_at(at("2026-03-01T00:00:00.25Z")) == (
        f"key {OLD.keyid} of org:acme expired at 2026-03-01T00:00:00Z, "
        "record issued 2026-03-01T00:00:00.250000Z"
    )


def test_problem_at_expiry_reported_before_revocation() -> None:
    key = state(OLD, valid_until="2026-03-01T00:00:00Z", compromised_since="2026-02-01T00:00:00Z")
    problem = key.problem_at(at("2026-04-01T00:00:00Z"))
    assert problem is not None
    assert " expired at " in problem


# --- rotated_keys -----------------------------------------------------------------------------


def test_first_registration() -> None:
    states = rotated_keys([], registration([OLD, NEW]))
    assert [s.grant.keyid for s in states] == [OLD.keyid, NEW.keyid]
    assert all(s.participant == ACME and s.compromised_since is None for s in states)
    assert all(s.grant.valid_until is None for s in states)


def test_rotation_ends_omitted_key_at_registration_time() -> None:
    first = rotated_keys([], registration([OLD]))
    second = rotated_keys(first, registration([NEW], issued_at="2026-03-01T00:00:00Z"))
    states = by_keyid(second)
    assert set(states) == {OLD.keyid, NEW.keyid}
    old = states[OLD.keyid]
    assert old.grant.valid_until == at("2026-03-01T00:00:00Z")
    assert old.grant.valid_from == at("2026-01-01T00:00:00Z")
    assert old.problem_at(at("2026-02-28T23:59:59Z")) is None
    assert old.problem_at(at("2026-03-01T00:00:00Z")) == (
        f"key {OLD.keyid} of org:acme expired at 2026-03-01T00:00:00Z, "
        "record issued 2026-03-01T00:00:00Z"
    )
    assert states[NEW.keyid].problem_at(at("2026-03-01T00:00:00Z")) is None


def test_rotation_keeps_an_earlier_expiry() -> None:
    existing = [state(OLD, valid_until="2026-02-01T00:00:00Z")]
    rotated = by_keyid(
        rotated_keys(existing, registration([NEW], issued_at="2026-03-01T00:00:00Z"))
    )
    assert rotated[OLD.keyid].grant.valid_until == at("2026-02-01T00:00:00Z")


def test_rotation_shortens_a_later_expiry() -> None:
    existing = [state(OLD, valid_until="2027-01-01T00:00:00Z")]
    rotated = by_keyid(
        rotated_keys(existing, registration([NEW], issued_at="2026-03-01T00:00:00Z"))
    )
    assert rotated[OLD.keyid].grant.valid_until == at("2026-03-01T00:00:00Z")


def test_rotation_keeps_revocation_of_omitted_key() -> None:
    existing = [state(OLD, compromised_since="2026-02-01T00:00:00Z")]
    rotated = by_keyid(
        rotated_keys(existing, registration([NEW], issued_at="2026-03-01T00:00:00Z"))
    )
    assert rotated[OLD.keyid].compromised_since == at("2026-02-01T00:00:00Z")


def test_relisting_a_revoked_key_keeps_the_revocation() -> None:
    existing = [state(OLD, compromised_since="2026-02-01T00:00:00Z")]
    relisted = rotated_keys(existing, registration([OLD, NEW], issued_at="2026-04-01T00:00:00Z"))
    old = by_keyid(relisted)[OLD.keyid]
    assert old.compromised_since == at("2026-02-01T00:00:00Z")
    assert old.problem_at(at("2026-05-01T00:00:00Z")) == (
        f"key {OLD.keyid} of org:acme is revoked: compromised since 2026-02-01T00:00:00Z, "
        "record issued 2026-05-01T00:00:00Z"
    )


def test_relisted_key_takes_the_new_window() -> None:
    existing = [state(OLD)]
    relisted = rotated_keys(
        existing,
        registration([OLD], issued_at="2026-04-01T00:00:00Z", valid_from="2026-02-01T00:00:00Z"),
    )
    assert by_keyid(relisted)[OLD.keyid].grant.valid_from == at("2026-02-01T00:00:00Z")


def test_key_withdrawn_before_it_became_valid_is_never_valid() -> None:
    # OLD was registered to start on 1 June; a re-registration on 5 January drops it. It
    # "stops being valid at the registration's issued_at", before it ever started: no record
    # may be signed with it at any time, including the round instant it was due to start.
    first = rotated_keys([], registration([OLD], valid_from="2026-06-01T00:00:00Z"))
    second = rotated_keys(first, registration([NEW], issued_at="2026-01-05T09:00:00Z"))
    old = by_keyid(second)[OLD.keyid]
    assert old.problem_at(at("2026-05-31T23:59:59Z")) is not None
    assert old.problem_at(at("2026-06-01T00:00:00Z")) is not None
    assert old.problem_at(at("2026-07-01T00:00:00Z")) is not None


# --- revoked_key ------------------------------------------------------------------------------


def test_revoked_key_sets_compromise() -> None:
    revoked = revoked_key(state(OLD), revoke(OLD, "2026-02-01T00:00:00Z"))
    assert revoked.compromised_since == at("2026-02-01T00:00:00Z")
    assert revoked.grant == state(OLD).grant


def test_later_revocation_keeps_earliest_compromise() -> None:
    once = revoked_key(state(OLD), revoke(OLD, "2026-02-01T00:00:00Z"))
    twice = revoked_key(once, revoke(OLD, "2026-03-01T00:00:00Z"))
    assert twice.compromised_since == at("2026-02-01T00:00:00Z")


def test_earlier_revocation_moves_compromise_back() -> None:
    once = revoked_key(state(OLD), revoke(OLD, "2026-02-01T00:00:00Z"))
    twice = revoked_key(once, revoke(OLD, "2026-01-15T00:00:00Z"))
    assert twice.compromised_since == at("2026-01-15T00:00:00Z")


# --- Registry ------------------------------------------------------------------------------


def registry(*records: Record) -> Registry:
    keys = Registry({REGISTRAR.keyid: REGISTRAR.public_key})
    for record in records:
        keys.apply(record)
    return keys


def test_registry_registrar_keys() -> None:
    assert dict(registry().registrar_keys()) == {REGISTRAR.keyid: REGISTRAR.public_key}


def test_registry_replays_registration_rotation_and_revocation() -> None:
    keys = registry(
        registration([OLD]),
        registration([key_for("other")], slug="other"),
        revoke(OLD, "2026-02-15T00:00:00Z"),
        registration([NEW], issued_at="2026-03-01T00:00:00Z"),
    )
    old, new = keys.key(OLD.keyid), keys.key(NEW.keyid)
    assert old is not None
    assert new is not None
    assert old.participant == ACME
    assert new.participant == ACME
    assert old.compromised_since == at("2026-02-15T00:00:00Z")
    assert old.grant.valid_until == at("2026-03-01T00:00:00Z")
    assert new.compromised_since is None
    other = keys.key(key_for("other").keyid)
    assert other is not None
    assert other.participant == "org:other"


def test_registry_relisting_revoked_key_keeps_revocation() -> None:
    keys = registry(
        registration([OLD]),
        revoke(OLD, "2026-02-01T00:00:00Z"),
        registration([OLD, NEW], issued_at="2026-03-01T00:00:00Z"),
    )
    old = keys.key(OLD.keyid)
    assert old is not None
    assert old.compromised_since == at("2026-02-01T00:00:00Z")


def test_registry_rotates_across_several_registrations() -> None:
    third = key_for("acme-third")
    keys = registry(
        registration([OLD]),
        registration([NEW], issued_at="2026-03-01T00:00:00Z"),
        registration([third], issued_at="2026-04-01T00:00:00Z"),
    )
    old, new = keys.key(OLD.keyid), keys.key(NEW.keyid)
    assert old is not None
    assert new is not None
    assert old.grant.valid_until == at("2026-03-01T00:00:00Z")
    assert new.grant.valid_until == at("2026-04-01T00:00:00Z")


def test_registry_ignores_revocation_of_unknown_key() -> None:
    keys = registry(registration([OLD]), revoke(NEW, "2026-02-01T00:00:00Z"))
    assert keys.key(NEW.keyid) is None
    old = keys.key(OLD.keyid)
    assert old is not None
    assert old.compromised_since is None


def test_registry_ignores_event_records() -> None:
    event = decode_record(
        to_json(extraction("acme", "acme-mine", [("lot:acme/1", "rare_earth_ore", 10)]))
    )
    keys = registry(registration([OLD]), event)
    assert keys.key(OLD.keyid) == registry(registration([OLD])).key(OLD.keyid)


# --- check_signatures on a replayed registry --------------------------------------------------


def signed_event(*signers: Signer, issued_at: str, signer: str = "acme") -> tuple[Envelope, Record]:
    record: dict[str, Any] = extraction(
        signer, f"{signer}-mine", [(f"lot:{signer}/1", "rare_earth_ore", 10)], issued_at=issued_at
    )
    envelope = sign_envelope(to_json(record), list(signers))
    return envelope, decode_record(envelope.payload)


def signature_rejection(envelope: Envelope, record: Record, keys: Registry) -> str:
    with pytest.raises(RecordRejected) as info:
        check_signatures(envelope, record, keys)
    assert info.value.check == "signature"
    return info.value.message


ROTATED = (registration([OLD]), registration([NEW], issued_at="2026-03-01T00:00:00Z"))


def test_old_key_signs_records_before_rotation() -> None:
    envelope, record = signed_event(OLD, issued_at="2026-02-28T23:59:59Z")
    check_signatures(envelope, record, registry(*ROTATED))


def test_old_key_cannot_sign_after_rotation() -> None:
    envelope, record = signed_event(OLD, issued_at="2026-03-01T00:00:00Z")
    assert signature_rejection(envelope, record, registry(*ROTATED)) == (
        f"envelope.signatures[0]: key {OLD.keyid} of org:acme expired at "
        "2026-03-01T00:00:00Z, record issued 2026-03-01T00:00:00Z"
    )


def test_new_key_signs_after_rotation() -> None:
    envelope, record = signed_event(NEW, issued_at="2026-03-02T00:00:00Z")
    check_signatures(envelope, record, registry(*ROTATED))


def test_revoked_key_cannot_sign_after_compromise() -> None:
    keys = registry(registration([OLD]), revoke(OLD, "2026-02-01T00:00:00Z"))
    envelope, record = signed_event(OLD, issued_at="2026-02-01T00:00:00Z")
    assert signature_rejection(envelope, record, keys) == (
        f"envelope.signatures[0]: key {OLD.keyid} of org:acme is revoked: compromised since "
        "2026-02-01T00:00:00Z, record issued 2026-02-01T00:00:00Z; to recover, the registrar "
        "registers a new key for org:acme (a participant record listing it, with 'bloc "
        "register') and you sign again with that key"
    )


def test_revoked_key_signs_nothing_new_even_when_back_dated() -> None:
    """issued_at is the signer's claim: whoever stole the key could back-date a record to
    just before compromised_since. Once the revocation is on the ledger, the key signs
    nothing new (ADR 0005); earlier entries stay, and become findings."""
    keys = registry(registration([OLD]), revoke(OLD, "2026-02-01T00:00:00Z"))
    envelope, record = signed_event(OLD, issued_at="2026-01-31T23:59:59Z")
    assert signature_rejection(envelope, record, keys) == (
        f"envelope.signatures[0]: key {OLD.keyid} of org:acme is revoked (compromised since "
        "2026-02-01T00:00:00Z): it signs nothing new, whatever its issued_at; to recover, "
        "the registrar registers a new key for org:acme (a participant record listing it, "
        "with 'bloc register') and you sign again with that key"
    )
    before = registry(registration([OLD]))
    check_signatures(envelope, record, before)


def test_unregistered_key() -> None:
    stranger = key_for("stranger")
    envelope, record = signed_event(stranger, issued_at="2026-02-01T00:00:00Z")
    assert signature_rejection(envelope, record, registry(*ROTATED)) == (
        f"envelope.signatures[0].keyid {stranger.keyid} is not a registered participant key"
    )


def test_signature_that_does_not_verify() -> None:
    envelope, record = signed_event(OLD, issued_at="2026-02-01T00:00:00Z")
    other_payload = sign_envelope(envelope.payload + b" ", [OLD])
    forged = Envelope(
        payload_type=envelope.payload_type,
        payload=envelope.payload,
        signatures=other_payload.signatures,
    )
    assert signature_rejection(forged, record, registry(*ROTATED)) == (
        f"envelope.signatures[0]: signature by key {OLD.keyid} does not verify"
    )


def test_only_another_participants_key() -> None:
    keys = registry(registration([OLD]), registration([key_for("other")], slug="other"))
    envelope, record = signed_event(key_for("other"), issued_at="2026-02-01T00:00:00Z")
    assert signature_rejection(envelope, record, keys) == (
        "extraction.signer org:acme: no signature by a key of org:acme (signed with key "
        f"{key_for('other').keyid} of org:other: sign with a key of org:acme)"
    )


def test_cosignature_by_another_participant_is_fine() -> None:
    keys = registry(registration([OLD]), registration([key_for("other")], slug="other"))
    check_signatures(*signed_event(key_for("other"), OLD, issued_at="2026-02-01T00:00:00Z"), keys)


def test_registry_record_needs_registrar_key() -> None:
    payload = to_json(participant("acme", keys=[OLD]))
    record = decode_record(payload)
    check_signatures(sign_envelope(payload, [REGISTRAR]), record, registry())
    assert signature_rejection(sign_envelope(payload, [OLD]), record, registry()) == (
        f"envelope.signatures[0].keyid {OLD.keyid} is not a registrar key of root.json"
    )


def test_registry_record_signed_as_a_participant() -> None:
    data = participant("acme", keys=[OLD])
    data["signer"] = "org:acme"
    payload = to_json(data)
    record = decode_record(payload)
    assert signature_rejection(sign_envelope(payload, [REGISTRAR]), record, registry()) == (
        "participant.signer org:acme is not org:registrar: only the registrar registers "
        "participants, facilities and revocations"
    )


def test_registrar_cannot_sign_events() -> None:
    data = extraction("acme", "acme-mine", [("lot:acme/1", "rare_earth_ore", 10)])
    data["signer"] = "org:registrar"
    payload = to_json(data)
    assert signature_rejection(
        sign_envelope(payload, [REGISTRAR]), decode_record(payload), registry()
    ) == ("extraction.signer org:registrar cannot sign supply-chain events")


def test_problem_at_boundary_microsecond() -> None:
    key = state(OLD, valid_until="2026-03-01T00:00:00Z")
    assert key.problem_at(at("2026-03-01T00:00:00Z") - timedelta(microseconds=1)) is None
