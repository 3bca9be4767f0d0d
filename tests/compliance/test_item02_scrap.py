"""Issue 11 item 2: scrap must not launder covered material in DFARS window A (ADR 0017).

Window A (252.225-7052(b)(1)(i), through 2026-12-31) restricts covered material "melted or
produced" in a covered country: for tantalum "the reduction or melting of any form of
tantalum to create tantalum metal including unwrought, powder, mill products, and alloys"
((b)(4)(i)); for tungsten "calcination and reduction into powder" and later phases
((b)(5)(i)); for magnets "melting ... to produce the ... alloy" and "all subsequent phases of
production of the magnets, such as powder formation" ((b)(2)(i)(A), (b)(3)(i)). Scrap made
into one of those in China is melted or produced in China, whatever the stage is called.
Expected verdicts are written from those paragraphs.
"""

from __future__ import annotations

from scenarios import DFARS, WINDOW_A, WINDOW_B, Scenario, check

from helpers import World


def recyclers(s: Scenario) -> None:
    """A Chinese recycler, a German one, and a Japanese magnet maker."""
    s.org("cnrec", "CN")
    s.site(
        "cnrec-ganzhou",
        "cnrec",
        "CN",
        ["scrap_collection", "recycling_reprocessing", "melting", "powder_formation"],
    )
    s.org("derec", "DE")
    s.site(
        "derec-goslar",
        "derec",
        "DE",
        ["scrap_collection", "recycling_reprocessing", "reduction_to_powder"],
    )
    s.org("jpmag", "JP")
    s.site(
        "jpmag-takefu",
        "jpmag",
        "JP",
        ["alloy_melting", "powder_formation", "pressing", "sintering"],
    )


