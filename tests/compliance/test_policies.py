"""Policies as data (ADR 0008): the built-in policies, their schema, and the vocabulary's `implies`.

The policies are read from the installed package (``ledger.schemas`` / ``policies``), as the
checker reads them: a wheel that forgot the policies folder fails here. What JSON Schema cannot
say (names from the vocabulary, references between parts of a policy, window order) is checked
by ``cross_check`` below, whose findings are named like schema keywords so that a negative case
can assert exactly what failed.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(str(resources.files("ledger.schemas")))
POLICY_DIR = resources.files("ledger.schemas") / "policies"
BASE_URI = "https://bloc-ledger.org/schemas/v1/"

BUILT_INS = ["bloc-2026", "dfars-252.225-7052"]
DFARS = "dfars-252.225-7052"
BLOC = "bloc-2026"

COVERED_NATIONS = {"CN", "HK", "MO", "RU", "KP", "IR"}
EU_27 = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}  # fmt: skip
DFARS_MATERIALS = {
    "ndfeb_magnet",
    "smco_magnet",
    "tungsten_powder",
    "tungsten_heavy_alloy",
    "tantalum_powder",
    "tantalum_metal",
}
UPSTREAM_STAGES = {  # before the melt or the metal: not restricted by DFARS window A
    "mining",
    "beneficiation",
    "cracking_leaching",
    "separation",
    "apt_refining",
    "chemical_processing",
    "recycling_reprocessing",
}

Policy = dict[str, Any]
Path_ = tuple[str | int, ...]


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SCHEMAS: dict[str, dict[str, Any]] = {p.name: _load(p) for p in SCHEMA_DIR.glob("*.schema.json")}
REGISTRY: Registry = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
    for schema in SCHEMAS.values()
)
POLICY_SCHEMA = SCHEMAS["policy.schema.json"]
VOCABULARY: dict[str, Any] = _load(SCHEMA_DIR / "vocabulary.json")
MATERIALS: dict[str, Any] = VOCABULARY["materials"]
STAGES: dict[str, Any] = VOCABULARY["stages"]
FAMILIES: dict[str, Any] = VOCABULARY["families"]
VERB_STAGES = [name for name, stage in STAGES.items() if stage["verb"] is not None]


def policy(name: str) -> Policy:
    """A fresh copy of a built-in policy, read from the package."""
    text = (POLICY_DIR / f"{name}.json").read_text(encoding="utf-8")
    loaded: Policy = json.loads(text)
    return loaded


def validator(schema_file: str = "policy.schema.json") -> Draft202012Validator:
    return Draft202012Validator(
        SCHEMAS[schema_file],
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def failures(instance: Any, schema_file: str = "policy.schema.json") -> set[tuple[str, Path_]]:
    """The (keyword, instance path) of every schema error."""
    return {
        (str(e.validator), tuple(e.absolute_path))
        for e in validator(schema_file).iter_errors(instance)
    }


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def cross_check(p: Policy, vocabulary: dict[str, Any] = VOCABULARY) -> set[tuple[str, Path_]]:
    """What the schema cannot check, as (finding, path) pairs; empty when the policy is sound.

    Findings: unknown_set, unknown_material, unknown_stage, stage_without_verb,
    unknown_family, until_before_from, windows_overlap, members_overlap,
    exemption_not_covered.
    """
    found: set[tuple[str, Path_]] = set()
    stages = vocabulary["stages"]
    sets = p["country_sets"]

    if p["location"]["set"] not in sets:
        found.add(("unknown_set", ("location", "set")))
    if p["entity_control"] is not None and p["entity_control"]["government_of"] not in sets:
        found.add(("unknown_set", ("entity_control", "government_of")))
    for set_name, country_set in sets.items():
        found |= _member_findings(set_name, country_set["members"])
    covered, in_windows = _window_findings(p["windows"], vocabulary)
    found |= in_windows
    found |= _exemption_findings(p["exemptions"], covered, vocabulary)
    for stage in p["components"]["assembly_stages"]:
        if stage not in stages:
            found.add(("unknown_stage", ("components", "assembly_stages")))
    return found


def _member_findings(set_name: str, members: list[dict[str, Any]]) -> set[tuple[str, Path_]]:
    found: set[tuple[str, Path_]] = set()
    seen: dict[str, list[tuple[dt.date | None, dt.date | None]]] = {}
    for i, member in enumerate(members):
        path: Path_ = ("country_sets", set_name, "members", i)
        start, end = _date(member["from"]), _date(member["until"])
        if start is not None and end is not None and end < start:
            found.add(("until_before_from", path))
        for other_start, other_end in seen.get(member["country"], []):
            if (start is None or other_end is None or start <= other_end) and (
                other_start is None or end is None or other_start <= end
            ):
                found.add(("members_overlap", path))
        seen.setdefault(member["country"], []).append((start, end))
    return found


def _window_findings(
    windows: list[dict[str, Any]], vocabulary: dict[str, Any]
) -> tuple[set[str], set[tuple[str, Path_]]]:
    """The materials the windows cover, and what is wrong with the windows."""
    found: set[tuple[str, Path_]] = set()
    covered: set[str] = set()
    previous_end: dt.date | None = None
    for i, window in enumerate(windows):
        start, end = _date(window["from"]), _date(window["until"])
        if start is not None and end is not None and end < start:
            found.add(("until_before_from", ("windows", i)))
        if i > 0 and (previous_end is None or start is None or start <= previous_end):
            found.add(("windows_overlap", ("windows", i)))
        previous_end = end
        for material, rule in window["materials"].items():
            path: Path_ = ("windows", i, "materials", material)
            if material != "*":
                covered.add(material)
                if material not in vocabulary["materials"]:
                    found.add(("unknown_material", path))
            found |= _rule_findings(path, rule, vocabulary)
    return covered, found


def _rule_findings(
    path: Path_, rule: dict[str, Any], vocabulary: dict[str, Any]
) -> set[tuple[str, Path_]]:
    found: set[tuple[str, Path_]] = set()
    stages = vocabulary["stages"]
    for stage in rule["restricted_stages"]:
        if stage not in stages:
            found.add(("unknown_stage", (*path, "restricted_stages")))
        elif stages[stage]["verb"] is None:
            found.add(("stage_without_verb", (*path, "restricted_stages")))
    for family in rule["constituents"]:
        if family not in vocabulary["families"]:
            found.add(("unknown_family", (*path, "constituents")))
    return found


def _exemption_findings(
    exemptions: list[dict[str, Any]], covered: set[str], vocabulary: dict[str, Any]
) -> set[tuple[str, Path_]]:
    found: set[tuple[str, Path_]] = set()
    for i, exemption in enumerate(exemptions):
        for material in exemption["materials"]:
            if material not in vocabulary["materials"]:
                found.add(("unknown_material", ("exemptions", i, "materials")))
            elif material not in covered:
                found.add(("exemption_not_covered", ("exemptions", i, "materials")))
        for stage in exemption["stages_in"]:
            if stage not in vocabulary["stages"]:
                found.add(("unknown_stage", ("exemptions", i, "stages_in")))
    return found


def rules(p: Policy) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(window id, material, rule) for every material rule of a policy."""
    for window in p["windows"]:
        for material, rule in window["materials"].items():
            yield window["id"], material, rule


