"""Issue 11 item 7: exact grams where verdicts are decided, and shares that never print a
non-zero quantity as zero (ADR 0023).

The scenarios run through the command line on both backends (``empty_world``); the expected
verdicts are written from the clause (DFARS 252.225-7052, read in
``../shared/research/compliance-rules.md`` §1) before the code. The property test builds
graphs directly, as ``test_compliance_properties`` does, so that it can reach masses the
scenarios cannot afford to sign.
"""

from __future__ import annotations

import contextlib
import io
import json
from datetime import date
from fractions import Fraction
from typing import Any

import networkx as nx
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenarios import DFARS, WINDOW_A, WINDOW_B, Scenario, check

from ledger import render
from ledger.cli.compliance import print_verdict
from ledger.cli.main import bloc
from ledger.compliance import FAIL, FacilityFacts, judge, verdict_document
from ledger.compliance.policy import load

from helpers import World

TWO_THOUSAND_TONNES_KG = 2_000_000
MAGNET_KG = 1_800_000


def check_text(world: World, lot: str, policy: str, as_of: str) -> str:
    result = CliRunner().invoke(
        bloc,
        ["--home", str(world.home.path), "check", lot, "--policy", policy, "--as-of", as_of],
    )
    assert "Traceback" not in result.output
    return result.stdout


def us_recycler(s: Scenario) -> None:
    """A US plant that collects magnet scrap, melts, mills and sinters it; an Australian
    mine; a Chinese separator and metal maker."""
    s.org("usrec", "US")
    s.site(
        "usrec-plant",
        "usrec",
        "US",
        ["scrap_collection", "alloy_melting", "powder_formation", "sintering"],
    )
    s.org("ausmine", "AU")
    s.site("ausmine-pit", "ausmine", "AU", ["mining", "beneficiation"])
    s.org("cnsep", "CN")
    s.site("cnsep-baotou", "cnsep", "CN", ["cracking_leaching", "separation", "metal_reduction"])


def recycled_magnet(s: Scenario, name: str, *, virgin_metal: str | None) -> str:
    """2,000 t of magnet scrap generated and collected in the US (its recorded origin, ADR
    0018) (and ``virgin_metal``, if given) melted, milled and sintered in the US into
    1,800 t of magnets."""
    scrap = s.mine(
        "usrec-plant",
        f"SCRAP-{name}",
        "magnet_scrap",
        TWO_THOUSAND_TONNES_KG,
        source="recycled",
        origin="US",
    )
    inputs: list[tuple[str, Any]] = [(scrap, TWO_THOUSAND_TONNES_KG)]
    if virgin_metal is not None:
        inputs.append((virgin_metal, 0.001))
    (alloy,) = s.make(
        "usrec-plant", "alloy_melting", inputs, [(f"ALLOY-{name}", "ndfeb_alloy", 1_900_000)]
    )
    (powder,) = s.make(
        "usrec-plant",
        "powder_formation",
        [(alloy, 1_900_000)],
        [(f"POW-{name}", "ndfeb_powder", 1_850_000)],
    )
    (magnet,) = s.make(
        "usrec-plant",
        "sintering",
        [(powder, 1_850_000)],
        [(f"MAG-{name}", "ndfeb_magnet", MAGNET_KG)],
    )
    return magnet


def one_gram_of_chinese_ndpr_metal(s: Scenario) -> str:
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 0.010)
    (oxide,) = s.make("cnsep-baotou", "separation", [(ore, 0.010)], [("OX-1", "ndpr_oxide", 0.002)])
    (metal,) = s.make(
        "cnsep-baotou", "metal_reduction", [(oxide, 0.002)], [("MET-1", "ndpr_metal", 0.001)]
    )
    return metal


def test_two_thousand_tonnes_of_us_recycled_scrap_alone_is_exempt(empty_world: World) -> None:
    """252.225-7052(c)(1)(iv): "A neodymium-iron-boron magnet manufactured from recycled
    material if the milling of the recycled material and sintering of the final magnet takes
    place in the United States" — large masses must not disturb the exact test."""
    s = Scenario(empty_world)
    us_recycler(s)
    magnet = recycled_magnet(s, "A", virgin_metal=None)
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, magnet, DFARS, as_of)
        assert verdict["verdict"] == "exempt"
        assert verdict["paragraph"] == "252.225-7052(c)(1)(iv)"
        assert verdict["grams"] == {
            "judged": "1800000000",
            "compliant": "1800000000",
            "non_compliant": "0",
            "unknown": "0",
        }


