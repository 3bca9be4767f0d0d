"""The clause's exceptions (ADR 0025): declared ones judged, the others named.

:func:`judge` is the checker's verdict (:func:`ledger.compliance._judge.judge`) with the
policy's exceptions applied:

- a lot whose record declares it an end item of a kind a ``declared_exceptions`` entry
  names (``cots``, ``electronic_device``) is ``exempt`` when the exception's limits hold:
  the verdict cites the exception, quotes its text, names the declaring record, and says
  what the verdict would have been without the declaration. A COTS item that is a mill
  product, or whose share by weight of the limited materials is the limit or more, or
  cannot be bounded below it from the traced masses, is not exempt, and the verdict says
  why;
- covered material inside a declared electronic device built into the lot judged is exempt
  part by part (DoD counts a missile's capacitors, 87 FR 52342); the end-item prong is not
  affected;
- every fail or inconclusive verdict names the ``not_judged`` exceptions (waivers,
  nonavailability determinations, use outside the United States, below the simplified
  acquisition threshold) as "may apply; not judged".

Pure: it reads the graph and the declarations it is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from fractions import Fraction

from ledger.compliance._exception_rules import DeclaredException
from ledger.compliance._judge import judge as _verdict
from ledger.compliance._model import Declaration, ExceptionNote, FacilityFacts, Verdict
from ledger.compliance._outcome import EXEMPT, FAIL, INCONCLUSIVE, NOT_APPLICABLE
from ledger.compliance._rule_shares import RuleShares
from ledger.compliance.policy import Policy
from ledger.provenance.graph import Graph

_KIND_WORDS = {"cots": "a COTS item", "electronic_device": "an electronic device"}


def judge(
    lot: str,
    graph: Graph,
    *,
    policy: Policy,
    as_of: date,
    facilities: Mapping[str, FacilityFacts],
    unknown_grams: Mapping[str, int],
    rule_shares: dict[str, RuleShares] | None = None,
    declarations: Mapping[str, Declaration] | None = None,
    explain_upstream: bool = False,
) -> Verdict:
    """The verdict on ``lot`` under ``policy`` as of ``as_of``, exceptions applied.

    ``declarations`` maps lots to the ``end_item`` declarations of the records that made
    them (the caller reads the records); without them no exception is claimed.
    """
    verdict = _verdict(
        lot,
        graph,
        policy=policy,
        as_of=as_of,
        facilities=facilities,
        unknown_grams=unknown_grams,
        rule_shares=rule_shares,
        explain_upstream=explain_upstream,
    )
    return apply(verdict, graph, policy=policy, declarations=declarations or {})


def apply(
    verdict: Verdict, graph: Graph, *, policy: Policy, declarations: Mapping[str, Declaration]
) -> Verdict:
    """``verdict`` with the policy's exceptions applied (see the module)."""
    if verdict.verdict == NOT_APPLICABLE or verdict.window is None:
        return verdict
    notes: list[ExceptionNote] = []
    own = declarations.get(verdict.lot)
    rule = _rule(policy, own)
    if own is not None and rule is not None:
        refusal = _refusal(rule, own, verdict, graph)
        if refusal is None:
            return exempt(verdict, rule, own)
        notes.append(refusal)
    verdict = _embedded(verdict, graph, policy, declarations)
    if verdict.verdict in (FAIL, INCONCLUSIVE):
        notes += [
            ExceptionNote(
                id=u.id,
                paragraph=u.paragraph,
                status="not_judged",
                detail=f"{u.text}: may apply; not judged",
            )
            for u in policy.not_judged
        ]
    if not notes:
        return verdict
    return dataclasses.replace(verdict, exceptions=(*verdict.exceptions, *notes))


def exempt(
    verdict: Verdict, rule: DeclaredException, declared: Declaration, *, inside: str | None = None
) -> Verdict:
    """``verdict`` made ``exempt`` by ``declared``: the exception cited, its text quoted,
    the declaring record named, and the verdict the declaration replaced."""
    what = _KIND_WORDS.get(declared.kind, declared.kind)
    subject = f"{inside} (which contains it)" if inside else "the lot"
    why = (
        f"{subject} is declared {what} by record {declared.record_id} "
        f"(log index {declared.log_index}): {rule.text}"
    )
    if rule.caveat:
        why += f"; {rule.caveat}"
    note = ExceptionNote(
        id=rule.id, paragraph=rule.paragraph, status="applies", detail=why, declared_by=declared
    )
    return dataclasses.replace(
        verdict,
        verdict=EXEMPT,
        paragraph=rule.paragraph,
        citation=rule.citation,
        reason=f"exempt on the submitter's declaration, not on the ledger's evidence: {why} "
        f"(without the declaration: {verdict.verdict})",
        exceptions=(note,),
    )


def _rule(policy: Policy, declared: Declaration | None) -> DeclaredException | None:
    if declared is None:
        return None
    return next((r for r in policy.declared_exceptions if r.declaration == declared.kind), None)


