"""Verdicts: a lot judged under a policy as of a date, from its rule's shares.

Verdicts follow the policy's combination (taint or threshold); non-compliant beats unknown.
Each verdict names the rule and paragraph, and the heaviest upstream paths that carry the
offending (or unknown) mass, as chains of log indexes. A component is judged by the covered
material in its upstream, each part by its own rule; an untraced component counts as a part
whose covered material is unknown (ADR 0019).

The module is pure: it reads a provenance graph (``ledger.provenance.graph``) and facts about
facilities, and returns values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import Any

from ledger.compliance._model import FacilityFacts, Grams, SourcePath, Step, Verdict
from ledger.compliance._outcome import (
    EXEMPT,
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
    Outcome,
)
from ledger.compliance._rule_shares import RuleShares, declared_step, forbidden, step_of
from ledger.compliance._shares import Shares, as_float, mass_text
from ledger.compliance._why import declared_origin, offence, percent_text, place_offence
from ledger.compliance.policy import MaterialRule, Policy, Window
from ledger.core.vocabulary import vocabulary
from ledger.provenance.graph import Graph, NodeData


def judge(
    lot: str,
    graph: Graph,
    *,
    policy: Policy,
    as_of: date,
    facilities: Mapping[str, FacilityFacts],
    unknown_grams: Mapping[str, int],
    rule_shares: dict[str, RuleShares] | None = None,
    explain_upstream: bool = False,
) -> Verdict:
    """The verdict on ``lot`` under ``policy`` as of ``as_of``.

    ``rule_shares`` caches one :class:`RuleShares` per material rule, so that judging every
    lot of a ledger computes each rule's shares once. With ``explain_upstream`` the verdict
    also names the restricted stages upstream of its paths' sources
    (:attr:`Verdict.upstream_offences`).
    """
    cache: dict[str, RuleShares] = {} if rule_shares is None else rule_shares
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
        cache[key] = RuleShares(
            graph,
            policy=policy,
            rule=rule,
            as_of=as_of,
            facilities=facilities,
            unknown_grams=unknown_grams,
            context=next(
                (
                    run.context
                    for run in cache.values()
                    if run.context.fits(graph, policy, facilities, as_of)
                ),
                None,
            ),
        )
    return _covered(lot, cache[key], policy, window, rule, as_of, explain=explain_upstream)


def _plain(
    lot: str,
    material: str,
    policy: Policy,
    as_of: date,
    verdict: Outcome,
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
    lot: str,
    run: RuleShares,
    policy: Policy,
    window: Window,
    rule: MaterialRule,
    as_of: date,
    *,
    explain: bool = False,
) -> Verdict:
    shares = run.of(lot)
    asked = shares.asked
    material = run.graph.nodes[lot]["material"]
    base: dict[str, Any] = {
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
    mass = Fraction(run.graph.nodes[lot]["mass_g"])
    paths = tuple(
        SourcePath(
            share=as_float(weight / asked),
            steps=run.explained_path(lot, index),
            grams=weight * mass,
        )
        for index, weight in sorted(shares.offending.items(), key=lambda kv: -kv[1])
    )
    ordered = sorted(shares.unknown_from.items(), key=lambda kv: -kv[1])
    reasons = tuple((why, as_float(weight / asked)) for why, weight in ordered)
    exact: dict[str, Any] = {
        "compliant": as_float(c),
        "non_compliant": as_float(n),
        "unknown": as_float(u),
        "unknown_reasons": reasons,
        "grams": _grams(shares, mass),
        "unknown_reason_grams": tuple((why, weight * mass) for why, weight in ordered),
        "upstream_offences": _upstream_offences(run, paths) if explain else (),
    }
    for exemption in policy.exemptions:
        if material not in exemption.materials:
            continue
        # Judged as if the rule did not restrict what the exemption does not ask about
        # (where recycled NdFeB scrap came from: ADR 0018); every gram must be recycled,
        # exactly (ADR 0023).
        if exemption.all_recycled and shares.recycled != 1:
            # Which stages a rule restricts never changes what share is recycled, so the
            # variant below (a second pass over the upstream) would not be all recycled.
            continue
        judged = run.ignoring(exemption.ignores_stages).of(lot)
        if exemption.all_recycled and (judged.recycled != 1 or judged.unknown != 0):
            continue  # mass of unknown origin is not shown to be recycled
        where = run.stages_upstream(lot, exemption.stages_in)
        if all(
            where.get(stage) and where[stage] <= countries
            for stage, countries in exemption.stages_in.items()
        ):
            return Verdict(
                **{**base, "paragraph": exemption.paragraph, "citation": exemption.citation},
                **exact,
                verdict=EXEMPT,
                paths=paths,
                reason=_exempt_reason(exemption.id, exemption.all_recycled, exemption.stages_in),
            )
    failing = n > 0 if policy.threshold is None else n > Fraction(policy.threshold)
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
        reason += _declared_note(paths)
    elif u > 0:
        verdict = INCONCLUSIVE if policy.unknown_verdict == "inconclusive" else FAIL
        reason = "unknown mass: " + "; ".join(why for why, _ in reasons[:3])
    else:
        verdict, reason = PASS, _pass_reason(policy, rule, shares.asked * mass)
    return Verdict(
        **base,
        **exact,
        verdict=verdict,
        paths=paths if verdict == FAIL or n > 0 else (),
        reason=reason,
    )


def _upstream_offences(run: RuleShares, paths: tuple[SourcePath, ...]) -> tuple[Step, ...]:
    """The restricted stages done at forbidden places upstream of the lots where the paths
    start, each with why it offends (the shares recorded it when they tainted that lot)."""
    on_paths = {step.lot for path in paths for step in path.steps}
    todo = [step.lot for path in paths for step in path.steps if step.why]
    seen = set(todo)
    found: list[Step] = []
    while todo:
        for lot in run.graph.predecessors(todo.pop()):
            if lot in seen:
                continue
            seen.add(lot)
            todo.append(lot)
            data = run.graph.nodes[lot]
            why = run.causes.get((data["log_index"], lot))
            if why is not None and lot not in on_paths:
                found.append(replace(step_of(run.graph, lot), why=why))
    return tuple(sorted(found, key=lambda s: (s.log_index, s.lot)))


def _grams(shares: Shares, mass: Fraction) -> Grams:
    """The exact grams behind a lot's shares (ADR 0023)."""
    return Grams(
        judged=shares.asked * mass,
        compliant=shares.compliant * mass,
        non_compliant=shares.non_compliant * mass,
        unknown=shares.unknown * mass,
    )


