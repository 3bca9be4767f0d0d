"""Adversarial inputs: named attacks and mistakes, each refused by admission with one line.

Every case builds the bytes of one envelope that must be refused. All of them are submitted
to an in-memory ledger (``memory_view.MemoryWorld``: :func:`~ledger.records.admission.admit`
is pure, so they need no database): the rejection must be ``<check>: <message>``, one line,
naming the field and the value, and nothing may be stored.

A sample of them, one or more per admission check plus those that depend on the database or
the clock, goes through the real command line on both database backends:
``bloc --home HOME submit FILE`` must exit with code 5 and print exactly one line
``FILE: rejected: <check>: <message>``, no traceback, and leave the database exactly as it was
(same tree size, root hash and row count).

The world (see ``helpers.World``) holds lynas (AU miner and separator), shinetsu (JP magnet
maker) and mallory (CN), their facilities, and the chain lot:lynas/ORE-1 → lot:lynas/NDPR-1
→ ship:lynas/S-1 → received at fac:shinetsu-takefu (log index 10).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from memory_view import MemoryWorld

from ledger.cli.common import split_documents
from ledger.cli.main import bloc
from ledger.core.codec import MAX_CANONICAL_ENVELOPE_BYTES, MAX_ENVELOPE_BYTES, MAX_PAYLOAD_BYTES
from ledger.core.signing import Signer
from ledger.log.tiles import encode_entry_bundle
from ledger.records.admission import open_envelope
from ledger.records.envelope import PAYLOAD_TYPE, pae

from helpers import (
    World,
    envelope_bytes,
    envelope_of_size,
    extraction,
    facility,
    key_for,
    participant,
    raw_envelope,
    receipt,
    revocation,
    shipment,
    to_json,
    transformation,
)

LYNAS = World.lynas
SHINETSU = World.shinetsu
MALLORY = World.mallory
STRANGER = key_for("stranger")
NEO = key_for("neo")

LYNAS_ID = LYNAS.keyid
SHINETSU_ID = SHINETSU.keyid
STRANGER_ID = STRANGER.keyid
NEO_ID = NEO.keyid

AnyWorld = World | MemoryWorld
"""A case builds its envelope in either world: the database's or the in-memory one."""
Build = Callable[[AnyWorld], bytes]
Expected = str | re.Pattern[str] | Callable[[bytes], str]


# --- record builders: one valid record of each kind that a case then breaks ---------------


def new_ore(lot: str = "lot:lynas/ORE-9", **changes: Any) -> dict[str, Any]:
    """A valid extraction by lynas at its mine, creating one new lot."""
    record = extraction("lynas", "lynas-mt-weld", [(lot, "rare_earth_ore", 10)])
    record.update(changes)
    return record


def new_oxide(**changes: Any) -> dict[str, Any]:
    """A valid separation at lynas-kuantan consuming part of lot:lynas/ORE-1."""
    record = transformation(
        "lynas",
        "lynas-kuantan",
        "separation",
        [("lot:lynas/ORE-1", 100)],
        [("lot:lynas/NDPR-9", "ndpr_oxide", 20)],
    )
    record.update(changes)
    return record


def new_shipment(**changes: Any) -> dict[str, Any]:
    """A valid second shipment of lot:lynas/ORE-1 from lynas-kuantan to shinetsu-takefu."""
    record = shipment(
        "lynas", "ship:lynas/S-9", "lynas-kuantan", "shinetsu-takefu", ["lot:lynas/ORE-1"]
    )
    record.update(changes)
    return record


def new_receipt(**changes: Any) -> dict[str, Any]:
    record = receipt(
        "shinetsu", "ship:lynas/S-1", "shinetsu-takefu", [("lot:lynas/NDPR-1", 5199.8)]
    )
    record.update(changes)
    return record


# --- envelope builders ----------------------------------------------------------------------


def signed(record: dict[str, Any], *signers: Signer) -> Build:
    """The record signed as-is (by lynas unless other signers are given)."""
    return lambda world: envelope_bytes(record, *(signers or (LYNAS,)))


def by_registrar(record: dict[str, Any]) -> Build:
    """A registry record signed with the world's registrar key (exactly as given)."""
    return lambda world: raw_envelope(to_json(record), world.registrar)


def edited_payload(record: dict[str, Any], old: str, new: str, signer: Signer = LYNAS) -> bytes:
    """Correctly signed envelope over the record's canonical bytes with ``old`` → ``new``."""
    payload = to_json(record)
    assert old.encode() in payload, (old, payload)
    return raw_envelope(payload.replace(old.encode(), new.encode(), 1), signer)


def envelope_dict(record: dict[str, Any], signer: Signer = LYNAS) -> dict[str, Any]:
    env: dict[str, Any] = json.loads(envelope_bytes(record, signer))
    return env


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def edited_envelope(change: Callable[[dict[str, Any]], None], record: dict[str, Any]) -> bytes:
    env = envelope_dict(record)
    change(env)
    return dumps(env)


def payload_of(envelope: bytes) -> bytes:
    decoded: bytes = base64.b64decode(json.loads(envelope)["payload"])
    return decoded


def decoder_error(data: bytes) -> str:
    """The message for bytes that are not one JSON document, at the decoder's position."""
    try:
        json.loads(data)
    except json.JSONDecodeError as e:
        # "Unterminated string starting at" is said once: "starting at line 1 column 12".
        message = e.msg.removesuffix(" at")
        return f"envelope is not valid JSON: {message} at line {e.lineno} column {e.colno}"
    raise AssertionError("the bytes are valid JSON")


def latin1_payload() -> bytes:
    """A signed payload holding an ISO 8859-1 'é' (byte 0xE9), not UTF-8."""
    payload = ORE_PAYLOAD.replace(b"lot:lynas/ORE-9", b"lot:lynas/ORE-\xe9")
    return raw_envelope(payload, LYNAS)