def window(p: Policy, window_id: str) -> dict[str, Any]:
    return next(w for w in p["windows"] if w["id"] == window_id)


def implies(material: str) -> set[str]:
    return set(MATERIALS[material]["implies"])


def walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, i))


# (a) the schema document


def test_policy_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(POLICY_SCHEMA)
    assert POLICY_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert POLICY_SCHEMA["$id"] == BASE_URI + "policy.schema.json"
    assert POLICY_SCHEMA["title"]
    assert POLICY_SCHEMA["description"]


def test_policy_schema_refs_resolve_and_are_relative() -> None:
    resolver = REGISTRY.resolver(base_uri=POLICY_SCHEMA["$id"])
    refs = [
        node["$ref"] for _, node in walk(POLICY_SCHEMA) if isinstance(node, dict) and "$ref" in node
    ]
    assert any(ref.startswith("common.schema.json#/$defs/country") for ref in refs)
    for ref in refs:
        assert not ref.startswith("http"), ref
        resolver.lookup(ref)


def test_policy_schema_is_strict_everywhere() -> None:
    """Every object refuses fields it does not name; a map constrains its keys and values."""
    objects = 0
    for path, node in walk(POLICY_SCHEMA):
        if not isinstance(node, dict) or "object" not in node.get("type", []):
            continue
        objects += 1
        if "properties" in node:
            assert node.get("additionalProperties") is False, path
        else:
            assert isinstance(node.get("additionalProperties"), dict), path
            assert "propertyNames" in node, path
    assert objects >= 10


# (b) the built-in policies


def test_built_in_policies_are_all_there() -> None:
    names = sorted(entry.name for entry in POLICY_DIR.iterdir() if entry.name.endswith(".json"))
    assert names == [f"{name}.json" for name in BUILT_INS]


