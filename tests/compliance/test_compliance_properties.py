"""Property tests for the one-pass compliance checker (``ledger.compliance``).

Random small provenance DAGs are built directly as ``networkx`` graphs with the node and
edge attributes ``ledger.provenance.graph`` gives them, judged under a small custom policy (one
country set, one open window, one ``"*"`` rule whose restricted stages are drawn at
random), and compared with an independent brute force that follows the module docstring
gram by gram: it enumerates every path from a source (an extraction or an untraced input)
to the lot, weighs it by the product of the flow fractions along it (edge grams over all
grams into the node), and classifies it:

- *other*: the source's family is not one the rule asks about;
- *non-compliant*: some lot on the path was created by a restricted stage at a forbidden
  facility — its own stage (which makes the whole output non-compliant: commingling), or a
  stage the output implies that the path's input did not, done there because the facility
  is registered for it;
- *unknown*: the source is an untraced input whose material implies a restricted stage, an
  extraction whose material implies a restricted stage it did not record, or the path
  enters a transformation whose output implies a restricted stage that this input's
  material does not and that the facility is not registered for (a gap for this input,
  unless the input is wholly recycled), or some lot on the path is dated after the as-of
  date (it had not happened yet: its own stage taints nothing; issue 11 item 9, ADR 0021);
- *compliant* otherwise.

The brute force computes in exact fractions; the one pass in floats (within 1e-9).
"""

from __future__ import annotations

import functools
import itertools
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from random import Random
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from ledger.compliance import FAIL, INCONCLUSIVE, PASS, FacilityFacts, RuleShares, Shares, judge
from ledger.compliance.policy import MaterialRule, Policy, parse_policy
from ledger.core.vocabulary import vocabulary
from ledger.provenance.graph import Flow, LotInfo, build_all
from ledger.records.model import LotId

AS_OF = date(2025, 6, 1)
RU_FROM = date(2024, 7, 1)
"""RU joins the set on this date, so membership on the event date matters."""
COUNTRIES = ("CN", "AU", "US", "RU")
RESTRICTABLE = (
    "mining",
    "beneficiation",
    "cracking_leaching",
    "separation",
    "metal_reduction",
    "alloy_melting",
    "blend",
)
REGISTRABLE = (
    "mining",
    "beneficiation",
    "cracking_leaching",
    "separation",
    "metal_reduction",
    "alloy_melting",
)
TRANSFORMATION_STAGES = (*RESTRICTABLE[1:], "recycling_reprocessing", "repack")
EXTRACTED = (
    ("rare_earth_ore", "mined"),
    ("rare_earth_concentrate", "mined"),
    ("iron_ore", "mined"),
    ("magnet_scrap", "recycled"),
    ("ndpr_oxide", "recycled"),
)
PRODUCED = (
    "rare_earth_concentrate",
    "mixed_rare_earth_carbonate",
    "ndpr_oxide",
    "ndpr_metal",
    "ndfeb_alloy",
)
UNTRACED = ("rare_earth_ore", "ndpr_oxide", "ndpr_metal", "iron", "magnet_scrap")
ALL_FAMILIES = frozenset(vocabulary().families)
MAX_LOTS = 8
MAX_DEPTH = 4
TOLERANCE = 1e-9


