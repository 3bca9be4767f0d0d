"""The JSON Schema documents in schemas/: well-formed, accept the worked examples, reject mistakes.

The schemas are read from the installed package (ledger.schemas), as the library reads
them: a wheel that forgot its package data fails here.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(str(resources.files("ledger.schemas")))
EXAMPLE_DIR = SCHEMA_DIR / "examples"
BASE_URI = "https://bloc-ledger.org/schemas/v1/"

KINDS = [
    "participant",
    "facility",
    "key_revocation",
    "extraction",
    "transformation",
    "shipment",
    "receipt",
]

# The materials and stages the ledger was specified with, written out here so that a term
# dropped from schemas/vocabulary.json fails a test (the vocabulary may add more).
REQUIRED_MATERIALS = [
    "rare_earth_ore", "rare_earth_concentrate", "mixed_rare_earth_carbonate", "ndpr_oxide",
    "dy_oxide", "tb_oxide", "samarium_oxide", "ndpr_metal", "dy_metal", "tb_metal",
    "samarium_metal", "ndfeb_alloy", "ndfeb_powder", "ndfeb_magnet", "smco_alloy", "smco_powder",
    "smco_magnet", "magnet_scrap", "iron_ore", "iron", "boron", "ferroboron", "cobalt_ore",
    "cobalt_hydroxide", "cobalt_metal", "tungsten_ore", "tungsten_concentrate", "apt",
    "tungsten_oxide", "tungsten_powder", "tungsten_carbide", "tungsten_heavy_alloy",
    "tungsten_scrap", "nickel", "tantalum_ore", "tantalum_concentrate", "k2taf7",
    "tantalum_oxide", "tantalum_powder", "tantalum_metal", "tantalum_scrap", "gallium",
    "germanium", "graphite_concentrate", "spherical_graphite", "graphite_anode",
    "lithium_concentrate", "lithium_carbonate", "lithium_hydroxide", "nickel_sulfate",
    "component",
]  # fmt: skip

REQUIRED_STAGES = [
    "mining", "beneficiation", "cracking_leaching", "separation", "metal_reduction",
    "alloy_melting", "powder_formation", "pressing", "sintering", "bonding",
    "grain_boundary_diffusion", "machining_finishing", "coating", "magnetization",
    "apt_refining", "calcination", "reduction_to_powder", "atomization", "carburization",
    "consolidation_sintering", "machining", "chemical_processing", "melting", "mill_processing",
    "recycling_reprocessing", "assembly",
    "scrap_collection", "split", "blend", "repack",
]  # fmt: skip

# The statutory verb of 10 U.S.C. 4872 (mined, refined, separated, melted, produced) that each
# stage performs, as schemas/vocabulary.json records it; None: the stage confers no origin.
STAGE_VERBS: dict[str, str | None] = {
    "mining": "mined",
    "beneficiation": "mined",
    "cracking_leaching": "refined",
    "metal_reduction": "refined",
    "apt_refining": "refined",
    "chemical_processing": "refined",
    "recycling_reprocessing": "refined",
    "separation": "separated",
    "alloy_melting": "melted",
    "melting": "melted",
    "powder_formation": "produced",
    "pressing": "produced",
    "sintering": "produced",
    "bonding": "produced",
    "grain_boundary_diffusion": "produced",
    "machining_finishing": "produced",
    "coating": "produced",
    "magnetization": "produced",
    "calcination": "produced",
    "reduction_to_powder": "produced",
    "atomization": "produced",
    "carburization": "produced",
    "consolidation_sintering": "produced",
    "machining": "produced",
    "mill_processing": "produced",
    "assembly": "produced",
    # Where recycled feed arises is 'production of ... feedstock, including recycled
    # material' (252.225-7052(b)(2)-(5) window B; issue 11 item 3, ADR 0018).
    "scrap_collection": "produced",
    "split": None,
    "blend": None,
    "repack": None,
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.schema.json"))
SCHEMAS: dict[str, dict[str, Any]] = {p.name: _load(p) for p in SCHEMA_FILES}
REGISTRY: Registry = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
    for schema in SCHEMAS.values()
)
EXAMPLE_FILES = sorted(EXAMPLE_DIR.glob("*.json"))
EXAMPLES: dict[str, dict[str, Any]] = {p.name: _load(p) for p in EXAMPLE_FILES}
VOCABULARY: dict[str, Any] = _load(SCHEMA_DIR / "vocabulary.json")


def validator(schema_file: str) -> Draft202012Validator:
    return Draft202012Validator(
        SCHEMAS[schema_file],
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def errors(schema_file: str, instance: Any) -> list[ValidationError]:
    return list(validator(schema_file).iter_errors(instance))


def failures(schema_file: str, instance: Any) -> set[tuple[str, tuple[str | int, ...]]]:
    """The (keyword, instance path) of every error, e.g. {("pattern", ("lots", 0, "id"))}."""
    return {(str(e.validator), tuple(e.absolute_path)) for e in errors(schema_file, instance)}


def assert_rejected(
    instance: Any, keyword: str, path: tuple[str | int, ...], schema_files: list[str]
) -> None:
    """Each schema rejects the instance, and exactly with `keyword` at `path`."""
    for schema_file in schema_files:
        assert failures(schema_file, instance) == {(keyword, path)}, schema_file


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(EXAMPLES[name])


def kind_schemas(instance: dict[str, Any]) -> list[str]:
    """The schemas a record must satisfy: the generic record schema and its own kind's."""
    return ["record.schema.json", f"{instance['kind']}.schema.json"]


