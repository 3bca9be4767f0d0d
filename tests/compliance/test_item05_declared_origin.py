"""Issue 11 item 5: declared origins are evidence (ADR 0020).

An untraced input's ``declared_origin`` is the submitter's own statement of where the
material was made. Where the rule looks at that input's origin (its mass would otherwise be
unknown), a declared covered country is a fail; where it does not look (window A and the
upstream of the melt), the declaration changes nothing. A declared origin that the graph
contradicts (repacked elsewhere) is reported as a ``declared-origin`` finding.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner
from scenarios import DFARS, WINDOW_A, WINDOW_B, Scenario, check

from ledger.cli.main import bloc

from helpers import World


def smco_magnet(s: Scenario, cobalt: dict[str, Any]) -> str:
    """A samarium-cobalt magnet: Australian samarium, separated in Australia, melted and
    sintered in Japan with an untraced cobalt input."""
    if "ausmine" not in s.orgs:
        s.org("ausmine", "AU")
        s.site("ausmine-pit", "ausmine", "AU", ["mining", "beneficiation"])
        s.site("ausmine-sep", "ausmine", "AU", ["cracking_leaching", "separation"])
        s.org("jpmag", "JP")
        s.site(
            "jpmag-takefu",
            "jpmag",
            "JP",
            ["metal_reduction", "alloy_melting", "powder_formation", "sintering"],
        )
    n = len(s.mass)
    ore = s.mine("ausmine-pit", f"ORE-{n}", "rare_earth_concentrate", 10000)
    (oxide,) = s.make(
        "ausmine-sep", "separation", [(ore, 10000)], [(f"SMO-{n}", "samarium_oxide", 3000)]
    )
    (metal,) = s.make(
        "jpmag-takefu", "metal_reduction", [(oxide, 3000)], [(f"SM-{n}", "samarium_metal", 2500)]
    )
    (alloy,) = s.make(
        "jpmag-takefu",
        "alloy_melting",
        [(metal, 2500)],
        [(f"SMCO-{n}", "smco_alloy", 7500)],
        untraced=[cobalt],
    )
    (powder,) = s.make(
        "jpmag-takefu", "powder_formation", [(alloy, 7500)], [(f"P-{n}", "smco_powder", 7400)]
    )
    (magnet,) = s.make(
        "jpmag-takefu", "sintering", [(powder, 7400)], [(f"MAG-{n}", "smco_magnet", 7300)]
    )
    return magnet


def test_untraced_cobalt_declared_chinese_fails_window_b(empty_world: World) -> None:
    # (b)(2)(i)(B) window B: "the entire supply chain from mining or production of a cobalt
    # ... ore or feedstock": the submitter declares the cobalt came from China, so it was
    # produced there (was inconclusive: item 5).
    s = Scenario(empty_world)
    magnet = smco_magnet(s, {"material": "cobalt_metal", "mass_kg": 5000, "declared_origin": "CN"})
    verdict = check(empty_world, magnet, DFARS, WINDOW_B)
    assert verdict["verdict"] == "fail"
    assert verdict["paragraph"] == "252.225-7052(b)(2)(i)(B)"
    # The cobalt is two thirds of the asked mass of the melt (5,000 of 7,500 kg).
    assert verdict["shares"]["non_compliant"] == pytest.approx(5000 / 7500, abs=1e-6)
    first = verdict["paths"][0]["steps"][0]
    assert (first["stage"], first["country"], first["material"]) == (
        "untraced",
        "CN",
        "cobalt_metal",
    )
    assert first["lot"].startswith("untraced:")
    assert "declared by the submitter: untraced cobalt_metal at log index " in verdict["reason"]


def test_untraced_cobalt_declared_chinese_passes_window_a(empty_world: World) -> None:
    # (b)(2)(i)(A) window A restricts "melting samarium with cobalt ... and all subsequent
    # phases": it does not look at where the cobalt was produced (§1.6 example 2: Sm and
    # Co metal bought from China, melted in the US, comply in window A).
    s = Scenario(empty_world)
    magnet = smco_magnet(s, {"material": "cobalt_metal", "mass_kg": 5000, "declared_origin": "CN"})
    verdict = check(empty_world, magnet, DFARS, WINDOW_A)
    assert verdict["verdict"] == "pass"


def test_untraced_cobalt_without_or_with_a_clean_declaration_stays_unknown(
    empty_world: World,
) -> None:
    # Window B asks where the cobalt was mined and refined; a declaration of a non-covered
    # country is unverified, so it does not make the mass compliant: inconclusive.
    s = Scenario(empty_world)
    silent = smco_magnet(s, {"material": "cobalt_metal", "mass_kg": 5000})
    clean_claim = smco_magnet(
        s, {"material": "cobalt_metal", "mass_kg": 5000, "declared_origin": "CA"}
    )
    for magnet in (silent, clean_claim):
        assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "inconclusive"


def test_untraced_magnet_declared_chinese_inside_a_us_component_fails(empty_world: World) -> None:
    # (b)(1)(i) and (b)(2)(i)(A): a magnet declared to come from China was sintered there; the
    # component built around it in the US delivers covered material produced in China.
    s = Scenario(empty_world)
    s.org("usasm", "US")
    s.site("usasm-plant", "usasm", "US", ["assembly"])
    declared = [{"material": "ndfeb_magnet", "mass_kg": 10, "declared_origin": "CN"}]
    (item,) = s.make("usasm-plant", "assembly", [], [("C-1", "component", 10)], untraced=declared)
    for as_of in (WINDOW_A, WINDOW_B):
        verdict = check(empty_world, item, DFARS, as_of)
        assert verdict["verdict"] == "fail"
        assert verdict["parts"][0]["reason"].endswith(
            "is declared to come from CN, where the rule forbids the stages that made it"
        )


def test_magnet_declared_chinese_repacked_in_mexico_is_a_declared_origin_finding(
    empty_world: World,
) -> None:
    # compliance-rules.md §9.6 I6: a declared origin that contradicts the graph (the lot is
    # shown made in Mexico by a repack, which confers no origin) is an origin misdeclaration
    # or transshipment; and (b)(1)(i) fails the magnet on the declaration itself.
    s = Scenario(empty_world)
    s.org("mxtrade", "MX")
    s.site("mxtrade-wh", "mxtrade", "MX", ["repack"])
    declared = [{"material": "ndfeb_magnet", "mass_kg": 10, "declared_origin": "CN"}]
    (relabelled,) = s.make(
        "mxtrade-wh", "repack", [], [("MX-MAG", "ndfeb_magnet", 10)], untraced=declared
    )
    assert check(empty_world, relabelled, DFARS, WINDOW_A)["verdict"] == "fail"
    runner = CliRunner()
    home = str(empty_world.home.path)
    for extra in ([], ["--lot", relabelled]):
        result = runner.invoke(
            bloc, ["--home", home, "findings", *extra, "--as-of", WINDOW_A, "--json"]
        )
        assert "Traceback" not in result.output
        found = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        codes = [f["code"] for f in found]
        assert codes == ["declared-origin"], result.output
        assert found[0]["subject"] == relabelled
        assert "declared to come from CN" in found[0]["message"]
        assert "(MX)" in found[0]["message"]