def test_one_virgin_chinese_gram_in_two_thousand_tonnes_of_recycled_scrap_is_not_exempt(
    empty_world: World,
) -> None:
    """(c)(1)(iv) exempts a magnet "manufactured from recycled material": one gram of virgin
    NdPr separated in China makes it a magnet manufactured partly from virgin material, so
    the exception does not apply ("every judged gram" means every gram). Window A (b)(1)
    restricts melting and later phases, all done in the US: PASS. Window B (b)(3) restricts
    "the entire supply chain, from mining": the Chinese separation fails it, and with no de
    minimis one gram suffices: FAIL."""
    s = Scenario(empty_world)
    us_recycler(s)
    metal = one_gram_of_chinese_ndpr_metal(s)
    magnet = recycled_magnet(s, "B", virgin_metal=metal)

    before = check(empty_world, magnet, DFARS, WINDOW_A)
    assert before["verdict"] == "pass"
    assert before["paragraph"] != "252.225-7052(c)(1)(iv)"

    after = check(empty_world, magnet, DFARS, WINDOW_B)
    assert after["verdict"] == "fail"
    assert after["paragraph"] == "252.225-7052(b)(3)"
    # 1 of the 2,000,000,001 g melted, carried into the 1,800 t of magnets: exactly.
    tainted = Fraction(1_800_000_000, 2_000_000_001)
    assert Fraction(after["grams"]["non_compliant"]) == tainted
    assert Fraction(after["grams"]["compliant"]) == 1_800_000_000 - tainted
    assert after["grams"]["judged"] == "1800000000"
    assert Fraction(after["paths"][0]["grams"]) == tainted
    # The path starts at the last restricted stage done in China (the metal reduction,
    # which re-taints what the separation tainted).
    source = after["paths"][0]["steps"][0]
    assert (source["stage"], source["country"]) == ("metal_reduction", "CN")


def test_a_tiny_non_compliant_share_never_prints_as_zero(empty_world: World) -> None:
    """The FAIL above is caused by a share of 5e-10: the text must not say "non-compliant
    0.00%" nor "compliant 100.00%", and the JSON must not say non_compliant 0.0."""
    s = Scenario(empty_world)
    us_recycler(s)
    magnet = recycled_magnet(s, "C", virgin_metal=one_gram_of_chinese_ndpr_metal(s))
    verdict = check(empty_world, magnet, DFARS, WINDOW_B)
    assert verdict["verdict"] == "fail"
    assert 0.0 < verdict["shares"]["non_compliant"] < 1e-9
    assert 1.0 - 1e-9 < verdict["shares"]["compliant"] < 1.0
    assert verdict["paths"][0]["share"] > 0.0
    text = check_text(empty_world, magnet, DFARS, WINDOW_B)
    assert "  shares     compliant > 99.99%, non-compliant < 0.01%, unknown 0.00%\n" in text
    assert "  path 1     < 0.01% of the judged mass (≈ 0.9 g):\n" in text
    assert (
        "  grams      1,800,000 kg judged: compliant ≈ 1,799,999.999 kg, "
        "non-compliant ≈ 0.9 g, unknown 0 kg\n"
    ) in text


# -- property: a non-zero non-compliant gram count never prints as zero -----------------------

POLICY = load(DFARS)
AS_OF = date(2027, 2, 1)
CLEAN = FacilityFacts(
    id="fac:clean", country="US", operator="clean", stages=frozenset(), control=()
)
DIRTY = FacilityFacts(
    id="fac:dirty", country="CN", operator="dirty", stages=frozenset(), control=()
)


def _lot(
    material: str, mass_g: int, index: int, facility: FacilityFacts, stage: str
) -> dict[str, Any]:
    return {
        "kind": "lot",
        "material": material,
        "mass_g": mass_g,
        "log_index": index,
        "facility": facility.id,
        "country": facility.country,
        "operator": facility.operator,
        "stage": stage,
        "date": "2026-03-02",
        "source": "" if stage != "scrap_collection" else "recycled",
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    clean_g=st.integers(1, 10**15),
    dirty_g=st.integers(1, 10**6),
    magnet_g=st.integers(1, 10**15),
)
def test_a_non_zero_non_compliant_gram_count_never_prints_as_zero(
    clean_g: int, dirty_g: int, magnet_g: int
) -> None:
    """Recycled (clean) scrap and NdPr metal reduced in China (window B, (b)(3)) sintered
    together into a magnet: whatever the masses, the non-compliant grams are exact, and no
    printed form of the verdict (text, shares, JSON) shows them as zero or the compliant
    mass as all of it."""
    graph = nx.DiGraph(root=None, direction="up")
    graph.add_node("lot:scrap", **_lot("magnet_scrap", clean_g, 1, CLEAN, "scrap_collection"))
    graph.add_node("lot:metal", **_lot("ndfeb_powder", dirty_g, 2, DIRTY, "powder_formation"))
    graph.add_node("lot:magnet", **_lot("ndfeb_magnet", magnet_g, 3, CLEAN, "sintering"))
    graph.add_edge("lot:scrap", "lot:magnet", grams=clean_g, consumed=clean_g, log_index=3)
    graph.add_edge("lot:metal", "lot:magnet", grams=dirty_g, consumed=dirty_g, log_index=3)
    facilities = {"fac:clean": CLEAN, "fac:dirty": DIRTY}
    v = judge(
        "lot:magnet",
        graph,
        policy=POLICY,
        as_of=AS_OF,
        facilities=facilities,
        unknown_grams={},
    )
    assert v.verdict == FAIL
    assert v.grams is not None
    assert v.grams.non_compliant == Fraction(magnet_g * dirty_g, clean_g + dirty_g)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_verdict(v)
    text = out.getvalue()
    assert "non-compliant 0.00%" not in text
    assert "compliant 100.00%" not in text
    assert " 0.00% of the judged mass" not in text
    assert "non-compliant 0 kg" not in text
    assert "non-compliant 0 g" not in text
    assert render.percent(v.non_compliant) != "0.00%"
    document = json.loads(json.dumps(verdict_document(v)))
    assert document["shares"]["non_compliant"] > 0
    assert document["shares"]["compliant"] < 1
    assert document["paths"][0]["share"] > 0
    assert Fraction(document["grams"]["non_compliant"]) == v.grams.non_compliant