def walk_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_refs(item)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def a_key(seed: int) -> dict[str, str]:
    raw = bytes([seed]) * 32
    return {"keyid": hashlib.sha256(raw).hexdigest(), "public_key": b64(raw)}


def an_envelope() -> dict[str, Any]:
    payload = json.dumps(EXAMPLES["extraction.json"], separators=(",", ":")).encode()
    return {
        "payloadType": "application/vnd.bloc.record+json",
        "payload": b64(payload),
        "signatures": [{"keyid": a_key(1)["keyid"], "sig": b64(bytes(range(64)))}],
    }


def a_root() -> dict[str, Any]:
    return {
        "version": 1,
        "origin": "bloc-ledger.example/log",
        "registrars": [a_key(2)],
        "log": a_key(3),
    }


# (a) the documents themselves


def test_schema_files_are_all_there() -> None:
    expected = {f"{kind}.schema.json" for kind in KINDS} | {
        "common.schema.json",
        "record.schema.json",
        "envelope.schema.json",
        "root.schema.json",
        "vocabulary.schema.json",
        "integrity.schema.json",
        "policy.schema.json",
        "evidence.schema.json",
    }
    assert set(SCHEMAS) == expected


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = SCHEMAS[path.name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_URI + path.name
    assert schema["title"]
    assert schema["description"]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_ref_resolves(path: Path) -> None:
    schema = SCHEMAS[path.name]
    resolver = REGISTRY.resolver(base_uri=schema["$id"])
    refs = list(walk_refs(schema))
    for ref in refs:
        assert not ref.startswith("http"), f"use a relative filename: {ref}"
        resolver.lookup(ref)  # raises if unresolvable


@pytest.mark.parametrize("kind", KINDS)
def test_record_schema_is_strict_with_the_common_header(kind: str) -> None:
    schema = SCHEMAS[f"{kind}.schema.json"]
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["kind"]["const"] == kind
    assert {"kind", "schema_version", "issued_at", "signer"} <= set(schema["required"])


# (b) the worked examples


def test_there_is_an_example_of_every_kind() -> None:
    assert {e["kind"] for e in EXAMPLES.values()} == set(KINDS)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_validates(name: str) -> None:
    instance = EXAMPLES[name]
    for schema_file in kind_schemas(instance):
        assert errors(schema_file, instance) == [], schema_file


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_uses_vocabulary_terms(name: str) -> None:
    instance = EXAMPLES[name]
    lots = [lot for lot in instance.get("lots", []) if isinstance(lot, dict)]
    materials = [lot["material"] for lot in lots if "material" in lot]
    materials += [o["material"] for o in instance.get("outputs", [])]
    materials += [u["material"] for u in instance.get("untraced_inputs", [])]
    stages = instance.get("stages", []) + ([instance["stage"]] if "stage" in instance else [])
    assert set(materials) <= set(VOCABULARY["materials"])
    assert set(stages) <= set(VOCABULARY["stages"])


@pytest.mark.parametrize("kind", KINDS)
def test_example_of_one_kind_fails_another_kinds_schema(kind: str) -> None:
    other = next(e for e in EXAMPLES.values() if e["kind"] != kind)
    assert ("const", ("kind",)) in failures(f"{kind}.schema.json", other)


def test_a_valid_envelope_and_root_validate() -> None:
    assert errors("envelope.schema.json", an_envelope()) == []
    assert errors("root.schema.json", a_root()) == []


# (c) the vocabulary


def test_vocabulary_validates() -> None:
    assert errors("vocabulary.schema.json", VOCABULARY) == []


def test_vocabulary_has_every_required_material_and_stage() -> None:
    assert len(REQUIRED_MATERIALS) == len(set(REQUIRED_MATERIALS)) == 51
    assert len(REQUIRED_STAGES) == len(set(REQUIRED_STAGES)) == 30
    assert set(REQUIRED_MATERIALS) - set(VOCABULARY["materials"]) == set()
    assert set(REQUIRED_STAGES) - set(VOCABULARY["stages"]) == set()
    assert set(STAGE_VERBS) == set(REQUIRED_STAGES)


@pytest.mark.parametrize(("stage", "verb"), sorted(STAGE_VERBS.items()))
def test_stage_has_its_statutory_verb(stage: str, verb: str | None) -> None:
    entry = VOCABULARY["stages"][stage]
    assert entry["verb"] == verb
    assert entry["confers_origin"] is (verb is not None)


def test_every_material_family_is_declared() -> None:
    families = {m["family"] for m in VOCABULARY["materials"].values()}
    assert families == set(VOCABULARY["families"])


@pytest.mark.parametrize(
    ("material", "family"),
    [
        ("smco_magnet", "rare_earths"),
        ("samarium_metal", "rare_earths"),
        ("ndfeb_magnet", "rare_earths"),
        ("cobalt_ore", "cobalt"),
        ("cobalt_hydroxide", "cobalt"),
        ("cobalt_metal", "cobalt"),
        ("lithium_hydroxide", "lithium"),
        ("nickel", "nickel"),
        ("nickel_sulfate", "nickel"),
        ("spherical_graphite", "graphite"),
        ("ferroboron", "auxiliary"),
        ("iron_ore", "auxiliary"),
        ("magnet_scrap", "scrap"),
        ("tantalum_scrap", "scrap"),
        ("k2taf7", "tantalum"),
        ("apt", "tungsten"),
        ("component", "component"),
    ],
)
def test_material_family(material: str, family: str) -> None:
    assert VOCABULARY["materials"][material]["family"] == family


def test_vocabulary_stage_with_verb_must_confer_origin() -> None:
    vocabulary = copy.deepcopy(VOCABULARY)
    vocabulary["stages"]["split"]["confers_origin"] = True
    vocabulary["stages"]["mining"]["confers_origin"] = False
    assert failures("vocabulary.schema.json", vocabulary) == {
        ("const", ("stages", "split", "confers_origin")),
        ("const", ("stages", "mining", "confers_origin")),
    }


def test_vocabulary_unknown_verb_rejected() -> None:
    vocabulary = copy.deepcopy(VOCABULARY)
    vocabulary["stages"]["mining"]["verb"] = "extracted"
    assert ("enum", ("stages", "mining", "verb")) in failures("vocabulary.schema.json", vocabulary)


def test_vocabulary_term_not_snake_case_rejected() -> None:
    vocabulary = copy.deepcopy(VOCABULARY)
    vocabulary["materials"]["NdPr-Oxide"] = {"family": "rare_earths", "description": "x"}
    assert ("pattern", ("materials",)) in {
        (str(e.validator), tuple(e.absolute_path))
        for error in errors("vocabulary.schema.json", vocabulary)
        for e in [error, *error.context]
    }


# (d) mistakes


def test_unknown_field_rejected() -> None:
    record = example("shipment.json")
    record["carrier"] = "Maersk"
    assert_rejected(record, "additionalProperties", (), kind_schemas(record))


def test_unknown_field_in_nested_object_rejected() -> None:
    record = example("participant.json")
    record["keys"][0]["algorithm"] = "ed25519"
    assert_rejected(record, "additionalProperties", ("keys", 0), kind_schemas(record))


@pytest.mark.parametrize(
    "issued_at",
    [
        "2026-02-30T08:00:00Z",  # no such day: only the format checker catches it
        "2026-02-01 08:00",  # no seconds, no offset
        "2026-02-01T08:00:00",  # no offset
        "2026-02-01T08:00:00Z\n",  # trailing newline
    ],
)
def test_malformed_date_time_rejected(issued_at: str) -> None:
    record = example("extraction.json")
    record["issued_at"] = issued_at
    for schema_file in kind_schemas(record):
        found = failures(schema_file, record)
        assert found, schema_file
        assert {path for _, path in found} == {("issued_at",)}


def test_impossible_calendar_date_rejected() -> None:
    record = example("extraction.json")
    record["extracted_on"] = "2026-02-30"
    assert_rejected(record, "format", ("extracted_on",), kind_schemas(record))


def test_rfc3339_validator_is_active() -> None:
    """`date-time` is only checked when rfc3339-validator is importable: prove it is wired."""
    assert "date-time" in Draft202012Validator.FORMAT_CHECKER.checkers
    assert not Draft202012Validator.FORMAT_CHECKER.conforms("2026-02-30T08:00:00Z", "date-time")
    bad_day = example("extraction.json")
    bad_day["issued_at"] = "2026-02-30T08:00:00Z"  # matches the shape pattern, bad calendar
    assert_rejected(bad_day, "format", ("issued_at",), kind_schemas(bad_day))


def test_lower_case_t_and_z_rejected() -> None:
    record = example("extraction.json")
    record["issued_at"] = "2026-02-01t08:00:00z"  # RFC 3339 allows it; Python cannot parse it
    assert_rejected(record, "pattern", ("issued_at",), kind_schemas(record))


@pytest.mark.parametrize(
    "lot_id",
    [
        "lot:Lynas/MW-1",  # upper-case org slug
        "lot:lynas",  # no local part
        "lot:lynas/-MW-1",  # local part starts with '-'
        "lot:lynas/MW 1",  # space
        "lynas/MW-1",  # no prefix
        "lot:lynas/MW-1\n",  # trailing newline
    ],
)
def test_bad_lot_id_pattern_rejected(lot_id: str) -> None:
    record = example("extraction.json")
    record["lots"][0]["id"] = lot_id
    assert_rejected(record, "pattern", ("lots", 0, "id"), kind_schemas(record))


def test_over_long_lot_id_rejected() -> None:
    record = example("extraction.json")
    record["lots"][0]["id"] = "lot:lynas/" + "A" * 200
    assert_rejected(record, "maxLength", ("lots", 0, "id"), kind_schemas(record))


def test_participant_id_with_trailing_newline_rejected() -> None:
    record = example("extraction.json")
    record["signer"] = "org:lynas\n"
    assert_rejected(record, "pattern", ("signer",), kind_schemas(record))


def test_wrong_kind_const_rejected() -> None:
    record = example("extraction.json")
    record["kind"] = "shipment"
    assert ("const", ("kind",)) in failures("extraction.schema.json", record)


def test_unknown_kind_rejected() -> None:
    record = example("extraction.json")
    record["kind"] = "extractions"
    assert_rejected(record, "enum", ("kind",), ["record.schema.json"])


def test_record_without_kind_rejected() -> None:
    record = example("extraction.json")
    del record["kind"]
    assert_rejected(record, "required", (), ["record.schema.json", "extraction.schema.json"])


def test_record_dispatches_on_kind() -> None:
    """An extraction relabelled as a shipment fails the shipment schema's own requirements."""
    record = example("extraction.json")
    record["kind"] = "shipment"
    found = failures("record.schema.json", record)
    assert ("required", ()) in found
    assert ("additionalProperties", ()) in found


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_missing_signer_rejected(name: str) -> None:
    record = example(name)
    del record["signer"]
    assert_rejected(record, "required", (), kind_schemas(record))


def test_wrong_schema_version_rejected() -> None:
    record = example("receipt.json")
    record["schema_version"] = 2
    assert_rejected(record, "const", ("schema_version",), kind_schemas(record))


@pytest.mark.parametrize("mass", [0, -1, -0.001])
def test_mass_zero_or_negative_rejected(mass: float) -> None:
    record = example("extraction.json")
    record["lots"][0]["mass_kg"] = mass
    assert_rejected(record, "exclusiveMinimum", ("lots", 0, "mass_kg"), kind_schemas(record))


@pytest.mark.parametrize("mass", ["25000", True, None])
def test_mass_not_a_number_rejected(mass: object) -> None:
    record = example("receipt.json")
    record["lots"][0]["mass_kg"] = mass
    assert_rejected(record, "type", ("lots", 0, "mass_kg"), kind_schemas(record))


def test_absurd_mass_rejected() -> None:
    record = example("transformation.json")
    record["outputs"][0]["mass_kg"] = 1e13
    assert_rejected(record, "maximum", ("outputs", 0, "mass_kg"), kind_schemas(record))


def test_transformation_without_any_input_rejected() -> None:
    record = example("transformation.json")
    record["inputs"] = []
    record["untraced_inputs"] = []
    assert_rejected(record, "anyOf", (), kind_schemas(record))


def test_transformation_with_only_untraced_inputs_accepted() -> None:
    record = example("transformation-alloy.json")
    record["inputs"] = []
    for schema_file in kind_schemas(record):
        assert errors(schema_file, record) == []


def test_transformation_without_untraced_inputs_array_rejected() -> None:
    record = example("transformation.json")
    del record["untraced_inputs"]
    assert_rejected(record, "required", (), kind_schemas(record))


def test_shipment_duplicate_lot_rejected() -> None:
    record = example("shipment.json")
    record["lots"].append(record["lots"][0])
    assert_rejected(record, "uniqueItems", ("lots",), kind_schemas(record))


def test_shipment_unknown_end_use_rejected() -> None:
    record = example("shipment.json")
    record["end_use"] = "military"
    assert_rejected(record, "enum", ("end_use",), kind_schemas(record))


def test_extraction_unknown_source_rejected() -> None:
    record = example("extraction.json")
    record["source"] = "bought"
    assert_rejected(record, "enum", ("source",), kind_schemas(record))


def test_stage_not_snake_case_rejected() -> None:
    record = example("transformation.json")
    record["stage"] = "Alloy Melting"
    assert_rejected(record, "pattern", ("stage",), kind_schemas(record))


@pytest.mark.parametrize("country", ["au", "AUS", "A1"])
def test_bad_country_rejected(country: str) -> None:
    record = example("facility.json")
    record["country"] = country
    assert_rejected(record, "pattern", ("country",), kind_schemas(record))


def test_control_percent_over_100_rejected() -> None:
    record = example("participant.json")
    record["control"][0]["percent"] = 100.5
    assert_rejected(record, "maximum", ("control", 0, "percent"), kind_schemas(record))


def test_participant_without_keys_rejected() -> None:
    record = example("participant.json")
    record["keys"] = []
    assert_rejected(record, "minItems", ("keys",), kind_schemas(record))


@pytest.mark.parametrize(
    "public_key",
    [
        b64(bytes(31)),  # wrong length
        b64(bytes(32)).rstrip("="),  # no padding
        "pEOA0IuAsHRJtzPm1OTN9l7N1X2q-WEo49oimDG_jdU=",  # url-safe alphabet
        "pEOA0IuAsHRJtzPm1OTN9l7N1X2q+WEo49oimDG+jdV=",  # non-canonical last character
    ],
)
def test_bad_public_key_rejected(public_key: str) -> None:
    record = example("participant.json")
    record["keys"][0]["public_key"] = public_key
    assert_rejected(record, "pattern", ("keys", 0, "public_key"), kind_schemas(record))


def test_upper_case_keyid_rejected() -> None:
    record = example("key_revocation.json")
    record["keyid"] = record["keyid"].upper()
    assert_rejected(record, "pattern", ("keyid",), kind_schemas(record))


@pytest.mark.parametrize("name", ["Lynas\nRare Earths", "Lynas\x1b[31m", "", "x" * 1001])
def test_bad_text_rejected(name: str) -> None:
    record = example("participant.json")
    record["name"] = name
    assert {path for _, path in failures("participant.schema.json", record)} == {("name",)}


def test_envelope_with_extra_field_rejected() -> None:
    envelope = an_envelope()
    envelope["payload_type"] = envelope["payloadType"]
    assert_rejected(envelope, "additionalProperties", (), ["envelope.schema.json"])


def test_envelope_with_extra_field_in_signature_rejected() -> None:
    envelope = an_envelope()
    envelope["signatures"][0]["alg"] = "ed25519"
    assert_rejected(envelope, "additionalProperties", ("signatures", 0), ["envelope.schema.json"])


def test_envelope_with_url_safe_base64_payload_rejected() -> None:
    envelope = an_envelope()
    payload = base64.urlsafe_b64encode(b"\xfb\xff\xfe" * 10).decode("ascii")
    assert "-" in payload or "_" in payload
    envelope["payload"] = payload
    assert_rejected(envelope, "pattern", ("payload",), ["envelope.schema.json"])


@pytest.mark.parametrize(
    "payload",
    [
        "eyJr",  # valid: 3 bytes, no padding needed
        "eyI=",  # valid: one '=' of padding
        "eQ==",  # valid: two '=' of padding
    ],
)
def test_envelope_canonical_base64_payload_accepted(payload: str) -> None:
    envelope = an_envelope()
    envelope["payload"] = payload
    assert errors("envelope.schema.json", envelope) == []


@pytest.mark.parametrize(
    "payload",
    [
        "eyJ",  # missing padding
        "eQ=",  # short padding
        "eR==",  # non-canonical: unused bits set
        "eyJr\n",  # line break
        "ey Jr",  # space
    ],
)
def test_envelope_malformed_base64_payload_rejected(payload: str) -> None:
    envelope = an_envelope()
    envelope["payload"] = payload
    assert_rejected(envelope, "pattern", ("payload",), ["envelope.schema.json"])


def test_envelope_wrong_payload_type_rejected() -> None:
    envelope = an_envelope()
    envelope["payloadType"] = "application/json"
    assert_rejected(envelope, "const", ("payloadType",), ["envelope.schema.json"])


def test_envelope_without_signatures_rejected() -> None:
    envelope = an_envelope()
    envelope["signatures"] = []
    assert_rejected(envelope, "minItems", ("signatures",), ["envelope.schema.json"])


def test_envelope_empty_signature_rejected() -> None:
    envelope = an_envelope()
    envelope["signatures"][0]["sig"] = ""
    assert_rejected(envelope, "minLength", ("signatures", 0, "sig"), ["envelope.schema.json"])


def test_envelope_payload_over_40_kib_rejected() -> None:
    """maxLength is a coarse bound (base64 groups of 3 bytes); the parser checks exact bytes:
    up to 40 KiB + 2 bytes fit the 54,616 characters, 40 KiB + 3 need 54,620."""
    envelope = an_envelope()
    for size in (40 * 1024, 40 * 1024 + 2):
        envelope["payload"] = b64(bytes(size))
        assert errors("envelope.schema.json", envelope) == []
    envelope["payload"] = b64(bytes(40 * 1024 + 3))
    assert len(envelope["payload"]) == 54_620
    assert_rejected(envelope, "maxLength", ("payload",), ["envelope.schema.json"])


def test_real_base64_output_always_matches() -> None:
    for n in range(0, 40):
        data = hashlib.sha512(bytes([n])).digest()[: n % 33] + bytes([255]) * (n // 33)
        envelope = an_envelope()
        envelope["payload"] = b64(data)
        envelope["signatures"][0]["sig"] = b64(data + b"x")
        assert errors("envelope.schema.json", envelope) == [], data


def test_root_missing_log_rejected() -> None:
    root = a_root()
    del root["log"]
    assert_rejected(root, "required", (), ["root.schema.json"])


@pytest.mark.parametrize("origin", ["bloc ledger", "bloc+ledger", "-bloc", ""])
def test_root_bad_origin_rejected(origin: str) -> None:
    root = a_root()
    root["origin"] = origin
    assert_rejected(root, "pattern", ("origin",), ["root.schema.json"])


def test_root_without_registrars_rejected() -> None:
    root = a_root()
    root["registrars"] = []
    assert_rejected(root, "minItems", ("registrars",), ["root.schema.json"])


def test_root_wrong_version_rejected() -> None:
    root = a_root()
    root["version"] = 2
    assert_rejected(root, "const", ("version",), ["root.schema.json"])