def _refusal(
    rule: DeclaredException, declared: Declaration, verdict: Verdict, graph: Graph
) -> ExceptionNote | None:
    """Why the exception ``declared`` claims does not reach the lot, or None if it does."""

    def no(detail: str) -> ExceptionNote:
        return ExceptionNote(
            id=rule.id,
            paragraph=rule.paragraph,
            status="does_not_apply",
            detail=f"declared {_KIND_WORDS.get(declared.kind, declared.kind)} by record "
            f"{declared.record_id} (log index {declared.log_index}), but {detail}: not exempt",
            declared_by=declared,
        )

    material = graph.nodes[verdict.lot]["material"]
    for mill in (m for m in rule.mill_products if m.window == verdict.window):
        if declared.mill_product:
            return no(f"it is declared a mill product, which {mill.paragraph} leaves out")
        if declared.mill_product is None and material in mill.materials:
            return no(
                f"it is {material} and its declaration does not say it is not a mill "
                f"product, which {mill.paragraph} leaves out"
            )
    for limit in (w for w in rule.weight_limits if w.window == verdict.window):
        known, unknown = weight_share(verdict.lot, graph, limit.materials)
        if known >= limit.share:
            return no(
                f"it is {_percent(known)} {limit.what} by weight, and {limit.paragraph} leaves "
                f"out an item {_percent(limit.share)} or more"
            )
        if known + unknown >= limit.share:
            return no(
                f"its {limit.what} share by weight cannot be computed from the traced masses "
                f"({_percent(known)} known, up to {_percent(unknown)} more in inputs of unknown "
                f"composition), and {limit.paragraph} leaves out an item "
                f"{_percent(limit.share)} or more"
            )
    return None


def weight_share(lot: str, graph: Graph, materials: frozenset[str]) -> tuple[Fraction, Fraction]:
    """The share of ``lot``'s weight that is of ``materials`` (exact, from the traced grams),
    and the share of unknown composition (untraced components) that might be.

    A lot of one of ``materials`` is wholly of them; a transformation's output has the
    mix of its inputs by the grams consumed; an extraction, or an untraced input of another
    material, has none of them; an untraced component may be anything.
    """
    order = sorted(
        _upstream(lot, graph),
        key=lambda n: (graph.nodes[n]["log_index"], graph.nodes[n]["kind"] == "lot", n),
    )
    share: dict[str, tuple[Fraction, Fraction]] = {}
    for node in order:
        data = graph.nodes[node]
        if data["material"] in materials:
            share[node] = (Fraction(1), Fraction(0))
        elif data["kind"] == "untraced":
            share[node] = (Fraction(0), Fraction(1 if data["material"] == "component" else 0))
        elif data.get("source"):
            share[node] = (Fraction(0), Fraction(0))
        else:
            share[node] = _mix(node, graph, share)
    return share[lot]


def _mix(
    node: str, graph: Graph, share: Mapping[str, tuple[Fraction, Fraction]]
) -> tuple[Fraction, Fraction]:
    weights = [
        (edge.get("consumed", edge["grams"]), share[source])
        for source, _, edge in graph.in_edges(node, data=True)
    ]
    total = sum(w for w, _ in weights)
    if total <= 0:
        return Fraction(0), Fraction(1)  # nothing known about what went in
    known = sum((Fraction(w, total) * s[0] for w, s in weights), Fraction(0))
    unknown = sum((Fraction(w, total) * s[1] for w, s in weights), Fraction(0))
    return known, unknown


def _upstream(lot: str, graph: Graph) -> set[str]:
    """``lot`` and every node upstream of it."""
    seen: set[str] = set()
    todo = [lot]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.predecessors(node))
    return seen


def _percent(value: Fraction) -> str:
    text = f"{float(value) * 100:.2f}%"
    if value > 0 and text == "0.00%":
        return "< 0.01%"
    if value < 1 and text == "100.00%":
        return "> 99.99%"  # ADR 0023
    return text


def _embedded(
    verdict: Verdict, graph: Graph, policy: Policy, declarations: Mapping[str, Declaration]
) -> Verdict:
    """Covered parts of a component that sit inside a declared electronic device built into
    it are exempt; the component's verdict is then the worst of the rest."""
    devices: dict[str, tuple[Declaration, DeclaredException]] = {}
    for lot, declared in declarations.items():
        rule = _rule(policy, declared)
        if rule is not None and rule.embedded and lot != verdict.lot and lot in graph:
            devices[lot] = (declared, rule)
    if not devices or not verdict.parts or _end_item_prong(verdict):
        return verdict
    above = _upstream(verdict.lot, graph)
    parts: list[Verdict] = []
    for part in verdict.parts:
        inside = (
            None
            if part.lot == verdict.lot
            else _inside(part.lot, verdict.lot, graph, devices, above)
        )
        if inside is None:
            parts.append(part)
        else:
            declared, rule = devices[inside]
            parts.append(exempt(part, rule, declared, inside=inside))
    if parts == list(verdict.parts):
        return verdict
    worst = max(parts, key=lambda v: v.verdict.severity)
    return dataclasses.replace(
        verdict,
        verdict=worst.verdict,
        compliant=worst.compliant,
        non_compliant=worst.non_compliant,
        unknown=worst.unknown,
        rule=worst.rule,
        paragraph=worst.paragraph,
        citation=worst.citation,
        paths=worst.paths,
        unknown_reasons=worst.unknown_reasons,
        reason=f"{worst.lot} ({worst.material}): {worst.reason}",
        parts=tuple(parts),
        grams=worst.grams,
        unknown_reason_grams=worst.unknown_reason_grams,
    )


def _end_item_prong(verdict: Verdict) -> bool:
    """The component failed the end-item prong (its own assembly is the one step of its
    path): an embedded device does not change that."""
    return verdict.verdict == FAIL and any(
        len(p.steps) == 1 and p.steps[0].lot == verdict.lot for p in verdict.paths
    )


def _inside(
    part: str,
    top: str,
    graph: Graph,
    devices: Mapping[str, object],
    above: set[str],
) -> str | None:
    """The declared device every route from ``part`` to ``top`` passes through (the first
    by name when there are several), or None when some route avoids them all."""
    met: set[str] = set()
    seen: set[str] = set()
    todo = [part]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        if node == top:
            return None
        if node in devices:
            met.add(node)
            continue
        todo.extend(n for n in graph.successors(node) if n in above)
    return min(met) if met else None
