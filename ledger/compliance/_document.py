"""A verdict as JSON: what ``bloc check --json`` prints and evidence bundles record."""

from __future__ import annotations

from typing import Any

from ledger.compliance._model import Verdict


def verdict_document(v: Verdict) -> dict[str, Any]:
    """The verdict as JSON (``bloc check --json``, evidence bundles): floats rounded to six
    places, so the same verdict always gives the same bytes."""
    return {
        "lot": v.lot,
        "material": v.material,
        "policy": v.policy,
        "as_of": v.as_of.isoformat(),
        "verdict": v.verdict.value,
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
