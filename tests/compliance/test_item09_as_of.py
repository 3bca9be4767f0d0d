"""Issue 11 item 9, checker half (ADR 0021): a verdict as of a date counts nothing after it.

DFARS 252.225-7052(b)(1) forbids *delivering* covered material melted or produced (window A,
(b)(1)(i)) or mined, refined, separated, melted or produced (window B, (b)(1)(ii)) in a
covered country; the delivery date picks the window (research §1.3, §1.5). A verdict as of
a delivery date is about the material as it stood that day, so:

- a stage dated after the as-of date had not happened: it neither clears nor taints, and a
  lot it made did not exist yet — its compliant mass is unknown (INCONCLUSIVE, never PASS);
- mass already non-compliant through stages on or before the date stays non-compliant;
- a later record never changes a verdict on a lot made before the as-of date, and the
  evidence bundle replays the same verdict.

The issue's own example: a coating dated 2027-06-01 made a lot PASS as of 2027-02-01. The
chain is built through the service with real signed records, signed no earlier than the
events they report (the ledger's clock is set to 2027-07-01 so that 2027 events can be
signed), and judged through ``bloc check`` on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import networkx as nx
from hypothesis import given, note
from hypothesis import strategies as st
from scenarios import DFARS, Scenario, check, japanese_magnet, magnet_sites
from test_compliance_properties import (
    ALL_FAMILIES,
    AS_OF,
    describe,
    examples,
    facility_facts,
    lot_attributes,
    make_policy,
    worlds,
)
from test_compliance_properties import World as PropertyWorld

from ledger.compliance import EXEMPT, INCONCLUSIVE, PASS, RuleShares
from ledger.compliance.policy import load
from ledger.evidence import to_bytes
from ledger.service import SubmitResult, verify_bundle

from helpers import World

LATER = datetime(2027, 7, 1, tzinfo=UTC)
BEFORE = "2027-02-01"  # window B, before the coating
AFTER = "2027-06-02"  # window B, after it
COATED_ON = "2027-06-01"


@dataclass
class LaterWorld(World):
    """The standard test world, with the ledger's clock at 2027-07-01."""

    def submit(self, envelopes: list[bytes], *, atomic: bool = False) -> list[SubmitResult]:
        results = self.ledger.submit(envelopes, now=LATER, atomic=atomic)
        self.log.extend(results)
        return results


def later(world: World) -> LaterWorld:
    return LaterWorld(home=world.home, ledger=world.ledger, registrar=world.registrar)


def clean_magnet(s: Scenario) -> str:
    """Australian ore, separated in Estonia, finished in Japan with US iron and boron:
    compliant in both windows."""
    magnet_sites(s)
    s.org("eesep", "EE")
    s.site("eesep-sillamae", "eesep", "EE", ["cracking_leaching", "separation"])
    s.org("jpcoat", "JP")
    s.site("jpcoat-osaka", "jpcoat", "JP", ["coating"])
    s.org("cncoat", "CN")
    s.site("cncoat-ningbo", "cncoat", "CN", ["coating"])
    return japanese_magnet(s, separated_at="eesep-sillamae")


def reasons(verdict: dict[str, Any]) -> list[str]:
    return [r["reason"] for r in verdict["unknown_reasons"]]


def test_coating_dated_after_the_as_of_date_does_not_make_a_pass(empty_world: World) -> None:
    world = later(empty_world)
    s = Scenario(world)
    magnet = clean_magnet(s)
    assert check(world, magnet, DFARS, BEFORE)["verdict"] == "pass"
    (coated,) = s.make(
        "jpcoat-osaka", "coating", [(magnet, 9500)], [("CO-1", "ndfeb_magnet", 9500)], on=COATED_ON
    )

    # As of 2027-02-01 the coated lot did not exist yet: nothing about it is known.
    before = check(world, coated, DFARS, BEFORE)
    assert before["verdict"] == "inconclusive"
    assert before["shares"] == {"compliant": 0.0, "non_compliant": 0.0, "unknown": 1.0}
    (why,) = reasons(before)
    assert why.startswith("coating at log index ")
    assert why.endswith(
        f"is dated {COATED_ON}, after the as-of date {BEFORE}: it had not happened yet"
    )
    # Once the coating happened, the same lot passes; the uncoated magnet still passes.
    assert check(world, coated, DFARS, AFTER)["verdict"] == "pass"
    assert check(world, magnet, DFARS, BEFORE)["verdict"] == "pass"


