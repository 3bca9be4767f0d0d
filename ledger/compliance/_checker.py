"""The compliance checker: mass shares in one topological pass, and verdicts.

For a policy, an as-of date and a covered material's rule (restricted stages, constituent
families), every gram of every lot is *compliant*, *non-compliant*, *unknown*, or *not asked*
(a family the rule does not name, such as the nickel binder of tungsten heavy alloy):

- a lot created by a restricted stage at a forbidden facility (location, or entity
  control) is wholly non-compliant in its asked mass — commingling, no de minimis;
- an untraced input is unknown when its material implies a restricted stage (it is
  compliant otherwise: window A does not ask where NdPr metal was separated);
- a lot whose material implies a restricted stage the ledger does not record is unknown
  (stages its facility is registered for count as done there, at that location);
- an integrity finding makes the grams it names unknown;
- a transformation's outputs take the mass-weighted mix of its inputs; shipments change
  nothing.

Lots are visited in log order, which is topological because records arrive in causal
order: one pass computes every lot (``check --all`` is linear) and one lot costs only its
upstream. Verdicts follow the policy's combination (taint or threshold); non-compliant beats
unknown. Each verdict names the rule and paragraph, and the heaviest upstream paths that
carry the offending (or unknown) mass, as chains of log indexes.

The module is pure: it reads a provenance graph (``ledger.provenance.graph``) and facts about
facilities, and returns values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from ledger.compliance.policy import MaterialRule, Policy, Window
from ledger.core.vocabulary import vocabulary
from ledger.provenance.graph import Graph

PASS = "pass"  # noqa: S105 - a verdict, not a password
FAIL = "fail"
INCONCLUSIVE = "inconclusive"
EXEMPT = "exempt"
NOT_APPLICABLE = "not_applicable"

EXIT_CODES = {PASS: 0, EXEMPT: 0, NOT_APPLICABLE: 0, FAIL: 1, INCONCLUSIVE: 4}
_SEVERITY = {NOT_APPLICABLE: 0, EXEMPT: 1, PASS: 2, INCONCLUSIVE: 3, FAIL: 4}

_EPSILON = 1e-9
"""Shares are binary floats: 'all recycled' means within this of 1."""

TOP_SOURCES = 5
"""How many offending (and unknown) sources each lot remembers, heaviest first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FacilityFacts:
    id: str
    country: str
    operator: str
    stages: frozenset[str]
    control: tuple[Mapping[str, Any], ...]
    """The operator's holders now: ``holder``, ``country``, ``percent``, ``government``."""
    history: tuple[tuple[date, tuple[Mapping[str, Any], ...]], ...] = ()
    """Every registration's holders, oldest first, with the date it took effect."""

    def control_on(self, day: date) -> tuple[Mapping[str, Any], ...]:
        """The holders on ``day``: the latest registration in effect by then (the first
        one, for a day before the operator was registered)."""
        if not self.history:
            return self.control
        current = self.history[0][1]
        for since, holders in self.history:
            if since <= day:
                current = holders
        return current


@dataclass(slots=True)
class Shares:
    """Fractions of a lot's mass; they sum to 1."""

    compliant: float = 0.0
    non_compliant: float = 0.0
    unknown: float = 0.0
    other: float = 0.0
    recycled: float = 0.0
    offending: dict[int, float] = field(default_factory=dict)
    """Log index of a restricted stage at a forbidden facility → fraction it taints."""
    unknown_from: dict[str, float] = field(default_factory=dict)
    """Why mass is unknown (``untraced at 12``, ``finding at 14``, ...) → fraction."""

    @property
    def asked(self) -> float:
        return self.compliant + self.non_compliant + self.unknown


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    log_index: int
    lot: str
    material: str
    facility: str
    country: str
    stage: str
    date: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Path:
    share: float
    """Fraction of the lot's judged mass this source taints."""
    steps: tuple[Step, ...]
    """From the source event to the lot judged."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    lot: str
    material: str
    policy: str
    as_of: date
    verdict: str
    compliant: float
    non_compliant: float
    unknown: float
    window: str | None
    rule: str | None
    paragraph: str | None
    citation: str | None
    paths: tuple[Path, ...] = ()
    unknown_reasons: tuple[tuple[str, float], ...] = ()
    reason: str = ""
    parts: tuple[Verdict, ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]


def _mix(items: Iterable[tuple[float, Shares]]) -> Shares:
    """The mass-weighted mix of several inputs' shares (weights need not sum to 1)."""
    pairs = [(w, s) for w, s in items if w > 0]
    total = sum(w for w, _ in pairs)
    mixed = Shares()
    if total <= 0:
        return mixed
    for weight, s in pairs:
        k = weight / total
        mixed.compliant += k * s.compliant
        mixed.non_compliant += k * s.non_compliant
        mixed.unknown += k * s.unknown
        mixed.other += k * s.other
        mixed.recycled += k * s.recycled
        for index, f in s.offending.items():
            mixed.offending[index] = mixed.offending.get(index, 0.0) + k * f
        for why, f in s.unknown_from.items():
            mixed.unknown_from[why] = mixed.unknown_from.get(why, 0.0) + k * f
    mixed.offending = _top(mixed.offending)
    mixed.unknown_from = _top(mixed.unknown_from)
    return mixed