def shown(text: str) -> str:
    """A long string as the schema errors show it (first 77 characters, then "...")."""
    return json.dumps(text if len(text) <= 80 else text[:77] + "...")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- precomputed malformations ----------------------------------------------------------


def _urlsafe_case() -> tuple[bytes, str]:
    """A real, signed envelope re-encoded with the URL-safe base64 alphabet (- and _)."""
    for n in range(1000):
        env = envelope_dict(new_shipment(contract=f"PO {n}?>"))
        urlsafe = env["payload"].replace("+", "-").replace("/", "_")
        if urlsafe != env["payload"]:
            env["payload"] = urlsafe
            return dumps(env), urlsafe
    raise AssertionError("no payload with + or / in its base64")


def _noncanonical_case() -> tuple[bytes, str]:
    """Payload base64 whose unused bits before the '=' padding are not zero.

    It decodes (leniently) to the same signed bytes, so it is a second spelling of an
    accepted envelope: a malleability the parser must refuse.
    """
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for n in range(1000):
        env = envelope_dict(new_ore(f"lot:lynas/P-{n}"))
        text = env["payload"]
        if text.endswith("=="):
            last = len(text) - 3
            break
    else:  # pragma: no cover
        raise AssertionError("no payload needing == padding")
    bumped = alphabet[alphabet.index(text[last]) + 1]
    text = text[:last] + bumped + text[last + 1 :]
    assert base64.b64decode(text) == base64.b64decode(env["payload"])
    env["payload"] = text
    return dumps(env), text


URLSAFE_BYTES, URLSAFE_TEXT = _urlsafe_case()
NONCANONICAL_BYTES, NONCANONICAL_TEXT = _noncanonical_case()

ORE_PAYLOAD = to_json(new_ore())
ORE_B64 = b64(ORE_PAYLOAD)
ORE_SIG = envelope_dict(new_ore())["signatures"][0]


def padded_payload(size: int) -> bytes:
    """The valid record padded with trailing spaces to ``size`` bytes, signed by lynas."""
    return raw_envelope(ORE_PAYLOAD + b" " * (size - len(ORE_PAYLOAD)), LYNAS)


def oversized_payload() -> bytes:
    """The valid record padded to one byte over 40 KiB: its base64 (54,616 characters) is
    within the schema's coarse bound, the parser counts the exact bytes."""
    return padded_payload(40 * 1024 + 1)


def overlong_base64_payload() -> bytes:
    """A payload of 40 KiB + 3 bytes, the shortest whose base64 (54,620 characters) is longer
    than the envelope schema allows."""
    return padded_payload(40 * 1024 + 3)


def oversized_envelope() -> bytes:
    """A valid envelope padded with trailing whitespace to one byte over 128 KiB."""
    env = envelope_bytes(new_ore(), LYNAS)
    return env + b" " * (128 * 1024 + 1 - len(env))


def unframable_envelope() -> bytes:
    """The valid record, signed by lynas and 14 more (unregistered) signatures of 1,024 base64
    characters: payload and input within their limits, canonical form 65,536 bytes, the
    shortest an entry bundle cannot frame (no canonical envelope is 65,535 bytes long)."""
    return envelope_of_size(ORE_PAYLOAD, LYNAS, size=65_536, signatures=15)


def largest_framable_envelope() -> bytes:
    """As :func:`unframable_envelope`, with 16 signatures: 65,534 bytes, the longest canonical
    envelope an entry bundle can frame."""
    return envelope_of_size(ORE_PAYLOAD, LYNAS, size=65_534, signatures=16)


def flipped_signature() -> bytes:
    env = envelope_dict(new_ore())
    sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
    sig[10] ^= 0x01
    env["signatures"][0]["sig"] = b64(bytes(sig))
    return dumps(env)


def forged_copy_of_logged_record(world: AnyWorld) -> bytes:
    """The world's first record (log index 7) with its signature bytes altered."""
    env = json.loads(world.chain()[0])
    sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
    sig[0] ^= 0x80
    env["signatures"][0]["sig"] = b64(bytes(sig))
    return dumps(env)


def relabelled_signature() -> bytes:
    """Mallory signs lynas's record and labels the signature with lynas's key id."""
    env = envelope_dict(new_ore(), MALLORY)
    env["signatures"][0]["keyid"] = LYNAS_ID
    return dumps(env)


def short_signature() -> bytes:
    """A 32-byte "signature" (valid base64, wrong length for Ed25519)."""
    env = envelope_dict(new_ore())
    env["signatures"][0]["sig"] = b64(bytes(32))
    return dumps(env)


def other_payload_type_signature() -> bytes:
    """Signed over the DSSE PAE of another payload type, then relabelled as a Bloc record."""
    sig = LYNAS.sign(pae("application/json", ORE_PAYLOAD))
    return dumps(
        {
            "payloadType": PAYLOAD_TYPE,
            "payload": ORE_B64,
            "signatures": [{"keyid": LYNAS_ID, "sig": b64(sig)}],
        }
    )


def duplicate_signature() -> bytes:
    env = envelope_dict(new_ore())
    env["signatures"].append(dict(env["signatures"][0]))
    return dumps(env)


def with_revoked_lynas_key(world: AnyWorld) -> bytes:
    results = world.register(
        [revocation("lynas", LYNAS_ID, "2026-04-01T00:00:00Z", issued_at="2026-05-02T12:00:00Z")]
    )
    assert results[0].accepted, results[0].error
    return envelope_bytes(new_ore(issued_at="2026-05-01T00:00:00Z"), LYNAS)


def before_valid_from(world: AnyWorld) -> bytes:
    results = world.register([participant("neo", valid_from="2026-03-01T00:00:00Z")])
    assert results[0].accepted, results[0].error
    record = extraction("neo", "neo-mine", [("lot:neo/ORE-1", "rare_earth_ore", 10)])
    return envelope_bytes(record, NEO)