def _pass_reason(policy: Policy, rule: MaterialRule, judged: Fraction) -> str:
    """What a PASS established, in plain words (ADR 0024)."""
    names = sorted(rule.constituents)
    families = " and ".join(x for x in (", ".join(names[:-1]), names[-1]) if x)
    content = (
        "it" if rule.constituents >= frozenset(vocabulary().families) else f"its {families} content"
    )
    where = (
        f"in a country of the '{policy.location_set}' set"
        if policy.forbidden_inside
        else f"outside the '{policy.location_set}' set"
    )
    control = policy.entity_control
    if control is not None:
        where += (
            f" or at a facility whose operator was held "
            f"{percent_text(control.min_percent)}% or more by {control.government_of} governments"
        )
    return (
        f"all {mass_text(judged)} of {content} is compliant: every restricted stage it went "
        f"through is recorded, and none was done {where}"
    )


def _exempt_reason(name: str, all_recycled: bool, stages_in: Mapping[str, frozenset[str]]) -> str:
    """What an exemption's conditions established, in plain words (ADR 0024)."""
    done = "; ".join(
        f"{stage} only in {', '.join(sorted(countries))}"
        for stage, countries in sorted(stages_in.items())
    )
    recycled = "every judged gram is recycled" if all_recycled else ""
    return f"exemption {name}: " + ", and ".join(x for x in (recycled, done) if x)


def _component(
    lot: str,
    graph: Graph,
    policy: Policy,
    window: Window,
    as_of: date,
    facilities: Mapping[str, FacilityFacts],
    unknown_grams: Mapping[str, int],
    cache: dict[str, RuleShares],
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
            elif _is_component(data["material"]):
                untraced.append(node)  # contains covered material, by definition
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
            rule_shares=cache,
        )
        for p in sorted(covered)
    )
    parts += tuple(_untraced_part(node, graph, policy, window, as_of) for node in sorted(untraced))
    parts += _not_yet(graph, policy, window, as_of, between)
    between = {n for n in between if date.fromisoformat(graph.nodes[n]["date"]) <= as_of}
    parts += tuple(_later_phases(lot, graph, policy, window, as_of, facilities, covered, between))
    parts += tuple(
        _component_phases(lot, graph, policy, window, as_of, facilities, covered, untraced, between)
    )
    components = policy.components
    data = graph.nodes[lot]
    if (
        components is not None
        and lot in between
        and components.end_item_prong
        and data["stage"] in components.assembly_stages
        and facilities[data["facility"]].on(date.fromisoformat(data["date"])) is None
    ):
        parts += (_unregistered_part(lot, graph, policy, window, as_of),)
    worst = max(parts, key=lambda v: v.verdict.severity)
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
            steps=(replace(step_of(graph, lot), why=_end_item_why(policy, data, as_of)),),
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
        grams=worst.grams,
        unknown_reason_grams=worst.unknown_reason_grams,
    )