def test_tantalum_powder_reprocessed_from_scrap_in_china_fails_window_a(
    empty_world: World,
) -> None:
    # (b)(4)(i): "the reduction or melting of any form of tantalum to create tantalum metal
    # including ... powder" happened in China: FAIL, though the stage is called recycling.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-ganzhou", "TA-SCRAP", "tantalum_scrap", 1000, source="recycled")
    (powder,) = s.make(
        "cnrec-ganzhou",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("TA-POW", "tantalum_powder", 800)],
    )
    verdict = check(empty_world, powder, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert verdict["paragraph"] == "252.225-7052(b)(4)(i)"
    assert verdict["shares"]["non_compliant"] == 1.0
    step = verdict["paths"][0]["steps"][-1]
    assert (step["stage"], step["country"]) == ("recycling_reprocessing", "CN")


def test_tungsten_powder_reprocessed_from_scrap_in_china_fails_window_a(
    empty_world: World,
) -> None:
    # (b)(5)(i)(B): "calcination and reduction into powder" in China: FAIL.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-ganzhou", "W-SCRAP", "tungsten_scrap", 1000, source="recycled")
    (powder,) = s.make(
        "cnrec-ganzhou",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("W-POW", "tungsten_powder", 700)],
    )
    verdict = check(empty_world, powder, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert verdict["paragraph"] == "252.225-7052(b)(5)(i)"


def _magnet_from(s: Scenario, lot: str, kg: int, material: str) -> str:
    """The Japanese maker finishes ``lot`` (an alloy or powder) into a magnet."""
    if material.endswith("_alloy"):
        (lot,) = s.make(
            "jpmag-takefu",
            "powder_formation",
            [(lot, kg)],
            [(f"{lot[-8:]}-P", material.replace("_alloy", "_powder"), kg)],
        )
        material = material.replace("_alloy", "_powder")
    (magnet,) = s.make(
        "jpmag-takefu",
        "sintering",
        [(lot, kg)],
        [(f"MAG-{lot[-6:]}", material.replace("_powder", "_magnet"), kg)],
    )
    return magnet


def test_ndfeb_alloy_remelted_from_scrap_in_china_fails_window_a(empty_world: World) -> None:
    # (b)(2)(i)(A): "melting neodymium with iron and boron to produce the ... alloy" in
    # China (a scrap 'melting', not 'alloy_melting'): the magnet made from it in Japan FAILS.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-ganzhou", "NDFEB-SCRAP", "magnet_scrap", 1000, source="recycled")
    (alloy,) = s.make(
        "cnrec-ganzhou", "melting", [(scrap, 1000)], [("NDFEB-ALLOY", "ndfeb_alloy", 950)]
    )
    magnet = _magnet_from(s, alloy, 950, "ndfeb_alloy")
    verdict = check(empty_world, magnet, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert verdict["paragraph"] == "252.225-7052(b)(2)(i)(A)"
    assert verdict["paths"][0]["steps"][0]["stage"] == "melting"
    assert verdict["paths"][0]["steps"][0]["country"] == "CN"


def test_ndfeb_powder_milled_from_scrap_in_china_fails_window_a(empty_world: World) -> None:
    # (b)(2)(i)(A)(2): "all subsequent phases ... such as powder formation" in China: FAIL.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-ganzhou", "NDFEB-SCRAP", "magnet_scrap", 1000, source="recycled")
    (powder,) = s.make(
        "cnrec-ganzhou",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("NDFEB-POW", "ndfeb_powder", 950)],
    )
    magnet = _magnet_from(s, powder, 950, "ndfeb_powder")
    assert check(empty_world, powder, DFARS, WINDOW_A)["verdict"] == "not_applicable"
    verdict = check(empty_world, magnet, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert verdict["shares"]["non_compliant"] == 1.0


def test_smco_alloy_remelted_from_scrap_in_china_fails_window_a(empty_world: World) -> None:
    # (b)(2)(i)(A)(1): "melting samarium with cobalt to produce the samarium-cobalt alloy"
    # in China: FAIL.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-ganzhou", "SMCO-SCRAP", "magnet_scrap", 1000, source="recycled")
    (alloy,) = s.make(
        "cnrec-ganzhou", "melting", [(scrap, 1000)], [("SMCO-ALLOY", "smco_alloy", 950)]
    )
    magnet = _magnet_from(s, alloy, 950, "smco_alloy")
    verdict = check(empty_world, magnet, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert verdict["paragraph"] == "252.225-7052(b)(2)(i)(A)"


def test_magnet_sintered_in_china_under_a_recycling_label_fails_window_a(
    empty_world: World,
) -> None:
    # (b)(2)(i)(A)(2): sintering is a subsequent phase of production; calling it
    # recycling_reprocessing does not move it out of China: FAIL.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-ganzhou", "NDFEB-SCRAP", "magnet_scrap", 1000, source="recycled")
    (alloy,) = s.make(
        "jpmag-takefu", "alloy_melting", [(scrap, 1000)], [("ALLOY-JP", "ndfeb_alloy", 950)]
    )
    (powder,) = s.make(
        "jpmag-takefu", "powder_formation", [(alloy, 950)], [("POW-JP", "ndfeb_powder", 950)]
    )
    (magnet,) = s.make(
        "cnrec-ganzhou",
        "recycling_reprocessing",
        [(powder, 950)],
        [("MAG-CN", "ndfeb_magnet", 940)],
    )
    verdict = check(empty_world, magnet, DFARS, WINDOW_A)
    assert verdict["verdict"] == "fail"
    assert verdict["paths"][0]["steps"][-1]["country"] == "CN"


def test_scrap_from_china_reprocessed_into_tantalum_powder_in_germany_passes_window_a(
    empty_world: World,
) -> None:
    # (b)(1)(i): window A asks only where the material was melted or produced (Germany);
    # where the scrap was collected is a window B question (item 3): PASS, then FAIL.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-ganzhou", "TA-SCRAP", "tantalum_scrap", 1000, source="recycled")
    (powder,) = s.make(
        "derec-goslar",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("TA-POW", "tantalum_powder", 800)],
    )
    assert check(empty_world, powder, DFARS, WINDOW_A)["verdict"] == "pass"
    assert check(empty_world, powder, DFARS, WINDOW_B)["verdict"] == "fail"


def test_scrap_reprocessed_into_a_tantalum_salt_in_china_and_reduced_in_germany_passes_a(
    empty_world: World,
) -> None:
    # (b)(4)(i) restricts reduction or melting "to create tantalum metal": making K2TaF7
    # (a chemical, not metal) in China is upstream of it, and the reduction to powder was
    # in Germany: PASS in window A.
    s = Scenario(empty_world)
    recyclers(s)
    scrap = s.mine("cnrec-ganzhou", "TA-SCRAP", "tantalum_scrap", 1000, source="recycled")
    (salt,) = s.make(
        "cnrec-ganzhou",
        "recycling_reprocessing",
        [(scrap, 1000)],
        [("TA-SALT", "k2taf7", 900)],
    )
    (powder,) = s.make(
        "derec-goslar",
        "reduction_to_powder",
        [(salt, 900)],
        [("TA-POW", "tantalum_powder", 400)],
    )
    verdict = check(empty_world, powder, DFARS, WINDOW_A)
    assert verdict["verdict"] == "pass", (verdict["reason"], verdict["unknown_reasons"])
