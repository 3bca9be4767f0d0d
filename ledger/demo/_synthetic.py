"""Synthetic ledgers of any size: rare-earth, tungsten and tantalum chains, seeded."""

from __future__ import annotations

from datetime import date, timedelta

from ledger.demo._builder import _days, _part
from ledger.demo._plan import FIRST_EVENT_DAY, LAST_DAY, Plan
from ledger.demo._synthetic_market import (
    _COMPROMISED,
    _DEFENSE,
    _FEEDERS,
    _MAKERS,
    _PREFIX,
    _SOURCES,
    _SPAN_END,
    _SPAN_START,
    _TA_FEEDERS,
    _TRADER_RATE,
    _W_FEEDERS,
    _W_REFINERS,
    _Market,
)

_LEAK_RATE = 0.04
"""Share of bloc-country heats that take Chinese oxide relabelled by a trader."""

_DEEP_FROM = 20_000
"""Ledgers at least this large hold one deep heat (the evidence benchmark's lot)."""
_DEEP_FAN_IN = 100
"""Oxide lots melted into the deep heat: with their separations, about 500 upstream records."""

_RESERVE_BIG = 120
"""More records than any magnet heat writes (with the separations it triggers)."""
_RESERVE_SMALL = 30
"""More records than any tungsten or tantalum chain writes."""


