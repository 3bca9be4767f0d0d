"""ledger.records.model (decode_record and record invariants) and ledger.records.trust (root.json).

Every worked example shipped in ``ledger.schemas/examples`` must decode; each invariant the
schema cannot express is then broken in one named way at a time.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from ledger.core.signing import KeyId
from ledger.errors import InputError
from ledger.records.model import (
    END_USES,
    Extraction,
    Facility,
    KeyGrant,
    KeyRevocation,
    Participant,
    Receipt,
    Shipment,
    Transformation,
    decode_record,
    namespace_of,
    record_id_of,
)
from ledger.records.trust import TrustRoot

from helpers import key_for, participant, to_json

EXAMPLES = resources.files("ledger.schemas") / "examples"
EXAMPLE_NAMES = sorted(entry.name for entry in EXAMPLES.iterdir() if entry.name.endswith(".json"))
KIND_CLASSES: dict[str, type] = {
    "participant": Participant,
    "facility": Facility,
    "key_revocation": KeyRevocation,
    "extraction": Extraction,
    "transformation": Transformation,
    "shipment": Shipment,
    "receipt": Receipt,
}


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def decode(record: dict[str, Any]) -> Any:
    return decode_record(to_json(record))


def rejected(record: dict[str, Any] | bytes) -> str:
    payload = record if isinstance(record, bytes) else to_json(record)
    with pytest.raises(InputError) as info:
        decode_record(payload)
    return str(info.value)


def changed(name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    record = copy.deepcopy(example(name))
    change(record)
    return record


# --- the worked examples ----------------------------------------------------------------------


def test_every_kind_has_an_example() -> None:
    kinds = {example(name)["kind"] for name in EXAMPLE_NAMES}
    assert kinds == set(KIND_CLASSES)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_decodes_from_its_exact_bytes(name: str) -> None:
    payload = (EXAMPLES / name).read_bytes()
    record = decode_record(payload)
    data = example(name)
    assert isinstance(record, KIND_CLASSES[data["kind"]])
    assert record.kind == data["kind"]
    assert record.signer == data["signer"]
    assert record.issued_at.tzinfo is UTC
    assert record_id_of(payload) == hashlib.sha256(payload).hexdigest()


def test_transformation_example_grams_exact() -> None:
    record = decode(example("transformation.json"))
    assert isinstance(record, Transformation)
    assert record.stage == "separation"
    assert record.performed_on == date(2026, 3, 2)
    assert [(lot.id, lot.material, lot.grams) for lot in record.outputs] == [
        ("lot:lynas/KU-NDPR-001", "ndpr_oxide", 5_200_500),
        ("lot:lynas/KU-HREE-001", "mixed_rare_earth_carbonate", 1_400_000),
    ]
    assert [(a.lot, a.grams) for a in record.inputs] == [("lot:lynas/MW-2026-001", 25_000_000)]


def test_alloy_example_untraced_inputs() -> None:
    record = decode(example("transformation-alloy.json"))
    assert isinstance(record, Transformation)
    assert [(u.material, u.grams, u.declared_origin) for u in record.untraced_inputs] == [
        ("iron", 680_000, "JP"),
        ("boron", 10_000, None),
    ]


def test_receipt_example_grams_exact() -> None:
    record = decode(example("receipt.json"))
    assert isinstance(record, Receipt)
    assert record.lots[0].grams == 5_199_800


def test_extraction_example() -> None:
    record = decode(example("extraction.json"))
    assert isinstance(record, Extraction)
    assert record.stage == "mining"
    assert record.issued_at == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
    assert record.lots[0].grams == 25_000_000


def test_recycled_extraction_is_scrap_collection() -> None:
    record = decode(changed("extraction.json", lambda r: r.update(source="recycled")))
    assert record.stage == "scrap_collection"


def test_participant_example_keys_and_control() -> None:
    record = decode(example("participant-feoc.json"))
    assert isinstance(record, Participant)
    assert [(c.country, c.percent, c.government) for c in record.control] == [
        ("CN", Decimal(35), True),
        ("MY", Decimal(65), False),
    ]
    (grant,) = record.keys
    assert grant.public_key.keyid == grant.keyid
    assert grant.valid_until is None


def test_shipment_example() -> None:
    record = decode(example("shipment.json"))
    assert isinstance(record, Shipment)
    assert record.lots == ("lot:lynas/KU-NDPR-001",)
    assert record.documents[0].type == "bill_of_lading"
    assert record.contract is None


def test_namespace_of() -> None:
    assert namespace_of("lot:acme/17") == "acme"
    assert namespace_of("org:acme") == "acme"
    assert namespace_of("ship:acme/S-1") == "acme"


# --- invariants: named bad records ------------------------------------------------------------


def test_duplicate_output_ids() -> None:
    def change(r: dict[str, Any]) -> None:
        r["outputs"][1]["id"] = r["outputs"][0]["id"]

    assert (
        rejected(changed("transformation.json", change))
        == "transformation.outputs lists lot:lynas/KU-NDPR-001 twice"
    )


def test_input_consumed_and_output_with_same_id() -> None:
    def change(r: dict[str, Any]) -> None:
        r["outputs"][1]["id"] = r["inputs"][0]["lot"]

    assert (
        rejected(changed("transformation.json", change))
        == "transformation outputs lot:lynas/MW-2026-001 which it also consumes"
    )


def test_transformation_with_no_inputs() -> None:
    record = changed("transformation.json", lambda r: r.update(inputs=[], untraced_inputs=[]))
    assert rejected(record) == (
        "transformation has no inputs: list traced inputs or untraced_inputs"
    )


def test_transformation_with_only_untraced_inputs_is_fine() -> None:
    record = decode(
        changed(
            "transformation.json",
            lambda r: r.update(inputs=[], untraced_inputs=[{"material": "iron", "mass_kg": 5}]),
        )
    )
    assert record.inputs == ()
    assert record.untraced_inputs[0].grams == 5_000


def test_duplicate_inputs() -> None:
    record = changed("transformation.json", lambda r: r["inputs"].append(dict(r["inputs"][0])))
    assert rejected(record) == "transformation.inputs lists lot:lynas/MW-2026-001 twice"


def test_duplicate_extraction_lots() -> None:
    record = changed("extraction.json", lambda r: r["lots"].append(dict(r["lots"][0])))
    assert rejected(record) == "extraction.lots lists lot:lynas/MW-2026-001 twice"


def test_duplicate_receipt_lots() -> None:
    record = changed("receipt.json", lambda r: r["lots"].append(dict(r["lots"][0])))
    assert rejected(record) == "receipt.lots lists lot:lynas/KU-NDPR-001 twice"


def test_shipment_to_itself() -> None:
    record = changed("shipment.json", lambda r: r.update(to_facility=r["from_facility"]))
    assert rejected(record) == "shipment.to_facility fac:lynas-kuantan is its from_facility"


def test_control_percent_sum_over_100() -> None:
    def change(r: dict[str, Any]) -> None:
        r["control"][0]["percent"] = Decimal("35.5")

    assert (
        rejected(changed("participant-feoc.json", change))
        == "participant.control percentages add up to 100.5, more than 100"
    )


def test_control_percent_sum_exactly_100_is_fine() -> None:
    def change(r: dict[str, Any]) -> None:
        r["control"][0]["percent"] = Decimal("34.5")
        r["control"][1]["percent"] = Decimal("65.5")

    record = decode(changed("participant-feoc.json", change))
    assert sum(c.percent for c in record.control) == 100


@pytest.mark.parametrize(
    "until",
    [
        pytest.param("2026-01-01T00:00:00Z", id="equal"),
        pytest.param("2026-01-01T01:00:00+02:00", id="equal-instant-other-offset"),
        pytest.param("2025-12-31T00:00:00Z", id="before"),
    ],
)
def test_key_valid_until_not_after_valid_from(until: str) -> None:
    def change(r: dict[str, Any]) -> None:
        r["keys"][0]["valid_until"] = until

    keyid = example("participant.json")["keys"][0]["keyid"]
    assert (
        rejected(changed("participant.json", change))
        == f"key {keyid}: valid_until is not after valid_from"
    )


def test_key_valid_until_after_valid_from() -> None:
    def change(r: dict[str, Any]) -> None:
        r["keys"][0]["valid_until"] = "2026-01-01T00:00:01Z"

    record = decode(changed("participant.json", change))
    assert record.keys[0].valid_until == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_keyid_mismatch() -> None:
    def change(r: dict[str, Any]) -> None:
        r["keys"][0]["keyid"] = key_for("someone-else").keyid

    assert rejected(changed("participant.json", change)) == (
        f"participant.keys[0].keyid {key_for('someone-else').keyid} is not the SHA-256 "
        "of its public_key"
    )


def test_key_listed_twice() -> None:
    alice = key_for("alice")
    record = participant("acme", keys=[alice, alice])
    assert rejected(record) == f"participant.keys lists {alice.keyid} twice"


def test_key_grant_invariants_direct() -> None:
    alice, bob = key_for("alice"), key_for("bob")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="is not the SHA-256 of its public_key"):
        KeyGrant(keyid=KeyId(bob.keyid), public_key=alice.public_key, valid_from=start)
    with pytest.raises(InputError, match="valid_until is not after valid_from"):
        KeyGrant(
            keyid=alice.keyid,
            public_key=alice.public_key,
            valid_from=start,
            valid_until=start - timedelta(seconds=1),
        )
    # An empty window is how a key withdrawn before it began is held (rotated_keys).
    withdrawn = KeyGrant(
        keyid=alice.keyid, public_key=alice.public_key, valid_from=start, valid_until=start
    )
    assert withdrawn.valid_until == withdrawn.valid_from


def test_unknown_material() -> None:
    def change(r: dict[str, Any]) -> None:
        r["outputs"][0]["material"] = "unobtainium"

    assert (
        rejected(changed("transformation.json", change))
        == "transformation.outputs[0].material 'unobtainium' is not a material in the vocabulary"
    )


def test_unknown_untraced_material() -> None:
    def change(r: dict[str, Any]) -> None:
        r["untraced_inputs"][1]["material"] = "adamantium"

    assert rejected(changed("transformation-alloy.json", change)) == (
        "transformation.untraced_inputs[1].material 'adamantium' is not a material in the "
        "vocabulary (did you mean 'germanium'?)"
    )


@pytest.mark.parametrize(
    ("misspelt", "meant"),
    [("ndpr_oxid", "ndpr_oxide"), ("tungsten_concentrat", "tungsten_concentrate"), ("xyzzy", None)],
)
def test_a_misspelt_material_gets_a_did_you_mean(misspelt: str, meant: str | None) -> None:
    def change(r: dict[str, Any]) -> None:
        r["outputs"][0]["material"] = misspelt

    message = rejected(changed("transformation.json", change))
    if meant is None:
        assert message.endswith("is not a material in the vocabulary")
    else:
        assert message.endswith(f"is not a material in the vocabulary (did you mean {meant!r}?)")


def test_unknown_stage() -> None:
    assert (
        rejected(changed("transformation.json", lambda r: r.update(stage="alchemy")))
        == "transformation.stage 'alchemy' is not a stage in the vocabulary"
    )


def test_unknown_facility_stage() -> None:
    assert (
        rejected(changed("facility.json", lambda r: r.update(stages=["mining", "teleportation"])))
        == "facility.stages[1] 'teleportation' is not a stage in the vocabulary (did you mean "
        "'separation'?)"
    )


def test_facility_region_must_be_in_its_country() -> None:
    # common.schema.json says the region's prefix is checked against the country by the
    # library; AU-WA is fine for an AU facility, JP-13 (Tokyo) is not.
    record = changed("facility.json", lambda r: r.update(region="JP-13"))
    message = rejected(record)
    assert "facility.region" in message
    assert "JP-13" in message


def test_mass_with_four_decimals() -> None:
    def change(r: dict[str, Any]) -> None:
        r["lots"][0]["mass_kg"] = Decimal("1.0001")

    assert (
        rejected(changed("extraction.json", change))
        == "extraction.lots[0].mass_kg 1.0001 kg has more than three decimals"
    )


def test_not_a_real_day() -> None:
    assert (
        rejected(changed("extraction.json", lambda r: r.update(extracted_on="2026-02-30")))
        == 'extraction.extracted_on "2026-02-30" is not a valid date'
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(b"[]", "payload is not a JSON object", id="not-an-object"),
        pytest.param(b'{"kind": 1}', "record.kind 1 is not a known record kind", id="kind-int"),
        pytest.param(b"{}", "record.kind None is not a known record kind", id="no-kind"),
        pytest.param(
            b'{"kind": "mystery"}',
            "record.kind 'mystery' is not a known record kind",
            id="unknown-kind",
        ),
        pytest.param(
            b'{"kind": "extraction", "kind": "receipt"}',
            "duplicate key 'kind' in JSON object",
            id="duplicate-kind",
        ),
    ],
)
def test_payload_shape(payload: bytes, message: str) -> None:
    assert rejected(payload) == message


def test_unknown_field() -> None:
    assert (
        rejected(changed("extraction.json", lambda r: r.update(extra=1)))
        == "extraction: unknown field 'extra'"
    )


def test_unknown_schema_version() -> None:
    assert (
        rejected(changed("extraction.json", lambda r: r.update(schema_version=2)))
        == "extraction.schema_version 2 is not one of 1"
    )


# --- defects found while testing: hostile but well-formed numbers and times --------------------


def with_mass(text: str) -> bytes:
    return (EXAMPLES / "extraction.json").read_bytes().replace(b": 25000", b": " + text.encode())


@pytest.mark.parametrize(
    "mass",
    [
        pytest.param("1e1000000", id="huge-exponent-over-maximum"),
        pytest.param("1e-1000000", id="tiny-exponent"),
    ],
)
def test_extreme_exponent_mass_gives_short_message(mass: str) -> None:
    # A ten-byte number must not turn into a megabyte-long error message (or a gigabyte
    # of digits): the parser refuses numbers beyond 10^±40 before anything expands them.
    assert rejected(with_mass(mass)) == f"number {mass} is out of range"


def test_mass_with_more_digits_than_decimal_precision() -> None:
    # 1.00000000000000000000000000001 kg is not a whole number of grams.
    assert rejected(with_mass("1.00000000000000000000000000001")).endswith(
        "has more than three decimals"
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            '"issued_at": "2026-01-05T09:00:00Z"',
            '"issued_at": "9999-12-31T23:59:59-01:00"',
            id="issued-at-after-9999-in-utc",
        ),
        pytest.param(
            '"valid_from": "2026-01-01T00:00:00Z"',
            '"valid_from": "0001-01-01T00:00:00+01:00"',
            id="valid-from-before-year-1-in-utc",
        ),
    ],
)
def test_timestamp_out_of_range_is_input_error(old: str, new: str) -> None:
    text = (EXAMPLES / "participant.json").read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(InputError):
        decode_record(text.replace(old, new).encode())


# --- trust root -------------------------------------------------------------------------------


def root() -> TrustRoot:
    return TrustRoot(
        origin="test.bloc/ledger",
        registrars=(key_for("registrar").public_key, key_for("registrar-2").public_key),
        log_key=key_for("log").public_key,
    )


def root_bytes(change: Callable[[dict[str, Any]], None] | None = None) -> bytes:
    data = root().to_dict()
    if change is not None:
        change(data)
    return json.dumps(data).encode()


def root_rejected(data: bytes) -> str:
    with pytest.raises(InputError) as info:
        TrustRoot.from_bytes(data)
    return str(info.value)


def test_trust_root_round_trip() -> None:
    parsed = TrustRoot.from_bytes(root_bytes())
    assert parsed == root()
    assert parsed.to_dict() == root().to_dict()
    assert dict(parsed.registrar_keys()) == {
        key_for("registrar").keyid: key_for("registrar").public_key,
        key_for("registrar-2").keyid: key_for("registrar-2").public_key,
    }


def test_trust_root_to_dict_shape() -> None:
    assert root().to_dict() == {
        "version": 1,
        "origin": "test.bloc/ledger",
        "registrars": [
            {"keyid": key_for(n).keyid, "public_key": key_for(n).public_key.to_base64()}
            for n in ("registrar", "registrar-2")
        ],
        "log": {"keyid": key_for("log").keyid, "public_key": key_for("log").public_key.to_base64()},
    }


def test_trust_root_registrar_keyid_mismatch() -> None:
    def change(d: dict[str, Any]) -> None:
        d["registrars"][1]["keyid"] = key_for("mallory").keyid

    assert root_rejected(root_bytes(change)) == (
        f"root.registrars[1].keyid {key_for('mallory').keyid} is not the SHA-256 of its public_key"
    )


def test_trust_root_log_keyid_mismatch() -> None:
    def change(d: dict[str, Any]) -> None:
        d["log"]["keyid"] = key_for("mallory").keyid

    assert root_rejected(root_bytes(change)) == (
        f"root.log.keyid {key_for('mallory').keyid} is not the SHA-256 of its public_key"
    )


def test_trust_root_missing_registrars() -> None:
    assert (
        root_rejected(root_bytes(lambda d: d.pop("registrars")))
        == "root: missing required field 'registrars'"
    )


def test_trust_root_empty_registrars() -> None:
    assert (
        root_rejected(root_bytes(lambda d: d.update(registrars=[])))
        == "root.registrars must have at least 1 item, has 0"
    )


def test_trust_root_constructed_without_registrars() -> None:
    with pytest.raises(InputError, match=r"^root\.json names no registrar key$"):
        TrustRoot(origin="x", registrars=(), log_key=key_for("log").public_key)


def test_trust_root_registrar_listed_twice() -> None:
    def change(d: dict[str, Any]) -> None:
        d["registrars"].append(dict(d["registrars"][0]))

    assert root_rejected(root_bytes(change)) == "root.registrars lists the same item twice"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda d: d.update(version=2), "root.version 2 is not one of 1", id="version"),
        pytest.param(
            lambda d: d.update(origin="a b"),
            'root.origin "a b" does not have the required form',
            id="origin-with-space",
        ),
        pytest.param(lambda d: d.pop("log"), "root: missing required field 'log'", id="no-log-key"),
        pytest.param(
            lambda d: d.update(extra=True), "root: unknown field 'extra'", id="unknown-field"
        ),
    ],
)
def test_trust_root_schema(change: Callable[[dict[str, Any]], None], message: str) -> None:
    assert root_rejected(root_bytes(change)) == message


def test_trust_root_too_large() -> None:
    assert (
        root_rejected(b" " * (64 * 1024 + 1))
        == "root.json is 65,537 bytes, more than the 65,536 allowed"
    )


def test_the_end_uses_the_cli_offers_are_the_schemas() -> None:
    """``check --all --end-use`` offers END_USES: they must be exactly what a shipment may
    declare, or a declared end use could never be selected."""
    from ledger.core.schema import read_document

    declared = read_document("shipment.schema.json")["properties"]["end_use"]["enum"]
    assert sorted(END_USES) == sorted(declared)
