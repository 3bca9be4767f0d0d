"""One material rule's shares of every lot, in one topological pass over the graph.

For a policy, an as-of date and a covered material's rule (restricted stages, constituent
families), every gram of every lot is *compliant*, *non-compliant*, *unknown*, or *not asked*
(a family the rule does not name, such as the nickel binder of tungsten heavy alloy):

- a lot created by a restricted stage at a forbidden facility (location, or entity
  control) is wholly non-compliant in its asked mass — commingling, no de minimis; so is
  a lot whose making the rule restricts, whatever its stage is called (ADR 0017);
- a recycled lot is collected at its facility and generated at the origin its extraction
  records: where the rule restricts ``scrap_collection`` both places are judged, and an
  origin that is not recorded is unknown (ADR 0018);
- an untraced input is unknown when its material implies a restricted stage (it is
  compliant otherwise: window A does not ask where NdPr metal was separated);
- a lot whose material implies a restricted stage the ledger does not record is unknown
  (stages its facility is registered for count as done there, at that location);
- an untraced input declared to come from a forbidden country is non-compliant where the
  rule looks at its origin (where it would otherwise be unknown): the submitter's own
  declaration is evidence against them (ADR 0020);
- an integrity finding makes the grams it names unknown, where the rule looks: only when
  the lot's material or the stage that made it is one the rule restricts, or the lot
  carries recycled mass (ADR 0020);
- a facility is judged by its registration in force on the stage's date (location, operator
  and the stages it may perform); a restricted stage dated before the facility's first
  registration happened somewhere the ledger does not know: unknown (ADR 0016);
- a transformation's outputs take the mass-weighted mix of its inputs; shipments change
  nothing;
- a lot made after the as-of date did not exist yet: its stage counts neither way and its
  compliant mass is unknown; consumed by a stage on or before that date (the dates
  contradict each other), all of its mass that is not non-compliant is unknown, whatever
  its family (ADR 0021).

Lots are visited in log order, which is topological because records arrive in causal
order, and only where a verdict asks: one lot costs only its upstream, and ``check --all``
visits each lot once for each rule that reaches it (it stays linear).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import NamedTuple, cast

from ledger.compliance._model import FacilityFacts, Step
from ledger.compliance._shares import (
    Shares,
    make_unknown,
    mix,
    not_existing,
    origin,
    taint,
)
from ledger.compliance._why import declared_origin, implied_here, offence, place_offence
from ledger.compliance.policy import MaterialRule, Policy
from ledger.core.vocabulary import vocabulary
from ledger.provenance.graph import EdgeData, Graph, NodeData


class _Made(NamedTuple):
    """The event that made the lot being computed: the lot, its node, its facility's
    registration in force on its day (``None`` before the first), the stages its material
    implies, and its day. (A tuple: one is made per lot and rule, and a frozen dataclass
    costs more to make than the rest of an ordinary lot's computation.)"""

    lot: str
    data: NodeData
    facts: FacilityFacts | None
    implied: frozenset[str]
    day: date

    @property
    def registered_stages(self) -> frozenset[str]:
        """The stages the facility was registered for on the day (none if unregistered)."""
        return frozenset() if self.facts is None else self.facts.stages


class Context:
    """What every rule judged over one graph, under one policy, as of one date, with the
    same facility facts, computes alike, once: the graph's nodes and each lot's inputs as
    plain dicts and lists, and for each facility and day the registration in force and
    whether the policy forbids restricted stages there then (a whole ledger asks the same
    few thousand questions a million times)."""

    def __init__(
        self,
        graph: Graph,
        policy: Policy,
        facilities: Mapping[str, FacilityFacts],
        as_of: date,
    ) -> None:
        self.graph = graph
        self.policy = policy
        self.facilities = facilities
        self.as_of = as_of
        self.nodes: dict[str, NodeData] = {node: data for node, data in graph.nodes(data=True)}
        self._inputs: dict[str, list[tuple[str, EdgeData]]] = {}
        self._on: dict[tuple[str, date], FacilityFacts | None] = {}
        self._forbidden: dict[tuple[str, date], bool] = {}

    def inputs(self, lot: str) -> list[tuple[str, EdgeData]]:
        """What went into ``lot``: (source node, edge), in the graph's order."""
        found = self._inputs.get(lot)
        if found is None:
            found = cast(list[tuple[str, EdgeData]], list(self.graph.pred[lot].items()))
            self._inputs[lot] = found
        return found

    def fits(
        self, graph: Graph, policy: Policy, facilities: Mapping[str, FacilityFacts], as_of: date
    ) -> bool:
        """Whether this context is the one for judging ``graph`` under ``policy``."""
        return (
            graph is self.graph
            and policy is self.policy
            and facilities is self.facilities
            and as_of == self.as_of
        )

    def on(self, facility: str, day: date) -> FacilityFacts | None:
        """:meth:`FacilityFacts.on` of ``facility``."""
        key = (facility, day)
        try:
            return self._on[key]
        except KeyError:
            found = self._on[key] = self.facilities[facility].on(day)
            return found

    def forbidden(self, facility: str, day: date) -> bool:
        """:func:`forbidden` of ``facility`` on ``day``."""
        key = (facility, day)
        try:
            return self._forbidden[key]
        except KeyError:
            found = forbidden(self.policy, self.facilities[facility], day, self.as_of)
            self._forbidden[key] = found
            return found


class RuleShares:
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
        context: Context | None = None,
    ) -> None:
        """``context`` may be shared by rules judged over the same graph, under the same
        policy, as-of date and facilities."""
        self.graph = graph
        self.policy = policy
        self.rule = rule
        self.as_of = as_of
        self.facilities = facilities
        self.unknown_grams = unknown_grams
        if context is None:
            context = Context(graph, policy, facilities, as_of)
        elif not context.fits(graph, policy, facilities, as_of):
            raise ValueError("a shared context must be for the same graph, policy and date")
        self.context = context
        self._as_of_text = as_of.isoformat()
        self.shares: dict[str, Shares] = {}
        self.causes: dict[tuple[int, str], str] = {}
        """(Log index, lot) of a restricted stage at a forbidden facility → why it offends.
        By lot as well: the outputs of one transformation can offend for different reasons
        (the stages each one's material implies), and which sibling was computed first must
        not decide what a verdict says."""
        self.declared: dict[int, list[str]] = {}
        """Log index of a transformation → its untraced inputs whose declared origin is
        forbidden and asked about (the sources of the offending mass it carries)."""
        self.declared_causes: dict[str, str] = {}
        """Untraced input → why its declared origin offends (ADR 0024)."""
        self._variants: dict[frozenset[str], RuleShares] = {}
        self._gaps: dict[frozenset[str], list[str]] = {}

    def of(self, lot: str) -> Shares:
        """``lot``'s shares, computing first those of its upstream not yet computed.

        A rule's shares are computed for the lots whose verdicts ask for them, and for their
        upstream, once each: judging every lot of a ledger visits each lot once per rule
        that reaches it, not once per rule.
        """
        shares = self.shares.get(lot)
        if shares is None:
            for node in self._not_computed_upstream(lot):
                self.shares[node] = self._lot(node)
            shares = self.shares[lot]
        return shares

    def _not_computed_upstream(self, lot: str) -> list[str]:
        """The lots upstream of ``lot`` (itself included) whose shares are not computed yet,
        in log order, which is topological: records arrive in causal order."""
        nodes, inputs = self.context.nodes, self.context.inputs
        needed: list[str] = []
        seen = {lot}
        todo = [lot]
        while todo:
            node = todo.pop()
            if nodes[node]["kind"] != "lot":
                continue
            needed.append(node)
            for pred, _ in inputs(node):
                if pred not in seen and pred not in self.shares:
                    seen.add(pred)
                    todo.append(pred)
        needed.sort(key=lambda n: (nodes[n]["log_index"], n))
        return needed

    def _asked(self, material: str) -> bool:
        return vocabulary().materials[material].family in self.rule.constituents

    def _restricted_gap(self, implied: frozenset[str]) -> list[str]:
        gap = self._gaps.get(implied)
        if gap is None:
            gap = self._gaps[implied] = sorted(implied & self.rule.restricted_stages)
        return gap

    def forbidden(self, facility: str, day: date) -> bool:
        return self.context.forbidden(facility, day)

    def _lot(self, lot: str) -> Shares:
        data = self.context.nodes[lot]
        index = data["log_index"]
        day = date.fromisoformat(data["date"])
        made = _Made(
            lot=lot,
            data=data,
            facts=self.context.on(data["facility"], day),
            implied=vocabulary().materials[data["material"]].implies,
            day=day,
        )
        if data["source"]:  # an extraction: the material enters the ledger here
            shares, performed = self._extraction(made)
            restricted = bool(performed & self.rule.restricted_stages)
        else:
            shares = self._transformation(lot, made)
            restricted = data["stage"] in self.rule.restricted_stages or (
                self.rule.restricts_making(data["material"]) and self._makes(lot, made)
            )
        if made.day > self.as_of:
            return self._not_yet(shares, made)
        if restricted and data["source"] and self._origin_forbidden(made):
            taint(shares, index)
            self.causes[(index, lot)] = self._origin_cause(made)
        if restricted and self.forbidden(data["facility"], made.day):
            taint(shares, index)
            earlier = self.causes.get((index, lot)) if data["source"] else None
            cause = self._cause(made)
            self.causes[(index, lot)] = f"{earlier}; and {cause}" if earlier else cause
        elif restricted and made.facts is None:
            make_unknown(shares, Fraction(1), _unregistered(data, index))
        unknown = self.unknown_grams.get(lot, 0)
        if unknown and data["mass_g"] and self._finding_asked(made, shares):
            fraction = min(Fraction(1), Fraction(unknown, data["mass_g"]))
            make_unknown(shares, fraction, f"integrity finding on {lot}")
        return shares

    def _not_yet(self, shares: Shares, made: _Made) -> Shares:
        """A lot made after the as-of date did not exist yet (ADR 0021): its own stage
        neither taints nor clears anything, and its compliant mass is unknown. Mass already
        non-compliant upstream, before the as-of date, stays non-compliant. Findings
        recorded against it are about events that had not happened either."""
        data = made.data
        make_unknown(
            shares,
            shares.compliant,
            f"{data['stage']} at log index {data['log_index']} is dated {data['date']}, "
            f"after the as-of date {self.as_of.isoformat()}: it had not happened yet",
        )
        return shares

    def _extraction(self, made: _Made) -> tuple[Shares, frozenset[str]]:
        """The shares of a lot the ledger first sees at its extraction, and the stages done
        at its facility."""
        data = made.data
        if data["source"] == "mined":
            # A mine performs mining, and the other stages the material implies (refining
            # cobalt metal, beneficiating a concentrate) when its facility is registered
            # for them; any other implied stage was not recorded (ADR 0017).
            implied = made.implied
            done = frozenset({"mining"}) | (made.implied & made.registered_stages)
            performed = done
        else:
            # Scrap arrives with no history: the stages its material implies were not
            # recorded. It was collected here, and generated at the origin the extraction
            # records, if it records one (ADR 0018).
            implied = made.implied | {"scrap_collection"}
            done = frozenset({"scrap_collection"} if data.get("origin") else ())
            performed = frozenset({"scrap_collection"})
        gap = self._restricted_gap(implied - done)
        shares = origin(
            self._asked(data["material"]),
            recycled=data["source"] == "recycled",
            unknown=bool(gap),
            why=_gap_reason(gap, data),
        )
        return shares, performed

    def _origin_forbidden(self, made: _Made) -> bool:
        """A recycled lot whose recorded origin is a forbidden location (ADR 0018)."""
        country = made.data.get("origin", "")
        return bool(country) and self.policy.location_forbidden(
            country, event_day=made.day, as_of=self.as_of
        )

    def _makes(self, lot: str, made: _Made) -> bool:
        """The transformation that created ``lot`` made its material (ADR 0017): its stage
        confers origin, or one of its inputs is of another material."""
        if vocabulary().stages[made.data["stage"]].confers_origin:
            return True
        material = made.data["material"]
        return any(
            self.context.nodes[p]["material"] != material for p, _ in self.context.inputs(lot)
        )

    def ignoring(self, stages: frozenset[str]) -> RuleShares:
        """The same rule's shares as if it did not restrict ``stages`` (computed once)."""
        if not stages & self.rule.restricted_stages:
            return self
        if stages not in self._variants:
            self._variants[stages] = RuleShares(
                self.graph,
                policy=self.policy,
                rule=self.rule.without(stages),
                as_of=self.as_of,
                facilities=self.facilities,
                unknown_grams=self.unknown_grams,
                context=self.context,
            )
        return self._variants[stages]

    def _transformation(self, lot: str, made: _Made) -> Shares:
        """The mix of a transformation's inputs, each as it enters it."""
        # A stage after the as-of date taints nothing (it had not happened): _not_yet.
        forbidden_here = made.day <= self.as_of and self.forbidden(made.data["facility"], made.day)
        index = made.data["log_index"]
        inputs: list[tuple[int, Shares]] = []
        nodes = self.context.nodes
        for source, edge in self.context.inputs(lot):
            node = nodes[source]
            start = self._start(source, node, index)
            if node["kind"] == "untraced":
                start = self._declared(source, node, start, made)
            elif made.day <= self.as_of and node["date"] > self._as_of_text:
                # ISO dates (YYYY-MM-DD, as records require) compare as text.
                start = not_existing(start, self._future_input(source, node, index))
            weight = int(edge.get("consumed", edge["grams"]))
            inputs.append((weight, self._input(start, node["material"], made, forbidden_here)))
        shares = mix(inputs)
        # Shares are never negative: they sum to nothing only when each is zero.
        if not inputs or not (
            shares.compliant or shares.non_compliant or shares.unknown or shares.other
        ):
            shares = origin(True, recycled=False, unknown=True, why=f"no inputs at {index}")
        return shares

    def _future_input(self, source: str, node: NodeData, index: int) -> str:
        return (
            f"{source}, an input at log index {index}, is dated {node['date']}, after the "
            f"as-of date {self.as_of.isoformat()}: it did not exist yet"
        )

    def _start(self, source: str, node: NodeData, index: int) -> Shares:
        """An input's shares before it enters the transformation at ``index``."""
        if node["kind"] != "untraced":
            return self.shares[source]
        gap = self._restricted_gap(vocabulary().materials[node["material"]].implies)
        return origin(
            self._asked(node["material"]),
            recycled=False,
            unknown=bool(gap),
            why=f"untraced {node['material']} at log index {index}",
        )

    def _declared(self, source: str, node: NodeData, start: Shares, made: _Made) -> Shares:
        """An untraced input whose declared origin is forbidden, where the rule looks at its
        origin (its mass would otherwise be unknown): wholly non-compliant (ADR 0020).

        The declared origin is where the material's last stage happened; a window restricts
        a stage and every later phase, so a rule that asks about any stage the material
        implies asks about that one.
        """
        declared = node.get("declared_origin", "")
        if not declared or start.unknown == 0:
            return start
        if not self.policy.location_forbidden(declared, event_day=made.day, as_of=self.as_of):
            return start
        index = made.data["log_index"]
        tainted = start.copy()
        taint(tainted, index)
        if source not in self.declared.setdefault(index, []):
            self.declared[index].append(source)
        self.declared_causes[source] = declared_origin(self.policy, declared, made.day, self.as_of)
        return tainted

    def _finding_asked(self, made: _Made, shares: Shares) -> bool:
        """Whether the rule looks where a finding on the lot ``made`` leaves mass unknown.

        A finding puts in doubt the lot's history up to the event that made it, as if the
        lot had been bought untraced: the rule asks about that only when it restricts a
        stage its material implies or the stage that made it (window A does not ask where
        an oxide was separated), or when the lot carries recycled mass, whose origin and
        exemptions depend on the scrap being what it is said to be (ADR 0020).
        """
        if shares.recycled > 0:
            return True
        return bool(self._restricted_gap(made.implied | {made.data["stage"]}))

    def _input(self, shares: Shares, material: str, made: _Made, forbidden_here: bool) -> Shares:
        """One input as it enters the transformation that ``made`` a lot.

        Stages the output's material implies but this input's material does not were done
        here, to this input, if the facility is registered for them (and are judged at its
        location); otherwise they are gaps, and the input's compliant mass becomes unknown
        — unless the input is recycled, whose earlier history is not asked. Only inputs of
        the output's own family take its chain: iron melted into an NdFeB alloy was never
        separated, and its own history was judged where it entered the ledger.
        """
        needed = _needed_here(material, made.data["material"], made.data["stage"])
        if not needed:
            return shares
        done_here = needed & made.registered_stages
        gap = self._restricted_gap(needed - done_here)
        adjusted = shares.copy()
        index = made.data["log_index"]
        if done_here & self.rule.restricted_stages and forbidden_here:
            taint(adjusted, index)
            self.causes.setdefault(
                (index, made.lot),
                implied_here(
                    sorted(done_here & self.rule.restricted_stages),
                    made.data["material"],
                    made.data["facility"],
                    self._cause(made),
                ),
            )
        elif gap and adjusted.recycled < 1:
            make_unknown(
                adjusted,
                adjusted.compliant,
                f"{', '.join(gap)} not recorded before log index {index}"
                if made.facts is not None
                else _unregistered(made.data, index),
            )
        return adjusted

    def _cause(self, made: _Made) -> str:
        """Why a stage of ``made`` offends (ADR 0024): it was found forbidden, so some test
        fails; the fallback names the facility if the two ever disagree."""
        facility = made.data["facility"]
        return offence(self.policy, self.facilities[facility], made.day, self.as_of) or (
            f"the policy forbids restricted stages at {facility} on {made.day.isoformat()}"
        )

    def _origin_cause(self, made: _Made) -> str:
        """Why a recycled lot's recorded origin offends (ADR 0018, 0024)."""
        country = made.data.get("origin", "")
        why = place_offence(self.policy, country, made.day, self.as_of)
        return f"the scrap was generated in {country}, its recorded origin: {why}"

    # -- paths ---------------------------------------------------------------------------

    def explained_path(self, lot: str, source_index: int) -> tuple[Step, ...]:
        """:meth:`path`, with the steps that made its mass non-compliant saying why (ADR
        0024): an untraced input by its declared origin, the source event by its facility's
        country or control (None when the event only carried declared taint)."""
        return tuple(
            replace(step, why=self.declared_causes.get(step.lot))
            if step.stage == "untraced"
            else replace(step, why=self.causes.get((source_index, step.lot)))
            if step.log_index == source_index
            else step
            for step in self.path(lot, source_index)
        )

    def path(self, lot: str, source_index: int) -> tuple[Step, ...]:
        """The heaviest chain from the lot created at ``source_index`` down to ``lot``."""
        steps = [step_of(self.graph, lot)]
        node = lot
        while self.graph.nodes[node]["log_index"] != source_index:
            best = self._heaviest_carrier(node, source_index)
            if best is None:
                break
            node = best
            steps.append(step_of(self.graph, node))
        return self._declared_steps(source_index) + tuple(reversed(steps))

    def _declared_steps(self, source_index: int) -> tuple[Step, ...]:
        """The untraced inputs whose declared origin makes the transformation at
        ``source_index`` a source of offending mass, as the first steps of its path."""
        nodes = self.declared.get(source_index, ())
        return tuple(declared_step(self.graph, node) for node in nodes)

    def _heaviest_carrier(self, node: str, source_index: int) -> str | None:
        """The input of ``node`` that carries the most of the taint from ``source_index``."""
        best, weight = None, Fraction(-1)
        for pred, _, edge in self.graph.in_edges(node, data=True):
            shares = self.shares.get(pred)
            if shares is None or source_index not in shares.offending:
                continue
            carried = edge["grams"] * shares.offending[source_index]
            if carried > weight:
                best, weight = pred, carried
        return best

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