K = TypeVar("K")


def _top(weights: dict[K, float]) -> dict[K, float]:
    if len(weights) <= TOP_SOURCES:
        return weights
    return dict(sorted(weights.items(), key=lambda kv: -kv[1])[:TOP_SOURCES])


def _origin(asked: bool, *, recycled: bool, unknown: bool, why: str) -> Shares:
    if not asked:
        return Shares(other=1.0, recycled=1.0 if recycled else 0.0)
    if unknown:
        return Shares(unknown=1.0, recycled=1.0 if recycled else 0.0, unknown_from={why: 1.0})
    return Shares(compliant=1.0, recycled=1.0 if recycled else 0.0)


def _taint(shares: Shares, index: int) -> None:
    """A restricted stage at a forbidden facility: every asked gram becomes non-compliant."""
    asked = shares.asked
    shares.compliant = shares.unknown = 0.0
    shares.non_compliant = asked
    shares.unknown_from = {}
    shares.offending = {index: asked}


def _make_unknown(shares: Shares, fraction: float, why: str) -> None:
    """Compliant mass becomes unknown first; non-compliant mass stays what it is."""
    moved = min(shares.compliant, fraction)
    if moved <= 0:
        return
    shares.compliant -= moved
    shares.unknown += moved
    shares.unknown_from[why] = shares.unknown_from.get(why, 0.0) + moved
    shares.unknown_from = _top(shares.unknown_from)


