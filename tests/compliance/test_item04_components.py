"""Issue 11 item 4: components hide covered material (ADR 0019).

Each scenario is built through the command line on both backends, with the verdict written
from the clause first. DFARS 252.225-7052(a) defines covered material to include "tungsten
heavy alloy, or any finished or semi-finished component containing tungsten heavy alloy";
(b)(5) restricts "all subsequent phases of production of ... any finished or semi-finished
component containing tungsten heavy alloy"; (b)(1)'s end-item prong applies to the end item
delivered, not to a component inside it (89 FR 46816; compliance-rules.md §1.2, §1.3, §1.5).
A `component` contains covered material by definition (the vocabulary), so an untraced one
carries covered material of unknown origin: unknown, not absent.
"""

from __future__ import annotations

from scenarios import (
    BLOC,
    DFARS,
    WINDOW_A,
    WINDOW_B,
    Scenario,
    assembly_sites,
    check,
    japanese_magnet,
    wha_chain,
)

from helpers import World

COMPONENT = [{"material": "component", "mass_kg": 5}]


def test_end_item_built_only_from_untraced_components_is_not_clean(empty_world: World) -> None:
    # (b)(1): the end item "contains a covered material" whose production the ledger does not
    # show; unknown is inconclusive, never not_applicable (was not_applicable: item 4).
    s = Scenario(empty_world)
    assembly_sites(s)
    (item,) = s.make(
        "usasm-plant",
        "assembly",
        [],
        [("END-1", "component", 10)],
        untraced=[*COMPONENT, *COMPONENT],
    )
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, item, DFARS, as_of)
        assert verdict["verdict"] == "inconclusive"
        reasons = [part["reason"] for part in verdict["parts"]]
        assert len(reasons) == 2
        assert all(r.startswith("untraced component at log index ") for r in reasons)
        assert all("what it contains and where that was made are unknown" in r for r in reasons)


def test_traced_magnet_plus_untraced_component_declared_chinese_is_not_a_pass(
    empty_world: World,
) -> None:
    # (b)(1)/(b)(2): the magnet is clean, but the untraced component declared CN holds
    # covered material the ledger cannot place; a component made in China around a
    # compliant magnet is not caught (§1.5), so this is unknown, not fail (was pass: item 4).
    s = Scenario(empty_world)
    assembly_sites(s)
    magnet = japanese_magnet(s, separated_at="ausmine-sep")
    cn_part = [{"material": "component", "mass_kg": 5, "declared_origin": "CN"}]
    (item,) = s.make(
        "usasm-plant",
        "assembly",
        [(magnet, 9500)],
        [("END-2", "component", 9505)],
        untraced=cn_part,
    )
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, item, DFARS, as_of)
        assert verdict["verdict"] == "inconclusive"
        verdicts = sorted(part["verdict"] for part in verdict["parts"])
        assert verdicts == ["inconclusive", "pass"]
        assert "(declared CN, unverified)" in verdict["reason"]


def test_chinese_wha_cartridge_nested_in_a_us_munition_still_fails(empty_world: World) -> None:
    # (a) and (b)(5)(i)/(ii): a cartridge containing tungsten heavy alloy is itself covered
    # material; assembling it in China is a phase of its production, so the US munition
    # that contains it is delivered with covered material produced in China (was pass when
    # nested: item 4). The end-item prong is not what fails it: the munition was built in
    # the US (§1.5).
    s = Scenario(empty_world)
    assembly_sites(s)
    alloy = wha_chain(s)
    (cartridge,) = s.make("cnasm-plant", "assembly", [(alloy, 1800)], [("CART", "component", 1900)])
    (munition,) = s.make(
        "usasm-plant", "assembly", [(cartridge, 1900)], [("MUN", "component", 2500)]
    )
    expected = {WINDOW_A: "252.225-7052(b)(5)(i)", WINDOW_B: "252.225-7052(b)(5)(ii)"}
    for as_of, paragraph in expected.items():
        alone = check(empty_world, cartridge, DFARS, as_of)
        assert alone["verdict"] == "fail"
        nested = check(empty_world, munition, DFARS, as_of)
        assert nested["verdict"] == "fail"
        assert nested["paragraph"] == paragraph
        assert nested["rule"] == "tungsten heavy alloy"
        steps = nested["paths"][0]["steps"]
        assert [(st["lot"], st["stage"], st["country"]) for st in steps] == [
            (alloy, "consolidation_sintering", "US"),
            (cartridge, "assembly", "CN"),
        ]
        assert nested["reason"].endswith(
            f"assembly of {cartridge} at fac:cnasm-plant (CN) makes a component containing "
            "tungsten heavy alloy, itself covered material: a restricted phase of its production"
        )