def test_coating_in_china_after_the_as_of_date_has_not_happened_yet(empty_world: World) -> None:
    """Neither way: a stage after the date does not fail the lot either (it is unknown)."""
    world = later(empty_world)
    s = Scenario(world)
    magnet = clean_magnet(s)
    (coated,) = s.make(
        "cncoat-ningbo", "coating", [(magnet, 9500)], [("CO-2", "ndfeb_magnet", 9500)], on=COATED_ON
    )
    assert check(world, coated, DFARS, BEFORE)["verdict"] == "inconclusive"
    after = check(world, coated, DFARS, AFTER)
    assert after["verdict"] == "fail"
    assert (after["paths"][0]["steps"][-1]["stage"], after["paths"][0]["steps"][-1]["country"]) == (
        "coating",
        "CN",
    )


def test_chinese_separation_before_the_as_of_date_still_fails_a_lot_finished_after_it(
    empty_world: World,
) -> None:
    """Mass separated in China before the date was non-compliant on the date; a sintering
    after it does not cure it ((b)(1)(ii): separated in a covered country)."""
    world = later(empty_world)
    s = Scenario(world)
    magnet_sites(s)
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000)
    (oxide,) = s.make("cnsep-baotou", "separation", [(ore, 20000)], [("OX-1", "ndpr_oxide", 4000)])
    (metal,) = s.make(
        "jpmag-takefu", "metal_reduction", [(oxide, 4000)], [("MET-1", "ndpr_metal", 3000)]
    )
    (alloy,) = s.make(
        "jpmag-takefu", "alloy_melting", [(metal, 3000)], [("AL-1", "ndfeb_alloy", 3000)]
    )
    (powder,) = s.make(
        "jpmag-takefu", "powder_formation", [(alloy, 3000)], [("POW-1", "ndfeb_powder", 2950)]
    )
    (magnet,) = s.make(
        "jpmag-takefu",
        "sintering",
        [(powder, 2950)],
        [("MAG-1", "ndfeb_magnet", 2900)],
        on=COATED_ON,
    )
    verdict = check(world, magnet, DFARS, BEFORE)
    assert verdict["verdict"] == "fail"
    assert verdict["shares"]["non_compliant"] == 1.0
    assert verdict["paths"][0]["steps"][0]["country"] == "CN"


def test_component_assembled_after_the_as_of_date_is_not_a_pass(empty_world: World) -> None:
    world = later(empty_world)
    s = Scenario(world)
    magnet = clean_magnet(s)
    s.org("usasm", "US")
    s.site("usasm-plant", "usasm", "US", ["assembly"])
    (component,) = s.make(
        "usasm-plant", "assembly", [(magnet, 9500)], [("C-1", "component", 9500)], on=COATED_ON
    )
    before = check(world, component, DFARS, BEFORE)
    assert before["verdict"] == "inconclusive"
    assert any(
        part["reason"].endswith(f"after the as-of date {BEFORE}: it had not happened yet")
        for part in before["parts"]
    )
    assert check(world, component, DFARS, AFTER)["verdict"] == "pass"


def test_evidence_bundle_as_of_a_past_date_replays_the_same_verdict(empty_world: World) -> None:
    world = later(empty_world)
    s = Scenario(world)
    magnet = clean_magnet(s)
    (coated,) = s.make(
        "jpcoat-osaka", "coating", [(magnet, 9500)], [("CO-1", "ndfeb_magnet", 9500)], on=COATED_ON
    )
    policy = load(DFARS)
    data = to_bytes(world.ledger.evidence(coated, policy=policy, as_of=date(2027, 2, 1)))
    report = verify_bundle(data, world.home.root())
    assert report.verdict.verdict == "inconclusive"
    assert report.verdict.unknown == 1.0


# -- properties: the as-of cut is reproducible -------------------------------------------------


def not_yet(world: PropertyWorld, lot: str) -> bool:
    return date.fromisoformat(world.graph.nodes[lot]["date"]) > AS_OF