def after_valid_until(world: AnyWorld) -> bytes:
    registration = participant("neo")
    registration["keys"][0]["valid_until"] = "2026-02-01T00:00:00Z"
    results = world.register([registration])
    assert results[0].accepted, results[0].error
    record = extraction(
        "neo",
        "neo-mine",
        [("lot:neo/ORE-1", "rare_earth_ore", 10)],
        issued_at="2026-03-01T00:00:00Z",
    )
    return envelope_bytes(record, NEO)


def receipt_of_other_lot(world: AnyWorld) -> bytes:
    """A second shipment (of a fresh lot) is in the log; its receipt lists another lot."""
    setup = [
        envelope_bytes(
            transformation(
                "lynas",
                "lynas-kuantan",
                "repack",
                [],
                [("lot:lynas/NDPR-2", "ndpr_oxide", 50)],
                untraced=[{"material": "ndpr_oxide", "mass_kg": 50}],
            ),
            LYNAS,
        ),
        envelope_bytes(new_shipment(lots=["lot:lynas/NDPR-2"]), LYNAS),
    ]
    for result in world.submit(setup):
        assert result.accepted, result.error
    return envelope_bytes(
        receipt("shinetsu", "ship:lynas/S-9", "shinetsu-takefu", [("lot:lynas/ORE-1", 50)]),
        SHINETSU,
    )


def replay_with_extra_signature(world: AnyWorld) -> bytes:
    """The world's first record again, cosigned by mallory: same record id, new leaf."""
    first = world.chain()[0]
    env = json.loads(first)
    payload = base64.b64decode(env["payload"])
    return raw_envelope(payload, LYNAS, MALLORY)


def participant_keyid_mismatch() -> dict[str, Any]:
    record = participant("eve", keys=[key_for("eve")])
    record["keys"][0]["keyid"] = SHINETSU_ID
    return record


def key_theft_registration() -> dict[str, Any]:
    return participant("eve", keys=[LYNAS])


# --- the table ----------------------------------------------------------------------------

MAX_MESSAGE = 1000
"""A one-line rejection names a field and a value; it is never longer than this."""

FUTURE = re.compile(
    r"payload: extraction\.issued_at 2099-01-01T00:00:00Z is in the future "
    r"\(now \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z\)"
)

