"""Issue 11 item 12: the exceptions of DFARS 252.225-7052(c), through the command line.

A submitter declares an end item COTS or an electronic device with ``end_item`` on the
transformation output that makes it (ADR 0025). Each expected verdict is written from the
clause text (89 FR 46821) before the code:

- (c)(1)(i): "This clause does not apply to ... an end item that is a COTS item, other than
  (A) a COTS item that is (1) 50 percent or more tungsten by weight effective through
  December 31, 2026; or (2) 50 percent or more covered material by weight effective
  January 1, 2027; or (B) [through 2026] a tantalum metal, tantalum alloy, or tungsten heavy
  alloy mill product ... not incorporated"; (c)(1)(ii): from 2027 "any covered material that
  is a mill product";
- (c)(1)(iii): "an electronic device, unless otherwise specified in the contract"; DoD reads
  it to include embedded components such as a missile's capacitors, but not an
  explosively formed penetrator (87 FR 52342);
- (c)(2) nonavailability determinations and waivers, use outside the United States, and
  acquisitions below the simplified acquisition threshold rest on contract facts the ledger
  does not hold: every fail or inconclusive verdict names them, "may apply; not judged".

A declared exception is the submitter's claim: the verdict is ``exempt`` citing the
paragraph and naming the declaring record, never ``pass``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner
from scenarios import ISSUED, Scenario, check

from ledger import evidence
from ledger.cli.main import bloc
from ledger.compliance import verdict_document
from ledger.compliance.policy import load
from ledger.service import verify_bundle

from helpers import World, transformation

DFARS = "dfars-252.225-7052"
BLOC = "bloc-2026"
WINDOW_A = "2026-12-06"  # today: 252.225-7052(b)(1)(i)
WINDOW_B = "2027-02-01"  # 252.225-7052(b)(1)(ii)
NOT_JUDGED = {"nonavailability-or-waiver", "use-outside-us", "below-sat"}


class Declaring(Scenario):
    """A scenario whose transformations may declare outputs end items (``end_item``)."""

    def made(
        self,
        site: str,
        stage: str,
        inputs: list[tuple[str, Any]],
        outputs: list[tuple[str, str, Any]],
        *,
        untraced: list[dict[str, Any]] | None = None,
        declare: dict[str, Any] | None = None,
    ) -> list[str]:
        operator = self.facilities[site]
        for lot, _ in inputs:
            self.ship(lot, site)
        ids = [(f"lot:{operator}/{name}", material, kg) for name, material, kg in outputs]
        record = transformation(
            operator, site, stage, inputs, ids, untraced=untraced, issued_at=ISSUED
        )
        if declare is not None:
            record["outputs"][0]["end_item"] = declare
        self._submit(record, operator)
        for lot_id, _, kg in ids:
            self.holder[lot_id], self.mass[lot_id] = site, kg
        return [lot_id for lot_id, _, _ in ids]


def check_text(world: World, lot: str, policy: str, as_of: str) -> str:
    result = CliRunner().invoke(
        bloc,
        ["--home", str(world.home.path), "check", lot, "--policy", policy, "--as-of", as_of],
    )
    assert "Traceback" not in result.output
    return result.stdout


def sites(s: Declaring) -> None:
    """A Chinese magnet sinterer and heavy-alloy works, a Chinese tantalum works, and US
    assemblers of COTS items, capacitors and missiles."""
    s.org("cnmag", "CN")
    s.site("cnmag-ningbo", "cnmag", "CN", ["sintering"])
    s.org("cnw", "CN")
    s.site("cnw-ganzhou", "cnw", "CN", ["consolidation_sintering"])
    s.org("cnta", "CN")
    s.site("cnta-works", "cnta", "CN", ["reduction_to_powder", "melting"])
    s.org("usasm", "US")
    s.site("usasm-plant", "usasm", "US", ["assembly"])


def chinese_magnet(s: Declaring, name: str, kg: int, **kw: Any) -> str:
    """Magnets sintered in China (a restricted phase in window A, (b)(2)(i)(A)): they fail."""
    (magnet,) = s.made(
        "cnmag-ningbo",
        "sintering",
        [],
        [(name, "ndfeb_magnet", kg)],
        untraced=[{"material": "ndfeb_powder", "mass_kg": kg + 100}],
        **kw,
    )
    return magnet


def chinese_heavy_alloy(s: Declaring, name: str, kg: int) -> str:
    """Tungsten heavy alloy consolidated in China ((b)(5)(i)(C)): it fails."""
    (alloy,) = s.made(
        "cnw-ganzhou",
        "consolidation_sintering",
        [],
        [(name, "tungsten_heavy_alloy", kg)],
        untraced=[
            {"material": "tungsten_powder", "mass_kg": kg * 9 // 10},
            {"material": "nickel", "mass_kg": kg - kg * 9 // 10},
        ],
    )
    return alloy


def chinese_tantalum(s: Declaring, name: str, kg: int, **kw: Any) -> str:
    """Tantalum metal melted in China ((b)(4)(i)): it fails."""
    (metal,) = s.made(
        "cnta-works",
        "melting",
        [],
        [(name, "tantalum_metal", kg)],
        untraced=[{"material": "tantalum_powder", "mass_kg": kg}],
        **kw,
    )
    return metal


def item(s: Declaring, name: str, parts: list[tuple[str, Any]], filler_kg: Any, **kw: Any) -> str:
    """A component assembled in the US from ``parts`` and ``filler_kg`` of untraced iron."""
    (made,) = s.made(
        "usasm-plant",
        "assembly",
        parts,
        [(name, "component", sum(kg for _, kg in parts) + filler_kg)],
        untraced=[{"material": "iron", "mass_kg": filler_kg}] if filler_kg else None,
        **kw,
    )
    return made


def declared(verdict: dict[str, Any], status: str) -> dict[str, Any]:
    (note,) = [n for n in verdict["exceptions"] if n["status"] == status]
    return note


def assert_rests_on_the_declaration(verdict: dict[str, Any], paragraph: str) -> None:
    """EXEMPT, citing ``paragraph``, naming the declaring record, saying it is a claim."""
    assert verdict["verdict"] == "exempt"
    assert verdict["paragraph"] == paragraph
    note = declared(verdict, "applies")
    assert note["paragraph"] == paragraph
    assert re.fullmatch(r"[0-9a-f]{64}", note["declared_by"]["record_id"])
    assert note["declared_by"]["record_id"] in verdict["reason"]
    assert isinstance(note["declared_by"]["log_index"], int)
    assert verdict["reason"].startswith("exempt on the submitter's declaration")


# -- (c)(1)(iii) electronic devices ---------------------------------------------------------


def test_chinese_magnet_in_a_declared_electronic_device_is_exempt_citing_c1iii(
    empty_world: World,
) -> None:
    s = Declaring(empty_world)
    sites(s)
    magnet = chinese_magnet(s, "MAG-1", 100)
    plain = item(s, "ACT-1", [(magnet, 50)], 450)
    device = item(s, "RADAR-1", [(magnet, 50)], 450, declare={"kind": "electronic_device"})
    # Without a declaration the item fails window A: its magnet was sintered in China.
    assert check(empty_world, plain, DFARS, WINDOW_A)["verdict"] == "fail"
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, device, DFARS, as_of)
        assert_rests_on_the_declaration(verdict, "252.225-7052(c)(1)(iii)")
        assert "unless otherwise specified in the contract" in verdict["reason"]
        assert verdict["reason"].endswith("(without the declaration: fail)")
        # The offending path stays on the record for the auditor.
        assert verdict["shares"]["non_compliant"] == 1.0
    text = check_text(empty_world, device, DFARS, WINDOW_A)
    assert f"{device}: EXEMPT under {DFARS}" in text
    assert "  exception  252.225-7052(c)(1)(iii): the lot is declared an electronic device" in text


def test_tantalum_in_a_declared_capacitor_is_exempt_but_a_chinese_penetrator_beside_it_is_not(
    empty_world: World,
) -> None:
    # DoD's example (87 FR 52342): the tantalum in a missile's capacitor is excepted as an
    # electronic device; tungsten in its explosively formed penetrator is not.
    s = Declaring(empty_world)
    sites(s)
    tantalum = chinese_tantalum(s, "TA-1", 20)
    capacitor = item(s, "CAP-1", [(tantalum, 10)], 30, declare={"kind": "electronic_device"})
    (clean_missile,) = s.made(
        "usasm-plant",
        "assembly",
        [(capacitor, 20)],
        [("MSL-1", "component", 500)],
        untraced=[{"material": "iron", "mass_kg": 480}],
    )
    verdict = check(empty_world, clean_missile, DFARS, WINDOW_A)
    assert verdict["verdict"] == "exempt"
    (part,) = verdict["parts"]
    assert part["lot"] == tantalum
    assert_rests_on_the_declaration(part, "252.225-7052(c)(1)(iii)")
    assert capacitor in part["reason"]

    penetrator = chinese_heavy_alloy(s, "EFP-1", 8)
    (missile,) = s.made(
        "usasm-plant",
        "assembly",
        [(capacitor, 20), (penetrator, 8)],
        [("MSL-2", "component", 500)],
        untraced=[{"material": "iron", "mass_kg": 472}],
    )
    verdict = check(empty_world, missile, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert verdict["reason"].startswith(f"{penetrator} (tungsten_heavy_alloy)")
    by_lot = {p["lot"]: p["verdict"] for p in verdict["parts"]}
    assert by_lot == {tantalum: "exempt", penetrator: "fail"}


def test_tantalum_that_also_bypasses_the_declared_capacitor_is_not_exempt(
    empty_world: World,
) -> None:
    # Only covered material inside the device is excepted: the same Chinese tantalum lot
    # also built straight into the missile keeps it failing.
    s = Declaring(empty_world)
    sites(s)
    tantalum = chinese_tantalum(s, "TA-1", 20)
    capacitor = item(s, "CAP-1", [(tantalum, 10)], 30, declare={"kind": "electronic_device"})
    (missile,) = s.made(
        "usasm-plant",
        "assembly",
        [(capacitor, 40), (tantalum, 10)],
        [("MSL-1", "component", 500)],
        untraced=[{"material": "iron", "mass_kg": 450}],
    )
    verdict = check(empty_world, missile, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert [p["verdict"] for p in verdict["parts"]] == ["fail"]


# -- (c)(1)(i) COTS and the 50 percent by weight rule ------------------------------------


def test_cots_item_under_half_tungsten_by_weight_is_exempt(empty_world: World) -> None:
    s = Declaring(empty_world)
    sites(s)
    alloy = chinese_heavy_alloy(s, "WHA-1", 4000)
    cots = item(s, "TOOL-1", [(alloy, 4000)], 6000, declare={"kind": "cots"})
    verdict = check(empty_world, cots, DFARS, WINDOW_A)  # 40% tungsten: (c)(1)(i)(A)(1) not met
    assert_rests_on_the_declaration(verdict, "252.225-7052(c)(1)(i)")
    assert "commercially available off-the-shelf" in verdict["reason"]


def test_cots_item_exactly_half_tungsten_by_weight_is_not_exempt(empty_world: World) -> None:
    # "50 percent or more" is inclusive: exactly half is left out of the exception.
    s = Declaring(empty_world)
    sites(s)
    alloy = chinese_heavy_alloy(s, "WHA-1", 5000)
    cots = item(s, "TOOL-1", [(alloy, 5000)], 5000, declare={"kind": "cots"})
    verdict = check(empty_world, cots, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    note = declared(verdict, "does_not_apply")
    assert note["paragraph"] == "252.225-7052(c)(1)(i)"
    assert "50.00% tungsten by weight" in note["detail"]
    assert "252.225-7052(c)(1)(i)(A)(1)" in note["detail"]
    assert note["declared_by"]["log_index"] > 0


def test_cots_item_one_gram_under_half_tungsten_is_exempt(empty_world: World) -> None:
    # Shares are exact fractions of grams: 4,999.999 kg of 10,000 kg is under half.
    s = Declaring(empty_world)
    sites(s)
    alloy = chinese_heavy_alloy(s, "WHA-1", 5000)
    cots = item(s, "TOOL-1", [(alloy, 4999.999)], 5000.001, declare={"kind": "cots"})
    assert check(empty_world, cots, DFARS, WINDOW_A)["verdict"] == "exempt"


def test_cots_item_of_unknown_composition_is_not_exempt(empty_world: World) -> None:
    # 20% traced tungsten plus 30% untraced components that could be anything: the share
    # by weight cannot be shown under half, so the COTS exception is not shown to apply.
    s = Declaring(empty_world)
    sites(s)
    alloy = chinese_heavy_alloy(s, "WHA-1", 2000)
    (cots,) = s.made(
        "usasm-plant",
        "assembly",
        [(alloy, 2000)],
        [("TOOL-1", "component", 10000)],
        untraced=[
            {"material": "component", "mass_kg": 3000},
            {"material": "iron", "mass_kg": 5000},
        ],
        declare={"kind": "cots"},
    )
    verdict = check(empty_world, cots, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    note = declared(verdict, "does_not_apply")
    assert "cannot be computed from the traced masses" in note["detail"]
    assert "20.00% known, up to 30.00% more" in note["detail"]


def test_cots_magnet_heavy_item_is_exempt_until_2027_then_not(empty_world: World) -> None:
    # Through 2026 only tungsten counts toward the 50%; from 2027 any covered material.
    s = Declaring(empty_world)
    sites(s)
    magnet = chinese_magnet(s, "MAG-1", 6000)
    cots = item(s, "MOTOR-1", [(magnet, 6000)], 4000, declare={"kind": "cots"})
    assert_rests_on_the_declaration(
        check(empty_world, cots, DFARS, WINDOW_A), "252.225-7052(c)(1)(i)"
    )
    after = check(empty_world, cots, DFARS, WINDOW_B)
    assert after["verdict"] == "fail"
    note = declared(after, "does_not_apply")
    assert "60.00% covered material by weight" in note["detail"]
    assert "252.225-7052(c)(1)(i)(A)(2)" in note["detail"]


def test_cots_declared_on_a_part_does_not_exempt_the_item_built_from_it(
    empty_world: World,
) -> None:
    # The exception is for "an end item that is a COTS item": a COTS magnet assembly built
    # into a larger item does not make that item COTS.
    s = Declaring(empty_world)
    sites(s)
    magnet = chinese_magnet(s, "MAG-1", 100)
    cots = item(s, "MOTOR-1", [(magnet, 100)], 900, declare={"kind": "cots"})
    (system,) = s.made(
        "usasm-plant",
        "assembly",
        [(cots, 1000)],
        [("SYS-1", "component", 5000)],
        untraced=[{"material": "iron", "mass_kg": 4000}],
    )
    assert check(empty_world, cots, DFARS, WINDOW_A)["verdict"] == "exempt"
    verdict = check(empty_world, system, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert not [n for n in verdict["exceptions"] if n["status"] != "not_judged"]


# -- mill products: (c)(1)(i)(B) and (c)(1)(ii) -------------------------------------------


def test_cots_tantalum_mill_product_is_not_exempt(empty_world: World) -> None:
    s = Declaring(empty_world)
    sites(s)
    bar = chinese_tantalum(s, "TA-BAR-1", 100, declare={"kind": "cots", "mill_product": True})
    for as_of, paragraph in ((WINDOW_A, "(c)(1)(i)(B)"), (WINDOW_B, "(c)(1)(ii)")):
        verdict = check(empty_world, bar, DFARS, as_of)
        assert verdict["verdict"] == "fail"
        note = declared(verdict, "does_not_apply")
        assert f"252.225-7052{paragraph}" in note["detail"]
        assert "mill product" in note["detail"]


def test_cots_tantalum_whose_form_is_not_declared_is_treated_as_a_mill_product(
    empty_world: World,
) -> None:
    s = Declaring(empty_world)
    sites(s)
    metal = chinese_tantalum(s, "TA-1", 100, declare={"kind": "cots"})
    verdict = check(empty_world, metal, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert "does not say it is not a mill product" in declared(verdict, "does_not_apply")["detail"]


def test_cots_tantalum_declared_not_a_mill_product(empty_world: World) -> None:
    # Window A's weight limit is tungsten only, so a COTS tantalum part (not a mill
    # product) is exempt; from 2027 it is 100% covered material by weight, and is not.
    s = Declaring(empty_world)
    sites(s)
    part = chinese_tantalum(s, "TA-1", 100, declare={"kind": "cots", "mill_product": False})
    assert_rests_on_the_declaration(
        check(empty_world, part, DFARS, WINDOW_A), "252.225-7052(c)(1)(i)"
    )
    after = check(empty_world, part, DFARS, WINDOW_B)
    assert after["verdict"] == "fail"
    assert "100.00% covered material by weight" in declared(after, "does_not_apply")["detail"]


# -- exceptions that rest on the contract: named, never judged ----------------------------


def test_failing_verdict_names_waivers_outside_us_use_and_the_sat_as_not_judged(
    empty_world: World,
) -> None:
    s = Declaring(empty_world)
    sites(s)
    magnet = chinese_magnet(s, "MAG-1", 100)
    verdict = check(empty_world, magnet, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    notes = {n["id"]: n for n in verdict["exceptions"]}
    assert set(notes) == NOT_JUDGED
    assert all(n["status"] == "not_judged" for n in notes.values())
    assert all(n["detail"].endswith("may apply; not judged") for n in notes.values())
    assert notes["nonavailability-or-waiver"]["paragraph"] == "252.225-7052(c)(2)"
    text = check_text(empty_world, magnet, DFARS, WINDOW_A)
    assert text.count("  not judged ") == 3
    assert "simplified acquisition threshold" in text
    assert "outside the United States" in text


def test_inconclusive_verdict_names_them_and_pass_or_another_policy_does_not(
    empty_world: World,
) -> None:
    s = Declaring(empty_world)
    sites(s)
    s.org("usmag", "US")
    s.site("usmag-plant", "usmag", "US", ["sintering"])
    # Sintered in the US from untraced powder: window A does not know where the alloy was
    # melted ((b)(2)(i)(A) restricts it): inconclusive.
    (unknown,) = s.made(
        "usmag-plant",
        "sintering",
        [],
        [("MAG-1", "ndfeb_magnet", 100)],
        untraced=[{"material": "ndfeb_powder", "mass_kg": 101}],
    )
    verdict = check(empty_world, unknown, DFARS, WINDOW_A)
    assert verdict["verdict"] == "inconclusive"
    assert {n["id"] for n in verdict["exceptions"]} == NOT_JUDGED
    magnet = chinese_magnet(s, "MAG-2", 100)
    assert check(empty_world, magnet, BLOC, WINDOW_A)["exceptions"] == []
    clean = item(s, "BOX-1", [], 10)
    assert check(empty_world, clean, DFARS, WINDOW_A)["exceptions"] == []


# -- the declaration's shape ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        ({"kind": "electronic_device", "mill_product": False}, "only a cots end item"),
        ({"kind": "waiver"}, "end_item.kind"),
        ({"mill_product": True}, "end_item"),
    ],
)
def test_malformed_declaration_is_rejected_with_one_line(
    empty_world: World, claim: dict[str, Any], message: str
) -> None:
    s = Declaring(empty_world)
    sites(s)
    with pytest.raises(AssertionError) as failed:
        chinese_magnet(s, "MAG-1", 100, declare=claim)
    (error,) = str(failed.value).splitlines()[:1]
    assert message in error, error
    # Nothing was written: the magnet does not exist.
    result = CliRunner().invoke(
        bloc,
        ["--home", str(empty_world.home.path), "check", "lot:cnmag/MAG-1", "--policy", DFARS],
    )
    assert result.exit_code != 0
    assert "lot lot:cnmag/MAG-1 does not exist" in result.output


def test_exempt_verdict_travels_in_an_evidence_bundle_with_its_declaring_record(
    empty_world: World,
) -> None:
    # The declaration is part of a signed, logged record: verify-bundle recomputes the same
    # exempt verdict offline, naming the same record.
    s = Declaring(empty_world)
    sites(s)
    magnet = chinese_magnet(s, "MAG-1", 100)
    device = item(s, "RADAR-1", [(magnet, 100)], 400, declare={"kind": "electronic_device"})
    policy = load(DFARS)
    bundle = empty_world.ledger.evidence(device, policy=policy, as_of=date(2026, 12, 6))
    report = verify_bundle(evidence.to_bytes(bundle), empty_world.home.root())
    assert report.verdict.verdict == "exempt"
    live = check(empty_world, device, DFARS, WINDOW_A)
    assert verdict_document(report.verdict) == live
    (note,) = report.verdict.exceptions
    assert note.declared_by is not None
    assert note.declared_by.record_id == live["exceptions"][0]["declared_by"]["record_id"]
