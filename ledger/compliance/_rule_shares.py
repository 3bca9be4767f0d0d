"""One material rule's shares of every lot, in one topological pass over the graph.

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
- a facility is judged by its registration in force on the stage's date (location, operator
  and the stages it may perform); a restricted stage dated before the facility's first
  registration happened somewhere the ledger does not know: unknown (ADR 0016);
- a transformation's outputs take the mass-weighted mix of its inputs; shipments change
  nothing.

Lots are visited in log order, which is topological because records arrive in causal
order: one pass computes every lot (``check --all`` is linear) and one lot costs only its
upstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from ledger.compliance._model import FacilityFacts, Step
from ledger.compliance._shares import (
    EPSILON,
    Shares,
    make_unknown,
    mix,
    origin,
    taint,
)
from ledger.compliance.policy import MaterialRule, Policy
from ledger.core.vocabulary import vocabulary
from ledger.provenance.graph import Graph, NodeData


@dataclass(frozen=True, slots=True, kw_only=True)
class _Made:
    """The event that made the lot being computed: its node, its facility's registration
    in force on its day (``None`` before the first), the stages its material implies, and
    its day."""

    data: NodeData
    facts: FacilityFacts | None
    implied: frozenset[str]
    day: date

    @property
    def registered_stages(self) -> frozenset[str]:
        """The stages the facility was registered for on the day (none if unregistered)."""
        return frozenset() if self.facts is None else self.facts.stages


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
        return forbidden(self.policy, self.facilities[facility], day, self.as_of)

    def _lot(self, lot: str) -> Shares:
        data = self.graph.nodes[lot]
        index = data["log_index"]
        day = date.fromisoformat(data["date"])
        made = _Made(
            data=data,
            facts=self.facilities[data["facility"]].on(day),
            implied=vocabulary().materials[data["material"]].implies,
            day=day,
        )
        if data["source"]:  # an extraction: the material enters the ledger here
            shares, performed = self._extraction(made)
        else:
            shares = self._transformation(lot, made)
            performed = frozenset({data["stage"]})
        restricted = performed & self.rule.restricted_stages
        if restricted and self.forbidden(data["facility"], made.day):
            taint(shares, index)
        elif restricted and made.facts is None:
            make_unknown(shares, 1.0, _unregistered(data, index))
        unknown = self.unknown_grams.get(lot, 0)
        if unknown and data["mass_g"]:
            make_unknown(shares, min(1.0, unknown / data["mass_g"]), f"integrity finding on {lot}")
        return shares

    def _extraction(self, made: _Made) -> tuple[Shares, frozenset[str]]:
        """The shares of a lot the ledger first sees at its extraction, and the stages done."""
        data = made.data
        # A mine performs mining, and the other "mined" stages the material implies
        # (beneficiation) when its facility is registered for them. Scrap arrives with
        # no history at all: the stages its material implies were not recorded.
        done: frozenset[str] = frozenset()
        if data["source"] == "mined":
            done = frozenset({"mining"}) | {
                s
                for s in made.implied
                if vocabulary().stages[s].verb == "mined" and s in made.registered_stages
            }
        gap = self._restricted_gap(made.implied - done)
        shares = origin(
            self._asked(data["material"]),
            recycled=data["source"] == "recycled",
            unknown=bool(gap),
            why=f"{', '.join(gap)} not recorded for log index {data['log_index']}",
        )
        return shares, done

    def _transformation(self, lot: str, made: _Made) -> Shares:
        """The mix of a transformation's inputs, each as it enters it."""
        forbidden_here = self.forbidden(made.data["facility"], made.day)
        index = made.data["log_index"]
        inputs: list[tuple[float, Shares]] = []
        for source, _, edge in self.graph.in_edges(lot, data=True):
            node = self.graph.nodes[source]
            start = self._start(source, node, index)
            weight = float(edge.get("consumed", edge["grams"]))
            inputs.append((weight, self._input(start, node["material"], made, forbidden_here)))
        shares = mix(inputs)
        if (
            not inputs
            or shares.compliant + shares.non_compliant + shares.unknown + shares.other <= 0
        ):
            shares = origin(True, recycled=False, unknown=True, why=f"no inputs at {index}")
        return shares

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

    def _input(self, shares: Shares, material: str, made: _Made, forbidden_here: bool) -> Shares:
        """One input as it enters the transformation that ``made`` a lot.

        Stages the output's material implies but this input's material does not were done
        here, to this input, if the facility is registered for them (and are judged at its
        location); otherwise they are gaps, and the input's compliant mass becomes unknown
        — unless the input is recycled, whose earlier history is not asked. Only inputs of
        the output's own family take its chain: iron melted into an NdFeB alloy was never
        separated, and its own history was judged where it entered the ledger.
        """
        materials = vocabulary().materials
        if materials[material].family != materials[made.data["material"]].family:
            return shares
        needed = made.implied - materials[material].implies - {made.data["stage"]}
        if not needed:
            return shares
        done_here = needed & made.registered_stages
        gap = self._restricted_gap(needed - done_here)
        adjusted = shares.copy()
        index = made.data["log_index"]
        if done_here & self.rule.restricted_stages and forbidden_here:
            taint(adjusted, index)
        elif gap and adjusted.recycled < 1.0 - EPSILON:
            make_unknown(
                adjusted,
                adjusted.compliant,
                f"{', '.join(gap)} not recorded before log index {index}"
                if made.facts is not None
                else _unregistered(made.data, index),
            )
        return adjusted

    # -- paths ---------------------------------------------------------------------------

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
        return tuple(reversed(steps))

    def _heaviest_carrier(self, node: str, source_index: int) -> str | None:
        """The input of ``node`` that carries the most of the taint from ``source_index``."""
        best, weight = None, -1.0
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