def test_untraced_wha_assembled_in_china_nested_in_a_us_munition_fails(
    empty_world: World,
) -> None:
    # (b)(5): the heavy alloy's own origin is unknown, but the cartridge that contains it was
    # produced in China, which the clause forbids whatever the alloy's origin.
    s = Scenario(empty_world)
    assembly_sites(s)
    wha = [{"material": "tungsten_heavy_alloy", "mass_kg": 1800}]
    (cartridge,) = s.make(
        "cnasm-plant", "assembly", [], [("CART", "component", 1900)], untraced=wha
    )
    (munition,) = s.make(
        "usasm-plant", "assembly", [(cartridge, 1900)], [("MUN", "component", 2500)]
    )
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, munition, DFARS, as_of)
        assert verdict["verdict"] == "fail"
        assert verdict["rule"] == "tungsten heavy alloy"
        assert verdict["paths"][0]["steps"][-1]["lot"] == cartridge


def test_magnet_subassembly_made_in_china_inside_a_us_end_item_passes(empty_world: World) -> None:
    # §1.5 (89 FR 46816): "A component assembled in China with a compliant magnet is not
    # caught by the end-item prong" when it is not the end item; magnets do not cover
    # components, so nesting must not over-correct into a fail.
    s = Scenario(empty_world)
    assembly_sites(s)
    magnet = japanese_magnet(s, separated_at="ausmine-sep")
    (motor,) = s.make("cnasm-plant", "assembly", [(magnet, 9500)], [("MOT", "component", 9600)])
    (end_item,) = s.make("usasm-plant", "assembly", [(motor, 9600)], [("END", "component", 9900)])
    assert check(empty_world, motor, DFARS, WINDOW_A)["verdict"] == "fail"  # end item itself
    assert check(empty_world, end_item, DFARS, WINDOW_A)["verdict"] == "pass"


def test_magnet_magnetized_in_china_inside_a_nested_component_fails(empty_world: World) -> None:
    # (b)(2)(i)(A) "all subsequent phases ... and magnetization": magnetizing the magnet in
    # China after assembly is a restricted stage inside the nested component (§1.5, S03c).
    s = Scenario(empty_world)
    assembly_sites(s)
    s.org("cnmag", "CN")
    s.site("cnmag-plant", "cnmag", "CN", ["magnetization"])
    magnet = japanese_magnet(s, separated_at="ausmine-sep")
    (rotor,) = s.make("usasm-plant", "assembly", [(magnet, 9500)], [("ROT", "component", 9600)])
    (live,) = s.make("cnmag-plant", "magnetization", [(rotor, 9600)], [("LIVE", "component", 9600)])
    (end_item,) = s.make("usasm-plant", "assembly", [(live, 9600)], [("END", "component", 9900)])
    verdict = check(empty_world, end_item, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    last = verdict["paths"][0]["steps"][-1]
    assert (last["lot"], last["stage"], last["country"]) == (live, "magnetization", "CN")


def test_untraced_component_declared_chinese_fails_the_bloc_policy(empty_world: World) -> None:
    # bloc-2026(3): every production stage, assembly included, must be in a member country;
    # the submitter declares the component was made in China (ADR 0020).
    s = Scenario(empty_world)
    assembly_sites(s)
    cn_part = [{"material": "component", "mass_kg": 5, "declared_origin": "CN"}]
    (item,) = s.make("usasm-plant", "assembly", [], [("END-3", "component", 5)], untraced=cn_part)
    assert check(empty_world, item, BLOC, WINDOW_B)["verdict"] == "fail"
    undeclared = [{"material": "component", "mass_kg": 5}]
    (other,) = s.make(
        "usasm-plant", "assembly", [], [("END-4", "component", 5)], untraced=undeclared
    )
    assert check(empty_world, other, BLOC, WINDOW_B)["verdict"] == "inconclusive"