class Pass:
    """One rule's shares over a provenance graph, computed lot by lot in log order."""

    def __init__(
        self,
        graph: Graph,
        *,
        policy: Policy,
        rule: MaterialRule,
        as_of: date,
        facilities: Mapping[str, FacilityFacts],
        unknown_grams: Mapping[str, int],
    ) -> None:
        self.graph = graph
        self.policy = policy
        self.rule = rule
        self.as_of = as_of
        self.facilities = facilities
        self.unknown_grams = unknown_grams
        self.shares: dict[str, Shares] = {}
        lots = [n for n, d in graph.nodes(data=True) if d["kind"] == "lot"]
        for lot in sorted(lots, key=lambda n: (graph.nodes[n]["log_index"], n)):
            self.shares[lot] = self._lot(lot)

    def _asked(self, material: str) -> bool:
        return vocabulary().materials[material].family in self.rule.constituents

    def _restricted_gap(self, implied: Iterable[str]) -> list[str]:
        return sorted(set(implied) & self.rule.restricted_stages)

    def forbidden(self, facility: str, day: date) -> bool:
        return _forbidden(self.policy, self.facilities[facility], day, self.as_of)

    def _lot(self, lot: str) -> Shares:
        data = self.graph.nodes[lot]
        material, index, stage = data["material"], data["log_index"], data["stage"]
        facts = self.facilities[data["facility"]]
        implied = vocabulary().materials[material].implies
        day = date.fromisoformat(data["date"])
        recycled = data["source"] == "recycled"
        if data["source"]:  # an extraction: the material enters the ledger here
            # A mine performs mining, and the other "mined" stages the material implies
            # (beneficiation) when its facility is registered for them. Scrap arrives with
            # no history at all: the stages its material implies were not recorded.
            done: frozenset[str] = frozenset()
            if data["source"] == "mined":
                done = frozenset({"mining"}) | {
                    s
                    for s in implied
                    if vocabulary().stages[s].verb == "mined" and s in facts.stages
                }
            gap = self._restricted_gap(implied - done)
            shares = _origin(
                self._asked(material),
                recycled=recycled,
                unknown=bool(gap),
                why=f"{', '.join(gap)} not recorded for log index {index}",
            )
            performed = done
        else:
            forbidden_here = self.forbidden(data["facility"], day)
            inputs: list[tuple[float, Shares]] = []
            for source, _, edge in self.graph.in_edges(lot, data=True):
                node = self.graph.nodes[source]
                if node["kind"] == "untraced":
                    gap = self._restricted_gap(vocabulary().materials[node["material"]].implies)
                    start = _origin(
                        self._asked(node["material"]),
                        recycled=False,
                        unknown=bool(gap),
                        why=f"untraced {node['material']} at log index {index}",
                    )
                else:
                    start = self.shares[source]
                weight = float(edge.get("consumed", edge["grams"]))
                inputs.append(
                    (
                        weight,
                        self._input(
                            start,
                            node["material"],
                            material,
                            implied,
                            stage,
                            facts,
                            forbidden_here,
                            index,
                        ),
                    )
                )
            shares = _mix(inputs)
            if (
                not inputs
                or shares.compliant + shares.non_compliant + shares.unknown + shares.other <= 0
            ):
                shares = _origin(True, recycled=False, unknown=True, why=f"no inputs at {index}")
            performed = frozenset({stage})
        if performed & self.rule.restricted_stages and self.forbidden(data["facility"], day):
            _taint(shares, index)
        unknown = self.unknown_grams.get(lot, 0)
        if unknown and data["mass_g"]:
            _make_unknown(shares, min(1.0, unknown / data["mass_g"]), f"integrity finding on {lot}")
        return shares

    def _input(
        self,
        shares: Shares,
        material: str,
        out_material: str,
        implied: frozenset[str],
        stage: str,
        facts: FacilityFacts,
        forbidden_here: bool,
        index: int,
    ) -> Shares:
        """One input as it enters a transformation making a material that implies ``implied``.

        Stages the output implies but this input's material does not were done here, to
        this input, if the facility is registered for them (and are judged at its
        location); otherwise they are gaps, and the input's compliant mass becomes unknown
        — unless the input is recycled, whose earlier history is not asked. Only inputs of
        the output's own family take its chain: iron melted into an NdFeB alloy was never
        separated, and its own history was judged where it entered the ledger.
        """
        materials = vocabulary().materials
        if materials[material].family != materials[out_material].family:
            return shares
        needed = implied - materials[material].implies - {stage}
        if not needed:
            return shares
        done_here = needed & facts.stages
        gap = self._restricted_gap(needed - done_here)
        adjusted = Shares(
            compliant=shares.compliant,
            non_compliant=shares.non_compliant,
            unknown=shares.unknown,
            other=shares.other,
            recycled=shares.recycled,
            offending=dict(shares.offending),
            unknown_from=dict(shares.unknown_from),
        )
        if done_here & self.rule.restricted_stages and forbidden_here:
            _taint(adjusted, index)
        elif gap and adjusted.recycled < 1.0 - _EPSILON:
            _make_unknown(
                adjusted,
                adjusted.compliant,
                f"{', '.join(gap)} not recorded before log index {index}",
            )
        return adjusted

    # -- paths ---------------------------------------------------------------------------

    def path(self, lot: str, source_index: int) -> tuple[Step, ...]:
        """The heaviest chain from the lot created at ``source_index`` down to ``lot``."""
        steps = [self._step(lot)]
        node = lot
        while self.graph.nodes[node]["log_index"] != source_index:
            best, weight = None, -1.0
            for pred, _, edge in self.graph.in_edges(node, data=True):
                shares = self.shares.get(pred)
                if shares is None or source_index not in shares.offending:
                    continue
                carried = edge["grams"] * shares.offending[source_index]
                if carried > weight:
                    best, weight = pred, carried
            if best is None:
                break
            node = best
            steps.append(self._step(node))
        return tuple(reversed(steps))

    def _step(self, lot: str) -> Step:
        return _step_of(self.graph, lot)

    def stages_upstream(self, lot: str, stages: Iterable[str]) -> dict[str, set[str]]:
        """Countries where each of ``stages`` happened in ``lot``'s upstream (incl. itself)."""
        wanted = set(stages)
        found: dict[str, set[str]] = {}
        seen: set[str] = set()
        todo = [lot]
        while todo:
            node = todo.pop()
            if node in seen or self.graph.nodes[node]["kind"] != "lot":
                continue
            seen.add(node)
            data = self.graph.nodes[node]
            if data["stage"] in wanted:
                found.setdefault(data["stage"], set()).add(data["country"])
            todo.extend(self.graph.predecessors(node))
        return found