CASES = [
    # ----- envelope: shape, type, base64, size --------------------------------------------
    pytest.param(
        lambda w: (
            b'{"payloadType":"%s","payload":"%s","payloadType":"%s","signatures":[%s]}'
            % (PAYLOAD_TYPE.encode(), ORE_B64.encode(), PAYLOAD_TYPE.encode(), dumps(ORE_SIG))
        ),
        "envelope: duplicate key 'payloadType' in JSON object",
        id="duplicate key in the envelope",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e.update(comment="trust me"), new_ore()),
        "envelope: unknown field 'comment'",
        id="envelope with an extra top-level field",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e.update(payloadType="application/json"), new_ore()),
        f'envelope.payloadType "application/json" is not one of "{PAYLOAD_TYPE}"',
        id="wrong payloadType",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e.pop("payloadType"), new_ore()),
        "envelope: missing required field 'payloadType'",
        id="envelope without payloadType",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e.update(payload="not base64!"), new_ore()),
        'envelope.payload "not base64!" does not have the required form',
        id="payload not base64",
    ),
    pytest.param(
        lambda w: URLSAFE_BYTES,
        f"envelope.payload {shown(URLSAFE_TEXT)} does not have the required form",
        id="url-safe base64 payload",
    ),
    pytest.param(
        lambda w: NONCANONICAL_BYTES,
        f"envelope.payload {shown(NONCANONICAL_TEXT)} does not have the required form",
        id="non-canonical base64 padding bits in payload",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e["signatures"][0].update(sig="!!!!"), new_ore()),
        'envelope.signatures[0].sig "!!!!" does not have the required form',
        id="bad base64 in sig",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e.update(signatures=[]), new_ore()),
        "envelope.signatures must have at least 1 item, has 0",
        id="empty signatures list",
    ),
    pytest.param(
        lambda w: edited_envelope(
            lambda e: e["signatures"][0].update(keyid=LYNAS_ID.upper()), new_ore()
        ),
        f'envelope.signatures[0].keyid "{LYNAS_ID.upper()}" does not have the required form',
        id="upper-case hex keyid",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e["signatures"][0].update(cert="x"), new_ore()),
        "envelope.signatures[0]: unknown field 'cert'",
        id="unknown field in a signature",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e.update(signatures=e["signatures"] * 17), new_ore()),
        "envelope.signatures must have at most 16 items, has 17",
        id="seventeen signatures",
    ),
    pytest.param(
        lambda w: duplicate_signature(),
        f"envelope.signatures[1].keyid {LYNAS_ID} signs twice",
        id="two signatures with the same keyid",
    ),
    pytest.param(
        lambda w: oversized_payload(),
        "envelope.payload decodes to 40,961 bytes, more than the 40,960 allowed",
        id="payload one byte over 40 KiB",
    ),
    pytest.param(
        lambda w: overlong_base64_payload(),
        "envelope.payload must be at most 54616 characters long",
        id="payload base64 longer than the schema allows",
    ),
    pytest.param(
        lambda w: oversized_envelope(),
        "envelope is 131,073 bytes, more than the 131,072 allowed",
        id="envelope one byte over the envelope limit",
    ),
    pytest.param(
        lambda w: unframable_envelope(),
        "envelope: its canonical form is 65,536 bytes, more than the 65,535 an entry bundle "
        "can frame (C2SP tlog-tiles)",
        id="canonical envelope longer than an entry bundle can frame",
    ),
    pytest.param(
        lambda w: (lambda env: env[: len(env) // 2])(envelope_bytes(new_ore(), LYNAS)),
        decoder_error,
        id="truncated envelope (cut in half)",
    ),
    pytest.param(
        lambda w: b"[" + envelope_bytes(new_ore(), LYNAS) + b"]",
        "envelope is a JSON array: write one envelope per line (JSON Lines) instead",
        id="envelope that is a JSON array",
    ),
    pytest.param(
        lambda w: envelope_bytes(new_ore(), LYNAS).replace(
            b"application/vnd.bloc.record+json", b"application/vnd.bloc.record+json\xff"
        ),
        lambda data: f"envelope is not valid UTF-8 (byte {data.index(0xFF)})",
        id="non-UTF-8 bytes in the envelope",
    ),
    pytest.param(
        lambda w: b"\xef\xbb\xbf" + envelope_bytes(new_ore(), LYNAS),
        "envelope starts with a UTF-8 byte-order mark",
        id="UTF-8 BOM before the envelope",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e.update(x=json.loads(nested(40))), new_ore()),
        "envelope: JSON nested deeper than 32 levels",
        id="envelope nested deeper than 32",
    ),
    pytest.param(
        lambda w: envelope_bytes(new_ore(), LYNAS) + b' {"more": 1}',
        decoder_error,
        id="trailing data after the envelope",
    ),
    # ----- payload: strict JSON --------------------------------------------------------------
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":10,"mass_kg":1000'),
        "payload: duplicate key 'mass_kg' in JSON object",
        id="duplicate key in the payload",
    ),
    pytest.param(
        lambda w: edited_payload(
            new_ore(), '"signer":"org:lynas"', '"signer":"org:lynas","signer":"org:shinetsu"'
        ),
        "payload: duplicate key 'signer' in JSON object",
        id="duplicate signer key in the payload",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":NaN'),
        "payload: NaN is not a JSON number",
        id="NaN mass",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":Infinity'),
        "payload: Infinity is not a JSON number",
        id="Infinity mass",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":-Infinity'),
        "payload: -Infinity is not a JSON number",
        id="-Infinity mass",
    ),
    pytest.param(
        lambda w: latin1_payload(),
        lambda data: f"payload is not valid UTF-8 (byte {payload_of(data).index(0xE9)})",
        id="non-UTF-8 bytes in the payload",
    ),
    pytest.param(
        lambda w: raw_envelope(b"\xef\xbb\xbf" + ORE_PAYLOAD, LYNAS),
        "payload starts with a UTF-8 byte-order mark",
        id="UTF-8 BOM in the payload",
    ),
    pytest.param(
        lambda w: edited_payload(new_oxide(), '"ndpr_oxide"', '"ndpr_oxide\\ud800"'),
        "payload.outputs[0].material holds a lone surrogate \\ud800 (not valid Unicode)",
        id="lone surrogate escape in a string",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"kind"', '"x":' + nested(40) + ',"kind"'),
        "payload: JSON nested deeper than 32 levels",
        id="payload nested deeper than 32",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"kind"', '"x":' + nested(31) + ',"kind"'),
        "payload: extraction: unknown field 'x'",
        id="payload nested exactly 32 deep reaches the schema",
    ),
    pytest.param(
        lambda w: raw_envelope(nested(20_000).encode(), LYNAS),
        "payload: JSON nested deeper than 32 levels",
        id="payload nested 20000 deep (recursion bomb within 40 KiB)",
    ),
    pytest.param(
        lambda w: raw_envelope(b"[" + ORE_PAYLOAD + b"]", LYNAS),
        "payload is not a JSON object",
        id="payload that is a JSON array",
    ),
    pytest.param(
        lambda w: raw_envelope(b"", LYNAS),
        "payload is not valid JSON: Expecting value at line 1 column 1",
        id="empty payload",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":1' + "0" * 5000),
        "payload: number 100000000000... has 5001 characters, more than 40",
        id="mass with 5001 digits",
    ),
    # ----- payload: schema -------------------------------------------------------------------
    pytest.param(
        signed(new_ore(kind="assay")),
        "payload: record.kind 'assay' is not a known record kind",
        id="unknown record kind",
    ),
    pytest.param(
        signed(new_ore(schema_version=2)),
        "payload: extraction.schema_version 2 is not one of 1",
        id="schema_version 2",
    ),
    pytest.param(
        signed(new_ore(comment="approved by QA")),
        "payload: extraction: unknown field 'comment'",
        id="unknown extra field in the record",
    ),
    pytest.param(
        signed({k: v for k, v in new_ore().items() if k != "source"}),
        "payload: extraction: missing required field 'source'",
        id="missing required field",
    ),
    pytest.param(
        signed(new_ore(issued_at="2026-02-30T08:00:00Z")),
        'payload: extraction.issued_at "2026-02-30T08:00:00Z" is not a valid date-time'
        " (RFC 3339 with an offset, e.g. 2026-05-01T10:00:00Z)",
        id="malformed issued_at (February 30)",
    ),
    pytest.param(
        signed(new_ore(issued_at="2026-02-01T08:00:00")),
        'payload: extraction.issued_at "2026-02-01T08:00:00" is not a valid date-time'
        " (RFC 3339 with an offset, e.g. 2026-05-01T10:00:00Z)",
        id="issued_at without offset",
    ),
    pytest.param(
        signed(new_ore(issued_at="2099-01-01T00:00:00Z")),
        FUTURE,
        id="issued_at in the future",
    ),
    pytest.param(
        signed(new_ore(extracted_on="2026-13-01")),
        'payload: extraction.extracted_on "2026-13-01" is not a valid date',
        id="malformed extracted_on (month 13)",
    ),
    pytest.param(
        signed(extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "unobtainium", 10)])),
        "payload: extraction.lots[0].material 'unobtainium' is not a material in the vocabulary",
        id="material not in the vocabulary",
    ),
    pytest.param(
        signed(new_oxide(stage="alchemy")),
        "payload: transformation.stage 'alchemy' is not a stage in the vocabulary",
        id="stage not in the vocabulary",
    ),
    pytest.param(
        signed(extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "rare_earth_ore", -5)])),
        "payload: extraction.lots[0].mass_kg -5 must be more than 0",
        id="negative mass",
    ),
    pytest.param(
        signed(extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "rare_earth_ore", 0)])),
        "payload: extraction.lots[0].mass_kg 0 must be more than 0",
        id="zero mass",
    ),
    pytest.param(
        signed(
            extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "rare_earth_ore", 1.2345)])
        ),
        "payload: extraction.lots[0].mass_kg 1.2345 kg has more than three decimals",
        id="mass with four decimals",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":1E-4'),
        "payload: extraction.lots[0].mass_kg 0.0001 kg has more than three decimals",
        id="mass in exponent notation finer than a gram",
    ),
    pytest.param(
        signed(extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "rare_earth_ore", "10")])),
        'payload: extraction.lots[0].mass_kg must be of type number, got "10"',
        id="mass as a string",
    ),
    pytest.param(
        signed(extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "rare_earth_ore", True)])),
        "payload: extraction.lots[0].mass_kg must be of type number, got true",
        id="boolean mass",
    ),
    pytest.param(
        signed(
            extraction(
                "lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "rare_earth_ore", 10**12 + 1)]
            )
        ),
        "payload: extraction.lots[0].mass_kg 1000000000001 must be at most 1000000000000",
        id="mass over a billion tonnes",
    ),
    pytest.param(
        signed(new_ore(lot="lot:lynas/ORE-9\n")),
        'payload: extraction.lots[0].id "lot:lynas/ORE-9\\n" does not have the required form',
        id="lot id with a trailing newline",
    ),
    pytest.param(
        signed(
            transformation(
                "lynas",
                "lynas-kuantan",
                "separation",
                [],
                [("lot:lynas/NDPR-9", "ndpr_oxide", 20)],
            )
        ),
        "payload: transformation has no inputs: list traced inputs or untraced_inputs",
        id="transformation with no inputs at all",
    ),
    pytest.param(
        signed(
            transformation(
                "lynas",
                "lynas-kuantan",
                "separation",
                [("lot:lynas/ORE-1", 100), ("lot:lynas/ORE-1", 200)],
                [("lot:lynas/NDPR-9", "ndpr_oxide", 20)],
            )
        ),
        "payload: transformation.inputs lists lot:lynas/ORE-1 twice",
        id="the same lot twice in inputs",
    ),
    pytest.param(
        signed(
            transformation(
                "lynas",
                "lynas-kuantan",
                "split",
                [("lot:lynas/ORE-1", 100)],
                [("lot:lynas/ORE-1", "rare_earth_concentrate", 100)],
            )
        ),
        "payload: transformation outputs lot:lynas/ORE-1 which it also consumes",
        id="transformation that outputs its own input",
    ),
    pytest.param(
        signed(new_shipment(to_facility="fac:lynas-kuantan")),
        "payload: shipment.to_facility fac:lynas-kuantan is its from_facility",
        id="shipment to its own facility",
    ),
    pytest.param(
        signed(
            extraction(
                "lynas",
                "lynas-mt-weld",
                [
                    ("lot:lynas/ORE-9", "rare_earth_ore", 10),
                    ("lot:lynas/ORE-9", "rare_earth_ore", 5),
                ],
            )
        ),
        "payload: extraction.lots lists lot:lynas/ORE-9 twice",
        id="the same new lot twice in one extraction",
    ),
    pytest.param(
        signed(
            receipt(
                "shinetsu",
                "ship:lynas/S-1",
                "shinetsu-takefu",
                [("lot:lynas/NDPR-1", 100), ("lot:lynas/NDPR-1", 5099.8)],
            ),
            SHINETSU,
        ),
        "payload: receipt.lots lists lot:lynas/NDPR-1 twice",
        id="the same lot twice in a receipt",
    ),
    pytest.param(
        signed(new_ore(issued_at="2026-06-30T23:59:60Z")),
        'payload: extraction.issued_at "2026-06-30T23:59:60Z" is not a valid date-time'
        " (RFC 3339 with an offset, e.g. 2026-05-01T10:00:00Z)",
        id="issued_at on a leap second",
    ),
    pytest.param(
        signed(new_ore(issued_at="0001-01-01T00:00:00+01:00")),
        "payload: extraction.issued_at '0001-01-01T00:00:00+01:00' is out of the supported "
        "range of years",
        id="issued_at before year 1 in UTC",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"kind":"extraction"', '"kind":["extraction"]'),
        "payload: record.kind ['extraction'] is not a known record kind",
        id="record kind that is a list",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":1e99999'),
        "payload: number 1e99999 is out of range",
        id="mass with a huge exponent",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":1e-99999'),
        "payload: number 1e-99999 is out of range",
        id="mass with a huge negative exponent",
    ),
    pytest.param(
        by_registrar(
            {
                **participant("eve"),
                "control": [
                    {"holder": "A", "country": "CN", "percent": 60, "government": True},
                    {"holder": "B", "country": "AU", "percent": 50, "government": False},
                ],
            }
        ),
        "payload: participant.control percentages add up to 110, more than 100",
        id="control percentages over 100",
    ),
    pytest.param(
        by_registrar(facility("eve-works", "lynas", ["mining", "transmutation"])),
        "payload: facility.stages[1] 'transmutation' is not a stage in the vocabulary",
        id="facility registered for a stage not in the vocabulary",
    ),
    pytest.param(
        by_registrar(
            {**facility("lynas-perth", "lynas", ["mining"], country="AU"), "region": "JP-18"}
        ),
        "payload: facility.region JP-18 is not in facility.country AU",
        id="facility region in another country",
    ),
    pytest.param(
        by_registrar(participant_keyid_mismatch()),
        f"payload: participant.keys[0].keyid {SHINETSU_ID} is not the SHA-256 of its public_key",
        id="participant keyid not matching its public key",
    ),
    # ----- signature ------------------------------------------------------------------------
    pytest.param(
        signed(new_ore(), STRANGER),
        f"signature: envelope.signatures[0].keyid {STRANGER_ID} is not a registered "
        "participant key",
        id="signature by an unknown key",
    ),
    pytest.param(
        lambda w: flipped_signature(),
        f"signature: envelope.signatures[0]: signature by key {LYNAS_ID} does not verify",
        id="signature that does not verify (one bit flipped)",
    ),
    pytest.param(
        lambda w: short_signature(),
        f"signature: envelope.signatures[0]: signature by key {LYNAS_ID} does not verify",
        id="signature of the wrong length",
    ),
    pytest.param(
        lambda w: other_payload_type_signature(),
        f"signature: envelope.signatures[0]: signature by key {LYNAS_ID} does not verify",
        id="signature over another payloadType",
    ),
    pytest.param(
        lambda w: forged_copy_of_logged_record(w),
        f"signature: envelope.signatures[0]: signature by key {LYNAS_ID} does not verify",
        id="forged signature on a record already in the log",
    ),
    pytest.param(
        lambda w: relabelled_signature(),
        f"signature: envelope.signatures[0]: signature by key {LYNAS_ID} does not verify",
        id="mallory's signature labelled with lynas's keyid",
    ),
    pytest.param(
        signed(new_ore(), MALLORY),
        "signature: extraction.signer org:lynas: no signature by a key of org:lynas (signed "
        f"with key {MALLORY.keyid} of org:mallory: sign with a key of org:lynas)",
        id="another participant's key (mallory signs a lynas record)",
    ),
    pytest.param(
        # issued_at moves with received_on: an event dated after its signing is rejected
        # first (issue 11 item 9, ADR 0021).
        signed(new_receipt(received_on="2026-04-03", issued_at="2026-04-04T07:30:00Z"), LYNAS),
        "signature: receipt.signer org:shinetsu: no signature by a key of org:shinetsu (signed "
        f"with key {LYNAS_ID} of org:lynas: sign with a key of org:shinetsu)",
        id="signed by the lynas key with signer org:shinetsu",
    ),
    pytest.param(
        with_revoked_lynas_key,
        f"signature: envelope.signatures[0]: key {LYNAS_ID} of org:lynas is revoked: "
        "compromised since 2026-04-01T00:00:00Z, record issued 2026-05-01T00:00:00Z; to "
        "recover, the registrar registers a new key for org:lynas (a participant record "
        "listing it, with 'bloc register') and you sign again with that key",
        id="signature by a revoked key",
    ),
    pytest.param(
        before_valid_from,
        f"signature: envelope.signatures[0]: key {NEO_ID} of org:neo is valid only from "
        "2026-03-01T00:00:00Z, record issued 2026-02-01T08:00:00Z",
        id="record issued before the key's valid_from",
    ),
    pytest.param(
        after_valid_until,
        f"signature: envelope.signatures[0]: key {NEO_ID} of org:neo expired at "
        "2026-02-01T00:00:00Z, record issued 2026-03-01T00:00:00Z",
        id="record issued after the key's valid_until",
    ),
    pytest.param(
        signed(participant("eve"), LYNAS),
        f"signature: envelope.signatures[0].keyid {LYNAS_ID} is not a registrar key of root.json",
        id="participant record signed by a participant key",
    ),
    pytest.param(
        signed({**participant("eve"), "signer": "org:lynas"}, LYNAS),
        "signature: participant.signer org:lynas is not org:registrar: only the registrar "
        "registers participants, facilities and revocations",
        id="participant record with a participant as signer",
    ),
    pytest.param(
        lambda w: raw_envelope(to_json({**new_ore(), "signer": "org:registrar"}), w.registrar),
        "signature: extraction.signer org:registrar cannot sign supply-chain events",
        id="registrar signs a supply-chain event",
    ),
    # ----- authority ------------------------------------------------------------------------
    pytest.param(
        signed(extraction("lynas", "mallory-works", [("lot:lynas/ORE-9", "rare_earth_ore", 10)])),
        "authority: extraction.facility fac:mallory-works is operated by org:mallory, "
        "not by org:lynas",
        id="signer not operating the facility",
    ),
    pytest.param(
        signed(new_oxide(stage="sintering")),
        "authority: transformation.stage 'sintering' is not a stage facility fac:lynas-kuantan "
        # Kuantan cracks and separates (the world registers cracking_leaching: issue 11
        # item 10, ADR 0022).
        "is registered for (cracking_leaching, repack, separation, split)",
        id="stage the facility may not perform",
    ),
    pytest.param(
        signed(new_ore(source="recycled")),
        "authority: extraction.source 'recycled' means stage 'scrap_collection' is not a stage "
        "facility fac:lynas-mt-weld is registered for (beneficiation, mining)",
        id="recycled source at a facility without scrap_collection",
    ),
    pytest.param(
        signed(extraction("lynas", "nowhere", [("lot:lynas/ORE-9", "rare_earth_ore", 10)])),
        "authority: extraction.facility fac:nowhere is not a registered facility",
        id="extraction at an unregistered facility",
    ),
    pytest.param(
        signed(new_shipment(from_facility="fac:shinetsu-takefu", to_facility="fac:lynas-kuantan")),
        "authority: shipment.from_facility fac:shinetsu-takefu is operated by org:shinetsu, "
        "not by org:lynas",
        id="shipment from someone else's facility",
    ),
    # ----- reference ------------------------------------------------------------------------
    pytest.param(
        signed(
            transformation(
                "lynas",
                "lynas-kuantan",
                "separation",
                [("lot:lynas/GHOST-1", 100)],
                [("lot:lynas/NDPR-9", "ndpr_oxide", 20)],
            )
        ),
        "reference: transformation.inputs[0] lot:lynas/GHOST-1 does not exist "
        "(not created by an earlier record)",
        id="consuming an unknown lot",
    ),
    pytest.param(
        signed(new_shipment(lots=["lot:lynas/GHOST-1"])),
        "reference: shipment.lots[0] lot:lynas/GHOST-1 does not exist "
        "(not created by an earlier record)",
        id="shipping an unknown lot",
    ),
    pytest.param(
        signed(new_shipment(to_facility="fac:nowhere")),
        "reference: shipment.to_facility fac:nowhere is not a registered facility",
        id="shipment to an unregistered facility",
    ),
    pytest.param(
        signed(receipt("lynas", "ship:lynas/S-1", "lynas-kuantan", [("lot:lynas/NDPR-1", 5200.5)])),
        "reference: receipt.facility fac:lynas-kuantan is not the destination of ship:lynas/S-1 "
        "(fac:shinetsu-takefu)",
        id="receipt at a facility that is not the destination",
    ),
    pytest.param(
        signed(new_receipt(shipment="ship:lynas/S-404"), SHINETSU),
        "reference: receipt.shipment ship:lynas/S-404 does not exist",
        id="receipt of an unknown shipment",
    ),
    pytest.param(
        receipt_of_other_lot,
        "reference: receipt.lots[0].lot lot:lynas/ORE-1 is not in ship:lynas/S-9",
        id="receipt listing a lot not in the shipment",
    ),
    pytest.param(
        signed(new_receipt(received_on="2026-04-03", issued_at="2026-04-04T07:30:00Z"), SHINETSU),
        "reference: receipt.shipment ship:lynas/S-1 was already received at log index 10",
        id="second receipt of the same shipment",
    ),
    pytest.param(
        by_registrar(facility("ghost-works", "ghost", ["mining"])),
        "reference: facility.operator org:ghost is not a registered participant",
        id="facility whose operator is unregistered",
    ),
    pytest.param(
        by_registrar(revocation("lynas", SHINETSU_ID, "2026-04-01T00:00:00Z")),
        f"reference: key_revocation.keyid {SHINETSU_ID} is not a key of org:lynas",
        id="key_revocation for a key the participant does not have",
    ),
    # ----- identity -------------------------------------------------------------------------
    pytest.param(
        signed(new_ore(lot="lot:shinetsu/ORE-9")),
        "identity: extraction.lots[0].id lot:shinetsu/ORE-9 is not in the namespace of its "
        "signer org:lynas",
        id="lot id in another participant's namespace",
    ),
    pytest.param(
        signed(new_ore(lot="lot:lynas/ORE-1")),
        "identity: extraction.lots[0].id lot:lynas/ORE-1 already exists",
        id="reused lot id",
    ),
    pytest.param(
        signed(
            transformation(
                "lynas",
                "lynas-kuantan",
                "separation",
                [("lot:lynas/ORE-1", 100)],
                [("lot:lynas/NDPR-1", "ndpr_oxide", 20)],
            )
        ),
        "identity: transformation.outputs[0].id lot:lynas/NDPR-1 already exists",
        id="transformation output reusing a lot id",
    ),
    pytest.param(
        signed(new_shipment(id="ship:shinetsu/S-9")),
        "identity: shipment.id ship:shinetsu/S-9 is not in the namespace of its signer org:lynas",
        id="shipment id in another namespace",
    ),
    pytest.param(
        signed(new_shipment(id="ship:lynas/S-1")),
        "identity: shipment.id ship:lynas/S-1 already exists",
        id="reused shipment id",
    ),
    pytest.param(
        by_registrar(participant("registrar")),
        "identity: participant.id org:registrar is reserved",
        id="participant id org:registrar",
    ),
    pytest.param(
        by_registrar(key_theft_registration()),
        f"identity: participant.keys[0].keyid {LYNAS_ID} is already a key of org:lynas",
        id="participant registering another participant's key",
    ),
    pytest.param(
        replay_with_extra_signature,
        lambda data: (
            f"identity: record {hashlib.sha256(payload_of(data)).hexdigest()} is already in the "
            "log at index 7 (with other signatures)"
        ),
        id="replayed record with an extra signature",
    ),
]


