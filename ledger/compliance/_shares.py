"""Shares: the fractions of a lot's mass that are compliant, non-compliant, unknown or not
asked about, and the arithmetic that carries them through the graph."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

EPSILON = 1e-9
"""Shares are binary floats: 'all recycled' means within this of 1."""

TOP_SOURCES = 5
"""How many offending (and unknown) sources each lot remembers, heaviest first."""


@dataclass(slots=True)
class Shares:
    """Fractions of a lot's mass; they sum to 1."""

    compliant: float = 0.0
    non_compliant: float = 0.0
    unknown: float = 0.0
    other: float = 0.0
    recycled: float = 0.0
    offending: dict[int, float] = field(default_factory=dict)
    """Log index of a restricted stage at a forbidden facility → fraction it taints."""
    unknown_from: dict[str, float] = field(default_factory=dict)
    """Why mass is unknown (``untraced at 12``, ``finding at 14``, ...) → fraction."""

    @property
    def asked(self) -> float:
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


def mix(items: Iterable[tuple[float, Shares]]) -> Shares:
    """The mass-weighted mix of several inputs' shares (weights need not sum to 1)."""
    pairs = [(w, s) for w, s in items if w > 0]
    total = sum(w for w, _ in pairs)
    mixed = Shares()
    if total <= 0:
        return mixed
    for weight, s in pairs:
        k = weight / total
        mixed.compliant += k * s.compliant
        mixed.non_compliant += k * s.non_compliant
        mixed.unknown += k * s.unknown
        mixed.other += k * s.other
        mixed.recycled += k * s.recycled
        for index, f in s.offending.items():
            mixed.offending[index] = mixed.offending.get(index, 0.0) + k * f
        for why, f in s.unknown_from.items():
            mixed.unknown_from[why] = mixed.unknown_from.get(why, 0.0) + k * f
    mixed.offending = _top(mixed.offending)
    mixed.unknown_from = _top(mixed.unknown_from)
    return mixed


K = TypeVar("K")


def _top(weights: dict[K, float]) -> dict[K, float]:
    if len(weights) <= TOP_SOURCES:
        return weights
    return dict(sorted(weights.items(), key=lambda kv: -kv[1])[:TOP_SOURCES])


def origin(asked: bool, *, recycled: bool, unknown: bool, why: str) -> Shares:
    """The shares of mass entering the ledger: not asked, unknown (for ``why``) or compliant."""
    if not asked:
        return Shares(other=1.0, recycled=1.0 if recycled else 0.0)
    if unknown:
        return Shares(unknown=1.0, recycled=1.0 if recycled else 0.0, unknown_from={why: 1.0})
    return Shares(compliant=1.0, recycled=1.0 if recycled else 0.0)


def taint(shares: Shares, index: int) -> None:
    """A restricted stage at a forbidden facility: every asked gram becomes non-compliant."""
    asked = shares.asked
    shares.compliant = shares.unknown = 0.0
    shares.non_compliant = asked
    shares.unknown_from = {}
    shares.offending = {index: asked}


def make_unknown(shares: Shares, fraction: float, why: str) -> None:
    """Compliant mass becomes unknown first; non-compliant mass stays what it is."""
    moved = min(shares.compliant, fraction)
    if moved <= 0:
        return
    shares.compliant -= moved
    shares.unknown += moved
    shares.unknown_from[why] = shares.unknown_from.get(why, 0.0) + moved
    shares.unknown_from = _top(shares.unknown_from)