def judge(
    lot: str,
    graph: Graph,
    *,
    policy: Policy,
    as_of: date,
    facilities: Mapping[str, FacilityFacts],
    unknown_grams: Mapping[str, int],
    passes: dict[str, Pass] | None = None,
) -> Verdict:
    """The verdict on ``lot`` under ``policy`` as of ``as_of``.

    ``passes`` caches one :class:`Pass` per material rule, so that judging every lot of a
    ledger computes each rule's shares once.
    """
    cache: dict[str, Pass] = {} if passes is None else passes
    material = graph.nodes[lot]["material"]
    window = policy.window(as_of)
    if window is None:
        return _plain(lot, material, policy, as_of, NOT_APPLICABLE, "no window covers the date")
    if material == "component" and window.rule_for(material) is None:
        return _component(lot, graph, policy, window, as_of, facilities, unknown_grams, cache)
    rule = window.rule_for(material)
    if rule is None:
        return _plain(
            lot,
            material,
            policy,
            as_of,
            NOT_APPLICABLE,
            f"{material} is not a material {policy.name} covers",
            window=window,
        )
    key = f"{window.id}/{rule.material}"
    if key not in cache:
        cache[key] = Pass(
            graph,
            policy=policy,
            rule=rule,
            as_of=as_of,
            facilities=facilities,
            unknown_grams=unknown_grams,
        )
    return _covered(lot, cache[key], policy, window, rule, as_of)


def _plain(
    lot: str,
    material: str,
    policy: Policy,
    as_of: date,
    verdict: str,
    reason: str,
    *,
    window: Window | None = None,
) -> Verdict:
    return Verdict(
        lot=lot,
        material=material,
        policy=policy.name,
        as_of=as_of,
        verdict=verdict,
        compliant=0.0,
        non_compliant=0.0,
        unknown=0.0,
        window=window.id if window else None,
        rule=None,
        paragraph=None,
        citation=None,
        reason=reason,
    )


def _covered(
    lot: str, run: Pass, policy: Policy, window: Window, rule: MaterialRule, as_of: date
) -> Verdict:
    shares = run.shares[lot]
    asked = shares.asked
    material = run.graph.nodes[lot]["material"]
    base = {
        "lot": lot,
        "material": material,
        "policy": policy.name,
        "as_of": as_of,
        "window": window.id,
        "rule": rule.label,
        "paragraph": rule.paragraph,
        "citation": rule.citation,
    }
    if asked <= 0:
        return Verdict(
            **base,
            verdict=INCONCLUSIVE,
            compliant=0.0,
            non_compliant=0.0,
            unknown=0.0,
            reason=f"none of its mass is of a family the rule asks about "
            f"({', '.join(sorted(rule.constituents))})",
        )
    c, n, u = shares.compliant / asked, shares.non_compliant / asked, shares.unknown / asked
    paths = tuple(
        Path(share=weight / asked, steps=run.path(lot, index))
        for index, weight in sorted(shares.offending.items(), key=lambda kv: -kv[1])
    )
    reasons = tuple(
        (why, weight / asked)
        for why, weight in sorted(shares.unknown_from.items(), key=lambda kv: -kv[1])
    )
    for exemption in policy.exemptions:
        if material not in exemption.materials:
            continue
        if exemption.all_recycled and (
            shares.recycled < 1.0 - _EPSILON or shares.unknown > _EPSILON
        ):
            continue  # mass of unknown origin is not shown to be recycled
        where = run.stages_upstream(lot, exemption.stages_in)
        if all(
            where.get(stage) and where[stage] <= countries
            for stage, countries in exemption.stages_in.items()
        ):
            return Verdict(
                **{**base, "paragraph": exemption.paragraph, "citation": exemption.citation},
                verdict=EXEMPT,
                compliant=c,
                non_compliant=n,
                unknown=u,
                paths=paths,
                unknown_reasons=reasons,
                reason=f"exemption {exemption.id}",
            )
    failing = n > 0 if policy.threshold is None else Decimal(str(n)) > policy.threshold
    if failing:
        verdict, reason = (
            FAIL,
            "non-compliant mass: "
            + (
                "any non-compliant gram fails (no de minimis)"
                if policy.threshold is None
                else f"more than the {policy.threshold} allowed"
            ),
        )
    elif u > 0:
        verdict = INCONCLUSIVE if policy.unknown_verdict == "inconclusive" else FAIL
        reason = "unknown mass: " + "; ".join(why for why, _ in reasons[:3])
    else:
        verdict, reason = PASS, "every asked gram is compliant"
    return Verdict(
        **base,
        verdict=verdict,
        compliant=c,
        non_compliant=n,
        unknown=u,
        paths=paths if verdict == FAIL or n > 0 else (),
        unknown_reasons=reasons,
        reason=reason,
    )


