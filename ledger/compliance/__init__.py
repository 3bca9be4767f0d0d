"""The compliance checker: policies as data and the mass-share judgement of a lot.

The public face of the package; the work is done in internal modules:

- ``_outcome``: :class:`Outcome`, the five verdicts, their report order and severity;
- ``_model``: :class:`FacilityFacts` (what the checker reads about facilities) and
  :class:`Verdict` with its :class:`SourcePath` chains of :class:`Step`;
- ``_shares``: :class:`Shares` of a lot's mass and their arithmetic;
- ``_rule_shares``: :class:`RuleShares`, one rule's shares of every lot in one pass;
- ``_judge``: a lot's verdict (components included);
- ``_exceptions``: :func:`judge`, that verdict with the clause's exceptions applied
  (declared ones judged, the others named; ADR 0025);
- ``_document``: :func:`verdict_document`, a verdict as JSON.

``policy`` parses policy documents.
"""

from ledger.compliance._document import verdict_document
from ledger.compliance._exceptions import judge
from ledger.compliance._model import (
    Declaration,
    ExceptionNote,
    FacilityFacts,
    SourcePath,
    Step,
    Verdict,
    worst,
)
from ledger.compliance._outcome import (
    EXEMPT,
    EXIT_CODES,
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
    Outcome,
)
from ledger.compliance._rule_shares import RuleShares
from ledger.compliance._shares import Shares

__all__ = [
    "EXEMPT",
    "EXIT_CODES",
    "FAIL",
    "INCONCLUSIVE",
    "NOT_APPLICABLE",
    "PASS",
    "Declaration",
    "ExceptionNote",
    "FacilityFacts",
    "Outcome",
    "RuleShares",
    "Shares",
    "SourcePath",
    "Step",
    "Verdict",
    "judge",
    "verdict_document",
    "worst",
]