@pytest.mark.parametrize("name", BUILT_INS)
def test_built_in_policy_validates(name: str) -> None:
    assert failures(policy(name)) == set()


@pytest.mark.parametrize("name", BUILT_INS)
def test_built_in_policy_name_matches_its_file(name: str) -> None:
    assert policy(name)["name"] == name


@pytest.mark.parametrize("name", BUILT_INS)
def test_built_in_policy_names_only_vocabulary_terms_and_its_own_sets(name: str) -> None:
    assert cross_check(policy(name)) == set()


@pytest.mark.parametrize("name", BUILT_INS)
def test_every_rule_carries_citation_and_paragraph(name: str) -> None:
    p = policy(name)
    bearers = [p["components"], *p["windows"], *p["exemptions"]]
    bearers += [rule for _, _, rule in rules(p)]
    bearers += [p["entity_control"]] if p["entity_control"] is not None else []
    for bearer in bearers:
        assert bearer["citation"].strip(), bearer
        assert bearer["paragraph"].strip(), bearer
    assert p["citation"].strip()
    assert all(s["citation"].strip() for s in p["country_sets"].values())


@pytest.mark.parametrize("name", BUILT_INS)
def test_windows_are_ordered_and_do_not_overlap(name: str) -> None:
    windows = policy(name)["windows"]
    assert [w["from"] is None for w in windows][1:] == [False] * (len(windows) - 1)
    assert [w["until"] is None for w in windows][:-1] == [False] * (len(windows) - 1)
    for earlier, later in itertools.pairwise(windows):
        assert dt.date.fromisoformat(earlier["until"]) < dt.date.fromisoformat(later["from"])


@pytest.mark.parametrize("name", BUILT_INS)
def test_country_set_references_exist(name: str) -> None:
    p = policy(name)
    assert p["location"]["set"] in p["country_sets"]
    if p["entity_control"] is not None:
        assert p["entity_control"]["government_of"] in p["country_sets"]


@pytest.mark.parametrize("name", BUILT_INS)
def test_an_untraced_input_of_a_judged_material_is_never_clean(name: str) -> None:
    """Fail closed: each judged material implies a restricted stage, so untraced mass is unknown.

    Scrap is skipped: it implies only its collection, which window A does not restrict.
    """
    for window_id, material, rule in rules(policy(name)):
        judged = [material] if material != "*" else list(MATERIALS)
        for name_ in judged:
            if MATERIALS[name_]["family"] == "scrap":
                continue
            assert implies(name_) & set(rule["restricted_stages"]), (window_id, name_)


@pytest.mark.parametrize("name", BUILT_INS)
def test_every_rule_asks_about_its_own_family_and_recycled_mass(name: str) -> None:
    for window_id, material, rule in rules(policy(name)):
        if material != "*":
            assert MATERIALS[material]["family"] in rule["constituents"], (window_id, material)
        assert "scrap" in rule["constituents"], (window_id, material)


# (c) what the DFARS policy encodes


def test_dfars_covered_nations_include_hk_and_mo_conservatively() -> None:
    members = policy(DFARS)["country_sets"]["covered"]["members"]
    assert {m["country"] for m in members} == COVERED_NATIONS
    assert all((m["from"], m["until"]) == ("2018-08-13", None) for m in members)
    for member in members:
        if member["country"] in {"HK", "MO"}:
            assert member["note"].startswith("conservative: HK and MO counted as China")


def test_dfars_is_about_location_not_ownership() -> None:
    p = policy(DFARS)
    assert p["location"] == {"set": "covered", "forbidden": "inside", "membership_date": "as_of"}
    assert p["entity_control"] is None
    assert p["combination"] == {"mode": "taint"}
    assert p["unknown"] == "inconclusive"


def test_dfars_windows_meet_at_the_phase_in_date() -> None:
    a, b = policy(DFARS)["windows"]
    assert (a["id"], a["from"], a["until"], a["paragraph"]) == (
        "A",
        None,
        "2026-12-31",
        "252.225-7052(b)(1)(i)",
    )
    assert (b["id"], b["from"], b["until"], b["paragraph"]) == (
        "B",
        "2027-01-01",
        None,
        "252.225-7052(b)(1)(ii)",
    )
    assert a["citation"] == b["citation"] == "89 FR 46816"


@pytest.mark.parametrize("window_id", ["A", "B"])
def test_dfars_covers_finished_materials_only(window_id: str) -> None:
    assert set(window(policy(DFARS), window_id)["materials"]) == DFARS_MATERIALS


