"""The story's cast (companies and their facilities) and the production steps its chapters share.

:class:`_Story` registers the cast and holds what the chapters write into: the builder,
the highlighted lots, and the count of defense contracts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

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
    _t,
)

_STORY_PARTICIPANTS: tuple[tuple[str, str, str, str], ...] = (
    # slug, country, role, name
    ("yilgarn", "AU", "miner", "Yilgarn Rare Earths Ltd"),
    ("mojave", "US", "miner", "Mojave Rare Earth Corp."),
    ("kuantan", "MY", "processor", "Kuantan Separation Sdn Bhd"),
    ("baotou", "CN", "processor", "Baotou Northern Rare Earth Group"),
    ("ningbo", "CN", "manufacturer", "Ningbo Yongjiang Magnet Co., Ltd."),
    ("echizen", "JP", "manufacturer", "Echizen Magnetics K.K."),
    ("baltic", "EE", "processor", "Baltic Rare Earths AS"),
    ("narva", "EE", "manufacturer", "Narva Magnetworks OÜ"),
    ("rhein", "DE", "manufacturer", "Rhein Magnettechnik GmbH"),
    ("mesabi", "US", "miner", "Mesabi Iron Range Co."),
    ("searles", "US", "miner", "Searles Valley Borates Inc."),
    ("kambalda", "AU", "miner", "Kambalda Nickel Pty Ltd"),
    ("gatumba", "RW", "miner", "Gatumba Minerals Ltd"),
    ("beira", "PT", "miner", "Beira Tungsten S.A."),
    ("thainguyen", "VN", "processor", "Thai Nguyen Tungsten JSC"),
    ("hanbit", "KR", "processor", "Hanbit Tungsten Co., Ltd."),
    ("pilbara", "AU", "miner", "Pilbara Tantalum Ltd"),
    ("harz", "DE", "processor", "Harz Tantal GmbH"),
    ("pacifico", "MX", "trader", "Comercializadora Pacífico S.A. de C.V."),
    ("aegis", "US", "defense_contractor", "Aegis Motion Systems Inc."),
    ("redstone", "US", "defense_contractor", "Redstone Ordnance Corp."),
    ("liberty", "US", "defense_contractor", "Liberty Capacitor Inc."),
)

_STORY_CONTROL: Mapping[str, tuple[dict[str, Any], ...]] = {
    "baotou": (
        _holder("Baotou Iron and Steel Group (state-owned)", "CN", 38, government=True),
        _holder("Public shareholders", "CN", 62),
    ),
    "narva": (
        _holder("China Rare Earth Holdings (state-owned)", "CN", 30, government=True),
        _holder("Nordic Industrial Partners", "SE", 70),
    ),
    "hanbit": (
        _holder("Almada Resources Inc.", "CA", 60),
        _holder("Korean institutional investors", "KR", 40),
    ),
}

_STORY_FACILITIES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # slug, region (or country), name, stages; the operator is the slug's first word
    ("yilgarn-mt-weld", "AU-WA", "Mt Weld mine and concentrator", _MINE),
    ("mojave-mountain-pass", "US-CA", "Mountain Pass mine and mill", _MINE),
    ("kuantan-gebeng", "MY-06", "Gebeng separation plant", _SEPARATOR[:2]),
    ("baotou-bayan-obo", "CN-NM", "Bayan Obo mine", _MINE),
    ("baotou-separation", "CN-NM", "Baotou separation works", _SEPARATOR),
    ("ningbo-works", "CN-ZJ", "Ningbo magnet works", _MAGNET_PLANT),
    ("echizen-takefu", "JP-18", "Takefu magnet plant", (*_MAGNET_PLANT, "coating")),
    ("baltic-sillamae", "EE", "Sillamäe separation plant", _SEPARATOR),
    ("narva-plant", "EE", "Narva magnet plant", _MAGNET_PLANT),
    ("rhein-hanau", "DE-HE", "Hanau magnet plant", (*_MAGNET_PLANT, "machining_finishing")),
    # Iron, boron and nickel are refined where they are mined (ADR 0017).
    ("mesabi-hibbing", "US-MN", "Hibbing iron mine", ("mining", "refining")),
    ("searles-trona", "US-CA", "Trona borate works", ("mining", "refining")),
    ("kambalda-mine", "AU-WA", "Kambalda nickel operations", ("mining", "refining")),
    ("gatumba-nyakabingo", "RW", "Nyakabingo tungsten mine", _MINE),
    ("gatumba-coltan", "RW", "Gatumba coltan mine", _MINE),
    ("beira-panasqueira", "PT-05", "Panasqueira mine and concentrator", _MINE),
    ("thainguyen-refinery", "VN", "Thai Nguyen APT refinery", _TUNGSTEN_WORKS[:2]),
    ("hanbit-yeongwol", "KR", "Yeongwol tungsten works", _TUNGSTEN_WORKS),
    ("pilbara-wodgina", "AU-WA", "Wodgina tantalum mine", _MINE),
    ("harz-goslar", "DE-NI", "Goslar tantalum works", _TANTALUM_WORKS),
    ("pacifico-manzanillo", "MX-COL", "Manzanillo bonded warehouse", _TRADING),
    ("aegis-huntsville", "US-AL", "Huntsville actuator plant", ("assembly",)),
    ("redstone-mesa", "US-AZ", "Mesa penetrator plant", ("machining", "assembly")),
    ("liberty-greenville", "US-SC", "Greenville capacitor plant", ("assembly",)),
)


class _Story:
    """The sample ledger being written: its cast registered, and the steps its chapters share
    (chapters are written in the order things happened)."""

    def __init__(self, seed: int) -> None:
        self.b = _Builder(f"story:{seed}")
        self.highlights: dict[str, str] = {}
        self._contracts = 0
        for slug, country, role, name in _STORY_PARTICIPANTS:
            control = _STORY_CONTROL.get(slug)
            self.b.participant(slug, name=name, country=country, roles=(role,), control=control)
        for slug, where, name, stages in _STORY_FACILITIES:
            self.b.facility(
                slug,
                operator=slug.split("-", 1)[0],
                name=name,
                country=where[:2],
                region=where if "-" in where else None,
                stages=stages,
            )

    def contract(self) -> str:
        self._contracts += 1
        return f"DoD prime contract W91-26-C-{4100 + self._contracts}"

    def deliver(self, lot: str, to: str, day: date, *, received: bool = True) -> None:
        """Ship a finished lot to a US defense contractor, for defense use."""
        self.b.ship(
            [lot],
            to,
            day,
            arrive=_days(day, 16) if received else None,
            end_use="defense",
            contract=self.contract(),
            documents=("bill_of_lading", "certificate_of_conformance"),
        )

    # feedstocks

    def iron_and_boron(self, site: str, day: date, metal: int, tag: str) -> tuple[str, str]:
        """Traced US iron and boron for a heat with ``metal`` grams of NdPr metal, at
        ``site`` by ``day``."""
        iron_g = metal * 219 // 100
        boron_g = metal * 33 // 1000
        transit = 25 if self.b.sites[site].country in ("JP", "EE", "DE") else 8
        mined = day - timedelta(days=transit + 12)
        (iron,) = self.b.extract("mesabi-hibbing", mined, [(f"FE-{tag}", "iron", iron_g)])
        (boron,) = self.b.extract("searles-trona", mined, [(f"B-{tag}", "boron", boron_g)])
        for lot in (iron, boron):
            self.b.ship([lot], site, _days(mined, 3), arrive=_days(mined, 3 + transit))
        return iron, boron

    # rare earths

    def rare_earth_campaign(
        self,
        *,
        mine: str,
        separator: str,
        start: date,
        parcels: Sequence[float],
        tag: str,
        transit: int,
        oxides: Sequence[tuple[str, float]],
    ) -> list[str]:
        """Concentrate parcels mined at ``mine``, shipped to ``separator``, cracked and
        separated into NdPr oxide lots ``(local name, percent of the oxide)``."""
        b = self.b
        operator = b.sites[mine].operator
        ores = [
            b.extract(
                mine,
                start + timedelta(days=4 * i),
                [(f"{operator.upper()[:3]}-{tag}-{i + 1}", "rare_earth_concentrate", _t(kg))],
            )[0]
            for i, kg in enumerate(parcels)
        ]
        shipped = _days(b.ready(ores), 2)
        b.ship(ores, separator, shipped, arrive=_days(shipped, transit), loss_permille=1)
        cracked = _days(b.ready(ores), 3)
        sep_op = b.sites[separator].operator
        prefix = sep_op.upper()[:3]
        total = sum(b.remaining(o) for o in ores)
        (mrec,) = b.make(
            separator,
            "cracking_leaching",
            cracked,
            ores,
            [(f"{prefix}-MREC-{tag}", "mixed_rare_earth_carbonate", _part(total, 41))],
        )
        ndpr = _part(b.remaining(mrec), 22)
        return b.make(
            separator,
            "separation",
            _days(cracked, 9),
            [mrec],
            [(name, "ndpr_oxide", _part(ndpr, share)) for name, share in oxides],
        )

    def magnet_heat(
        self,
        site: str,
        day: date,
        oxides: Sequence[str],
        *,
        tag: str,
        magnets: Sequence[tuple[str, float]],
        traced_feed: bool = True,
    ) -> list[str]:
        """NdPr oxide reduced to metal, melted with iron and boron, milled and sintered into
        magnet lots ``(local name, percent)`` at ``site``, starting on ``day``."""
        b = self.b
        oxide_g = sum(b.remaining(o) for o in oxides)
        metal_g = _part(oxide_g, 84)
        (metal,) = b.make(
            site, "metal_reduction", day, oxides, [(f"MET-{tag}", "ndpr_metal", metal_g)]
        )
        melt_day = _days(day, 4)
        inputs: list[str | tuple[str, int]] = [metal]
        untraced: list[tuple[str, int, str | None]] = []
        if traced_feed:
            inputs += self.iron_and_boron(site, melt_day, metal_g, tag)
        else:
            untraced = [("iron", metal_g * 219 // 100, "CN"), ("boron", metal_g * 33 // 1000, "CN")]
        total = (
            metal_g
            + sum(b.remaining(i) for i in inputs[1:] if isinstance(i, str))
            + sum(g for _, g, _ in untraced)
        )
        (alloy,) = b.make(
            site,
            "alloy_melting",
            melt_day,
            inputs,
            [(f"ALY-{tag}", "ndfeb_alloy", _part(total, 99.4))],
            untraced=untraced,
        )
        (powder,) = b.make(
            site,
            "powder_formation",
            _days(melt_day, 3),
            [alloy],
            [(f"PWD-{tag}", "ndfeb_powder", _part(b.remaining(alloy), 98.6))],
        )
        made = _part(b.remaining(powder), 97.2)
        return b.make(
            site,
            "sintering",
            _days(melt_day, 8),
            [powder],
            [(name, "ndfeb_magnet", _part(made, share)) for name, share in magnets],
        )