def _end_item_why(policy: Policy, data: NodeData, as_of: date) -> str:
    """Why an end item assembled in a forbidden country fails the end-item prong."""
    why = place_offence(policy, data["country"], date.fromisoformat(data["date"]), as_of)
    components = policy.components
    paragraph = components.paragraph if components else ""
    return f"{why}: {paragraph} restricts an end item made there that contains covered material"


def _not_yet(
    graph: Graph, policy: Policy, window: Window, as_of: date, between: set[str]
) -> tuple[Verdict, ...]:
    """Assemblies (and other stages between a component and its covered parts) dated after
    the as-of date had not happened yet: the component cannot pass on them (ADR 0021)."""
    return tuple(
        _plain(
            node,
            graph.nodes[node]["material"],
            policy,
            as_of,
            INCONCLUSIVE,
            f"{graph.nodes[node]['stage']} at log index {graph.nodes[node]['log_index']} is "
            f"dated {graph.nodes[node]['date']}, after the as-of date {as_of.isoformat()}: "
            "it had not happened yet",
            window=window,
        )
        for node in sorted(between, key=lambda n: graph.nodes[n]["log_index"])
        if date.fromisoformat(graph.nodes[node]["date"]) > as_of
    )


def _phase_fail(
    lot: str,
    graph: Graph,
    policy: Policy,
    as_of: date,
    window: Window,
    facilities: Mapping[str, FacilityFacts],
    *,
    rule: MaterialRule,
    source: Step,
    node: str,
    reason: str,
) -> Verdict:
    """A component fails because ``node``, a restricted phase of producing the material of
    ``source``, was done at a forbidden place: the path runs from ``source`` to ``node``,
    which says why it offends (ADR 0024)."""
    data = graph.nodes[node]
    day = date.fromisoformat(data["date"])
    return _component_fail(
        lot,
        policy,
        as_of,
        window,
        rule=rule.label,
        paragraph=rule.paragraph,
        citation=rule.citation,
        steps=(
            source,
            replace(
                step_of(graph, node), why=offence(policy, facilities[data["facility"]], day, as_of)
            ),
        ),
        reason=reason,
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
        paths=(SourcePath(share=1.0, steps=steps),),
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
            if facilities[data["facility"]].on(day) is None:
                found.append(_unregistered_part(node, graph, policy, window, as_of))
                continue
            if not forbidden(policy, facilities[data["facility"]], day, as_of):
                continue
            found.append(
                _phase_fail(
                    lot,
                    graph,
                    policy,
                    as_of,
                    window,
                    facilities,
                    rule=rule,
                    source=step_of(graph, part),
                    node=node,
                    reason=f"{data['stage']} of {part} at {data['facility']} "
                    f"({data['country']}) is a restricted phase of its production",
                )
            )
    return found


def _unregistered_part(
    lot: str, graph: Graph, policy: Policy, window: Window, as_of: date
) -> Verdict:
    """A stage the component rule looks at, dated before its facility's first registration:
    where it was done is unknown (ADR 0016)."""
    data = graph.nodes[lot]
    return _plain(
        lot,
        data["material"],
        policy,
        as_of,
        INCONCLUSIVE,
        f"{data['stage']} at log index {data['log_index']} is dated {data['date']}, before "
        f"{data['facility']} was registered: where it was done is unknown",
        window=window,
    )


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


def _is_component(material: str) -> bool:
    """A part or end item: it contains covered material by definition (the vocabulary)."""
    return vocabulary().materials[material].family == "component"


def _day_used(graph: Graph, node: str) -> date | None:
    """The day of the transformation an untraced input went into."""
    for lot in graph.successors(node):
        return date.fromisoformat(graph.nodes[lot]["date"])
    return None


def _untraced_part(node: str, graph: Graph, policy: Policy, window: Window, as_of: date) -> Verdict:
    """An untraced part of a component: unknown, or non-compliant by its declared origin.

    An untraced component contains covered material by definition, and what it contains and
    where that was made are unknown: its content is unknown, not absent (ADR 0019). Untraced
    covered material declared to come from a forbidden country fails where the rule looks at
    its origin (the rule restricts a stage its material implies): the submitter's declaration
    is evidence against them (ADR 0020).
    """
    data = graph.nodes[node]
    material = data["material"]
    declared = data.get("declared_origin", "")
    where = f"untraced {material} at log index {data['log_index']}"
    said = f" (declared {declared}, unverified)" if declared else ""
    rule = window.rule_for(material)
    if rule is None:
        return _plain(
            node,
            material,
            policy,
            as_of,
            INCONCLUSIVE,
            f"{where}{said}: a component contains covered material; what it contains and "
            "where that was made are unknown",
            window=window,
        )
    day = _day_used(graph, node)
    if (
        declared
        and day is not None
        and rule.restricted_stages & vocabulary().materials[material].implies
        and policy.location_forbidden(declared, event_day=day, as_of=as_of)
    ):
        return Verdict(
            lot=node,
            material=material,
            policy=policy.name,
            as_of=as_of,
            verdict=FAIL,
            compliant=0.0,
            non_compliant=1.0,
            unknown=0.0,
            window=window.id,
            rule=rule.label,
            paragraph=rule.paragraph,
            citation=rule.citation,
            paths=(
                SourcePath(
                    share=1.0,
                    steps=(
                        replace(
                            declared_step(graph, node),
                            why=declared_origin(policy, declared, day, as_of),
                        ),
                    ),
                ),
            ),
            reason=f"{where} is declared to come from {declared}, where the rule forbids "
            "the stages that made it",
        )
    return _plain(
        node,
        material,
        policy,
        as_of,
        INCONCLUSIVE,
        f"{where}{said}: its origin is unknown",
        window=window,
    )


def _component_phases(
    lot: str,
    graph: Graph,
    policy: Policy,
    window: Window,
    as_of: date,
    facilities: Mapping[str, FacilityFacts],
    covered: Sequence[str],
    untraced: Sequence[str],
    between: set[str],
) -> list[Verdict]:
    """Components made at forbidden places around a material whose rule covers components.

    A finished or semi-finished component containing tungsten heavy alloy is covered
    material itself, so every stage that makes one (assembly included) is a phase of its
    production, whether the component is the end item or nested in another (ADR 0019).
    Restricted stages the rule names are reported by :func:`_later_phases` for traced parts.
    """
    found: list[Verdict] = []
    parts = [*covered, *untraced]
    for node in sorted(between, key=lambda n: graph.nodes[n]["log_index"]):
        data = graph.nodes[node]
        if not _is_component(data["material"]) or vocabulary().stages[data["stage"]].verb is None:
            continue
        day = date.fromisoformat(data["date"])
        unregistered = facilities[data["facility"]].on(day) is None
        if not unregistered and not forbidden(policy, facilities[data["facility"]], day, as_of):
            continue
        for part in _parts_upstream(node, graph, parts, between):
            rule = window.rule_for(graph.nodes[part]["material"])
            if rule is None or not rule.covers_components:
                continue
            traced = graph.nodes[part]["kind"] == "lot"
            if traced and data["stage"] in rule.restricted_stages:
                continue
            if unregistered:  # made before its facility was registered: unknown (ADR 0016)
                found.append(_unregistered_part(node, graph, policy, window, as_of))
                continue
            found.append(
                _phase_fail(
                    lot,
                    graph,
                    policy,
                    as_of,
                    window,
                    facilities,
                    rule=rule,
                    source=step_of(graph, part) if traced else declared_step(graph, part),
                    node=node,
                    reason=f"{data['stage']} of {node} at {data['facility']} "
                    f"({data['country']}) makes a component containing {rule.label}, "
                    "itself covered material: a restricted phase of its production",
                )
            )
    return found


def _declared_note(paths: Sequence[SourcePath]) -> str:
    """The untraced inputs whose declared origin is the source of offending mass (ADR 0020)."""
    said = [
        f"untraced {step.material} at log index {step.log_index} declared {step.country}"
        for path in paths
        for step in path.steps
        if step.stage == "untraced"
    ]
    return f"; declared by the submitter: {', '.join(dict.fromkeys(said))}" if said else ""