def _component(
    lot: str,
    graph: Graph,
    policy: Policy,
    window: Window,
    as_of: date,
    facilities: Mapping[str, FacilityFacts],
    unknown_grams: Mapping[str, int],
    cache: dict[str, Pass],
) -> Verdict:
    """A component is judged by the covered material in its upstream, each by its own rule.

    Three things can fail it: a covered part that fails on its own; a restricted stage of
    a covered part's rule done to the part on its way into the component (machining a
    tungsten heavy alloy penetrator is a later phase of its production) at a forbidden
    facility; and the end-item prong. Covered material bought untraced makes it unknown.
    """
    covered: list[str] = []
    untraced: list[str] = []
    between: set[str] = {lot}  # the component and the lots between it and its covered parts
    todo = list(graph.predecessors(lot))
    while todo:
        node = todo.pop()
        if node in between or node in covered or node in untraced:
            continue
        data = graph.nodes[node]
        if window.rule_for(data["material"]) is None:
            if data["kind"] == "lot":
                between.add(node)
                todo.extend(graph.predecessors(node))
        elif data["kind"] == "untraced":
            untraced.append(node)
        else:
            covered.append(node)  # judged by its own rule; do not look further up
    if not covered and not untraced:
        return _plain(
            lot,
            "component",
            policy,
            as_of,
            NOT_APPLICABLE,
            "it contains no material the policy covers",
            window=window,
        )
    parts = tuple(
        judge(
            p,
            graph,
            policy=policy,
            as_of=as_of,
            facilities=facilities,
            unknown_grams=unknown_grams,
            passes=cache,
        )
        for p in sorted(covered)
    )
    parts += tuple(
        _plain(
            node,
            graph.nodes[node]["material"],
            policy,
            as_of,
            INCONCLUSIVE,
            f"untraced {graph.nodes[node]['material']} at log index "
            f"{graph.nodes[node]['log_index']}: its origin is unknown",
            window=window,
        )
        for node in sorted(untraced)
    )
    parts += tuple(_later_phases(lot, graph, policy, window, as_of, facilities, covered, between))
    worst = max(parts, key=lambda v: _SEVERITY[v.verdict])
    components = policy.components
    data = graph.nodes[lot]
    if (
        components is not None
        and components.end_item_prong
        and data["stage"] in components.assembly_stages
        and policy.location_forbidden(
            data["country"], event_day=date.fromisoformat(data["date"]), as_of=as_of
        )
    ):
        return _component_fail(
            lot,
            policy,
            as_of,
            window,
            rule="end item manufactured in a covered country that contains covered material",
            paragraph=components.paragraph,
            citation=components.citation,
            steps=(_step_of(graph, lot),),
            reason=f"assembled at {data['facility']} ({data['country']})",
            parts=parts,
        )
    return Verdict(
        lot=lot,
        material="component",
        policy=policy.name,
        as_of=as_of,
        verdict=worst.verdict,
        compliant=worst.compliant,
        non_compliant=worst.non_compliant,
        unknown=worst.unknown,
        window=window.id,
        rule=worst.rule,
        paragraph=worst.paragraph,
        citation=worst.citation,
        paths=worst.paths,
        unknown_reasons=worst.unknown_reasons,
        reason=f"{worst.lot} ({worst.material}): {worst.reason}",
        parts=parts,
    )


def _forbidden(policy: Policy, facts: FacilityFacts, day: date, as_of: date) -> bool:
    """A stage on ``day`` at this facility breaks the policy's location or control test."""
    return policy.location_forbidden(
        facts.country, event_day=day, as_of=as_of
    ) or policy.controlled(facts.control_on(day), event_day=day, as_of=as_of)