# --- admission, in memory -----------------------------------------------------------------


def assert_one_line_naming_the_value(message: str, expected: Expected) -> None:
    assert "\n" not in message, message
    assert len(message) <= MAX_MESSAGE, f"{len(message):,} characters: {message[:200]}..."
    if isinstance(expected, re.Pattern):
        assert expected.fullmatch(message), message
    else:
        assert message == expected


@pytest.mark.parametrize(("build", "expected"), CASES)
def test_bad_input_is_rejected_at_admission(
    memory_world: MemoryWorld, build: Build, expected: Expected
) -> None:
    data = build(memory_world)
    if callable(expected):
        expected = expected(data)
    # bloc submit reads such a file as one envelope, not as JSON Lines.
    assert len(split_documents("envelope.json", data)) == 1
    before = memory_world.state()

    (result,) = memory_world.submit([data])

    assert not result.accepted
    assert not result.storage_failure
    assert memory_world.state() == before
    assert result.error is not None
    assert_one_line_naming_the_value(result.error, expected)


# --- the limits at their boundaries (ADR 0033) ---------------------------------------------


def test_an_envelope_whose_canonical_form_exceeds_an_entry_bundle_frame_is_refused(
    memory_world: MemoryWorld,
) -> None:
    """Only the canonical check catches it: its payload, signature count and input size are
    all within their limits. It runs before the payload and signature checks (step 1)."""
    data = unframable_envelope()
    env = json.loads(data)
    assert len(base64.b64decode(env["payload"])) <= MAX_PAYLOAD_BYTES
    assert len(env["signatures"]) <= 16
    assert len(data) == MAX_CANONICAL_ENVELOPE_BYTES + 1 < MAX_ENVELOPE_BYTES
    before = memory_world.state()

    (result,) = memory_world.submit([data])

    assert result.error == (
        "envelope: its canonical form is 65,536 bytes, more than the 65,535 an entry bundle "
        "can frame (C2SP tlog-tiles)"
    )
    assert memory_world.state() == before