@pytest.mark.parametrize(
    ("material", "window_id", "paragraph"),
    [
        ("ndfeb_magnet", "A", "252.225-7052(b)(2)(i)(A)"),
        ("smco_magnet", "A", "252.225-7052(b)(2)(i)(A)"),
        ("tantalum_metal", "A", "252.225-7052(b)(4)(i)"),
        ("tungsten_heavy_alloy", "A", "252.225-7052(b)(5)(i)"),
        ("ndfeb_magnet", "B", "252.225-7052(b)(3)"),
        ("smco_magnet", "B", "252.225-7052(b)(2)(i)(B)"),
        ("tantalum_powder", "B", "252.225-7052(b)(4)(ii)"),
        ("tungsten_powder", "B", "252.225-7052(b)(5)(ii)"),
    ],
)
def test_dfars_material_paragraph(material: str, window_id: str, paragraph: str) -> None:
    assert window(policy(DFARS), window_id)["materials"][material]["paragraph"] == paragraph


def test_dfars_window_a_restricts_the_melt_and_every_later_magnet_phase() -> None:
    materials = window(policy(DFARS), "A")["materials"]
    for magnet in ("ndfeb_magnet", "smco_magnet"):
        assert materials[magnet]["restricted_stages"] == [
            "alloy_melting",
            "powder_formation",
            "pressing",
            "sintering",
            "bonding",
            "grain_boundary_diffusion",
            "machining_finishing",
            "coating",
            "magnetization",
        ]


def test_dfars_window_a_tungsten_and_tantalum_stages() -> None:
    materials = window(policy(DFARS), "A")["materials"]
    for tungsten in ("tungsten_powder", "tungsten_heavy_alloy"):
        assert {
            "atomization",
            "calcination",
            "reduction_to_powder",
            "consolidation_sintering",
            "carburization",
            "machining",
        } <= set(materials[tungsten]["restricted_stages"])
    for tantalum in ("tantalum_powder", "tantalum_metal"):
        assert {"reduction_to_powder", "melting", "mill_processing"} <= set(
            materials[tantalum]["restricted_stages"]
        )


def test_dfars_window_a_leaves_upstream_stages_alone() -> None:
    """NdPr oxide separated in China and made into a magnet in Japan passes window A (89 FR 46819)."""
    for _, _, rule in rules({"windows": [window(policy(DFARS), "A")]}):
        assert not UPSTREAM_STAGES & set(rule["restricted_stages"])


def test_dfars_window_b_restricts_the_whole_chain_but_not_assembly() -> None:
    whole_chain = [s for s in VERB_STAGES if s != "assembly"]
    p = policy(DFARS)
    for material, rule in window(p, "B")["materials"].items():
        assert rule["restricted_stages"] == whole_chain, material
        assert set(window(p, "A")["materials"][material]["restricted_stages"]) < set(whole_chain)


@pytest.mark.parametrize(
    ("material", "constituents"),
    [
        ("ndfeb_magnet", {"rare_earths", "auxiliary", "scrap"}),
        ("smco_magnet", {"rare_earths", "cobalt", "scrap"}),
        ("tungsten_powder", {"tungsten", "scrap"}),
        ("tungsten_heavy_alloy", {"tungsten", "scrap"}),  # not the nickel-iron binder
        ("tantalum_powder", {"tantalum", "scrap"}),
        ("tantalum_metal", {"tantalum", "scrap"}),
    ],
)
@pytest.mark.parametrize("window_id", ["A", "B"])
def test_dfars_constituents(window_id: str, material: str, constituents: set[str]) -> None:
    rule = window(policy(DFARS), window_id)["materials"][material]
    assert set(rule["constituents"]) == constituents


def test_dfars_recycled_ndfeb_exemption() -> None:
    (exemption,) = policy(DFARS)["exemptions"]
    assert exemption == {
        "id": "recycled-ndfeb-us",
        "materials": ["ndfeb_magnet"],
        "citation": exemption["citation"],
        "paragraph": "252.225-7052(c)(1)(iv)",
        "all_recycled": True,
        "stages_in": {"powder_formation": ["US"], "sintering": ["US"]},
        # (c)(1)(iv) sets no condition on where the scrap came from (issue 11 item 3).
        "ignores_stages": ["scrap_collection"],
    }
    assert "10 U.S.C. 4872(c)(3)(C)" in exemption["citation"]


