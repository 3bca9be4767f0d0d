"""Issue 11 item 8: integrity findings count only where the rule looks (ADR 0020).

A finding leaves the history of the lot it names in doubt, as if that lot had been bought
untraced. DFARS window A (252.225-7052(b)(1)(i), (b)(2)(i)(A)) restricts the alloy melt and
"all subsequent phases of production" of a magnet: it does not ask where the oxide was
separated or the metal reduced (§1.3; §1.6 example 2). So a finding on the oxide, or on the
metal made from it, leaves a window-A magnet compliant (as an untraced oxide does), and makes
it inconclusive in window B (b)(3), which restricts "the entire supply chain from mining".
Findings on a stage window A restricts still count.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scenarios import DFARS, WINDOW_A, WINDOW_B, Scenario, check, magnet_sites
from test_compliance_properties import AS_OF, examples, implies, worlds

from ledger.compliance import RuleShares

from helpers import World, key_for, revocation


def magnet_from(s: Scenario, *, custody_gap: bool = False) -> tuple[str, str]:
    """An Australian oxide made into a Japanese magnet; with ``custody_gap`` the oxide is
    received at the magnet maker's yard and processed at its plant with no shipment between
    them (a ``not-holder`` finding on its own records; processing it in transit, before any
    receipt, is refused: ADR 0036). Returns (oxide, magnet)."""
    magnet_sites(s)
    s.site("ausmine-sep", "ausmine", "AU", ["cracking_leaching", "separation"])
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000)
    (oxide,) = s.make("ausmine-sep", "separation", [(ore, 20000)], [("OX-1", "ndpr_oxide", 4000)])
    if custody_gap:
        s.site("jpmag-yard", "jpmag", "JP", ["repack"])
        s.ship(oxide, "jpmag-yard")
        s.holder[oxide] = "jpmag-takefu"  # as if it had moved: no shipment is recorded
    (metal,) = s.make(
        "jpmag-takefu", "metal_reduction", [(oxide, 4000)], [("MET-1", "ndpr_metal", 3000)]
    )
    iron = s.mine("usfe-mine", "FE-1", "iron", 6800)
    (alloy,) = s.make(
        "jpmag-takefu",
        "alloy_melting",
        [(metal, 3000), (iron, 6800)],
        [("ALLOY-1", "ndfeb_alloy", 9800)],
    )
    (magnet,) = s.make(
        "jpmag-takefu", "sintering", [(alloy, 9800)], [("MAG-1", "ndfeb_magnet", 9500)]
    )
    return oxide, magnet


def test_custody_gap_on_the_oxide_does_not_touch_a_window_a_magnet(empty_world: World) -> None:
    # Window A does not ask about the oxide (was inconclusive: item 8); window B does.
    s = Scenario(empty_world)
    _, magnet = magnet_from(s, custody_gap=True)
    assert check(empty_world, magnet, DFARS, WINDOW_A)["verdict"] == "pass"
    after = check(empty_world, magnet, DFARS, WINDOW_B)
    assert after["verdict"] == "inconclusive"
    # The metal (3,000 of the 9,800 kg melted) is in doubt; the traced iron is not.
    assert after["shares"]["unknown"] == pytest.approx(3000 / 9800, abs=1e-6)
    assert after["unknown_reasons"][0]["reason"] == "integrity finding on lot:jpmag/MET-1"


def test_revoked_key_on_the_oxide_does_not_touch_a_window_a_magnet(empty_world: World) -> None:
    # The separator's key was compromised before it signed the oxide: the oxide's history
    # is in doubt. Window A does not ask about it (was inconclusive: item 8); window B does.
    s = Scenario(empty_world)
    _, magnet = magnet_from(s)
    revoke = revocation("ausmine", key_for("ausmine").keyid, "2026-04-01T00:00:00Z")
    s._accept(empty_world.register([revoke]))
    assert check(empty_world, magnet, DFARS, WINDOW_A)["verdict"] == "pass"
    after = check(empty_world, magnet, DFARS, WINDOW_B)
    assert after["verdict"] == "inconclusive"
    # The ore and the oxide were both signed with the compromised key.
    reasons = {r["reason"] for r in after["unknown_reasons"]}
    assert reasons == {"integrity finding on lot:ausmine/ORE-1"}
    assert after["shares"]["unknown"] == pytest.approx(3000 / 9800, abs=1e-6)


def test_untraced_oxide_and_doubted_oxide_agree_in_window_a(empty_world: World) -> None:
    # The same question, asked of an untraced oxide: window A passes it, so a finding on a
    # traced oxide must not make the magnet worse than buying the oxide untraced would.
    s = Scenario(empty_world)
    magnet_sites(s)
    (metal,) = s.make(
        "jpmag-takefu",
        "metal_reduction",
        [],
        [("MET-U", "ndpr_metal", 3000)],
        untraced=[{"material": "ndpr_oxide", "mass_kg": 4000}],
    )
    (alloy,) = s.make(
        "jpmag-takefu", "alloy_melting", [(metal, 3000)], [("ALLOY-U", "ndfeb_alloy", 3000)]
    )
    (magnet,) = s.make(
        "jpmag-takefu", "sintering", [(alloy, 3000)], [("MAG-U", "ndfeb_magnet", 2900)]
    )
    assert check(empty_world, magnet, DFARS, WINDOW_A)["verdict"] == "pass"
    assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "inconclusive"


def test_revoked_key_on_the_magnet_maker_still_counts_in_window_a(empty_world: World) -> None:
    # (b)(2)(i)(A): the melt and sintering are what window A asks about; records signed by
    # the magnet maker's compromised key leave those stages in doubt: inconclusive.
    s = Scenario(empty_world)
    _, magnet = magnet_from(s)
    revoke = revocation("jpmag", key_for("jpmag").keyid, "2026-04-01T00:00:00Z")
    s._accept(empty_world.register([revoke]))
    verdict = check(empty_world, magnet, DFARS, WINDOW_A)
    assert verdict["verdict"] == "inconclusive"
    assert verdict["shares"]["unknown"] == pytest.approx(1.0, abs=1e-6)


@examples(150)
@given(worlds(), st.data())
def test_a_finding_counts_exactly_where_the_rule_looks(world: Any, data: st.DataObject) -> None:
    """A finding on a lot whose material, making stage and feed the rule does not ask about
    changes no lot's shares; anywhere else its grams show as unknown and never make any lot
    more compliant (issue 11 item 8, ADR 0020)."""
    lots = world.lots()
    assume(lots)
    lot = data.draw(st.sampled_from(lots), label="lot with a finding")
    node = world.graph.nodes[lot]
    assume(node["mass_g"] > 0)
    grams = data.draw(st.integers(1, node["mass_g"]), label="grams in doubt")
    plain = world.run()
    doubted = RuleShares(
        world.graph,
        policy=world.policy,
        rule=world.rule,
        as_of=AS_OF,
        facilities=world.facilities,
        unknown_grams={lot: grams},
    )
    made_by = implies(node["material"]) | {node["stage"]}
    looks = bool(made_by & world.restricted) or plain.of(lot).recycled > 0
    for other in lots:
        before, after = plain.of(other), doubted.of(other)
        if not looks:
            assert after.compliant == before.compliant, other
            assert after.unknown == before.unknown, other
            assert after.non_compliant == before.non_compliant, other
        else:
            assert after.compliant <= before.compliant + 1e-9, other
            assert after.non_compliant == pytest.approx(before.non_compliant, abs=1e-9), other
    if looks and plain.of(lot).compliant > 0:
        assert doubted.of(lot).unknown > plain.of(lot).unknown
