"""Shares: the fractions of a lot's mass that are compliant, non-compliant, unknown or not
asked about, and the arithmetic that carries them through the graph.

Shares are exact fractions (:class:`fractions.Fraction`) of integer grams, so "every gram"
and "any gram" tests are exact: one gram in 2,000 t is not rounded away (ADR 0023). Floats
appear only where verdicts are shown, through :func:`as_float`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

from ledger.core.codec import format_kg

EPSILON = 1e-9
"""No longer used by the checker, whose shares are exact (ADR 0023); kept for callers."""

ZERO = Fraction(0)
ONE = Fraction(1)

TOP_SOURCES = 5
"""How many offending (and unknown) sources each lot remembers, heaviest first."""


@dataclass(slots=True)
class Shares:
    """Fractions of a lot's mass; they sum to 1."""

    compliant: Fraction = ZERO
    non_compliant: Fraction = ZERO
    unknown: Fraction = ZERO
    other: Fraction = ZERO
    recycled: Fraction = ZERO
    offending: dict[int, Fraction] = field(default_factory=dict)
    """Log index of a restricted stage at a forbidden facility → fraction it taints."""
    unknown_from: dict[str, Fraction] = field(default_factory=dict)
    """Why mass is unknown (``untraced at 12``, ``finding at 14``, ...) → fraction."""

    @property
    def asked(self) -> Fraction:
        return self.compliant + self.non_compliant + self.unknown

    def copy(self) -> Shares:
        """An independent copy (its own ``offending`` and ``unknown_from``)."""
        return Shares(
            compliant=self.compliant,
            non_compliant=self.non_compliant,
            unknown=self.unknown,
            other=self.other,
            recycled=self.recycled,
            offending=dict(self.offending),
            unknown_from=dict(self.unknown_from),
        )


def mix(items: Iterable[tuple[int, Shares]]) -> Shares:
    """The mass-weighted mix of several inputs' shares (weights, in grams, need not sum to 1)."""
    pairs = [(w, s) for w, s in items if w > 0]
    total = sum(w for w, _ in pairs)
    if total <= 0:
        return Shares()
    first = pairs[0][1]
    if all(s == first for _, s in pairs):
        # The weights sum to 1, so a mix of equal shares is those shares, exactly; most
        # mixes are of inputs alike (all compliant, all of one origin), and Fraction
        # arithmetic is what judging a whole ledger spends its time on.
        return first.copy()
    # Sums of grams × share, divided by the total once; a share that is zero (most are)
    # costs nothing.
    compliant = non_compliant = unknown = other = recycled = ZERO
    offending: dict[int, Fraction] = {}
    unknown_from: dict[str, Fraction] = {}
    for weight, s in pairs:
        if s.compliant:
            compliant += weight * s.compliant
        if s.non_compliant:
            non_compliant += weight * s.non_compliant
        if s.unknown:
            unknown += weight * s.unknown
        if s.other:
            other += weight * s.other
        if s.recycled:
            recycled += weight * s.recycled
        _add_weighted(offending, weight, s.offending)
        _add_weighted(unknown_from, weight, s.unknown_from)
    return Shares(
        compliant=compliant / total,
        non_compliant=non_compliant / total,
        unknown=unknown / total,
        other=other / total,
        recycled=recycled / total,
        offending=_top({index: f / total for index, f in offending.items()}),
        unknown_from=_top({why: f / total for why, f in unknown_from.items()}),
    )


K = TypeVar("K")


def _add_weighted(into: dict[K, Fraction], weight: int, shares: dict[K, Fraction]) -> None:
    for key, f in shares.items():
        into[key] = into.get(key, ZERO) + weight * f


def _top(weights: dict[K, Fraction]) -> dict[K, Fraction]:
    if len(weights) <= TOP_SOURCES:
        return weights
    return dict(sorted(weights.items(), key=lambda kv: -kv[1])[:TOP_SOURCES])


def origin(asked: bool, *, recycled: bool, unknown: bool, why: str) -> Shares:
    """The shares of mass entering the ledger: not asked, unknown (for ``why``) or compliant."""
    share = ONE if recycled else ZERO
    if not asked:
        return Shares(other=ONE, recycled=share)
    if unknown:
        return Shares(unknown=ONE, recycled=share, unknown_from={why: ONE})
    return Shares(compliant=ONE, recycled=share)


def taint(shares: Shares, index: int) -> None:
    """A restricted stage at a forbidden facility: every asked gram becomes non-compliant."""
    asked = shares.asked
    shares.compliant = shares.unknown = ZERO
    shares.non_compliant = asked
    shares.unknown_from = {}
    shares.offending = {index: asked}


def make_unknown(shares: Shares, fraction: Fraction, why: str) -> None:
    """Compliant mass becomes unknown first; non-compliant mass stays what it is."""
    moved = min(shares.compliant, fraction)
    if moved <= 0:
        return
    shares.compliant -= moved
    shares.unknown += moved
    shares.unknown_from[why] = shares.unknown_from.get(why, ZERO) + moved
    shares.unknown_from = _top(shares.unknown_from)


def not_existing(shares: Shares, why: str) -> Shares:
    """An input that did not exist yet on the date it is judged at (ADR 0021): nothing said
    about it can be relied on, so its compliant mass and its mass of families the rule does
    not ask about become unknown; mass already non-compliant stays non-compliant."""
    moved = shares.compliant + shares.other
    adjusted = shares.copy()
    if moved <= 0:
        return adjusted
    adjusted.compliant = adjusted.other = ZERO
    adjusted.unknown += moved
    adjusted.unknown_from[why] = adjusted.unknown_from.get(why, ZERO) + moved
    adjusted.unknown_from = _top(adjusted.unknown_from)
    return adjusted


def as_float(share: Fraction) -> float:
    """The float nearest ``share``, except that a non-zero share is never 0.0 and a share
    short of 1 is never 1.0 (ADR 0023): what a verdict shows must not round a gram away."""
    value = float(share)
    if share > 0 and value == 0.0:
        return math.nextafter(0.0, 1.0)
    if share < 1 and value >= 1.0:
        return math.nextafter(1.0, 0.0)
    return value


def mass_text(grams: Fraction) -> str:
    """Exact grams for people: whole grams as ``1,200.5 kg``; a fraction of a gram rounded
    to the milligram below 1 kg (``≈ 0.9 g``) and to the gram above, never to zero (``<
    0.001 g``) (ADR 0023)."""
    if grams.denominator == 1:
        return format_kg(int(grams))
    if grams >= 1000:
        return f"≈ {format_kg(round(grams))}"
    milligrams = round(grams * 1000)
    if milligrams == 0:
        return "< 0.001 g"
    text = f"{milligrams // 1000}.{milligrams % 1000:03d}".rstrip("0").rstrip(".")
    return f"≈ {text} g"