class _Synthetic(_Market):
    """The chains of a synthetic ledger, and :meth:`build`, which writes them up to its size."""

    def __init__(self, size: int, seed: int) -> None:
        super().__init__(size, seed)
        self.pools: dict[str, list[str]] = {}
        """Separator → the oxide lots it holds, not yet sent to a magnet maker."""

    def separation(self, separator: str, start: date) -> None:
        """Ore parcels from several mines cracked and separated into NdPr oxide lots."""
        b, rng = self.b, self.rng
        kind = separator.rsplit("-", 1)[0]
        parcels: dict[str, list[str]] = {}
        for i in range(rng.randint(2, 4)):
            mine = self.pick(rng.choice(_FEEDERS[kind]))
            mined = _days(start, 3 * i)
            grams = rng.randint(8_000, 25_000) * 1000
            (ore,) = b.extract(
                mine, mined, [(b.name(mine, "ORE"), "rare_earth_concentrate", grams)]
            )
            parcels.setdefault(mine, []).append(ore)
        arrivals = [
            self.ship(ores, separator, _days(b.ready(ores), 1)) for ores in parcels.values()
        ]
        ores = [ore for group in parcels.values() for ore in group]
        day = _days(max(arrivals), rng.randint(1, 4))
        (mrec,) = self.make(
            separator, "cracking_leaching", day, ores, "mixed_rare_earth_carbonate", 41
        )
        oxides = self.make(
            separator,
            "separation",
            _days(day, rng.randint(3, 9)),
            [mrec],
            "ndpr_oxide",
            9,
            outputs=rng.randint(1, 3),
        )
        self.pools.setdefault(separator, []).extend(oxides)

    def oxide(self, separator_kind: str, day: date) -> str:
        separator = self.pick(separator_kind)
        pool = self.pools.setdefault(separator, [])
        if not pool:
            self.separation(separator, max(_SPAN_START, day - timedelta(days=60)))
        return pool.pop(0)

    def magnet_heat(self, *, deep: bool = False) -> None:
        """Oxide lots from several separators (fan-in), reduced, melted with iron and boron,
        milled and sintered into magnets, shipped to buyers.

        A ``deep`` heat is a bloc maker's large heat of :data:`_DEEP_FAN_IN` oxide lots, all
        of its magnets delivered for defense use.
        """
        b, rng = self.b, self.rng
        kind = rng.choice([k for k in _MAKERS if k != "mag-cn"] if deep else list(_MAKERS))
        maker = self.pick(kind)
        covered = kind == "mag-cn"
        inputs, day, leak = self._oxide_to(maker, kind, deep=deep, covered=covered)
        (metal,) = self.make(maker, "metal_reduction", day, inputs, "ndpr_metal", 84)
        magnets = self._magnets(maker, metal, day, covered=covered)
        if leak:
            self.note(
                "leak",
                magnets[0],
                f"made in {b.sites[maker].country} from oxide that "
                "includes Chinese-separated oxide relabelled by a Mexican trader: fails "
                "DFARS window B",
            )
        if deep:
            for lot in magnets:
                self.ship(
                    [lot], rng.choice(_DEFENSE), _days(b.ready(magnets), 2), end_use="defense"
                )
            return
        self.deliver(magnets, b.ready(magnets), covered_origin=covered or leak)

    def _oxide_to(
        self, maker: str, kind: str, *, deep: bool, covered: bool
    ) -> tuple[list[str], date, bool]:
        """Oxide lots for a heat at ``maker`` gathered from its sources (a bloc maker's
        sometimes with Chinese oxide leaked in through a trader) and shipped there.

        Returns the lots the maker received, the day the heat may start, and whether
        Chinese oxide leaked in.
        """
        b, rng = self.b, self.rng
        day = self.day()
        by_source: dict[str, list[str]] = {}
        for _ in range(_DEEP_FAN_IN if deep else rng.randint(2, 3)):
            lot = self.oxide(rng.choice(_SOURCES[kind]), day)
            by_source.setdefault(b.holder(lot), []).append(lot)
        leak = not covered and rng.random() < _LEAK_RATE
        if leak:
            lot = self.oxide("sep-cn", day)
            by_source.setdefault(f"leak:{lot}", []).append(lot)
        arrivals = []
        inputs: list[str] = []
        for source, lots in by_source.items():
            shipped = _days(b.ready(lots), rng.randint(1, 5))
            if source.startswith("leak:") or rng.random() < _TRADER_RATE / 2:
                out, arrive = self.via_trader(lots, maker, shipped, end_use=None)
                inputs += out
            else:
                arrive = self.ship(lots, maker, shipped)
                inputs += lots
            arrivals.append(arrive)
        return inputs, _days(max(arrivals), rng.randint(1, 4)), leak

    def _magnets(self, maker: str, metal: str, day: date, *, covered: bool) -> list[str]:
        """NdPr ``metal`` reduced on ``day`` melted with iron and boron (untraced Chinese at
        a Chinese maker, else traced from US mines), milled, sintered and sometimes coated."""
        b, rng = self.b, self.rng
        metal_g = b.remaining(metal)
        melt = _days(day, rng.randint(2, 5))
        extra: list[str | tuple[str, int]] = []
        untraced: list[tuple[str, int, str | None]] = []
        if covered:
            untraced = [("iron", metal_g * 219 // 100, "CN"), ("boron", metal_g * 33 // 1000, "CN")]
        else:
            extra, melt = self._iron_and_boron(maker, metal_g, melt)
        fed = metal_g + sum(b.remaining(lot) for lot in extra if isinstance(lot, str))
        fed += sum(g for _, g, _ in untraced)
        (alloy,) = b.make(
            maker,
            "alloy_melting",
            melt,
            [metal, *extra],
            [(b.name(maker, "ALY"), "ndfeb_alloy", _part(fed, 99.4))],
            untraced=untraced,
        )
        day = _days(melt, rng.randint(1, 4))
        (powder,) = self.make(maker, "powder_formation", day, [alloy], "ndfeb_powder", 98.6)
        day = _days(day, rng.randint(2, 6))
        magnets = self.make(
            maker, "sintering", day, [powder], "ndfeb_magnet", 97.2, outputs=rng.randint(1, 3)
        )
        if rng.random() < 0.3:
            day = _days(day, rng.randint(1, 3))
            (coated,) = self.make(maker, "coating", day, [magnets[0]], "ndfeb_magnet", 99.5)
            magnets[0] = coated
        return magnets

    def _iron_and_boron(
        self, maker: str, metal_g: int, melt: date
    ) -> tuple[list[str | tuple[str, int]], date]:
        """Traced US iron and boron for ``metal_g`` grams of NdPr metal, mined and shipped
        to ``maker``; returns the lots and the melt day (no earlier than ``melt``, when
        both have arrived)."""
        b, rng = self.b, self.rng
        mined = max(FIRST_EVENT_DAY, melt - timedelta(days=40))
        lots: list[str | tuple[str, int]] = []
        for site, material, grams in (
            ("iron-us", "iron", metal_g * 219 // 100),
            ("boron-us", "boron", metal_g * 33 // 1000),
        ):
            (lot,) = b.extract(site, mined, [(b.name(site, _PREFIX[material]), material, grams)])
            b.ship([lot], maker, _days(mined, 1), arrive=_days(mined, 1 + rng.randint(5, 30)))
            melt = max(melt, b.ready([lot]))
            lots.append(lot)
        return lots, melt

    def tungsten_chain(self) -> None:
        """Concentrate from several mines refined to APT and oxide, reduced to powder, and
        sometimes sintered into heavy alloy with traced nickel."""
        b, rng = self.b, self.rng
        refiner_kind = rng.choice(list(_W_REFINERS))
        refiner = self.pick(refiner_kind)
        start = max(_SPAN_START, self.day() - timedelta(days=30))
        ores = []
        for i in range(rng.randint(2, 3)):
            mine = self.pick(rng.choice(_W_FEEDERS[refiner_kind]))
            (ore,) = b.extract(
                mine,
                _days(start, 4 * i),
                [(b.name(mine, "WC"), "tungsten_concentrate", rng.randint(4_000, 12_000) * 1000)],
            )
            ores.append(ore)
        by_mine: dict[str, list[str]] = {}
        for ore in ores:
            by_mine.setdefault(b.holder(ore), []).append(ore)
        arrivals = [
            self.ship(group, refiner, _days(b.ready(group), 2)) for group in by_mine.values()
        ]
        day = _days(max(arrivals), rng.randint(1, 4))
        (apt,) = self.make(refiner, "apt_refining", day, ores, "apt", 62)
        day = _days(day, rng.randint(2, 6))
        (oxide,) = self.make(refiner, "calcination", day, [apt], "tungsten_oxide", 86)
        maker = refiner
        if refiner_kind == "wref-vn":
            maker = rng.choice([*self.instances["wref-kr"], "wpow-us"])
            day = _days(self.ship([oxide], maker, _days(day, 2)), 2)
        day = _days(day, rng.randint(1, 4))
        (powder,) = self.make(maker, "reduction_to_powder", day, [oxide], "tungsten_powder", 78)
        finished = powder
        if rng.random() < 0.5:
            tungsten_g = b.remaining(powder)
            mined = max(FIRST_EVENT_DAY, day - timedelta(days=40))
            (nickel,) = b.extract(
                "nickel-au", mined, [(b.name("nickel-au", "NI"), "nickel", tungsten_g * 7 // 100)]
            )
            b.ship([nickel], maker, _days(mined, 2), arrive=_days(mined, rng.randint(10, 35)))
            day = _days(max(day, b.ready([nickel])), rng.randint(1, 4))
            (finished,) = self.make(
                maker,
                "consolidation_sintering",
                day,
                [powder],
                "tungsten_heavy_alloy",
                96,
                extra=[nickel],
                untraced=[("iron", tungsten_g * 3 // 100, "US")],
            )
        self.deliver([finished], b.ready([finished]), covered_origin=refiner_kind == "wref-cn")

    def tantalum_chain(self) -> None:
        """Coltan from several mines processed into K2TaF7, reduced to powder, sometimes
        melted into ingot."""
        b, rng = self.b, self.rng
        kind = "taproc-cn" if rng.random() < 0.2 else "taproc-de"
        processor = self.pick(kind)
        start = max(_SPAN_START, self.day() - timedelta(days=30))
        ores = []
        for i in range(rng.randint(2, 3)):
            mine = self.pick(rng.choice(_TA_FEEDERS[kind]))
            (ore,) = b.extract(
                mine,
                _days(start, 5 * i),
                [(b.name(mine, "TAC"), "tantalum_concentrate", rng.randint(1_500, 4_000) * 1000)],
            )
            ores.append(ore)
        arrivals = [self.ship([ore], processor, _days(b.ready([ore]), 2)) for ore in ores]
        day = _days(max(arrivals), rng.randint(1, 4))
        (salt,) = self.make(processor, "chemical_processing", day, ores, "k2taf7", 52)
        day = _days(day, rng.randint(3, 9))
        (powder,) = self.make(processor, "reduction_to_powder", day, [salt], "tantalum_powder", 44)
        finished = powder
        if rng.random() < 0.4:
            day = _days(day, rng.randint(2, 6))
            (finished,) = self.make(processor, "melting", day, [powder], "tantalum_metal", 96)
        self.deliver([finished], b.ready([finished]), covered_origin=kind == "taproc-cn")

    def fill(self, count: int) -> None:
        """``count`` more records: ore parcels mined and shipped to separators for stock."""
        b, rng = self.b, self.rng
        while count > 0:
            separator = self.pick(rng.choice(list(_FEEDERS)))
            mine = self.pick(rng.choice(_FEEDERS[separator.rsplit("-", 1)[0]]))
            day = min(self.day(), _SPAN_END)
            (ore,) = b.extract(
                mine,
                day,
                [
                    (
                        b.name(mine, "ORE"),
                        "rare_earth_concentrate",
                        rng.randint(8_000, 25_000) * 1000,
                    )
                ],
            )
            count -= 1
            if count >= 2:
                self.b.ship([ore], separator, _days(day, 1), arrive=_days(day, 15))
                count -= 2

    def build(self) -> Plan:
        target = self.size - 1  # the revocation comes last
        rng = self.rng
        deep_due = self.size >= _DEEP_FROM
        while len(self.b) < target - _RESERVE_BIG:
            if deep_due and len(self.b) >= target // 2:
                self.magnet_heat(deep=True)
                deep_due = False
                continue
            r = rng.random()
            if r < 0.7:
                self.magnet_heat()
            elif r < 0.88:
                self.tungsten_chain()
            else:
                self.tantalum_chain()
        while len(self.b) < target - _RESERVE_SMALL:
            if rng.random() < 0.6:
                self.tungsten_chain()
            else:
                self.tantalum_chain()
        self.fill(target - len(self.b))
        self.b.revoke(
            "broker-mx",
            since=_COMPROMISED,
            day=LAST_DAY,
            reason="signing key found on a compromised customs-broker laptop",
        )
        return self.b.plan(dict(self.notes.values()))


def synthetic(size: int, *, seed: int) -> Plan:
    """A ledger of about ``size`` records (exactly ``size`` from a few hundred on),
    deterministic in ``seed``.

    Registrations (a fixed set of mines, separators, magnet makers, tungsten and tantalum
    refiners, traders and buyers, with more of each as ``size`` grows tenfold), then
    chains in date order: magnet heats fed by several separations, each fed by several ore
    parcels; tungsten and tantalum chains; deliveries to defense and commercial buyers,
    some through a Mexican trader. Some chains run through China; a few records carry the
    intended problems (Chinese oxide relabelled into bloc-country heats, phantom-mass
    repacks, shipments never received, a broker whose key is stolen and revoked at the end).
    ``highlights`` names the first lot that shows each problem the seed produced.
    """
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    return _Synthetic(size, seed).build()