def test_dfars_end_item_prong() -> None:
    components = policy(DFARS)["components"]
    assert components["end_item_prong"] is True
    assert components["assembly_stages"] == ["assembly"]
    assert components["paragraph"] == "252.225-7052(b)(1)"


def test_dfars_notes_record_the_material_decision() -> None:
    notes = " ".join(policy(DFARS)["notes"])
    for intermediate in ("ndfeb_alloy", "ndfeb_powder", "smco_alloy", "smco_powder"):
        assert intermediate in notes
    assert "tungsten_carbide" in notes


# (d) what the bloc policy encodes


def bloc_members() -> dict[str, dict[str, Any]]:
    members = policy(BLOC)["country_sets"]["bloc"]["members"]
    by_country = {m["country"]: m for m in members}
    assert len(by_country) == len(members), "a country is listed twice"
    return by_country


def test_bloc_members() -> None:
    assert set(bloc_members()) == {"US", "JP", "MX", "GB", "AU", "CA", "KR"} | EU_27
    assert len(EU_27) == 27


def test_bloc_every_member_has_a_basis_and_stays() -> None:
    for country, member in bloc_members().items():
        assert member["note"].strip(), country
        assert member["until"] is None, country


def test_bloc_member_dates() -> None:
    members = bloc_members()
    assert members["US"]["from"] is None
    assert members["MX"]["from"] == "2023-04-18"
    founders = EU_27 | {"JP", "GB", "AU", "CA", "KR"}
    assert {c for c, m in members.items() if m["from"] == "2022-06-14"} == founders


def test_bloc_never_includes_a_covered_nation() -> None:
    assert not set(bloc_members()) & COVERED_NATIONS


def test_bloc_and_dfars_agree_on_the_covered_nations() -> None:
    assert policy(BLOC)["country_sets"]["covered"] == policy(DFARS)["country_sets"]["covered"]


def test_bloc_forbids_outside_and_government_control() -> None:
    p = policy(BLOC)
    assert p["location"] == {"set": "bloc", "forbidden": "outside", "membership_date": "event"}
    control = p["entity_control"]
    assert (control["government_of"], control["min_percent"]) == ("covered", 25)
    assert p["combination"] == {"mode": "taint"}
    assert p["unknown"] == "inconclusive"
    assert p["exemptions"] == []
    assert p["components"]["end_item_prong"] is False


def test_bloc_judges_every_stage_and_family_of_every_material() -> None:
    (only,) = policy(BLOC)["windows"]
    assert (only["from"], only["until"]) == (None, None)
    assert list(only["materials"]) == ["*"]
    rule = only["materials"]["*"]
    assert rule["restricted_stages"] == VERB_STAGES
    assert "assembly" in rule["restricted_stages"]
    assert rule["constituents"] == list(FAMILIES)


# (e) mistakes, rejected by the schema


def test_unknown_top_level_field_rejected() -> None:
    p = policy(DFARS)
    p["de_minimis"] = "0.001"
    assert failures(p) == {("additionalProperties", ())}


def test_unknown_field_in_a_material_rule_rejected() -> None:
    p = policy(DFARS)
    p["windows"][0]["materials"]["ndfeb_magnet"]["recycled_counts"] = True
    assert failures(p) == {("additionalProperties", ("windows", 0, "materials", "ndfeb_magnet"))}


def test_threshold_as_a_number_instead_of_a_string_rejected() -> None:
    p = policy(BLOC)
    p["combination"] = {"mode": "threshold", "max_non_compliant": 0.05}
    assert failures(p) == {("type", ("combination", "max_non_compliant"))}


def test_threshold_as_a_decimal_string_accepted() -> None:
    p = policy(BLOC)
    p["combination"] = {"mode": "threshold", "max_non_compliant": "0.05"}
    assert failures(p) == set()


@pytest.mark.parametrize("share", ["1.5", "5%", ".05", "0.05\n", "-0.1", "0.1234567890"])
def test_threshold_outside_zero_to_one_or_malformed_rejected(share: str) -> None:
    p = policy(BLOC)
    p["combination"] = {"mode": "threshold", "max_non_compliant": share}
    assert failures(p) == {("pattern", ("combination", "max_non_compliant"))}


def test_threshold_mode_without_a_threshold_rejected() -> None:
    p = policy(BLOC)
    p["combination"] = {"mode": "threshold"}
    assert failures(p) == {("required", ("combination",))}


