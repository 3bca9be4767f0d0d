"""The synthetic generator's world and its trade: who is registered where, and the moves
every chain makes (shipments, transformations, trader routes, deliveries to buyers).

Everything random comes from the one seeded :class:`random.Random` of a :class:`_Market`,
drawn in the order the chains are written: the same seed gives the same ledger.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from ledger.demo._builder import (
    _MAGNET_PLANT,
    _MINE,
    _SEPARATOR,
    _TANTALUM_WORKS,
    _TRADING,
    _TUNGSTEN_WORKS,
    _Builder,
    _days,
    _holder,
    _part,
)
from ledger.demo._plan import LAST_DAY

_RE_MINES = {"remine-au": "AU", "remine-us": "US", "remine-cn": "CN"}
_SEPARATORS = {"sep-my": "MY", "sep-ee": "EE", "sep-us": "US", "sep-cn": "CN"}
_MAKERS = {"mag-jp": "JP", "mag-de": "DE", "mag-us": "US", "mag-kr": "KR", "mag-cn": "CN"}
_W_MINES = {"wmine-rw": "RW", "wmine-pt": "PT", "wmine-cn": "CN"}
_W_REFINERS = {"wref-vn": "VN", "wref-kr": "KR", "wref-cn": "CN"}
_TA_MINES = {"tamine-au": "AU", "tamine-rw": "RW"}
_TA_PROCESSORS = {"taproc-de": "DE", "taproc-cn": "CN"}
_FIXED: Mapping[str, tuple[str, tuple[str, ...], str]] = {
    "iron-us": ("US", ("mining", "refining"), "miner"),  # refined where mined (ADR 0017)
    "boron-us": ("US", ("mining", "refining"), "miner"),
    "nickel-au": ("AU", ("mining", "refining"), "miner"),
    "trader-mx": ("MX", _TRADING, "trader"),
    "broker-mx": ("MX", _TRADING, "trader"),
    "wpow-us": ("US", _TUNGSTEN_WORKS[2:], "manufacturer"),
    "def-us-1": ("US", ("assembly",), "defense_contractor"),
    "def-us-2": ("US", ("assembly",), "defense_contractor"),
    "def-us-3": ("US", ("assembly",), "defense_contractor"),
    "com-us": ("US", ("assembly",), "manufacturer"),
}
_FEEDERS = {
    "sep-my": ("remine-au",),
    "sep-ee": ("remine-us", "remine-au"),
    "sep-us": ("remine-us",),
    "sep-cn": ("remine-cn",),
}
_SOURCES = {
    "mag-jp": ("sep-my", "sep-ee"),
    "mag-de": ("sep-ee", "sep-us"),
    "mag-us": ("sep-us",),
    "mag-kr": ("sep-ee", "sep-my"),
    "mag-cn": ("sep-cn",),
}
_W_FEEDERS = {
    "wref-vn": ("wmine-rw", "wmine-pt"),
    "wref-kr": ("wmine-pt",),
    "wref-cn": ("wmine-cn",),
}
_TA_FEEDERS = {"taproc-de": ("tamine-au", "tamine-rw"), "taproc-cn": ("tamine-rw",)}
_DEFENSE = ("def-us-1", "def-us-2", "def-us-3")

_PHANTOM_RATE = 0.12
"""Share of trader repacks that add mass out of nothing."""
_UNRECEIVED_RATE = 0.01
_TRADER_RATE = 0.10
_BROKER_SHARE = 0.4
"""Share of trader routes through the broker whose key is stolen late in the timeline."""

_SPAN_START = date(2025, 3, 1)
_SPAN_END = date(2026, 8, 31)
_COMPROMISED = date(2026, 5, 1)

_PREFIX = {
    "rare_earth_concentrate": "ORE",
    "mixed_rare_earth_carbonate": "MREC",
    "ndpr_oxide": "NDPR",
    "ndpr_metal": "MET",
    "ndfeb_alloy": "ALY",
    "ndfeb_powder": "PWD",
    "ndfeb_magnet": "MAG",
    "iron": "FE",
    "boron": "B",
    "nickel": "NI",
    "tungsten_concentrate": "WC",
    "apt": "APT",
    "tungsten_oxide": "WO3",
    "tungsten_powder": "WPD",
    "tungsten_heavy_alloy": "WHA",
    "tantalum_concentrate": "TAC",
    "k2taf7": "K2TAF7",
    "tantalum_powder": "TAP",
    "tantalum_metal": "TAM",
}
"""The prefix of the local names of the lots of each material (``MAG-7``)."""


class _Market:
    """The registered sites of a synthetic ledger, the seeded randomness, and the moves
    every chain makes."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.rng = random.Random(seed)  # noqa: S311 - reproducible shapes, not secrets
        self.b = _Builder(f"synthetic:{seed}")
        self.copies = 1 + max(0, int(math.log10(max(size, 1) / 2000)))
        self.instances: dict[str, list[str]] = {}
        self.notes: dict[str, tuple[str, str]] = {}
        """Problem → the first lot that shows it, and a line about it (the highlights)."""
        self._register()

    def _register(self) -> None:
        groups: list[tuple[Mapping[str, str], tuple[str, ...], str]] = [
            (_RE_MINES, _MINE, "miner"),
            (_SEPARATORS, _SEPARATOR, "processor"),
            (_MAKERS, (*_MAGNET_PLANT, "coating"), "manufacturer"),
            (_W_MINES, _MINE, "miner"),
            (_W_REFINERS, _TUNGSTEN_WORKS, "processor"),
            (_TA_MINES, _MINE, "miner"),
            (_TA_PROCESSORS, _TANTALUM_WORKS, "processor"),
        ]
        for kinds, stages, role in groups:
            for kind, country in kinds.items():
                for n in range(1, self.copies + 1):
                    self._site(f"{kind}-{n}", kind, country, stages, role)
        for kind, (country, stages, role) in _FIXED.items():
            self._site(kind, kind, country, stages, role)

    def _site(self, slug: str, kind: str, country: str, stages: Sequence[str], role: str) -> None:
        control = None
        if kind == "mag-kr":  # a bloc-country maker a Chinese state group holds 30% of
            control = [
                _holder("State-owned rare earth group", "CN", 30, government=True),
                _holder("Private shareholders", country, 70),
            ]
        self.b.participant(
            slug, name=f"{slug} ({country})", country=country, roles=(role,), control=control
        )
        self.b.facility(slug, operator=slug, name=f"{slug} site", country=country, stages=stages)
        self.instances.setdefault(kind, []).append(slug)

    def note(self, problem: str, lot: str, text: str) -> None:
        self.notes.setdefault(problem, (lot, text))

    def pick(self, kind: str) -> str:
        return self.rng.choice(self.instances[kind])

    def day(self) -> date:
        """Where the timeline is: proportional to the records written so far."""
        span = (_SPAN_END - _SPAN_START).days
        return _SPAN_START + timedelta(days=span * len(self.b) // max(self.size, 1))

    def ship(
        self,
        lots: Sequence[str],
        to: str,
        day: date,
        *,
        end_use: str | None = None,
        final: bool = False,
    ) -> date:
        """Ship lots and return when they arrive (a final delivery may never arrive)."""
        arrive = _days(day, self.rng.randint(3, 30))
        lost = final and self.rng.random() < _UNRECEIVED_RATE
        self.b.ship(lots, to, day, arrive=None if lost else arrive, end_use=end_use)
        if lost:
            self.note(
                "not-received",
                lots[0],
                f"shipped to fac:{to} on {day} and never "
                "received: not-received finding as of the check date",
            )
        return arrive

    def make(
        self,
        site: str,
        stage: str,
        day: date,
        inputs: Sequence[str],
        material: str,
        percent: float,
        *,
        outputs: int = 1,
        extra: Sequence[str | tuple[str, int]] = (),
        untraced: Sequence[tuple[str, int, str | None]] = (),
    ) -> list[str]:
        """A transformation consuming ``inputs`` whole (plus ``extra``), making ``outputs``
        lots of ``material`` that together weigh ``percent`` of the traced inputs."""
        b = self.b
        total = sum(b.remaining(lot) for lot in inputs)
        made = _part(total, percent)
        shares = [self.rng.randint(2, 5) for _ in range(outputs)]
        grams = [made * s // sum(shares) for s in shares]
        prefix = _PREFIX[material]
        operator = b.sites[site].operator
        return b.make(
            site,
            stage,
            day,
            [*inputs, *extra],
            [(b.name(operator, prefix), material, g) for g in grams if g > 0],
            untraced=untraced,
        )

    def via_trader(
        self, lots: Sequence[str], to: str, day: date, *, end_use: str | None
    ) -> tuple[list[str], date]:
        """Lots through a Mexican trader (blended, repacked or split there) on to ``to``."""
        b, rng = self.b, self.rng
        trader = "broker-mx" if rng.random() < _BROKER_SHARE else "trader-mx"
        arrive = self.ship(lots, trader, day)
        day = _days(arrive, rng.randint(1, 6))
        total = sum(b.remaining(lot) for lot in lots)
        material = b.lots[lots[0]].material
        prefix = _PREFIX[material]
        if len(lots) > 1:
            out = b.make(trader, "blend", day, lots, [(b.name(trader, prefix), material, total)])
        elif rng.random() < _PHANTOM_RATE:
            gain = rng.choice((3, 5, 8, 12))
            out = b.make(
                trader,
                "repack",
                day,
                lots,
                [(b.name(trader, prefix), material, _part(total, 100 + gain))],
                phantom=True,
            )
            self.note(
                "mass-balance",
                out[0],
                f"repacked by org:{trader} into {gain}% more "
                "than it received: mass-balance finding",
            )
        elif rng.random() < 0.5 and total >= 2_000_000:
            half = total * rng.randint(30, 70) // 100
            out = b.make(
                trader,
                "split",
                day,
                lots,
                [
                    (b.name(trader, prefix), material, half),
                    (b.name(trader, prefix), material, total - half),
                ],
            )
        else:
            out = b.make(trader, "repack", day, lots, [(b.name(trader, prefix), material, total)])
        if trader == "broker-mx" and day >= _COMPROMISED:
            self.note(
                "revoked-key",
                out[0],
                f"made by org:{trader} with its key stolen "
                f"(compromised since {_COMPROMISED}, revoked on {LAST_DAY}): revoked-key "
                "finding",
            )
        shipped = _days(day, rng.randint(1, 5))
        arrivals = [
            self.ship([lot], to, shipped, end_use=end_use, final=end_use is not None) for lot in out
        ]
        return out, max(arrivals)

    def deliver(self, lots: Sequence[str], day: date, *, covered_origin: bool) -> None:
        """Finished lots to buyers: defense (sometimes through a trader) or commercial."""
        rng = self.rng
        for lot in lots:
            defense = rng.random() < (0.15 if covered_origin else 0.7)
            when = _days(day, rng.randint(1, 8))
            if defense and (covered_origin or rng.random() < _TRADER_RATE):
                self.via_trader([lot], rng.choice(_DEFENSE), when, end_use="defense")
            elif defense:
                self.ship([lot], rng.choice(_DEFENSE), when, end_use="defense", final=True)
            else:
                self.ship([lot], "com-us", when, end_use="commercial", final=True)
