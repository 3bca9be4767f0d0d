"""Issue 11 item 3: recycled feed has an origin (ADR 0018).

Window B (252.225-7052(b)(1)(ii), from 2027-01-01) covers for samarium-cobalt magnets, tantalum
and tungsten "the entire supply chain from mining or production of a ... ore or feedstock,
including recycled material" ((b)(2)(i)(B), (b)(4)(ii), (b)(5)(ii)): recycled feed produced
(collected or generated) in a covered country is caught, and feed whose origin is not
recorded is unknown, not clean. NdFeB ((b)(3)) is silent about recycled material; the policy
reads it the same way (conservative), except under the recycled NdFeB exception
(c)(1)(iv), which has "no condition on where the scrap came from". bloc-2026 judges every
stage of every material, scrap collection included. Expected verdicts are written from
those paragraphs.
"""

from __future__ import annotations

from scenarios import BLOC, DFARS, WINDOW_A, WINDOW_B, Scenario, check

from helpers import World, envelope_bytes, extraction, key_for


def recyclers(s: Scenario) -> None:
    """Recyclers in China, Germany, Japan and the United States."""
    for org, country in (("cnrec", "CN"), ("derec", "DE"), ("jprec", "JP"), ("usrec", "US")):
        s.org(org, country)
        s.site(
            f"{org}-plant",
            org,
            country,
            [
                "scrap_collection",
                "recycling_reprocessing",
                "melting",
                "alloy_melting",
                "powder_formation",
                "sintering",
            ],
        )


def test_tantalum_scrap_collected_in_china_reprocessed_in_germany_fails_window_b(
    empty_world: World,
) -> None:
    # (b)(4)(ii): "production of a tantalum ... feedstock, including recycled material" in
    # China: FAIL in window B (window A asks only where it was reduced: PASS).
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-plant", "TA-SCRAP", "tantalum_scrap", 1000, source="recycled")
    (powder,) = s.make(
        "derec-plant",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("TA-POW", "tantalum_powder", 800)],
    )
    after = check(empty_world, powder, DFARS, WINDOW_B)
    assert after["verdict"] == "fail"
    assert after["paragraph"] == "252.225-7052(b)(4)(ii)"
    first = after["paths"][0]["steps"][0]
    assert (first["stage"], first["country"]) == ("scrap_collection", "CN")
    assert check(empty_world, powder, DFARS, WINDOW_A)["verdict"] == "pass"


def test_tungsten_scrap_of_recorded_chinese_origin_collected_in_germany_fails_window_b(
    empty_world: World,
) -> None:
    # (b)(5)(ii): the scrap was generated in China (its recorded origin), so the recycled
    # feedstock was produced there: FAIL, though it was collected and reprocessed in Germany.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("derec-plant", "W-SCRAP", "tungsten_scrap", 1000, source="recycled", origin="CN")
    (powder,) = s.make(
        "derec-plant",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("W-POW", "tungsten_powder", 700)],
    )
    verdict = check(empty_world, powder, DFARS, WINDOW_B)
    assert verdict["verdict"] == "fail"
    assert verdict["paragraph"] == "252.225-7052(b)(5)(ii)"


def test_tungsten_scrap_without_an_origin_is_inconclusive_in_window_b(empty_world: World) -> None:
    # (b)(5)(ii) asks where recycled feedstock was produced; the record does not say:
    # unknown, so INCONCLUSIVE, never PASS. With the German origin recorded: PASS.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("derec-plant", "W-SCRAP", "tungsten_scrap", 1000, source="recycled")
    (powder,) = s.make(
        "derec-plant",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("W-POW", "tungsten_powder", 700)],
    )
    verdict = check(empty_world, powder, DFARS, WINDOW_B)
    assert verdict["verdict"] == "inconclusive"
    assert verdict["shares"]["unknown"] == 1.0
    assert (
        "where the recycled tungsten_scrap was generated is not recorded"
        in (verdict["unknown_reasons"][0]["reason"])
    )
    known = s.mine(
        "derec-plant", "W-SCRAP-2", "tungsten_scrap", 1000, source="recycled", origin="DE"
    )
    (clean,) = s.make(
        "derec-plant",
        "recycling_reprocessing",
        [(known, 1000)],
        [("W-POW-2", "tungsten_powder", 700)],
    )
    assert check(empty_world, clean, DFARS, WINDOW_B)["verdict"] == "pass"


def test_untraced_tantalum_scrap_is_inconclusive_in_window_b(empty_world: World) -> None:
    # (b)(4)(ii): scrap bought outside the ledger has no recorded origin: INCONCLUSIVE.
    s = Scenario(empty_world)
    recyclers(s)
    (powder,) = s.make(
        "derec-plant",
        "recycling_reprocessing",
        [],
        [("TA-POW", "tantalum_powder", 800)],
        untraced=[{"material": "tantalum_scrap", "mass_kg": 1000}],
    )
    assert check(empty_world, powder, DFARS, WINDOW_B)["verdict"] == "inconclusive"
    assert check(empty_world, powder, DFARS, WINDOW_A)["verdict"] == "pass"