def examples(n: int) -> settings:
    return settings(
        max_examples=n * int(os.environ.get("BLOC_TEST_EXAMPLES_FACTOR", "1")),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# -- the world: a policy, facilities and a provenance graph -----------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class World:
    graph: nx.DiGraph
    facilities: Mapping[str, FacilityFacts]
    policy: Policy
    restricted: frozenset[str]
    constituents: frozenset[str]
    inside: bool
    """``location.forbidden``: members (inside) or non-members (outside) are forbidden."""
    on_event: bool
    """``location.membership_date``: the event date rather than the as-of date."""

    def __repr__(self) -> str:
        return "World(...)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("World(...)")  # the test notes describe(world) in full

    @property
    def rule(self) -> MaterialRule:
        return self.policy.windows[0].materials["*"]

    def lots(self) -> list[str]:
        return sorted(n for n, d in self.graph.nodes(data=True) if d["kind"] == "lot")

    def run(self) -> RuleShares:
        return RuleShares(
            self.graph,
            policy=self.policy,
            rule=self.rule,
            as_of=AS_OF,
            facilities=self.facilities,
            unknown_grams={},
        )

    def judge(self, lot: str, rule_shares: dict[str, RuleShares] | None = None) -> Any:
        return judge(
            lot,
            self.graph,
            policy=self.policy,
            as_of=AS_OF,
            facilities=self.facilities,
            unknown_grams={},
            rule_shares=rule_shares,
        )

    def with_graph(self, graph: nx.DiGraph, facilities: Mapping[str, FacilityFacts]) -> World:
        return World(
            graph=graph,
            facilities=facilities,
            policy=self.policy,
            restricted=self.restricted,
            constituents=self.constituents,
            inside=self.inside,
            on_event=self.on_event,
        )


@functools.cache
def make_policy(
    restricted: frozenset[str], constituents: frozenset[str], *, inside: bool, on_event: bool
) -> Policy:
    rule = {
        "label": "anything",
        "restricted_stages": sorted(restricted),
        "constituents": sorted(constituents),
        "citation": "property test",
        "paragraph": "(p)",
    }
    document = {
        "name": "property-test",
        "title": "A policy for property tests",
        "version": "1",
        "citation": "property test",
        "country_sets": {
            "bad": {
                "citation": "property test",
                "members": [
                    {"country": "CN", "from": None, "until": None},
                    {"country": "RU", "from": RU_FROM.isoformat(), "until": None},
                ],
            }
        },
        "location": {
            "set": "bad",
            "forbidden": "inside" if inside else "outside",
            "membership_date": "event" if on_event else "as_of",
        },
        "entity_control": None,
        "windows": [
            {
                "id": "W",
                "from": None,
                "until": None,
                "citation": "property test",
                "paragraph": "(w)",
                "materials": {"*": rule},
            }
        ],
        "combination": {"mode": "taint"},
        "unknown": "inconclusive",
        "exemptions": [],
        "components": {
            "end_item_prong": False,
            "assembly_stages": ["assembly"],
            "citation": "property test",
            "paragraph": "(c)",
        },
    }
    return parse_policy(json.dumps(document).encode())


def lot_attributes(
    *,
    material: str,
    mass_g: int,
    index: int,
    facility: FacilityFacts,
    stage: str,
    day: str,
    source: str,
) -> dict[str, Any]:
    """The attributes ``ledger.provenance.graph`` puts on a lot node."""
    return {
        "kind": "lot",
        "material": material,
        "mass_g": mass_g,
        "log_index": index,
        "facility": facility.id,
        "country": facility.country,
        "operator": facility.operator,
        "stage": stage,
        "date": day,
        "source": source,
    }


def facility_facts(fid: str, country: str, stages: frozenset[str]) -> FacilityFacts:
    return FacilityFacts(id=fid, country=country, operator=f"op-{fid}", stages=stages, control=())


days = st.integers(0, 1000).map(lambda n: (date(2023, 1, 1) + timedelta(days=n)).isoformat())
grams_ = st.integers(1, 1000)
restricted_sets = st.frozensets(st.sampled_from(RESTRICTABLE), min_size=1)
constituent_sets = st.sampled_from(
    [ALL_FAMILIES, ALL_FAMILIES, ALL_FAMILIES - {"scrap"}, ALL_FAMILIES - {"auxiliary"}]
)
countries = st.sampled_from(COUNTRIES)
registrations = st.frozensets(st.sampled_from(REGISTRABLE), max_size=3)
many_registrations = st.frozensets(st.sampled_from(REGISTRABLE), min_size=2)
extracted = st.sampled_from(EXTRACTED)
produced = st.sampled_from(PRODUCED)
untraced_materials = st.sampled_from(UNTRACED)
transformation_stages = st.sampled_from(TRANSFORMATION_STAGES)
declared_origins = st.sampled_from(["", "CN", "AU"])


def pick(draw: st.DrawFn, items: list[str]) -> str:
    return items[draw(st.integers(0, len(items) - 1))]


@st.composite
def worlds(
    draw: st.DrawFn,
    *,
    exact_rounding: bool = False,
    registered: st.SearchStrategy[Any] = registrations,
) -> World:
    """A policy, 2-5 facilities and a DAG of at most 8 lots and depth at most 4.

    Each transformation has 1-3 traced inputs, 0-2 untraced inputs and 1-2 outputs; as in
    ``ledger.provenance.graph.build_all`` each input's grams are split over the outputs in proportion
    to their mass, rounded down. With ``exact_rounding`` a split may round to 0 g as there;
    otherwise every edge carries at least 1 g, so that flow fractions are defined.
    ``registered`` draws the stages each facility is registered for.
    """
    restricted = draw(restricted_sets)
    constituents = draw(constituent_sets)
    inside, on_event = draw(st.booleans()), draw(st.booleans())
    facilities = {
        f"fac-{i}": facility_facts(f"fac-{i}", draw(countries), draw(registered))
        for i in range(draw(st.integers(2, 5)))
    }
    facility_ids = sorted(facilities)
    graph = nx.DiGraph(root=None, direction="up")
    depth: dict[str, int] = {}
    index = 0
    for _ in range(draw(st.integers(1, MAX_LOTS))):
        if len(depth) >= MAX_LOTS:
            break
        index += draw(st.integers(1, 3))
        facility = facilities[pick(draw, facility_ids)]
        day = draw(days)
        candidates = sorted(n for n, d in depth.items() if d < MAX_DEPTH)
        if not candidates or draw(st.integers(0, 2)) == 0:
            material, source = draw(extracted)
            name = f"lot:{len(depth):02d}"
            graph.add_node(
                name,
                **lot_attributes(
                    material=material,
                    mass_g=draw(grams_),
                    index=index,
                    facility=facility,
                    stage="mining" if source == "mined" else "scrap_collection",
                    day=day,
                    source=source,
                ),
            )
            depth[name] = 0
            continue
        picks = st.integers(0, len(candidates) - 1)
        inputs = [candidates[i] for i in draw(st.lists(picks, min_size=1, max_size=3, unique=True))]
        flows = [(lot, draw(grams_)) for lot in inputs]
        untraced = [
            (f"untraced:{index}/{position}", draw(untraced_materials), grams)
            for position, grams in enumerate(draw(st.lists(grams_, max_size=2)))
        ]
        stage = draw(transformation_stages)
        outputs = [
            (f"lot:{len(depth) + k:02d}", draw(produced), draw(grams_))
            for k in range(draw(st.integers(1, min(2, MAX_LOTS - len(depth)))))
        ]
        out_total = sum(mass for _, _, mass in outputs)
        for node, material, grams in untraced:
            graph.add_node(
                node,
                kind="untraced",
                material=material,
                mass_g=grams,
                log_index=index,
                declared_origin=draw(declared_origins),
            )
        for name, material, mass in outputs:
            graph.add_node(
                name,
                **lot_attributes(
                    material=material,
                    mass_g=mass,
                    index=index,
                    facility=facility,
                    stage=stage,
                    day=day,
                    source="",
                ),
            )
            depth[name] = 1 + max(depth[lot] for lot in inputs)
            for source_node, grams in [*flows, *((n, g) for n, _, g in untraced)]:
                split = grams * mass // out_total
                graph.add_edge(
                    source_node,
                    name,
                    grams=split if exact_rounding else max(1, split),
                    log_index=index,
                )
    return World(
        graph=graph,
        facilities=facilities,
        policy=make_policy(restricted, constituents, inside=inside, on_event=on_event),
        restricted=restricted,
        constituents=constituents,
        inside=inside,
        on_event=on_event,
    )


# -- the brute force ---------------------------------------------------------------------------


def implies(material: str) -> frozenset[str]:
    return vocabulary().materials[material].implies


def forbidden(world: World, facility: str, day: str) -> bool:
    return forbidden_in(world, world.facilities[facility].country, day)


def forbidden_in(world: World, country: str, day: str) -> bool:
    when = date.fromisoformat(day) if world.on_event else AS_OF
    member = country == "CN" or (country == "RU" and when >= RU_FROM)
    return member if world.inside else not member


def extraction_performed(world: World, node: str) -> frozenset[str]:
    """The stages an extraction counts as doing at its facility."""
    data = world.graph.nodes[node]
    registered = world.facilities[data["facility"]].stages
    if data["source"] == "mined":
        # Every implied stage the site is registered for, not only the mined ones: an
        # extraction of a refined material needs its refining (issue 11 item 6, ADR 0017).
        return frozenset({"mining"} | (implies(data["material"]) & registered))
    return frozenset()


def step(world: World, pred: str, node: str) -> tuple[bool, bool]:
    """(taints, gap) for the mass of ``pred`` entering the transformation that made ``node``.

    The output's own stage taints every input; a stage the output implies but this input's
    material does not counts as done here if the facility is registered for it (and taints
    this input if restricted and forbidden), else it is a gap for this input (unless the
    input is wholly recycled).
    """
    graph = world.graph
    data = graph.nodes[node]
    registered = world.facilities[data["facility"]].stages
    forbid = forbidden(world, data["facility"], data["date"])
    explicit = data["stage"] in world.restricted and forbid
    family = vocabulary().materials
    if family[graph.nodes[pred]["material"]].family != family[data["material"]].family:
        return explicit, False  # an additive of another family does not take this chain
    needed = implies(data["material"]) - implies(graph.nodes[pred]["material"]) - {data["stage"]}
    done_here = needed & registered
    assumed = bool(done_here & world.restricted) and forbid
    gap = bool((needed - done_here) & world.restricted) and recycled(world, pred) < 1
    return explicit or assumed, gap


def not_yet(world: World, node: str) -> bool:
    """A lot dated after the as-of date: it had not happened yet (issue 11 item 9)."""
    data = world.graph.nodes[node]
    return data["kind"] == "lot" and date.fromisoformat(data["date"]) > AS_OF


def taints(world: World, node: str) -> bool:
    """The lot's own creating stage is restricted and happened at a forbidden facility
    (on or before the as-of date)."""
    data = world.graph.nodes[node]
    if data["kind"] != "lot" or not_yet(world, node):
        return False
    done = extraction_performed(world, node) if data["source"] else frozenset({data["stage"]})
    return bool(done & world.restricted) and forbidden(world, data["facility"], data["date"])


def weight(data: Mapping[str, int]) -> int:
    return data.get("consumed", data["grams"])


def paths(graph: nx.DiGraph, node: str) -> Iterator[tuple[tuple[str, ...], Fraction]]:
    """Every path from a source to ``node`` with the fraction of ``node`` it carries."""
    into = [(pred, weight(edge)) for pred, _, edge in graph.in_edges(node, data=True)]
    if not into:
        yield (node,), Fraction(1)
        return
    total = sum(grams for _, grams in into)
    for pred, grams in into:
        for path, fraction in paths(graph, pred):
            yield (*path, node), fraction * Fraction(grams, total)


def recycled(world: World, node: str) -> Fraction:
    return sum(
        (
            f
            for p, f in paths(world.graph, node)
            if world.graph.nodes[p[0]].get("source") == "recycled"
        ),
        Fraction(0),
    )


def classify(world: World, path: tuple[str, ...]) -> str:
    graph = world.graph
    source = graph.nodes[path[0]]
    if vocabulary().materials[source["material"]].family not in world.constituents:
        return "other" if not contradicted(world, path) else _after_contradiction(world, path)
    tainted = False
    if source["kind"] == "untraced":
        unknown = bool(implies(source["material"]) & world.restricted)
        # Issue 11 item 5 (ADR 0020): a forbidden declared origin is non-compliant where the
        # rule looks at the input's origin (where it would otherwise be unknown).
        declared = source["declared_origin"]
        day = graph.nodes[path[1]]["date"]
        if unknown and declared and forbidden_in(world, declared, day):
            tainted, unknown = True, False
    else:
        done = extraction_performed(world, path[0])
        unknown = bool((implies(source["material"]) - done) & world.restricted)
        tainted = bool(done & world.restricted) and forbidden(
            world, source["facility"], source["date"]
        )
        if not_yet(world, path[0]):
            tainted, unknown = False, True
    for pred, node in itertools.pairwise(path):
        taints, gap = step(world, pred, node)
        if not_yet(world, node):
            taints, gap = False, True
        elif not_yet(world, pred):
            gap = True  # consumed on or before the as-of date, made after it (ADR 0021)
        tainted = tainted or taints
        unknown = unknown or gap
    if tainted:
        return "non_compliant"
    return "unknown" if unknown else "compliant"


def contradicted(world: World, path: tuple[str, ...]) -> bool:
    """A lot made after the as-of date is consumed on the path by a stage on or before it."""
    return any(
        not_yet(world, pred) and not not_yet(world, node) for pred, node in itertools.pairwise(path)
    )


def _after_contradiction(world: World, path: tuple[str, ...]) -> str:
    """Mass of a family the rule does not ask about, consumed on or before the as-of date
    by a lot made after it: unknown from there on (ADR 0021), and tainted by the restricted
    stages at forbidden facilities that follow."""
    first = next(
        i
        for i, (pred, node) in enumerate(itertools.pairwise(path))
        if not_yet(world, pred) and not not_yet(world, node)
    )
    tainted = False
    for pred, node in itertools.pairwise(path[first:]):
        taints, _ = step(world, pred, node)
        tainted = tainted or (taints and not not_yet(world, node))
    return "non_compliant" if tainted else "unknown"


def brute_force(world: World, lot: str) -> dict[str, Fraction]:
    shares = dict.fromkeys(("compliant", "non_compliant", "unknown", "other"), Fraction(0))
    for path, fraction in paths(world.graph, lot):
        shares[classify(world, path)] += fraction
    return shares


def expected_verdict(shares: Mapping[str, Fraction]) -> str:
    asked = shares["compliant"] + shares["non_compliant"] + shares["unknown"]
    if asked == 0:
        return INCONCLUSIVE
    if shares["non_compliant"] > 0:
        return FAIL
    return INCONCLUSIVE if shares["unknown"] > 0 else PASS


def describe(world: World) -> str:
    graph = world.graph
    lines = [
        f"restricted={sorted(world.restricted)} constituents={sorted(world.constituents)} "
        f"inside={world.inside} on_event={world.on_event}"
    ]
    lines += [f"  {f}" for f in world.facilities.values()]
    lines += [f"  node {n} {d}" for n, d in sorted(graph.nodes(data=True))]
    lines += [f"  edge {a} -> {b} {d}" for a, b, d in sorted(graph.edges(data=True))]
    return "\n".join(lines)


def as_dict(shares: Shares) -> dict[str, float]:
    return {
        "compliant": shares.compliant,
        "non_compliant": shares.non_compliant,
        "unknown": shares.unknown,
        "other": shares.other,
    }


# -- properties --------------------------------------------------------------------------------


@examples(300)
@given(worlds())
def test_brute_force_agrees_with_the_one_pass(world: World) -> None:
    note(describe(world))
    run = world.run()
    rule_shares: dict[str, RuleShares] = {}
    for lot in world.lots():
        want = brute_force(world, lot)
        got = as_dict(run.of(lot))
        assert all(abs(got[k] - float(want[k])) <= TOLERANCE for k in want), (lot, got, want)
        verdict = world.judge(lot, rule_shares)
        assert verdict.verdict == expected_verdict(want), (lot, verdict, want)
        asked = want["compliant"] + want["non_compliant"] + want["unknown"]
        if asked:
            for key, value in (
                ("compliant", verdict.compliant),
                ("non_compliant", verdict.non_compliant),
                ("unknown", verdict.unknown),
            ):
                assert abs(value - float(want[key] / asked)) <= TOLERANCE, (lot, key, verdict)


@examples(200)
@given(worlds(), st.randoms(use_true_random=False))
def test_the_order_lots_are_asked_in_changes_no_share(world: World, random: Random) -> None:
    """Shares are computed lazily, a lot's upstream when a verdict first asks for it: asking
    in any order (newest first, one lot alone) gives exactly what log order gives."""
    note(describe(world))
    in_order = world.run()
    by_index = sorted(world.lots(), key=lambda n: (world.graph.nodes[n]["log_index"], n))
    expected = {lot: in_order.of(lot) for lot in by_index}
    shuffled = list(world.lots())
    random.shuffle(shuffled)
    any_order = world.run()
    for lot in shuffled:
        assert any_order.of(lot) == expected[lot], lot
    for lot in world.lots():
        assert world.run().of(lot) == expected[lot], lot


@examples(150)
@given(worlds(), st.randoms(use_true_random=False))
def test_the_order_lots_are_judged_in_changes_no_verdict(world: World, random: Random) -> None:
    """Whole verdicts, paths and the reasons on each step included, are the same whichever
    lots a shared cache judged before (check --all judges in id order, bloc check one)."""
    note(describe(world))
    by_index = sorted(world.lots(), key=lambda n: (world.graph.nodes[n]["log_index"], n))
    in_order: dict[str, RuleShares] = {}
    expected = {lot: world.judge(lot, in_order) for lot in by_index}
    shuffled = list(world.lots())
    random.shuffle(shuffled)
    any_order: dict[str, RuleShares] = {}
    for lot in shuffled:
        assert world.judge(lot, any_order) == expected[lot], lot


@examples(200)
@given(worlds(), st.sets(st.sampled_from(sorted(RESTRICTABLE)), min_size=1))
def test_what_a_rule_restricts_never_changes_the_recycled_share(
    world: World, ignored: set[str]
) -> None:
    """The checker skips an exemption's second pass (the rule without some stages) when a
    lot is not all recycled: that is sound only if the recycled share never depends on
    the stages a rule restricts."""
    note(describe(world))
    run = world.run()
    variant = run.ignoring(frozenset(ignored))
    for lot in world.lots():
        assert variant.of(lot).recycled == run.of(lot).recycled, lot


@examples(300)
@given(worlds(exact_rounding=True))
def test_shares_sum_to_one(world: World) -> None:
    """Also on graphs where, as in ``ledger.provenance.graph``, a split rounds an edge down to 0 g."""
    note(describe(world))
    run = world.run()
    for lot in world.lots():
        s = run.of(lot)
        assert min(s.compliant, s.non_compliant, s.unknown, s.other) >= 0, (lot, s)
        assert abs(s.compliant + s.non_compliant + s.unknown + s.other - 1.0) <= TOLERANCE, (
            lot,
            s,
        )


hops = st.lists(
    st.fixed_dictionaries(
        {
            "shipment": st.sampled_from(["shp:1", "shp:2", "shp:3"]),
            "from": st.sampled_from(["fac-0", "fac-1", "fac-9"]),
            "to": st.sampled_from(["fac-0", "fac-1", "fac-9"]),
            "to_country": st.sampled_from(COUNTRIES),
            "shipped_on": days,
            "log_index": st.integers(1, 40),
            "received_index": st.none() | st.integers(1, 40),
            "end_use": st.none() | st.just("defense"),
        }
    ),
    max_size=3,
)


@examples(100)
@given(worlds(), st.data())
def test_shipments_never_change_a_verdict(world: World, data: st.DataObject) -> None:
    """Hops (shipments and receipts, to any facility, forbidden or not) are attributes of a
    lot, never nodes: they change no share and no verdict. The hops are set on the same
    graph object, because even a ``graph.copy()`` reorders in-edges, and the float mix then
    differs in the last bit."""
    note(describe(world))
    rule_shares: dict[str, RuleShares] = {}
    before = [world.judge(lot, rule_shares) for lot in world.lots()]
    before_shares = rule_shares["W/*"].shares
    for lot in world.lots():
        world.graph.nodes[lot]["hops"] = data.draw(hops, label=f"hops of {lot}")
    rule_shares = {}
    assert [world.judge(lot, rule_shares) for lot in world.lots()] == before
    assert rule_shares["W/*"].shares == before_shares


def with_extra_input(
    world: World,
    into: str,
    *,
    material: str,
    source: str,
    grams: int,
    stages: frozenset[str],
    day: str,
) -> World:
    """``world`` with a new extraction at a facility that is not forbidden feeding ``into``."""
    country = next(c for c in COUNTRIES if not forbidden_in(world, c, day))
    facility = facility_facts("fac-new", country, stages)
    graph = world.graph.copy()
    graph.add_node(
        "lot:new",
        **lot_attributes(
            material=material,
            mass_g=grams,
            index=0,  # before every other record: the log order stays topological
            facility=facility,
            stage="mining" if source == "mined" else "scrap_collection",
            day=day,
            source=source,
        ),
    )
    graph.add_edge("lot:new", into, grams=grams, log_index=graph.nodes[into]["log_index"])
    graph.nodes[into]["mass_g"] += grams
    return world.with_graph(graph, {**world.facilities, "fac-new": facility})


@examples(300)
@given(worlds(registered=many_registrations), st.data())
def test_adding_an_input_never_clears_a_taint(world: World, data: st.DataObject) -> None:
    """A new extraction at a facility that is not forbidden, fed into a transformation
    upstream of a failing lot, may dilute its non-compliant share but never clears it."""
    note(describe(world))
    rule_shares: dict[str, RuleShares] = {}
    failing = [lot for lot in world.lots() if world.judge(lot, rule_shares).verdict == FAIL]
    assume(failing)
    target = data.draw(st.sampled_from(failing), label="target")
    upstream = sorted(
        n
        for n in nx.ancestors(world.graph, target) | {target}
        if world.graph.nodes[n]["kind"] == "lot" and world.graph.nodes[n]["source"] == ""
    )
    assume(upstream)
    # Mostly into a transformation the non-compliance comes from, where it matters most.
    tainting = [n for n in upstream if taints(world, n)]
    into = data.draw(
        st.sampled_from(tainting or upstream)
        if data.draw(st.integers(0, 3))
        else st.sampled_from(upstream),
        label="into",
    )
    material, source = data.draw(st.sampled_from(EXTRACTED), label="new input")
    bigger = with_extra_input(
        world,
        into,
        material=material,
        source=source,
        grams=data.draw(st.integers(1, 1000), label="grams"),
        stages=frozenset(data.draw(st.sets(st.sampled_from(REGISTRABLE)), label="stages")),
        day=data.draw(days, label="day"),
    )
    after = bigger.judge(target)
    assert after.verdict == FAIL, (target, into, after)
    assert after.non_compliant > 0


@examples(150)
@given(worlds(), st.data())
def test_non_compliant_beats_unknown(world: World, data: st.DataObject) -> None:
    """A lot mixing a tainted input with an unknown (untraced) one fails."""
    note(describe(world))
    graph = world.graph.copy()
    facilities = dict(world.facilities)
    # X: ore through a restricted stage at a forbidden facility (CN is inside the set, AU
    # outside it); Y: X, an untraced input that implies a restricted stage and maybe a lot
    # of the random DAG, by a stage that is not restricted at a facility that is not
    # forbidden and is registered for every stage Y's material implies (so no gap).
    bad = facility_facts("fac-bad", "CN" if world.inside else "AU", frozenset())
    good = facility_facts("fac-good", "AU" if world.inside else "CN", frozenset(REGISTRABLE))
    facilities |= {"fac-bad": bad, "fac-good": good}
    unknown_materials = [
        m
        for m in ("ndfeb_alloy", "ndpr_metal", "ndpr_oxide", "rare_earth_concentrate")
        if implies(m) & world.restricted
    ]
    assume(unknown_materials)
    last = max(d["log_index"] for _, d in graph.nodes(data=True))
    x, y, untraced = "lot:x", "lot:y", f"untraced:{last + 3}/0"
    x_grams = data.draw(st.integers(1, 1000), label="X's grams")
    u_grams = data.draw(st.integers(1, 1000), label="untraced grams")
    graph.add_node(
        "lot:ore",
        **lot_attributes(
            material="rare_earth_ore",
            mass_g=x_grams,
            index=last + 1,
            facility=good,
            stage="mining",
            day="2025-01-01",
            source="mined",
        ),
    )
    graph.add_node(
        x,
        **lot_attributes(
            material=data.draw(st.sampled_from(PRODUCED), label="X's material"),
            mass_g=x_grams,
            index=last + 2,
            facility=bad,
            stage=data.draw(st.sampled_from(sorted(world.restricted)), label="X's stage"),
            day="2025-01-01",
            source="",
        ),
    )
    graph.add_edge("lot:ore", x, grams=x_grams, log_index=last + 2)
    graph.add_node(
        untraced,
        kind="untraced",
        material=data.draw(st.sampled_from(unknown_materials), label="untraced material"),
        mass_g=u_grams,
        log_index=last + 3,
        declared_origin="",
    )
    graph.add_node(
        y,
        **lot_attributes(
            material="ndfeb_alloy",
            mass_g=x_grams + u_grams,
            index=last + 3,
            facility=good,
            stage="repack",
            day="2025-01-01",
            source="",
        ),
    )
    graph.add_edge(x, y, grams=x_grams, log_index=last + 3)
    graph.add_edge(untraced, y, grams=u_grams, log_index=last + 3)
    extra = data.draw(st.none() | st.sampled_from(world.lots()), label="Y's other input")
    if extra is not None:
        graph.add_edge(extra, y, grams=data.draw(st.integers(1, 1000)), log_index=last + 3)
    mixed = world.with_graph(graph, facilities)
    want = brute_force(mixed, y)
    assert want["non_compliant"] > 0, want
    assert want["unknown"] > 0, want
    verdict = mixed.judge(y)
    assert verdict.verdict == FAIL, verdict
    asked = want["compliant"] + want["non_compliant"] + want["unknown"]
    assert abs(verdict.non_compliant - float(want["non_compliant"] / asked)) <= TOLERANCE
    assert abs(verdict.unknown - float(want["unknown"] / asked)) <= TOLERANCE
    # And everywhere: whatever unknown mass a lot has, non-compliant mass makes it fail.
    rule_shares: dict[str, RuleShares] = {}
    for lot in mixed.lots():
        judged = mixed.judge(lot, rule_shares)
        if rule_shares["W/*"].of(lot).non_compliant > 0:
            assert judged.verdict == FAIL, lot


# -- counter-examples found by the properties above (minimal, deterministic) -------------------


def tiny_world(restricted: set[str]) -> World:
    return World(
        graph=nx.DiGraph(root=None, direction="up"),
        facilities={
            "yard-us": facility_facts("yard-us", "US", frozenset()),
            "plant-us": facility_facts("plant-us", "US", frozenset()),
            "mine-au": facility_facts("mine-au", "AU", frozenset({"mining", "beneficiation"})),
            "plant-cn": facility_facts("plant-cn", "CN", frozenset({"beneficiation"})),
        },
        policy=make_policy(frozenset(restricted), ALL_FAMILIES, inside=True, on_event=False),
        restricted=frozenset(restricted),
        constituents=ALL_FAMILIES,
        inside=True,
        on_event=False,
    )


def add_lot(
    world: World,
    name: str,
    material: str,
    index: int,
    facility: str,
    stage: str,
    source: str,
    mass: int = 100,
) -> None:
    world.graph.add_node(
        name,
        **lot_attributes(
            material=material,
            mass_g=mass,
            index=index,
            facility=world.facilities[facility],
            stage=stage,
            day="2025-01-01",
            source=source,
        ),
    )


def test_an_all_recycled_lot_has_no_gap_whatever_its_input_weights() -> None:
    """Three recycled scrap lots of 1, 10 and 10 g reprocessed into NdPr oxide: every gram
    is recycled, so the unrecorded mined-route stages are not a gap (ADR 0008). The float
    mix gives ``recycled`` 0.9999999999999999 < 1.0, and the lot turns wholly unknown
    (with 5, 10 and 10 g it passes)."""
    world = tiny_world({"separation"})
    for i, grams in enumerate((1, 10, 10)):
        add_lot(
            world,
            f"lot:s{i}",
            "magnet_scrap",
            i + 1,
            "yard-us",
            "scrap_collection",
            "recycled",
            grams,
        )
        world.graph.add_edge(f"lot:s{i}", "lot:ox", grams=grams, log_index=4)
    add_lot(world, "lot:ox", "ndpr_oxide", 4, "plant-us", "recycling_reprocessing", "", 21)
    assert brute_force(world, "lot:ox")["compliant"] == 1
    verdict = world.judge("lot:ox")
    assert (verdict.verdict, verdict.compliant, verdict.unknown) == (PASS, 1.0, 0.0), verdict


def test_adding_a_compliant_input_keeps_a_taint() -> None:
    """Ore blended into rare-earth concentrate at a CN plant registered for (restricted)
    beneficiation: the ore's beneficiation counts as done there, so the blend fails. Adding
    a compliant concentrate from an AU mine does not beneficiate the ore anywhere else, yet
    it removes beneficiation from the lot's missing stages and the verdict turns to pass."""
    world = tiny_world({"beneficiation"})
    add_lot(world, "lot:ore", "rare_earth_ore", 1, "mine-au", "mining", "mined")
    add_lot(world, "lot:blend", "rare_earth_concentrate", 3, "plant-cn", "blend", "")
    world.graph.add_edge("lot:ore", "lot:blend", grams=100, log_index=3)
    assert world.judge("lot:blend").verdict == FAIL
    add_lot(world, "lot:conc", "rare_earth_concentrate", 2, "mine-au", "mining", "mined")
    world.graph.add_edge("lot:conc", "lot:blend", grams=100, log_index=3)
    assert brute_force(world, "lot:conc")["compliant"] == 1
    verdict = world.judge("lot:blend")
    assert verdict.verdict == FAIL, verdict
    assert verdict.non_compliant > 0


class _Ledger:
    """Just enough of a ``ProvenanceSource`` for ``ledger.provenance.graph.build_all``."""

    def __init__(self, lots: Mapping[str, LotInfo], flows: Mapping[int, list[Flow]]) -> None:
        self._lots, self._flows = lots, flows

    def all_lots(self) -> Mapping[str, LotInfo]:
        return self._lots

    def flows_into(self, indexes: Any) -> Mapping[int, list[Flow]]:
        return {i: self._flows.get(i, []) for i in indexes}

    def untraced_into(self, indexes: Any) -> Mapping[int, list[Any]]:
        return {}

    def hops(self, lots: Any) -> Mapping[str, list[Any]]:
        return {}


def test_a_one_gram_output_of_a_forbidden_restricted_stage_fails() -> None:
    """1 g of ore and 1000 g of ore beneficiated at a CN plant (restricted) into outputs of
    1000 g and 1 g. ``build_all`` splits each input's grams over the outputs rounding down,
    so every edge into the 1 g output carries 0 g; the one pass then gives it no shares at
    all (they sum to 0, not 1) and judges it ``inconclusive`` ("none of its mass is of a
    family the rule asks about") although a restricted stage at a forbidden facility
    created it."""
    world = tiny_world({"beneficiation"})

    def info(
        lot: str,
        material: str,
        grams: int,
        index: int,
        facility: str,
        stage: str,
        source: str | None,
    ) -> LotInfo:
        facts = world.facilities[facility]
        return LotInfo(
            id=LotId(lot),
            material=material,
            mass_g=grams,
            created_index=index,
            facility=facility,
            country=facts.country,
            operator=facts.operator,
            stage=stage,
            happened_on="2025-01-01",
            source=source,
        )

    lots = {
        "lot:a": info("lot:a", "rare_earth_ore", 1, 1, "mine-au", "mining", "mined"),
        "lot:b": info("lot:b", "rare_earth_ore", 1000, 2, "mine-au", "mining", "mined"),
        "lot:big": info(
            "lot:big", "rare_earth_concentrate", 1000, 3, "plant-cn", "beneficiation", None
        ),
        "lot:small": info(
            "lot:small", "rare_earth_concentrate", 1, 3, "plant-cn", "beneficiation", None
        ),
    }
    flows = {
        3: [
            Flow(log_index=3, lot=LotId("lot:a"), grams=1),
            Flow(log_index=3, lot=LotId("lot:b"), grams=1000),
        ]
    }
    graph = build_all(_Ledger(lots, flows))
    assert all(graph.edges[a, "lot:small"]["grams"] == 0 for a in ("lot:a", "lot:b"))
    built = world.with_graph(graph, world.facilities)
    shares = built.run().of("lot:small")
    assert (
        abs(shares.compliant + shares.non_compliant + shares.unknown + shares.other - 1)
        <= TOLERANCE
    ), shares
    verdict = built.judge("lot:small")
    assert (verdict.verdict, verdict.non_compliant) == (FAIL, 1.0), verdict


def test_a_context_shared_across_graphs_is_refused() -> None:
    """A shared Context holds one graph's nodes and one policy's answers: a rule judged over
    another graph with it would read the wrong lots."""
    one, other = tiny_world({"separation"}), tiny_world({"separation"})
    context = one.run().context
    with pytest.raises(ValueError, match="same graph"):
        RuleShares(
            other.graph, policy=other.policy, rule=other.rule, as_of=AS_OF,
            facilities=other.facilities, unknown_grams={}, context=context,
        )  # fmt: skip