def test_an_envelope_whose_canonical_form_fills_an_entry_bundle_frame_passes_the_envelope_check(
    memory_world: MemoryWorld,
) -> None:
    """65,534 bytes is the longest canonical envelope within 65,535 (every one has an even
    length). Filling the frame takes signatures longer than Ed25519's, so admission refuses it
    later, at the signature check: steps 1 and 2 let it through, and its entry bundle holds it."""
    data = largest_framable_envelope()
    opened = open_envelope(data)
    assert len(opened.canonical) == MAX_CANONICAL_ENVELOPE_BYTES - 1
    assert encode_entry_bundle([opened.canonical])[:2] == (65_534).to_bytes(2, "big")
    second = json.loads(data)["signatures"][1]["keyid"]
    before = memory_world.state()

    (result,) = memory_world.submit([data])

    assert result.error == (
        f"signature: envelope.signatures[1].keyid {second} is not a registered participant key"
    )
    assert memory_world.state() == before


def test_a_record_of_exactly_40_kib_is_admitted(memory_world: MemoryWorld) -> None:
    """The largest payload, signed by its signer, is admitted; its canonical envelope (54,868
    bytes with one signature, 57,478 with sixteen) fits an entry bundle."""
    data = padded_payload(MAX_PAYLOAD_BYTES)
    assert len(data) == 54_868
    size = memory_world.state()[0]

    (result,) = memory_world.submit([data])

    assert result.accepted, result.error
    assert result.log_index == size
    assert memory_world.state()[0] == size + 1