def _step_of(graph: Graph, lot: str) -> Step:
    data = graph.nodes[lot]
    return Step(
        log_index=data["log_index"],
        lot=lot,
        material=data["material"],
        facility=data["facility"],
        country=data["country"],
        stage=data["stage"],
        date=data["date"],
    )


def _component_fail(
    lot: str,
    policy: Policy,
    as_of: date,
    window: Window,
    *,
    rule: str,
    paragraph: str,
    citation: str,
    steps: tuple[Step, ...],
    reason: str,
    parts: tuple[Verdict, ...] = (),
) -> Verdict:
    return Verdict(
        lot=lot,
        material="component",
        policy=policy.name,
        as_of=as_of,
        verdict=FAIL,
        compliant=0.0,
        non_compliant=1.0,
        unknown=0.0,
        window=window.id,
        rule=rule,
        paragraph=paragraph,
        citation=citation,
        paths=(Path(share=1.0, steps=steps),),
        parts=parts,
        reason=reason,
    )


def _later_phases(
    lot: str,
    graph: Graph,
    policy: Policy,
    window: Window,
    as_of: date,
    facilities: Mapping[str, FacilityFacts],
    covered: Sequence[str],
    between: set[str],
) -> list[Verdict]:
    """Restricted stages done to covered parts after they became parts, at forbidden places."""
    found: list[Verdict] = []
    for node in sorted(between, key=lambda n: graph.nodes[n]["log_index"]):
        data = graph.nodes[node]
        for part in _parts_upstream(node, graph, covered, between):
            rule = window.rule_for(graph.nodes[part]["material"])
            if rule is None or data["stage"] not in rule.restricted_stages:
                continue
            day = date.fromisoformat(data["date"])
            if not _forbidden(policy, facilities[data["facility"]], day, as_of):
                continue
            found.append(
                _component_fail(
                    lot,
                    policy,
                    as_of,
                    window,
                    rule=rule.label,
                    paragraph=rule.paragraph,
                    citation=rule.citation,
                    steps=(_step_of(graph, part), _step_of(graph, node)),
                    reason=f"{data['stage']} of {part} at {data['facility']} "
                    f"({data['country']}) is a restricted phase of its production",
                )
            )
    return found


def _parts_upstream(
    node: str, graph: Graph, covered: Sequence[str], between: set[str]
) -> list[str]:
    """The covered parts that flow into ``node`` (through lots between them only)."""
    parts: list[str] = []
    todo, seen = list(graph.predecessors(node)), set()
    while todo:
        other = todo.pop()
        if other in seen:
            continue
        seen.add(other)
        if other in covered:
            parts.append(other)
        elif other in between:
            todo.extend(graph.predecessors(other))
    return sorted(parts)


def verdict_document(v: Verdict) -> dict[str, Any]:
    """The verdict as JSON (``bloc check --json``, evidence bundles): floats rounded to six
    places, so the same verdict always gives the same bytes."""
    return {
        "lot": v.lot,
        "material": v.material,
        "policy": v.policy,
        "as_of": v.as_of.isoformat(),
        "verdict": v.verdict,
        "shares": {
            "compliant": round(v.compliant, 6),
            "non_compliant": round(v.non_compliant, 6),
            "unknown": round(v.unknown, 6),
        },
        "window": v.window,
        "rule": v.rule,
        "paragraph": v.paragraph,
        "citation": v.citation,
        "reason": v.reason,
        "paths": [
            {
                "share": round(p.share, 6),
                "steps": [
                    {
                        "log_index": s.log_index,
                        "lot": s.lot,
                        "material": s.material,
                        "facility": s.facility,
                        "country": s.country,
                        "stage": s.stage,
                        "date": s.date,
                    }
                    for s in p.steps
                ],
            }
            for p in v.paths
        ],
        "unknown_reasons": [{"reason": why, "share": round(f, 6)} for why, f in v.unknown_reasons],
        "parts": [verdict_document(part) for part in v.parts],
    }


def worst(verdicts: Sequence[Verdict]) -> str | None:
    """The most severe verdict of several (for ``check --all``'s exit code)."""
    if not verdicts:
        return None
    return max((v.verdict for v in verdicts), key=lambda v: _SEVERITY[v])
