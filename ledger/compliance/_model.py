"""What the checker reads besides the graph (facts about facilities) and what it returns
(verdicts, with the source paths that carry offending mass)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from ledger.compliance._outcome import Outcome
from ledger.records.model import Control


@dataclass(frozen=True, slots=True, kw_only=True)
class FacilityFacts:
    """One registration of a facility (its latest, as the store gives it), with the
    facility's earlier registrations: a stage is judged by the one in force on its date
    (:meth:`on`, ADR 0016)."""

    id: str
    country: str
    operator: str
    stages: frozenset[str]
    control: tuple[Control, ...]
    """The operator's holders now."""
    history: tuple[tuple[date, tuple[Control, ...]], ...] = ()
    """Every registration's holders, oldest first, with the date it took effect."""
    since: date | None = None
    """The day this registration took effect: its ``issued_at`` day, never before an
    earlier registration's. ``None``: undated, in force on every day."""
    log_index: int | None = None
    """The log index of this registration, when known."""
    earlier: tuple[FacilityFacts, ...] = ()
    """The facility's earlier registrations, oldest first (each with its own operator)."""

    def on(self, day: date) -> FacilityFacts | None:
        """The registration in force on ``day``: the latest one logged that took effect by
        then. ``None`` for a day before the facility's first registration: where it was
        and who ran it then is not on the ledger (unknown, never clean)."""
        if self.since is None:
            return self
        current: FacilityFacts | None = None
        for registration in (*self.earlier, self):
            if registration.since is not None and registration.since <= day:
                current = registration
        return current

    def control_on(self, day: date) -> tuple[Control, ...]:
        """The holders on ``day``: the latest registration in effect by then (the first
        one, for a day before the operator was registered)."""
        if not self.history:
            return self.control
        current = self.history[0][1]
        for since, holders in self.history:
            if since <= day:
                current = holders
        return current


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    log_index: int
    lot: str
    material: str
    facility: str
    country: str
    stage: str
    date: str
    why: str | None = None
    """Why this step offends, in an auditor's words (the country and the country set, or
    the operator's covered-government stake): set on the step where the taint was decided,
    None on the steps that only carry it (ADR 0024)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourcePath:
    """The heaviest chain of lots from a source of offending mass to the lot judged."""

    share: float
    """Fraction of the lot's judged mass this source taints."""
    steps: tuple[Step, ...]
    """From the source event to the lot judged."""
    grams: Fraction | None = None
    """Exact grams of the lot judged this source taints (ADR 0023); None where the failure
    is the lot's own (a component's end-item prong or later phase)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Grams:
    """Exact grams of a judged lot (ADR 0023). Fractions, because a transformation shares
    its inputs' grams among its outputs in proportion: a lot may hold 0.9 g of a source."""

    judged: Fraction
    """The lot's grams of the families the rule asks about."""
    compliant: Fraction
    non_compliant: Fraction
    unknown: Fraction


@dataclass(frozen=True, slots=True, kw_only=True)
class Declaration:
    """An ``end_item`` declaration on the transformation output that made a lot (ADR 0025):
    the submitter's claim, with the record that makes it."""

    kind: str
    """``cots`` or ``electronic_device``."""
    mill_product: bool | None
    log_index: int
    record_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExceptionNote:
    """What a verdict says about one exception of the clause (ADR 0025)."""

    id: str
    paragraph: str
    status: str
    """``applies`` (a declaration that holds), ``does_not_apply`` (a declaration that does
    not) or ``not_judged`` (may apply; the ledger cannot tell)."""
    detail: str
    declared_by: Declaration | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    lot: str
    material: str
    policy: str
    as_of: date
    verdict: Outcome
    compliant: float
    non_compliant: float
    unknown: float
    window: str | None
    rule: str | None
    paragraph: str | None
    citation: str | None
    paths: tuple[SourcePath, ...] = ()
    unknown_reasons: tuple[tuple[str, float], ...] = ()
    reason: str = ""
    parts: tuple[Verdict, ...] = ()
    grams: Grams | None = None
    """The exact grams behind the shares (None when no mass was judged)."""
    unknown_reason_grams: tuple[tuple[str, Fraction], ...] = ()
    """``unknown_reasons`` in exact grams."""
    exceptions: tuple[ExceptionNote, ...] = ()
    """Declared exceptions judged, and those that may apply but are not judged."""
    upstream_offences: tuple[Step, ...] = ()
    """Restricted stages done where the policy forbids them *upstream* of the paths' sources,
    each saying why: their mass was already non-compliant, so the paths start at the later
    stage, but a reader should see them too. Found for a lot judged alone (``bloc check
    LOT``, ``bloc graph``), not under ``--all``; not part of the verdict document."""

    def __post_init__(self) -> None:
        # Fail closed on a misspelt outcome, and hold a member even when given its string.
        object.__setattr__(self, "verdict", Outcome(self.verdict))

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code


def worst(verdicts: Sequence[Verdict]) -> Outcome | None:
    """The most severe verdict of several (for ``check --all``'s exit code)."""
    if not verdicts:
        return None
    return max((v.verdict for v in verdicts), key=lambda v: v.severity)