# --- running through the command line ----------------------------------------------------

THROUGH_THE_COMMAND_LINE = {
    # one or more per admission check
    "duplicate key in the envelope",
    "non-UTF-8 bytes in the payload",
    "signer not operating the facility",
    "lot id with a trailing newline",
    # a file of over 128 KiB, one too long for an entry bundle, and one that is not JSON at all
    "envelope one byte over the envelope limit",
    "canonical envelope longer than an entry bundle can frame",
    "truncated envelope (cut in half)",
    # the command line's clock (the in-memory ledger admits at helpers.NOW)
    "issued_at in the future",
    # records submitted to the database first, or log indexes and record ids read from it
    "signature by a revoked key",
    "receipt listing a lot not in the shipment",
    "second receipt of the same shipment",
    "replayed record with an extra signature",
}
"""The cases that also run through ``bloc submit`` on each database backend."""

CLI_CASES = [case for case in CASES if case.id in THROUGH_THE_COMMAND_LINE]


def submit(world: World, path: Path, *options: str) -> Result:
    runner = CliRunner()
    return runner.invoke(
        bloc, ["--home", str(world.home.path), "submit", *options, str(path)], catch_exceptions=True
    )


def assert_rejected_cleanly(result: Result, before: tuple[int, bytes, int], world: World) -> None:
    assert result.exit_code == 5, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr == "bloc: 1 of 1 envelopes rejected\n"
    assert world.state() == before