def test_threshold_with_taint_rejected() -> None:
    p = policy(DFARS)
    p["combination"] = {"mode": "taint", "max_non_compliant": "0.05"}
    assert failures(p) == {("not", ("combination", "max_non_compliant"))}


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (
            lambda p: p["windows"][0]["materials"]["ndfeb_magnet"],
            ("windows", 0, "materials", "ndfeb_magnet"),
        ),
        (lambda p: p["windows"][1], ("windows", 1)),
        (lambda p: p["exemptions"][0], ("exemptions", 0)),
        (lambda p: p["components"], ("components",)),
        (lambda p: p["country_sets"]["covered"], ("country_sets", "covered")),
    ],
    ids=["material-rule", "window", "exemption", "components", "country-set"],
)
def test_missing_citation_rejected(where: Callable[[Policy], dict[str, Any]], path: Path_) -> None:
    p = policy(DFARS)
    del where(p)["citation"]
    assert failures(p) == {("required", path)}


def test_missing_paragraph_rejected() -> None:
    p = policy(BLOC)
    del p["entity_control"]["paragraph"]
    assert failures(p) == {("required", ("entity_control",))}


def test_impossible_window_date_rejected() -> None:
    p = policy(DFARS)
    p["windows"][0]["until"] = "2026-02-30"
    assert failures(p) == {("anyOf", ("windows", 0, "until"))}


def test_policy_name_not_a_slug_rejected() -> None:
    p = policy(DFARS)
    p["name"] = "DFARS 252.225-7052"
    assert failures(p) == {("pattern", ("name",))}


def test_country_code_not_alpha_2_rejected() -> None:
    p = policy(DFARS)
    p["country_sets"]["covered"]["members"][0]["country"] = "CHN"
    assert failures(p) == {("pattern", ("country_sets", "covered", "members", 0, "country"))}


def test_unknown_membership_date_mode_rejected() -> None:
    p = policy(DFARS)
    p["location"]["membership_date"] = "delivery"
    assert failures(p) == {("enum", ("location", "membership_date"))}


def test_control_share_over_100_percent_rejected() -> None:
    p = policy(BLOC)
    p["entity_control"]["min_percent"] = 125
    assert failures(p) == {("maximum", ("entity_control", "min_percent"))}


def test_material_key_not_snake_case_rejected() -> None:
    p = policy(DFARS)
    rules_a = p["windows"][0]["materials"]
    rules_a["NdFeB"] = rules_a.pop("ndfeb_magnet")
    assert failures(p) == {("anyOf", ("windows", 0, "materials"))}


def test_duplicate_restricted_stage_rejected() -> None:
    p = policy(DFARS)
    p["windows"][0]["materials"]["smco_magnet"]["restricted_stages"].append("sintering")
    path = ("windows", 0, "materials", "smco_magnet", "restricted_stages")
    assert failures(p) == {("uniqueItems", path)}


def test_window_without_materials_rejected() -> None:
    p = policy(DFARS)
    p["windows"][1]["materials"] = {}
    assert failures(p) == {("minProperties", ("windows", 1, "materials"))}


def test_exemption_without_any_condition_rejected() -> None:
    p = policy(DFARS)
    p["exemptions"][0]["all_recycled"] = False
    p["exemptions"][0]["stages_in"] = {}
    assert failures(p) == {("anyOf", ("exemptions", 0))}


# (f) mistakes the schema cannot see, caught by the cross-check


def test_window_with_until_before_from_rejected() -> None:
    p = policy(DFARS)
    p["windows"][0]["from"] = "2027-06-01"  # after its own until, 2026-12-31
    assert failures(p) == set()
    assert cross_check(p) == {("until_before_from", ("windows", 0))}


def test_overlapping_windows_rejected() -> None:
    p = policy(DFARS)
    p["windows"][0]["until"] = "2027-06-30"
    assert cross_check(p) == {("windows_overlap", ("windows", 1))}


def test_windows_out_of_order_rejected() -> None:
    p = policy(DFARS)
    p["windows"].reverse()
    assert ("windows_overlap", ("windows", 1)) in cross_check(p)


def test_unknown_country_set_reference_rejected() -> None:
    p = policy(BLOC)
    p["location"]["set"] = "allies"
    p["entity_control"]["government_of"] = "adversaries"
    assert cross_check(p) == {
        ("unknown_set", ("location", "set")),
        ("unknown_set", ("entity_control", "government_of")),
    }


def test_stage_not_in_the_vocabulary_rejected() -> None:
    p = policy(DFARS)
    p["windows"][0]["materials"]["ndfeb_magnet"]["restricted_stages"].append("strip_casting")
    path = ("windows", 0, "materials", "ndfeb_magnet", "restricted_stages")
    assert cross_check(p) == {("unknown_stage", path)}


