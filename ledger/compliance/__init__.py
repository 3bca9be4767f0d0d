"""The compliance checker: policies as data and the mass-share judgement of a lot."""

from ledger.compliance._checker import (
    EXEMPT,
    EXIT_CODES,
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
    FacilityFacts,
    Pass,
    Path,
    Shares,
    Verdict,
    judge,
    verdict_document,
    worst,
)

__all__ = [
    "EXEMPT",
    "EXIT_CODES",
    "FAIL",
    "INCONCLUSIVE",
    "NOT_APPLICABLE",
    "PASS",
    "FacilityFacts",
    "Pass",
    "Path",
    "Shares",
    "Verdict",
    "judge",
    "verdict_document",
    "worst",
]