def _smco_magnet(s: Scenario, scrap: list[tuple[str, int]], tag: str) -> str:
    (alloy,) = s.make("jprec-plant", "melting", scrap, [(f"ALLOY-{tag}", "smco_alloy", 950)])
    (powder,) = s.make(
        "jprec-plant", "powder_formation", [(alloy, 950)], [(f"POW-{tag}", "smco_powder", 940)]
    )
    (magnet,) = s.make(
        "jprec-plant", "sintering", [(powder, 940)], [(f"MAG-{tag}", "smco_magnet", 930)]
    )
    return magnet


def test_smco_magnet_from_scrap_of_unrecorded_origin_is_inconclusive_in_window_b(
    empty_world: World,
) -> None:
    # (b)(2)(i)(B): "including recycled material"; the scrap's origin is not recorded:
    # INCONCLUSIVE. Recorded as Japanese: PASS.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("jprec-plant", "SMCO-SCRAP", "magnet_scrap", 1000, source="recycled")
    magnet = _smco_magnet(s, [(scrap, 1000)], "U")
    assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "inconclusive"
    known = s.mine(
        "jprec-plant", "SMCO-SCRAP-JP", "magnet_scrap", 1000, source="recycled", origin="JP"
    )
    magnet = _smco_magnet(s, [(known, 1000)], "JP")
    assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "pass"


def _ndfeb_magnet(s: Scenario, site: str, scrap: list[tuple[str, int]], tag: str) -> str:
    (powder,) = s.make(site, "powder_formation", scrap, [(f"POW-{tag}", "ndfeb_powder", 950)])
    (magnet,) = s.make(site, "sintering", [(powder, 950)], [(f"MAG-{tag}", "ndfeb_magnet", 940)])
    return magnet


def test_ndfeb_remelted_in_japan_from_half_unrecorded_scrap_is_inconclusive(
    empty_world: World,
) -> None:
    # Half the scrap's origin is recorded (Japan), half is not. Outside the US recycling
    # exception (c)(1)(iv), window B (b)(3) read conservatively and bloc-2026 ask where the
    # recycled feed arose: unknown for half, so INCONCLUSIVE under both, not PASS.
    s = Scenario(empty_world)
    recyclers(s)
    known = s.mine("jprec-plant", "S-JP", "magnet_scrap", 500, source="recycled", origin="JP")
    unknown = s.mine("jprec-plant", "S-X", "magnet_scrap", 500, source="recycled")
    magnet = _ndfeb_magnet(s, "jprec-plant", [(known, 500), (unknown, 500)], "HALF")
    for policy in (DFARS, BLOC):
        verdict = check(empty_world, magnet, policy, WINDOW_B)
        assert verdict["verdict"] == "inconclusive", policy
        assert verdict["shares"]["unknown"] == 0.5, policy


def test_ndfeb_remelted_in_japan_from_half_chinese_scrap_fails(empty_world: World) -> None:
    # Half the scrap was generated in China (recorded): window B read conservatively and
    # bloc-2026 FAIL; window A asks only where it was melted and milled (Japan): PASS.
    s = Scenario(empty_world)
    recyclers(s)
    known = s.mine("jprec-plant", "S-JP", "magnet_scrap", 500, source="recycled", origin="JP")
    chinese = s.mine("jprec-plant", "S-CN", "magnet_scrap", 500, source="recycled", origin="CN")
    magnet = _ndfeb_magnet(s, "jprec-plant", [(known, 500), (chinese, 500)], "CN")
    for policy in (DFARS, BLOC):
        verdict = check(empty_world, magnet, policy, WINDOW_B)
        assert verdict["verdict"] == "fail", policy
        assert verdict["shares"]["non_compliant"] == 0.5, policy
    assert check(empty_world, magnet, DFARS, WINDOW_A)["verdict"] == "pass"


def test_chinese_scrap_milled_and_sintered_in_the_us_is_still_exempt(empty_world: World) -> None:
    # (c)(1)(iv): "manufactured from recycled material if the milling ... and sintering ...
    # takes place in the United States"; no condition on where the scrap came from: EXEMPT,
    # with or without a recorded origin.
    s = Scenario(empty_world)
    recyclers(s)
    chinese = s.mine("cnrec-plant", "S-CN", "magnet_scrap", 1000, source="recycled")
    magnet = _ndfeb_magnet(s, "usrec-plant", [(chinese, 1000)], "US")
    verdict = check(empty_world, magnet, DFARS, WINDOW_B)
    assert verdict["verdict"] == "exempt"
    assert verdict["paragraph"] == "252.225-7052(c)(1)(iv)"
    assert check(empty_world, magnet, BLOC, WINDOW_B)["verdict"] == "fail"


def test_an_origin_on_a_mined_extraction_is_rejected(empty_world: World) -> None:
    # Only recycled scrap records an origin: one clear line, nothing stored.
    s = Scenario(empty_world)
    recyclers(s)
    record = extraction("cnrec", "cnrec-plant", [("lot:cnrec/ORE", "tantalum_ore", 10)])
    record["origin"] = "AU"
    (result,) = empty_world.submit([envelope_bytes(record, key_for("cnrec"))])
    assert not result.accepted
    assert result.error == (
        "payload: extraction has an origin, which only a recycled extraction records"
    )
