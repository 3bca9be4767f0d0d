"""ledger.records.envelope (DSSE) and ledger.records.authoring: PAE, signing, exact-bytes verification, parsing.

Signatures cover ``PAE(payloadType, payload)`` over the exact payload bytes; the tests check
that a re-serialised payload, however equivalent, does not verify.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.codec import canonical_json, parse_json
from ledger.core.signing import Signer
from ledger.errors import InputError
from ledger.records.authoring import prepare_record, seal
from ledger.records.envelope import (
    PAYLOAD_TYPE,
    Envelope,
    Signature,
    pae,
    parse_envelope,
    sign_envelope,
    verified_keyids,
)
from ledger.records.model import Extraction

from helpers import NOW, extraction, key_for, to_json

ZERO = Signer.from_seed(bytes(32))
PINNED_PAYLOAD = b'{"kind":"test"}'
PINNED_ENVELOPE = (
    b'{"payload":"eyJraW5kIjoidGVzdCJ9","payloadType":"application/vnd.bloc.record+json",'
    b'"signatures":[{"keyid":"139e3940e64b5491722088d9a0d741628fc826e09475d341a780acde3c4b8070",'
    b'"sig":"yYflfCyjPcqqdCjpTpnbRzX9dAThNsfP7SWBa7Gvh1qG35dnfbRGJOiC7y7g1tIE0CRQVw0l38VIs18ACH6sBQ=="}]}'
)


# --- PAE ------------------------------------------------------------------------------------


def test_pae_dsse_spec_example() -> None:
    # The worked example of the DSSE v1 protocol specification.
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_bytes_not_characters() -> None:
    assert pae("é", "ü".encode()) == "DSSEv1 2 é 2 ü".encode()


def test_pae_empty_payload() -> None:
    assert pae(PAYLOAD_TYPE, b"") == b"DSSEv1 32 application/vnd.bloc.record+json 0 "


def test_pae_binary_payload_is_not_decoded() -> None:
    assert pae("t", b"\x00\xff\n") == b"DSSEv1 1 t 3 \x00\xff\n"


# --- signing and verifying --------------------------------------------------------------------


def test_sign_verify_round_trip() -> None:
    signer = key_for("alice")
    envelope = sign_envelope(b'{"a":1}', [signer])
    assert envelope.payload_type == PAYLOAD_TYPE
    assert envelope.signed_message() == pae(PAYLOAD_TYPE, b'{"a":1}')
    (signature,) = envelope.signatures
    assert signature.keyid == signer.keyid
    assert envelope.verifies(signature, signer.public_key)
    # Independently: Ed25519 over the PAE, checked with cryptography directly.
    Ed25519PublicKey.from_public_bytes(signer.public_key.raw).verify(
        signature.sig, pae(PAYLOAD_TYPE, b'{"a":1}')
    )


def test_signature_is_not_over_the_bare_payload() -> None:
    signer = key_for("alice")
    envelope = sign_envelope(b'{"a":1}', [signer])
    assert not signer.public_key.verify(envelope.signatures[0].sig, b'{"a":1}')


def test_several_signatures_each_verify() -> None:
    signers = [key_for("alice"), key_for("bob"), key_for("carol")]
    envelope = sign_envelope(b"{}", signers)
    assert [s.keyid for s in envelope.signatures] == [s.keyid for s in signers]
    for signature, signer in zip(envelope.signatures, signers, strict=True):
        assert envelope.verifies(signature, signer.public_key)
    assert not envelope.verifies(envelope.signatures[0], signers[1].public_key)


def test_verifies_requires_matching_keyid() -> None:
    alice, bob = key_for("alice"), key_for("bob")
    envelope = sign_envelope(b"{}", [alice])
    relabelled = Signature(keyid=bob.keyid, sig=envelope.signatures[0].sig)
    assert not envelope.verifies(relabelled, alice.public_key)
    assert not envelope.verifies(relabelled, bob.public_key)


def test_reserialised_payload_does_not_verify() -> None:
    # An equivalent payload is not the signed payload: verification is over exact bytes.
    signer = key_for("alice")
    original = b'{"b": 2, "a": 1}'
    envelope = sign_envelope(original, [signer])
    reserialised = canonical_json(parse_json(original, max_bytes=1024))
    assert reserialised == b'{"a":1,"b":2}'
    swapped = Envelope(
        payload_type=envelope.payload_type, payload=reserialised, signatures=envelope.signatures
    )
    assert not swapped.verifies(envelope.signatures[0], signer.public_key)


def test_parsed_envelope_verifies_over_received_payload_bytes() -> None:
    signer = key_for("alice")
    original = b'{"b": 2,\n "a": 1}'
    parsed = parse_envelope(sign_envelope(original, [signer]).canonical_bytes())
    assert parsed.payload == original
    assert parsed.verifies(parsed.signatures[0], signer.public_key)


def test_sign_refuses_duplicate_key() -> None:
    with pytest.raises(ValueError, match=r"^the same key cannot sign an envelope twice$"):
        sign_envelope(b"{}", [key_for("alice"), key_for("bob"), key_for("alice")])


def test_sign_refuses_no_signers() -> None:
    with pytest.raises(ValueError, match=r"^an envelope needs at least one signer$"):
        sign_envelope(b"{}", [])


# --- canonical bytes --------------------------------------------------------------------------


def test_envelope_canonical_bytes_pinned() -> None:
    envelope = sign_envelope(PINNED_PAYLOAD, [ZERO])
    assert envelope.canonical_bytes() == PINNED_ENVELOPE
    assert envelope.signatures[0].sig.hex() == (
        "c987e57c2ca33dcaaa7428e94e99db4735fd7404e136c7cfed25816bb1af875a"
        "86df97677db44624e882ef2ee0d6d204d02450570d25dfc548b35f00087eac05"
    )


def test_canonical_bytes_stable_through_parse() -> None:
    parsed = parse_envelope(PINNED_ENVELOPE)
    assert parsed.canonical_bytes() == PINNED_ENVELOPE
    assert parsed == sign_envelope(PINNED_PAYLOAD, [ZERO])


def test_canonical_bytes_independent_of_received_layout() -> None:
    obj = json.loads(PINNED_ENVELOPE)
    spaced = json.dumps(
        {
            "signatures": obj["signatures"],
            "payloadType": obj["payloadType"],
            "payload": obj["payload"],
        },
        indent=4,
    ).encode()
    assert parse_envelope(spaced).canonical_bytes() == PINNED_ENVELOPE


def test_to_dict_shape() -> None:
    assert sign_envelope(PINNED_PAYLOAD, [ZERO]).to_dict() == json.loads(PINNED_ENVELOPE)


# --- parse_envelope: named bad input ----------------------------------------------------------


def envelope_obj(*signers: Signer, payload: bytes = b"{}") -> dict[str, Any]:
    envelope = sign_envelope(payload, list(signers or (key_for("alice"),)))
    return json.loads(envelope.canonical_bytes())


def rejected(obj: Any) -> str:
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    with pytest.raises(InputError) as info:
        parse_envelope(data)
    return str(info.value)


def test_duplicate_keyid_rejected_at_parse() -> None:
    obj = envelope_obj(key_for("alice"), key_for("bob"))
    obj["signatures"][1]["keyid"] = obj["signatures"][0]["keyid"]
    assert rejected(obj) == (f"envelope.signatures[1].keyid {key_for('alice').keyid} signs twice")


def test_identical_signature_twice_rejected_at_parse() -> None:
    obj = envelope_obj(key_for("alice"))
    obj["signatures"].append(dict(obj["signatures"][0]))
    assert rejected(obj) == (f"envelope.signatures[1].keyid {key_for('alice').keyid} signs twice")


def with_field(name: str, value: Any) -> dict[str, Any]:
    obj = envelope_obj()
    obj[name] = value
    return obj


def with_signature_field(name: str, value: Any) -> dict[str, Any]:
    obj = envelope_obj()
    obj["signatures"][0][name] = value
    return obj


def without(name: str) -> dict[str, Any]:
    obj = envelope_obj()
    del obj[name]
    return obj


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param(
            with_field("payloadType", "application/json"),
            'envelope.payloadType "application/json" is not one of '
            '"application/vnd.bloc.record+json"',
            id="unknown-payload-type",
        ),
        pytest.param(
            with_field("payload", "e30"),
            'envelope.payload "e30" does not have the required form',
            id="payload-missing-padding",
        ),
        pytest.param(
            with_field("payload", "e31="),
            'envelope.payload "e31=" does not have the required form',
            id="payload-non-canonical-bits",
        ),
        pytest.param(
            with_field("payload", "e3-_"),
            'envelope.payload "e3-_" does not have the required form',
            id="payload-url-safe",
        ),
        pytest.param(
            with_field("signatures", []),
            "envelope.signatures must have at least 1 item, has 0",
            id="no-signatures",
        ),
        pytest.param(
            with_field("signatures", envelope_obj()["signatures"] * 17),
            "envelope.signatures must have at most 16 items, has 17",
            id="seventeen-signatures",
        ),
        pytest.param(
            with_signature_field("keyid", "AB"),
            'envelope.signatures[0].keyid "AB" does not have the required form',
            id="bad-keyid",
        ),
        pytest.param(
            with_signature_field("sig", "AB=="),
            'envelope.signatures[0].sig "AB==" does not have the required form',
            id="sig-non-canonical",
        ),
        pytest.param(
            with_signature_field("extra", 1),
            "envelope.signatures[0]: unknown field 'extra'",
            id="signature-unknown-field",
        ),
        pytest.param(with_field("extra", 1), "envelope: unknown field 'extra'", id="unknown-field"),
        pytest.param(
            without("payload"), "envelope: missing required field 'payload'", id="no-payload"
        ),
        pytest.param(
            without("signatures"),
            "envelope: missing required field 'signatures'",
            id="no-signatures-field",
        ),
        pytest.param(
            [],
            "envelope is a JSON array: write one envelope per line (JSON Lines) instead",
            id="an-array",
        ),
        pytest.param("x", 'envelope must be of type object, got "x"', id="not-an-object"),
        pytest.param(
            b"{",
            "envelope is not valid JSON: Expecting property name enclosed in double quotes "
            "at line 1 column 2",
            id="malformed-json",
        ),
        pytest.param(
            b'{"payload": "e30=", "payload": "e30="}',
            "duplicate key 'payload' in JSON object",
            id="duplicate-json-key",
        ),
    ],
)
def test_parse_envelope_rejects(obj: Any, message: str) -> None:
    assert rejected(obj) == message


def test_signature_missing_sig_field() -> None:
    obj = envelope_obj()
    del obj["signatures"][0]["sig"]
    assert rejected(obj) == "envelope.signatures[0]: missing required field 'sig'"


def test_payload_over_limit_by_one_byte() -> None:
    obj = with_field("payload", base64.b64encode(b" " * (40 * 1024 + 1)).decode())
    assert rejected(obj) == (
        "envelope.payload decodes to 40,961 bytes, more than the 40,960 allowed"
    )


def test_payload_exactly_at_limit_is_accepted() -> None:
    payload = b" " * (40 * 1024)
    obj = with_field("payload", base64.b64encode(payload).decode())
    assert parse_envelope(json.dumps(obj).encode()).payload == payload


def test_short_signature_parses_but_does_not_verify() -> None:
    alice = key_for("alice")
    obj = with_signature_field("sig", base64.b64encode(bytes(63)).decode())
    envelope = parse_envelope(json.dumps(obj).encode())
    assert not envelope.verifies(envelope.signatures[0], alice.public_key)


# --- authoring: prepare_record and seal -------------------------------------------------------


def test_prepare_record_fills_issued_at_and_is_canonical() -> None:
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "ndpr_oxide", 5200.5)])
    del record["issued_at"]
    payload, parsed = prepare_record(
        json.dumps(record, indent=2).encode().replace(b"5200.5", b"5200.50"), now=NOW
    )
    assert isinstance(parsed, Extraction)
    assert parsed.issued_at == NOW
    assert parsed.lots[0].grams == 5_200_500
    assert payload == canonical_json(parse_json(payload, max_bytes=1 << 20))
    assert b'"issued_at":"2026-06-01T12:00:00Z"' in payload
    assert b'"mass_kg":5200.5' in payload


def test_prepare_record_keeps_given_issued_at() -> None:
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "ndpr_oxide", 1)])
    _, parsed = prepare_record(to_json(record), now=NOW)
    assert parsed.issued_at.isoformat() == "2026-02-01T08:00:00+00:00"


def test_prepare_record_rejects_non_object() -> None:
    with pytest.raises(InputError, match=r"^record is not a JSON object$"):
        prepare_record(b'"extraction"', now=NOW)


def test_a_json_array_of_records_is_pointed_at_json_lines() -> None:
    with pytest.raises(InputError, match=r"^record is a JSON array: write one record per line"):
        prepare_record(b"[]", now=NOW)


def test_prepare_record_fills_the_only_schema_version() -> None:
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "ndpr_oxide", 1)])
    del record["schema_version"]
    payload, _ = prepare_record(json.dumps(record).encode(), now=NOW)
    assert json.loads(payload)["schema_version"] == 1


def test_seal_refuses_key_of_another_participant() -> None:
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "ndpr_oxide", 1)])
    payload, parsed = prepare_record(to_json(record), now=NOW)
    key = key_for("mallory")
    with pytest.raises(InputError) as info:
        seal(payload, parsed, key, key_owner="org:mallory")
    assert str(info.value) == (
        f"key {key.keyid} is registered to org:mallory, but the record's signer is org:lynas"
    )


def test_seal_signs_exact_prepared_payload() -> None:
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "ndpr_oxide", 1)])
    payload, parsed = prepare_record(to_json(record), now=NOW)
    key = key_for("lynas")
    envelope = seal(payload, parsed, key, key_owner="org:lynas")
    assert envelope.payload == payload
    assert envelope.verifies(envelope.signatures[0], key.public_key)


# --- verified_keyids: the cryptography alone, done ahead of admission -------------------------


def test_verified_keyids_names_only_signatures_that_verify() -> None:
    a, b = key_for("a"), key_for("b")
    envelope = sign_envelope(PINNED_PAYLOAD, [a, b])
    keys = {a.keyid: a.public_key, b.keyid: b.public_key}
    assert verified_keyids(envelope, keys) == {a.keyid, b.keyid}
    assert verified_keyids(envelope, {a.keyid: a.public_key}) == {a.keyid}
    forged = Envelope(
        payload_type=PAYLOAD_TYPE,
        payload=b'{"kind":"forged"}',
        signatures=envelope.signatures,
    )
    assert verified_keyids(forged, keys) == frozenset()


def test_verified_keyids_ignores_a_key_filed_under_another_keys_id() -> None:
    # A wrong key under the signer's key id must not vouch for the signature, even when
    # that wrong key did make it.
    a, mallory = key_for("a"), key_for("mallory")
    envelope = sign_envelope(PINNED_PAYLOAD, [mallory])
    relabelled = Envelope(
        payload_type=PAYLOAD_TYPE,
        payload=envelope.payload,
        signatures=(Signature(keyid=a.keyid, sig=envelope.signatures[0].sig),),
    )
    assert verified_keyids(relabelled, {a.keyid: mallory.public_key}) == frozenset()


@settings(max_examples=100, deadline=None)
@given(
    payload=st.binary(max_size=300),
    names=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4, unique=True),
)
def test_canonical_bytes_equal_the_general_canonical_encoder(
    payload: bytes, names: list[str]
) -> None:
    envelope = sign_envelope(payload, [key_for(name) for name in names])
    assert envelope.canonical_bytes() == canonical_json(envelope.to_dict())
    assert parse_envelope(envelope.canonical_bytes()) == envelope


def test_every_problem_of_a_record_is_listed_at_once() -> None:
    """'register' used to report one field per attempt: a missing field and an unknown one
    on the same object, and a bad value elsewhere, are all named in the one line."""
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "ndpr_oxide", 1)])
    del record["facility"]
    record["extra"] = 1
    record["issued_at"] = "2026-05-01T10:00:00"
    with pytest.raises(InputError) as info:
        prepare_record(json.dumps(record).encode(), now=NOW)
    message = str(info.value)
    assert message.startswith("extraction: missing required field 'facility'; also ")
    assert "extraction: unknown field 'extra'" in message
    assert 'extraction.issued_at "2026-05-01T10:00:00" is not a valid date-time' in message
    assert message.count("issued_at") == 1, "a pattern and a format on one value: one problem"