def test_restricting_a_stage_that_confers_no_origin_rejected() -> None:
    p = policy(DFARS)
    p["windows"][1]["materials"]["tantalum_metal"]["restricted_stages"].append("repack")
    path = ("windows", 1, "materials", "tantalum_metal", "restricted_stages")
    assert cross_check(p) == {("stage_without_verb", path)}


def test_family_not_in_the_vocabulary_rejected() -> None:
    p = policy(DFARS)
    p["windows"][1]["materials"]["ndfeb_magnet"]["constituents"] = ["rare_earth", "auxiliary"]
    path = ("windows", 1, "materials", "ndfeb_magnet", "constituents")
    assert cross_check(p) == {("unknown_family", path)}


def test_material_not_in_the_vocabulary_rejected() -> None:
    p = policy(DFARS)
    rules_b = p["windows"][1]["materials"]
    rules_b["molybdenum_powder"] = copy.deepcopy(rules_b["tungsten_powder"])
    assert cross_check(p) == {
        ("unknown_material", ("windows", 1, "materials", "molybdenum_powder"))
    }


def test_exemption_for_a_material_no_window_covers_rejected() -> None:
    p = policy(DFARS)
    p["exemptions"][0]["materials"] = ["smco_alloy"]
    assert cross_check(p) == {("exemption_not_covered", ("exemptions", 0, "materials"))}


def test_a_country_listed_twice_for_overlapping_dates_rejected() -> None:
    p = policy(DFARS)
    members = p["country_sets"]["covered"]["members"]
    members.append({"country": "CN", "from": "2020-01-01", "until": None})
    assert cross_check(p) == {("members_overlap", ("country_sets", "covered", "members", 6))}


def test_a_country_that_left_and_rejoined_is_accepted() -> None:
    p = policy(BLOC)
    members = p["country_sets"]["bloc"]["members"]
    gb = next(m for m in members if m["country"] == "GB")
    gb["until"] = "2024-12-31"
    members.append({"country": "GB", "from": "2026-02-05", "until": None})
    assert failures(p) == set()
    assert cross_check(p) == set()


# (g) the vocabulary's `implies`


def test_vocabulary_with_implies_validates() -> None:
    assert failures(VOCABULARY, "vocabulary.schema.json") == set()


def test_material_without_implies_rejected() -> None:
    vocabulary = copy.deepcopy(VOCABULARY)
    del vocabulary["materials"]["apt"]["implies"]
    assert failures(vocabulary, "vocabulary.schema.json") == {("required", ("materials", "apt"))}


def test_implied_stage_listed_twice_rejected() -> None:
    vocabulary = copy.deepcopy(VOCABULARY)
    vocabulary["materials"]["apt"]["implies"].append("mining")
    path = ("materials", "apt", "implies")
    assert failures(vocabulary, "vocabulary.schema.json") == {("uniqueItems", path)}


@pytest.mark.parametrize("material", sorted(MATERIALS))
def test_implied_stages_exist_and_confer_origin(material: str) -> None:
    for stage in MATERIALS[material]["implies"]:
        assert stage in STAGES, stage
        assert STAGES[stage]["confers_origin"], stage


@pytest.mark.parametrize("material", sorted(MATERIALS))
def test_only_scrap_implies_nothing(material: str) -> None:
    """Scrap implies only its collection, where its origin is judged (issue 11 item 3)."""
    implied = MATERIALS[material]["implies"]
    assert (implied == ["scrap_collection"]) is (MATERIALS[material]["family"] == "scrap")