@functools.cache
def _needed_here(material: str, made: str, stage: str) -> frozenset[str]:
    """The stages a ``made`` lot's material implies that a ``material`` input, entering
    ``stage``, had not had: none for an input of another family (it keeps its own chain)."""
    materials = vocabulary().materials
    if materials[material].family != materials[made].family:
        return frozenset()
    return materials[made].implies - materials[material].implies - {stage}


def _gap_reason(gap: list[str], data: NodeData) -> str:
    """Why an extraction's mass is unknown: the restricted stages it did not record."""
    index = data["log_index"]
    reasons = []
    if "scrap_collection" in gap:
        reasons.append(
            f"where the recycled {data['material']} was generated is not recorded "
            f"(log index {index})"
        )
    others = [s for s in gap if s != "scrap_collection"]
    if others:
        reasons.append(f"{', '.join(others)} not recorded for log index {index}")
    return "; ".join(reasons)


def forbidden(policy: Policy, facts: FacilityFacts, day: date, as_of: date) -> bool:
    """A stage on ``day`` at this facility breaks the policy's location or control test,
    judged by the facility's registration in force on ``day`` (its country, its operator
    and that operator's holders then).

    False also when no registration was in force on ``day``: callers must ask
    ``facts.on(day) is None`` and count the stage unknown (ADR 0016).
    """
    here = facts.on(day)
    if here is None:
        return False
    located = policy.location_forbidden(here.country, event_day=day, as_of=as_of)
    return located or policy.controlled(here.control_on(day), event_day=day, as_of=as_of)


def _unregistered(data: NodeData, index: int) -> str:
    return (
        f"{data['stage']} at log index {index} is dated {data['date']}, before "
        f"{data['facility']} was registered: where it was done is unknown"
    )


def declared_step(graph: Graph, node: str) -> Step:
    """An untraced input as a path step: its declared origin as the country (no facility),
    ``untraced`` as the stage (it names no stage the ledger recorded), and the date of the
    transformation it went into."""
    data = graph.nodes[node]
    day = next((graph.nodes[lot].get("date", "") for lot in graph.successors(node)), "")
    return Step(
        log_index=data["log_index"],
        lot=node,
        material=data["material"],
        facility="declared origin",
        country=data.get("declared_origin", ""),
        stage="untraced",
        date=day,
    )


def step_of(graph: Graph, lot: str) -> Step:
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
