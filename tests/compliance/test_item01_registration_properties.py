"""Property tests for dated registrations (issue 11 item 1, ADR 0016).

The random worlds of :mod:`test_compliance_properties` (a small policy, facilities, a DAG of
lots) are given dated registrations: every facility is first registered before any event,
with an operator that may be 30% held by a government of the policy's country set, under a
policy that also has an entity-control test. Then one facility is re-registered on a random
day with a random country, stages and operator. A lot whose every upstream stage is dated
before that day must get exactly the same verdict; and a restricted stage dated before a
facility's first registration never passes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from datetime import date, timedelta
from decimal import Decimal

import networkx as nx
from hypothesis import given, note
from hypothesis import strategies as st
from test_compliance_properties import (
    COUNTRIES,
    PASS,
    World,
    examples,
    registrations,
    worlds,
)

from ledger.compliance import FacilityFacts
from ledger.compliance.policy import Policy, parse_policy
from ledger.records.model import Control

FIRST = date(2022, 12, 1)
"""Before every event the worlds draw (their days start on 2023-01-01)."""
STATE = (Control(holder="state group", country="CN", percent=Decimal(30), government=True),)
PRIVATE = (Control(holder="shareholders", country="AU", percent=Decimal(100), government=False),)
holders = st.sampled_from([STATE, PRIVATE])


def with_control(policy: Policy) -> Policy:
    """The world's policy with an entity-control test: 25% or more held by a government of
    its country set."""
    return _with_control(json.dumps(policy.document, sort_keys=True))


@functools.cache
def _with_control(text: str) -> Policy:
    document = json.loads(text)
    document["entity_control"] = {
        "government_of": document["location"]["set"],
        "min_percent": 25,
        "citation": "property test",
        "paragraph": "(e)",
    }
    return parse_policy(json.dumps(document).encode())


def registered(facts: FacilityFacts, since: date, control: tuple[Control, ...]) -> FacilityFacts:
    return dataclasses.replace(facts, since=since, control=control, history=((since, control),))


def upstream_days(world: World, lot: str) -> set[date]:
    graph = world.graph
    lots = {lot} | {n for n in nx.ancestors(graph, lot) if graph.nodes[n]["kind"] == "lot"}
    return {date.fromisoformat(graph.nodes[n]["date"]) for n in lots}


@given(worlds(), st.data())
@examples(300)
def test_reregistering_a_facility_never_changes_a_verdict_on_an_earlier_stage(
    world: World, data: st.DataObject
) -> None:
    policy = with_control(world.policy)
    first = {
        fid: registered(facts, FIRST, data.draw(holders, label=f"holders of {fid}"))
        for fid, facts in world.facilities.items()
    }
    before = dataclasses.replace(world, facilities=first, policy=policy)
    moved = data.draw(st.sampled_from(sorted(first)), label="re-registered facility")
    day = FIRST + timedelta(days=data.draw(st.integers(1, 1100), label="days after FIRST"))
    holders_then = data.draw(holders, label="new operator's holders")
    again = FacilityFacts(
        id=moved,
        country=data.draw(st.sampled_from(COUNTRIES), label="new country"),
        operator=f"new-op-{moved}",
        stages=data.draw(registrations, label="new stages"),
        control=holders_then,
        history=((day, holders_then),),
        since=day,
        earlier=(first[moved],),
    )
    after = dataclasses.replace(before, facilities={**first, moved: again})
    earlier = [lot for lot in world.lots() if max(upstream_days(world, lot)) < day]
    note(f"re-registered {moved} on {day}: {again.country}; earlier lots {earlier}")
    for lot in earlier:
        assert after.judge(lot) == before.judge(lot), lot


@given(worlds(), st.data())
@examples(300)
def test_a_stage_before_the_facilitys_first_registration_never_passes(
    world: World, data: st.DataObject
) -> None:
    """Every facility is first registered after every event: every lot made by a restricted
    stage (which happened somewhere the ledger does not know) is not PASS."""
    policy = with_control(world.policy)
    late = date(2030, 1, 1)
    facilities = {
        fid: registered(facts, late, data.draw(holders, label=f"holders of {fid}"))
        for fid, facts in world.facilities.items()
    }
    unregistered = dataclasses.replace(world, facilities=facilities, policy=policy)
    for lot in world.lots():
        if world.graph.nodes[lot]["stage"] in world.restricted:
            assert unregistered.judge(lot).verdict != PASS, lot
