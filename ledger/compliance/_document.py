"""A verdict as JSON: what ``bloc check --json`` prints and evidence bundles record."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ledger.compliance._model import Grams, Verdict


def verdict_document(v: Verdict) -> dict[str, Any]:
    """The verdict as JSON (``bloc check --json``, evidence bundles).

    Shares are the floats nearest the exact shares, never 0.0 for a non-zero share nor 1.0
    for one short of the whole (ADR 0023); the same verdict always gives the same bytes,
    because the shares are computed exactly. ``grams`` carry the exact grams beside them, as
    strings ``Fraction`` reads (``"1800000000"``, ``"1800000000/2000000001"``); each offending
    step says why it offends (ADR 0024).
    """
    unknown_grams = dict(v.unknown_reason_grams)
    return {
        "lot": v.lot,
        "material": v.material,
        "policy": v.policy,
        "as_of": v.as_of.isoformat(),
        "verdict": v.verdict.value,
        "shares": {
            "compliant": v.compliant,
            "non_compliant": v.non_compliant,
            "unknown": v.unknown,
        },
        "grams": _grams(v.grams),
        "window": v.window,
        "rule": v.rule,
        "paragraph": v.paragraph,
        "citation": v.citation,
        "reason": v.reason,
        "paths": [
            {
                "share": p.share,
                "grams": _exact(p.grams),
                "steps": [
                    {
                        "log_index": s.log_index,
                        "lot": s.lot,
                        "material": s.material,
                        "facility": s.facility,
                        "country": s.country,
                        "stage": s.stage,
                        "date": s.date,
                        "why": s.why,
                    }
                    for s in p.steps
                ],
            }
            for p in v.paths
        ],
        "unknown_reasons": [
            {"reason": why, "share": f, "grams": _exact(unknown_grams.get(why))}
            for why, f in v.unknown_reasons
        ],
        "parts": [verdict_document(part) for part in v.parts],
        "exceptions": [
            {
                "id": note.id,
                "paragraph": note.paragraph,
                "status": note.status,
                "detail": note.detail,
                "declared_by": (
                    None
                    if note.declared_by is None
                    else {
                        "kind": note.declared_by.kind,
                        "log_index": note.declared_by.log_index,
                        "record_id": note.declared_by.record_id,
                    }
                ),
            }
            for note in v.exceptions
        ],
    }


def _exact(grams: Fraction | None) -> str | None:
    return None if grams is None else str(grams)


def _grams(grams: Grams | None) -> dict[str, str] | None:
    if grams is None:
        return None
    return {
        "judged": str(grams.judged),
        "compliant": str(grams.compliant),
        "non_compliant": str(grams.non_compliant),
        "unknown": str(grams.unknown),
    }