@pytest.mark.parametrize(("build", "expected"), CLI_CASES)
def test_bad_input_is_rejected_by_bloc_submit(
    world: World,
    tmp_path: Path,
    build: Build,
    expected: Expected,
) -> None:
    data = build(world)
    if callable(expected):
        expected = expected(data)
    path = tmp_path / "envelope.json"
    path.write_bytes(data)
    before = world.state()

    result = submit(world, path)

    assert_rejected_cleanly(result, before, world)
    line = result.stdout
    prefix = f"{path}: rejected: "
    assert line.startswith(prefix), line
    assert line.endswith("\n"), line
    assert line.count("\n") == 1, line
    assert_one_line_naming_the_value(line[len(prefix) : -1], expected)


JSON_CASES = [
    pytest.param(
        signed(new_ore(lot="lot:lynas/ORE-1")),
        "identity: extraction.lots[0].id lot:lynas/ORE-1 already exists",
        id="reused lot id",
    ),
    pytest.param(
        lambda w: edited_payload(new_ore(), '"mass_kg":10', '"mass_kg":NaN'),
        "payload: NaN is not a JSON number",
        id="NaN mass",
    ),
    pytest.param(
        signed(new_ore(), STRANGER),
        f"signature: envelope.signatures[0].keyid {STRANGER_ID} is not a registered "
        "participant key",
        id="signature by an unknown key",
    ),
    pytest.param(
        lambda w: edited_envelope(lambda e: e.update(payload="not base64!"), new_ore()),
        'envelope.payload "not base64!" does not have the required form',
        id="payload not base64",
    ),
    pytest.param(
        signed(new_oxide(stage="sintering")),
        "authority: transformation.stage 'sintering' is not a stage facility fac:lynas-kuantan "
        # Kuantan cracks and separates (the world registers cracking_leaching: issue 11
        # item 10, ADR 0022).
        "is registered for (cracking_leaching, repack, separation, split)",
        id="stage the facility may not perform",
    ),
]


@pytest.mark.parametrize(("build", "expected"), JSON_CASES)
def test_bad_input_is_rejected_as_json(
    world: World, tmp_path: Path, build: Build, expected: str
) -> None:
    path = tmp_path / "envelope.json"
    path.write_bytes(build(world))
    before = world.state()

    result = submit(world, path, "--json")

    assert_rejected_cleanly(result, before, world)
    (line,) = result.stdout.splitlines()
    answer = json.loads(line)
    # What the record is, when it could be read this far (the server answers the same).
    named = {key: answer.pop(key) for key in ("record_id", "kind") if key in answer}
    assert answer == {"source": str(path), "status": "rejected", "reason": expected}
    assert set(named) in (set(), {"record_id", "kind"})


def test_every_case_has_a_distinct_name() -> None:
    names = [case.id for case in CASES]
    assert len(names) == len(set(names)) >= 45
    assert {case.id for case in CLI_CASES} == THROUGH_THE_COMMAND_LINE
