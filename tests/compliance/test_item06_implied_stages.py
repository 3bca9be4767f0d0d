"""Issue 11 item 6: refined materials imply their refining (ADR 0017).

Window B (252.225-7052(b)(1)(ii)) covers material "mined, refined, separated, melted, or
produced" in a covered country, for samarium-cobalt magnets "the entire supply chain from
mining or production of a cobalt and samarium ore or feedstock" ((b)(2)(i)(B); DoD: "cobalt
metal powder is part of the samarium-cobalt magnet supply chain"), for NdFeB "from mining
of neodymium, iron, and boron" ((b)(3)). Cobalt metal, iron and boron are refined: an
"extraction" of one at a mine does not say where it was refined, so it is unknown unless the
site is registered for the refining. Expected verdicts are written from those paragraphs.
"""

from __future__ import annotations

from scenarios import BLOC, DFARS, WINDOW_A, WINDOW_B, Scenario, check

from helpers import World


def smco_sites(s: Scenario, *, cobalt_stages: list[str]) -> None:
    """An Australian rare-earth mine and separator, a Congolese cobalt site, a Chinese
    cobalt refinery and a Japanese magnet maker."""
    s.org("aure", "AU")
    s.site(
        "aure-site", "aure", "AU", ["mining", "beneficiation", "cracking_leaching", "separation"]
    )
    s.org("cdco", "CD")
    s.site("cdco-mine", "cdco", "CD", cobalt_stages)
    s.org("cnco", "CN")
    s.site("cnco-refinery", "cnco", "CN", ["refining"])
    s.org("jpmag", "JP")
    s.site(
        "jpmag-plant",
        "jpmag",
        "JP",
        ["metal_reduction", "alloy_melting", "powder_formation", "sintering"],
    )


def smco_magnet(s: Scenario, cobalt: str) -> str:
    ore = s.mine("aure-site", "ORE", "rare_earth_concentrate", 10000)
    (oxide,) = s.make("aure-site", "separation", [(ore, 10000)], [("SM-OX", "samarium_oxide", 500)])
    (metal,) = s.make(
        "jpmag-plant", "metal_reduction", [(oxide, 500)], [("SM-MET", "samarium_metal", 400)]
    )
    (alloy,) = s.make(
        "jpmag-plant",
        "alloy_melting",
        [(metal, 400), (cobalt, 600)],
        [("SMCO-ALLOY", "smco_alloy", 990)],
    )
    (powder,) = s.make(
        "jpmag-plant", "powder_formation", [(alloy, 990)], [("SMCO-POW", "smco_powder", 980)]
    )
    (magnet,) = s.make(
        "jpmag-plant", "sintering", [(powder, 980)], [("SMCO-MAG", "smco_magnet", 970)]
    )
    return magnet


def test_cobalt_metal_extracted_at_a_congolese_mine_is_inconclusive_in_window_b(
    empty_world: World,
) -> None:
    # (b)(2)(i)(B): where the cobalt metal was refined is not recorded (the mine is
    # registered for mining only): INCONCLUSIVE, not PASS. Window A does not ask: PASS.
    s = Scenario(empty_world)
    smco_sites(s, cobalt_stages=["mining"])
    cobalt = s.mine("cdco-mine", "CO-MET", "cobalt_metal", 600)
    magnet = smco_magnet(s, cobalt)
    verdict = check(empty_world, magnet, DFARS, WINDOW_B)
    assert verdict["verdict"] == "inconclusive"
    assert verdict["shares"]["unknown"] == 0.6
    assert verdict["unknown_reasons"][0]["reason"].startswith("refining not recorded for log index")
    assert check(empty_world, magnet, DFARS, WINDOW_A)["verdict"] == "pass"


def test_cobalt_metal_mined_and_refined_at_a_registered_congolese_site_passes_window_b(
    empty_world: World,
) -> None:
    # The site is registered for refining: the refining is recorded there, in the DRC, not a
    # covered country: PASS.
    s = Scenario(empty_world)
    smco_sites(s, cobalt_stages=["mining", "refining"])
    cobalt = s.mine("cdco-mine", "CO-MET", "cobalt_metal", 600)
    assert check(empty_world, smco_magnet(s, cobalt), DFARS, WINDOW_B)["verdict"] == "pass"


def test_congolese_cobalt_hydroxide_refined_in_china_fails_window_b(empty_world: World) -> None:
    # (b)(2)(i)(B): the cobalt metal was "refined" in a covered country: FAIL.
    s = Scenario(empty_world)
    smco_sites(s, cobalt_stages=["mining", "refining"])
    hydroxide = s.mine("cdco-mine", "CO-OH", "cobalt_hydroxide", 1500)
    (cobalt,) = s.make(
        "cnco-refinery", "refining", [(hydroxide, 1500)], [("CO-MET", "cobalt_metal", 600)]
    )
    verdict = check(empty_world, smco_magnet(s, cobalt), DFARS, WINDOW_B)
    assert verdict["verdict"] == "fail"
    assert verdict["paragraph"] == "252.225-7052(b)(2)(i)(B)"
    assert verdict["paths"][0]["steps"][0]["country"] == "CN"


def test_iron_and_boron_extracted_at_a_mine_registered_for_mining_only_are_unknown(
    empty_world: World,
) -> None:
    # (b)(3): "from mining of neodymium, iron, and boron"; iron and boron are refined, and
    # where is not recorded: INCONCLUSIVE under window B and bloc-2026.
    s = Scenario(empty_world)
    smco_sites(s, cobalt_stages=["mining"])
    s.org("usfe", "US")
    s.site("usfe-mine", "usfe", "US", ["mining"])
    ore = s.mine("aure-site", "ORE", "rare_earth_concentrate", 10000)
    (oxide,) = s.make("aure-site", "separation", [(ore, 10000)], [("OX", "ndpr_oxide", 1000)])
    (metal,) = s.make(
        "jpmag-plant", "metal_reduction", [(oxide, 1000)], [("MET", "ndpr_metal", 800)]
    )
    iron = s.mine("usfe-mine", "FE", "iron", 1800)
    boron = s.mine("usfe-mine", "B", "boron", 30)
    (alloy,) = s.make(
        "jpmag-plant",
        "alloy_melting",
        [(metal, 800), (iron, 1800), (boron, 30)],
        [("ALLOY", "ndfeb_alloy", 2600)],
    )
    (powder,) = s.make(
        "jpmag-plant", "powder_formation", [(alloy, 2600)], [("POW", "ndfeb_powder", 2600)]
    )
    (magnet,) = s.make(
        "jpmag-plant", "sintering", [(powder, 2600)], [("MAG", "ndfeb_magnet", 2600)]
    )
    for policy in (DFARS, BLOC):
        verdict = check(empty_world, magnet, policy, WINDOW_B)
        assert verdict["verdict"] == "inconclusive", policy
        assert verdict["shares"]["unknown"] > 0.69, policy