# Each pair is (made from, made): what made the input also made the output.
CHAINS = [
    ("rare_earth_ore", "rare_earth_concentrate"),
    ("rare_earth_ore", "mixed_rare_earth_carbonate"),
    ("mixed_rare_earth_carbonate", "ndpr_oxide"),
    ("mixed_rare_earth_carbonate", "dy_oxide"),
    ("mixed_rare_earth_carbonate", "tb_oxide"),
    ("mixed_rare_earth_carbonate", "samarium_oxide"),
    ("ndpr_oxide", "ndpr_metal"),
    ("dy_oxide", "dy_metal"),
    ("tb_oxide", "tb_metal"),
    ("samarium_oxide", "samarium_metal"),
    ("ndpr_metal", "ndfeb_alloy"),
    ("dy_metal", "ndfeb_alloy"),
    # Iron, ferroboron and cobalt metal are refined in their own chains (issue 11 item 6):
    # what an alloy implies is its rare-earth chain, and the checker carries implied stages
    # within a family only, so they are not pairs here.
    ("ndfeb_alloy", "ndfeb_powder"),
    ("ndfeb_powder", "ndfeb_magnet"),
    ("samarium_metal", "smco_alloy"),
    ("smco_alloy", "smco_powder"),
    ("smco_powder", "smco_magnet"),
    ("iron_ore", "iron"),
    ("cobalt_ore", "cobalt_hydroxide"),
    ("cobalt_hydroxide", "cobalt_metal"),
    ("tungsten_ore", "tungsten_concentrate"),
    ("tungsten_concentrate", "apt"),
    ("apt", "tungsten_oxide"),
    ("tungsten_oxide", "tungsten_powder"),
    ("tungsten_powder", "tungsten_carbide"),
    ("tungsten_powder", "tungsten_heavy_alloy"),
    ("tantalum_ore", "tantalum_concentrate"),
    ("tantalum_concentrate", "k2taf7"),
    ("tantalum_concentrate", "tantalum_oxide"),
    ("k2taf7", "tantalum_powder"),
    ("tantalum_powder", "tantalum_metal"),
    ("graphite_concentrate", "spherical_graphite"),
    ("lithium_carbonate", "lithium_hydroxide"),
    ("nickel", "nickel_sulfate"),
]


@pytest.mark.parametrize(("made_from", "made"), CHAINS, ids=[f"{a}->{b}" for a, b in CHAINS])
def test_implies_grows_along_the_chain(made_from: str, made: str) -> None:
    assert implies(made_from) <= implies(made)


def test_implies_is_monotone_from_metal_to_magnet() -> None:
    assert implies("ndfeb_magnet") >= implies("ndfeb_alloy") >= implies("ndpr_metal")
    assert implies("smco_magnet") >= implies("smco_alloy") >= implies("samarium_metal")


@pytest.mark.parametrize(
    ("material", "stage"),
    [
        ("rare_earth_concentrate", "beneficiation"),
        ("mixed_rare_earth_carbonate", "cracking_leaching"),
        ("ndpr_oxide", "separation"),
        ("ndpr_metal", "metal_reduction"),
        ("ndfeb_alloy", "alloy_melting"),
        ("ndfeb_powder", "powder_formation"),
        ("smco_alloy", "alloy_melting"),
        ("apt", "apt_refining"),
        ("tungsten_oxide", "calcination"),
        ("tungsten_powder", "reduction_to_powder"),
        ("tungsten_carbide", "carburization"),
        ("tungsten_heavy_alloy", "consolidation_sintering"),
        ("k2taf7", "chemical_processing"),
        ("tantalum_powder", "reduction_to_powder"),
        ("component", "assembly"),
    ],
)
def test_material_implies_the_stage_that_makes_it(material: str, stage: str) -> None:
    assert stage in implies(material)


@pytest.mark.parametrize(
    ("material", "stage", "why"),
    [
        ("ndfeb_magnet", "sintering", "bonded magnets are not sintered"),
        ("ndfeb_magnet", "bonding", "sintered magnets are not bonded"),
        ("ndfeb_magnet", "pressing", "injection-moulded bonded magnets are not pressed"),
        ("ndfeb_magnet", "magnetization", "magnets may be magnetized after assembly"),
        ("smco_magnet", "sintering", "bonded magnets are not sintered"),
        ("ndpr_oxide", "beneficiation", "ionic clays are leached as mined"),
        ("dy_oxide", "beneficiation", "ionic clays are leached as mined"),
        ("tantalum_metal", "melting", "powder-metallurgy tantalum is not melted"),
        ("tungsten_heavy_alloy", "melting", "heavy alloy is sintered, not melted"),
        ("iron", "melting", "electrolytic iron is not melted"),
    ],
)
def test_material_does_not_imply_a_route_specific_stage(
    material: str, stage: str, why: str
) -> None:
    assert stage not in implies(material), why


def test_implies_of_an_unknown_stage_is_caught_by_the_cross_check() -> None:
    """The schema checks only the shape of a stage name; membership is the library's job."""
    vocabulary = copy.deepcopy(VOCABULARY)
    vocabulary["materials"]["apt"]["implies"].append("digestion")
    assert failures(vocabulary, "vocabulary.schema.json") == set()
    unknown = {
        (name, stage)
        for name, material in vocabulary["materials"].items()
        for stage in material["implies"]
        if stage not in vocabulary["stages"]
    }
    assert unknown == {("apt", "digestion")}
