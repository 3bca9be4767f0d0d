"""Compliance scenarios through the command line, with real signed records (issue 3).

Each scenario builds a chain with :class:`scenarios.Scenario`, then asks ``bloc check`` for a
verdict under a built-in policy as of a delivery date, and asserts the verdict, the exit
code, the shares, the rule and the offending path.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from scenarios import (
    BLOC,
    DFARS,
    WINDOW_A,
    WINDOW_B,
    Scenario,
    assembly_sites,
    check,
    japanese_magnet,
    magnet_sites,
    wha_chain,
)

from ledger.cli.main import bloc

from helpers import World


def test_separated_in_china_finished_in_japan(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    magnet = japanese_magnet(s)
    before = check(empty_world, magnet, DFARS, WINDOW_A)
    assert before["verdict"] == "pass"
    assert before["shares"] == {"compliant": 1.0, "non_compliant": 0.0, "unknown": 0.0}
    assert before["window"] == "A"
    after = check(empty_world, magnet, DFARS, WINDOW_B)
    assert after["verdict"] == "fail"
    assert after["window"] == "B"
    assert after["paragraph"] == "252.225-7052(b)(3)"
    # Iron and boron (6,900 of the 9,900 kg melted) are clean; the rare-earth metal is not.
    assert after["shares"]["non_compliant"] == pytest.approx(3000 / 9900, abs=1e-6)
    path = after["paths"][0]["steps"]
    assert [(step["stage"], step["country"]) for step in path] == [
        ("separation", "CN"),
        ("metal_reduction", "JP"),
        ("alloy_melting", "JP"),
        ("powder_formation", "JP"),
        ("sintering", "JP"),
    ]
    assert path[-1]["lot"] == magnet


def test_chinese_magnet_repacked_in_a_bloc_country_still_fails(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    s.site("cnsep-magnets", "cnsep", "CN", ["alloy_melting", "powder_formation", "sintering"])
    s.org("mxtrade", "MX")
    s.site("mxtrade-wh", "mxtrade", "MX", ["repack", "split"])
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000)
    (oxide,) = s.make("cnsep-baotou", "separation", [(ore, 20000)], [("OX-1", "ndpr_oxide", 4000)])
    (metal,) = s.make(
        "cnsep-baotou", "metal_reduction", [(oxide, 4000)], [("MET-1", "ndpr_metal", 3000)]
    )
    (alloy,) = s.make(
        "cnsep-magnets",
        "alloy_melting",
        [(metal, 3000)],
        [("AL-1", "ndfeb_alloy", 9800)],
        untraced=[{"material": "iron", "mass_kg": 6800}],
    )
    (magnet,) = s.make(
        "cnsep-magnets", "sintering", [(alloy, 9800)], [("MAG-1", "ndfeb_magnet", 9500)]
    )
    (relabelled,) = s.make(
        "mxtrade-wh", "repack", [(magnet, 9500)], [("MX-MAG-1", "ndfeb_magnet", 9500)]
    )
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, relabelled, DFARS, as_of)
        assert verdict["verdict"] == "fail"
        assert verdict["shares"]["non_compliant"] == 1.0
        steps = verdict["paths"][0]["steps"]
        assert (steps[-1]["stage"], steps[-1]["country"]) == ("repack", "MX")
        assert steps[-2]["country"] == "CN"


def test_heat_with_two_percent_chinese_metal(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    s.org("eesep", "EE")
    s.site("eesep-sillamae", "eesep", "EE", ["cracking_leaching", "separation", "metal_reduction"])
    clean_ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 50000)
    (clean_oxide,) = s.make(
        "eesep-sillamae", "separation", [(clean_ore, 50000)], [("OX-1", "ndpr_oxide", 6000)]
    )
    (clean_metal,) = s.make(
        "eesep-sillamae", "metal_reduction", [(clean_oxide, 6000)], [("MET-1", "ndpr_metal", 4900)]
    )
    cn_ore = s.mine("ausmine-pit", "ORE-2", "rare_earth_concentrate", 1000)
    (cn_oxide,) = s.make(
        "cnsep-baotou", "separation", [(cn_ore, 1000)], [("OX-2", "ndpr_oxide", 150)]
    )
    (cn_metal,) = s.make(
        "cnsep-baotou", "metal_reduction", [(cn_oxide, 150)], [("MET-2", "ndpr_metal", 100)]
    )
    iron = s.mine("usfe-mine", "FE-1", "iron", 10000)
    (heat,) = s.make(
        "jpmag-takefu",
        "alloy_melting",
        [(clean_metal, 4900), (cn_metal, 100), (iron, 10000)],
        [("HEAT-1", "ndfeb_alloy", 15000)],
    )
    (magnet,) = s.make(
        "jpmag-takefu", "sintering", [(heat, 15000)], [("MAG-1", "ndfeb_magnet", 14800)]
    )
    assert check(empty_world, magnet, DFARS, WINDOW_A)["verdict"] == "pass"
    after = check(empty_world, magnet, DFARS, WINDOW_B)
    assert after["verdict"] == "fail"
    assert after["shares"]["non_compliant"] == pytest.approx(100 / 15000, abs=1e-6)
    assert after["reason"] == "non-compliant mass: any non-compliant gram fails (no de minimis)"


def test_recycled_ndfeb_milled_and_sintered_in_the_us_is_exempt(empty_world: World) -> None:
    s = Scenario(empty_world)
    s.org("usrec", "US")
    s.site("usrec-plant", "usrec", "US", ["scrap_collection", "powder_formation", "sintering"])
    s.org("cnrec", "CN")
    s.site("cnrec-mill", "cnrec", "CN", ["scrap_collection", "powder_formation"])
    scrap = s.mine("usrec-plant", "SCRAP-1", "magnet_scrap", 1000, source="recycled")
    (powder,) = s.make(
        "usrec-plant", "powder_formation", [(scrap, 1000)], [("POW-1", "ndfeb_powder", 950)]
    )
    (magnet,) = s.make(
        "usrec-plant", "sintering", [(powder, 950)], [("MAG-1", "ndfeb_magnet", 900)]
    )
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, magnet, DFARS, as_of)
        assert verdict["verdict"] == "exempt"
        assert verdict["paragraph"] == "252.225-7052(c)(1)(iv)"
    scrap_cn = s.mine("cnrec-mill", "SCRAP-2", "magnet_scrap", 1000, source="recycled")
    (powder_cn,) = s.make(
        "cnrec-mill", "powder_formation", [(scrap_cn, 1000)], [("POW-2", "ndfeb_powder", 950)]
    )
    (magnet_cn,) = s.make(
        "usrec-plant", "sintering", [(powder_cn, 950)], [("MAG-2", "ndfeb_magnet", 900)]
    )
    verdict = check(empty_world, magnet_cn, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert verdict["paths"][0]["steps"][0]["stage"] == "powder_formation"
    assert verdict["paths"][0]["steps"][0]["country"] == "CN"


def test_tungsten_whose_apt_came_from_china(empty_world: World) -> None:
    s = Scenario(empty_world)
    s.org("rwmine", "RW")
    s.site("rwmine-pit", "rwmine", "RW", ["mining", "beneficiation"])
    s.org("cnapt", "CN")
    s.site("cnapt-ganzhou", "cnapt", "CN", ["apt_refining"])
    s.org("krpow", "KR")
    s.site("krpow-plant", "krpow", "KR", ["calcination", "reduction_to_powder"])
    conc = s.mine("rwmine-pit", "W-1", "tungsten_concentrate", 5000)
    (apt,) = s.make("cnapt-ganzhou", "apt_refining", [(conc, 5000)], [("APT-1", "apt", 3000)])
    (oxide,) = s.make(
        "krpow-plant", "calcination", [(apt, 3000)], [("WO3-1", "tungsten_oxide", 2500)]
    )
    (powder,) = s.make(
        "krpow-plant", "reduction_to_powder", [(oxide, 2500)], [("WP-1", "tungsten_powder", 1900)]
    )
    assert check(empty_world, powder, DFARS, WINDOW_A)["verdict"] == "pass"
    after = check(empty_world, powder, DFARS, WINDOW_B)
    assert after["verdict"] == "fail"
    assert after["paths"][0]["steps"][0]["stage"] == "apt_refining"


def test_eu_separator_thirty_percent_owned_by_a_covered_government(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    s.org(
        "eesep",
        "EE",
        control=[
            {
                "holder": "State-owned rare earth group",
                "country": "CN",
                "percent": 30,
                "government": True,
            },
            {"holder": "Local investors", "country": "EE", "percent": 70, "government": False},
        ],
    )
    s.site("eesep-sillamae", "eesep", "EE", ["cracking_leaching", "separation"])
    magnet = japanese_magnet(s, separated_at="eesep-sillamae")
    under_bloc = check(empty_world, magnet, BLOC, WINDOW_B)
    assert under_bloc["verdict"] == "fail"
    assert under_bloc["paths"][0]["steps"][0]["facility"] == "fac:eesep-sillamae"
    assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "pass"


def test_trader_repack_that_outputs_more_than_it_received(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    s.org("mxtrade", "MX")
    s.site("mxtrade-wh", "mxtrade", "MX", ["repack"])
    s.site("ausmine-sep", "ausmine", "AU", ["cracking_leaching", "separation"])
    clean = japanese_magnet(s, separated_at="ausmine-sep")
    (bigger,) = s.make("mxtrade-wh", "repack", [(clean, 9500)], [("MX-1", "ndfeb_magnet", 11000)])
    assert check(empty_world, clean, DFARS, WINDOW_A)["verdict"] == "pass"
    verdict = check(empty_world, bigger, DFARS, WINDOW_A)
    assert verdict["verdict"] == "inconclusive"
    assert verdict["shares"]["unknown"] == pytest.approx(1500 / 11000, abs=1e-6)
    assert verdict["unknown_reasons"][0]["reason"] == "integrity finding on lot:mxtrade/MX-1"


def test_magnet_whose_iron_was_untraced(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    s.site("ausmine-sep", "ausmine", "AU", ["cracking_leaching", "separation"])
    magnet = japanese_magnet(s, separated_at="ausmine-sep", traced_iron=False)
    assert check(empty_world, magnet, DFARS, WINDOW_A)["verdict"] == "pass"
    after = check(empty_world, magnet, DFARS, WINDOW_B)
    assert after["verdict"] == "inconclusive"
    assert after["shares"]["unknown"] == pytest.approx(6900 / 9900, abs=1e-6)
    assert after["unknown_reasons"][0]["reason"].startswith("untraced iron at log index ")


def test_materials_the_policy_does_not_cover(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 100)
    verdict = check(empty_world, ore, DFARS, WINDOW_B)
    assert verdict["verdict"] == "not_applicable"
    assert verdict["reason"] == f"rare_earth_concentrate is not a material {DFARS} covers"


def test_check_all_defense_exits_with_the_worst(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    s.site("ausmine-sep", "ausmine", "AU", ["cracking_leaching", "separation"])
    s.org("usdef", "US")
    s.site("usdef-plant", "usdef", "US", ["assembly"])
    clean = japanese_magnet(s, separated_at="ausmine-sep")
    s.ship(clean, "usdef-plant", end_use="defense")
    runner = CliRunner()
    home = str(empty_world.home.path)
    result = runner.invoke(
        bloc,
        [
            "--home",
            home,
            "check",
            "--all",
            "--end-use",
            "defense",
            "--policy",
            DFARS,
            "--as-of",
            WINDOW_B,
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        f"1 lot shipped for defense use under {DFARS} as of {WINDOW_B}",
        "  pass            1",
    ]
    everything = runner.invoke(
        bloc, ["--home", home, "check", "--all", "--policy", BLOC, "--as-of", WINDOW_B, "--json"]
    )
    verdicts = {v["lot"]: v["verdict"] for v in map(json.loads, everything.stdout.splitlines())}
    # The Australian ore and the clean chain are in the bloc; nothing else was made.
    assert verdicts[clean] == "pass"
    assert set(verdicts.values()) == {"pass"}
    assert everything.exit_code == 0


def test_heavy_alloy_penetrator_machined_in_china(empty_world: World) -> None:
    """A component containing tungsten heavy alloy is covered material itself: machining it
    in China is a restricted later phase of production, in both windows."""
    s = Scenario(empty_world)
    alloy = wha_chain(s)
    s.org("cnasm", "CN")
    s.site("cnasm-plant", "cnasm", "CN", ["machining"])
    assert check(empty_world, alloy, DFARS, WINDOW_B)["verdict"] == "pass"
    (penetrator,) = s.make(
        "cnasm-plant", "machining", [(alloy, 1800)], [("PEN", "component", 1500)]
    )
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, penetrator, DFARS, as_of)
        assert verdict["verdict"] == "fail"
        assert verdict["reason"].endswith(
            "machining of lot:uswha/WHA at fac:cnasm-plant (CN) is a restricted phase of its production"
        )


def test_component_assembled_in_china_under_the_bloc_policy(empty_world: World) -> None:
    s = Scenario(empty_world)
    assembly_sites(s)
    magnet = japanese_magnet(s, separated_at="ausmine-sep")
    (component,) = s.make("cnasm-plant", "assembly", [(magnet, 9500)], [("C-1", "component", 9500)])
    verdict = check(empty_world, component, BLOC, WINDOW_B)
    assert verdict["verdict"] == "fail"
    assert verdict["paths"][0]["steps"][-1]["stage"] == "assembly"
    assert check(empty_world, component, DFARS, WINDOW_B)["verdict"] == "fail"  # end-item prong


def test_component_with_an_untraced_magnet(empty_world: World) -> None:
    s = Scenario(empty_world)
    assembly_sites(s)
    magnet = [{"material": "ndfeb_magnet", "mass_kg": 10}]
    (in_us,) = s.make("usasm-plant", "assembly", [], [("C-2", "component", 10)], untraced=magnet)
    verdict = check(empty_world, in_us, DFARS, WINDOW_A)
    assert verdict["verdict"] == "inconclusive"
    assert verdict["parts"][0]["reason"].startswith("untraced ndfeb_magnet at log index ")
    (in_cn,) = s.make("cnasm-plant", "assembly", [], [("C-3", "component", 10)], untraced=magnet)
    assert check(empty_world, in_cn, DFARS, WINDOW_A)["verdict"] == "fail"


def test_recycled_magnet_with_phantom_mass_is_not_exempt(empty_world: World) -> None:
    s = Scenario(empty_world)
    s.org("usrec", "US")
    s.site("usrec-plant", "usrec", "US", ["scrap_collection", "powder_formation", "sintering"])
    # The scrap's US origin is recorded, so that only the phantom mass is unknown (issue 11
    # item 3: without it, where the scrap arose would be unknown in window B too).
    scrap = s.mine("usrec-plant", "SCRAP-1", "magnet_scrap", 1000, source="recycled", origin="US")
    (powder,) = s.make(
        "usrec-plant", "powder_formation", [(scrap, 1000)], [("POW-1", "ndfeb_powder", 950)]
    )
    (magnet,) = s.make(
        "usrec-plant", "sintering", [(powder, 950)], [("MAG-1", "ndfeb_magnet", 5000)]
    )
    verdict = check(empty_world, magnet, DFARS, WINDOW_B)
    assert verdict["verdict"] == "inconclusive"
    assert verdict["shares"]["unknown"] == pytest.approx(0.81, abs=1e-6)


def test_government_stakes_split_between_china_and_hong_kong_count_together(
    empty_world: World,
) -> None:
    s = Scenario(empty_world)
    magnet_sites(s)
    s.org(
        "eesep",
        "EE",
        control=[
            {"holder": "CN state group", "country": "CN", "percent": 15, "government": True},
            {"holder": "HK government fund", "country": "HK", "percent": 15, "government": True},
            {"holder": "Local investors", "country": "EE", "percent": 70, "government": False},
        ],
    )
    s.site("eesep-sillamae", "eesep", "EE", ["cracking_leaching", "separation"])
    magnet = japanese_magnet(s, separated_at="eesep-sillamae")
    assert check(empty_world, magnet, BLOC, WINDOW_B)["verdict"] == "fail"


def test_control_is_judged_when_the_stage_happened(empty_world: World) -> None:
    """The separator was 30% held by the Chinese state when it separated the oxide (March);
    it divested in May. The stage stays non-compliant under bloc-2026; a separation done
    after the divestment is not."""
    s = Scenario(empty_world)
    magnet_sites(s)
    state = [{"holder": "CN state group", "country": "CN", "percent": 30, "government": True}]
    s.org("eesep", "EE", control=state)
    s.site("eesep-sillamae", "eesep", "EE", ["cracking_leaching", "separation"])
    magnet = japanese_magnet(s, separated_at="eesep-sillamae")
    assert check(empty_world, magnet, BLOC, WINDOW_B)["verdict"] == "fail"
    s.org("eesep", "EE", control=[], issued_at="2026-05-15T00:00:00Z")
    assert check(empty_world, magnet, BLOC, WINDOW_B)["verdict"] == "fail"
    ore = s.mine("ausmine-pit", "ORE-9", "rare_earth_concentrate", 1000)
    (later,) = s.make(
        "eesep-sillamae",
        "separation",
        [(ore, 1000)],
        [("OX-9", "ndpr_oxide", 200)],
        on="2026-05-20",
    )
    assert check(empty_world, later, BLOC, WINDOW_B)["verdict"] == "pass"