def fed_by_the_future(world: PropertyWorld, lot: str) -> bool:
    upstream = nx.ancestors(world.graph, lot) | {lot}
    return any(world.graph.nodes[n]["kind"] == "lot" and not_yet(world, n) for n in upstream)


def test_an_input_dated_after_the_as_of_date_is_unknown_whatever_its_family() -> None:
    """The shrunk counterexample CI found: concentrate beneficiated in 2023 from untraced ore
    and from magnet scrap collected the day after the as-of date (the dates contradict each
    other). The rule does not ask about scrap, so the scrap half was "not asked" and the ore
    half compliant: PASS. Mass that did not exist yet is unknown whatever its family."""
    families = ALL_FAMILIES - {"scrap"}
    site = facility_facts("fac-0", "CN", frozenset())
    graph = nx.DiGraph(root=None, direction="up")
    day_after = (AS_OF + timedelta(days=1)).isoformat()
    for name, material, index, stage, day, source in (
        ("lot:00", "magnet_scrap", 1, "scrap_collection", day_after, "recycled"),
        ("lot:01", "rare_earth_concentrate", 2, "beneficiation", "2023-01-01", ""),
    ):
        attributes = lot_attributes(
            material=material,
            mass_g=1,
            index=index,
            facility=site,
            stage=stage,
            day=day,
            source=source,
        )
        graph.add_node(name, **attributes)
    graph.add_node(
        "untraced:2/0",
        kind="untraced",
        material="rare_earth_ore",
        mass_g=1,
        log_index=2,
        declared_origin="",
    )
    graph.add_edge("lot:00", "lot:01", grams=1, log_index=2)
    graph.add_edge("untraced:2/0", "lot:01", grams=1, log_index=2)
    world = PropertyWorld(
        graph=graph,
        facilities={site.id: site},
        policy=make_policy(frozenset({"beneficiation"}), families, inside=False, on_event=False),
        restricted=frozenset({"beneficiation"}),
        constituents=families,
        inside=False,
        on_event=False,
    )
    verdict = world.judge("lot:01")
    assert verdict.verdict == INCONCLUSIVE, verdict
    assert verdict.grams.unknown == Fraction(1, 2)
    assert any("lot:00, an input at log index 2" in why for why, _ in verdict.unknown_reasons)


@examples(300)
@given(worlds(), st.data())
def test_no_lot_made_after_the_as_of_date_or_from_one_passes(
    world: PropertyWorld, data: st.DataObject
) -> None:
    """Random worlds have lots on both sides of the as-of date; one more lot, drawn among
    those that pass, is moved to the day after it, so that the property bites."""
    rule_shares: dict[str, RuleShares] = {}
    passing = [lot for lot in world.lots() if world.judge(lot, rule_shares).verdict == PASS]
    if passing:
        moved = data.draw(st.sampled_from(passing), label="moved after the as-of date")
        graph = world.graph.copy()
        graph.nodes[moved]["date"] = (AS_OF + timedelta(days=1)).isoformat()
        world = world.with_graph(graph, world.facilities)
    note(describe(world))
    rule_shares = {}
    for lot in world.lots():
        if fed_by_the_future(world, lot):
            assert world.judge(lot, rule_shares).verdict not in (PASS, EXEMPT), lot


@examples(200)
@given(worlds())
def test_moving_a_stage_after_the_as_of_date_changes_no_verdict(world: PropertyWorld) -> None:
    """Re-siting every stage dated after the as-of date to a forbidden facility registered
    for nothing, or to a clean one registered for everything, changes no verdict as of
    that date: those stages had not happened."""
    note(describe(world))
    future = [lot for lot in world.lots() if not_yet(world, lot)]
    baseline = {lot: world.judge(lot).verdict for lot in world.lots()}
    for country, stages in (("CN", frozenset()), ("AU", frozenset(world.restricted))):
        site = facility_facts("fac-moved", country, stages)
        graph = world.graph.copy()
        for lot in future:
            graph.nodes[lot]["facility"] = site.id
            graph.nodes[lot]["country"] = site.country
        moved = world.with_graph(graph, {**world.facilities, site.id: site})
        assert {lot: moved.judge(lot).verdict for lot in world.lots()} == baseline, country
