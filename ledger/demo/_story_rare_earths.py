"""The story's rare-earth chapter: NdPr oxide to NdFeB magnets for a US defense contractor.

Ore from Australia, the US and China is separated in Malaysia, Estonia and China; magnets
are made in Japan, Germany, Estonia and China. Beside the clean chains: an Estonian maker
a Chinese state group holds 30% of, a transshipment through Mexico with relabelling, a
commingled heat, a phantom-mass repack and a shipment never received.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.demo._builder import _d, _days, _part
from ledger.demo._story_cast import _Story


def rare_earths(s: _Story) -> None:
    """Write the chapter, in the order it happened."""
    _through_malaysia(s)
    _through_estonia(s)
    _chinese_commercial(s)
    # Oxide separated late in 2025 in Estonia and in China, for the two frauds.
    second = s.rare_earth_campaign(
        mine="mojave-mountain-pass",
        separator="baltic-sillamae",
        start=_d("2025-09-01"),
        parcels=(19_000, 17_500, 20_000),
        tag="2510",
        transit=30,
        oxides=(("BRE-NDPR-2510-1", 60), ("BRE-NDPR-2510-2", 40)),
    )
    cn_lots = s.rare_earth_campaign(
        mine="baotou-bayan-obo",
        separator="baotou-separation",
        start=_d("2025-11-03"),
        parcels=(26_000, 25_000),
        tag="2512",
        transit=3,
        oxides=(("BT-NDPR-2512-1", 96.5), ("BT-NDPR-2512-2", 3.5)),
    )
    _transshipment(s, cn_lots)
    _commingled_heat(s, second, cn_lots[1])
    _last_estonian_batch(s)


def _through_malaysia(s: _Story) -> None:
    """Australia → Malaysia → Japan: clean under DFARS, but Malaysia is not in the bloc."""
    b, hl = s.b, s.highlights
    for tag, start in (("2502", "2025-01-20"), ("2508", "2025-07-07"), ("2603", "2026-02-02")):
        (oxide,) = s.rare_earth_campaign(
            mine="yilgarn-mt-weld",
            separator="kuantan-gebeng",
            start=_d(start),
            parcels=(22_000, 19_500, 24_000),
            tag=tag,
            transit=14,
            oxides=((f"KU-NDPR-{tag}", 100),),
        )
        shipped = _days(b.ready([oxide]), 3)
        b.ship([oxide], "echizen-takefu", shipped, arrive=_days(shipped, 11))
        magnets = s.magnet_heat(
            "echizen-takefu",
            _days(shipped, 14),
            [oxide],
            tag=f"E{tag}",
            magnets=((f"MAG-E{tag}-A", 60), (f"MAG-E{tag}-B", 40)),
        )
        s.deliver(magnets[0], "aegis-huntsville", _days(b.ready(magnets), 5))
        b.ship(
            [magnets[1]],
            "aegis-huntsville",
            _days(b.ready(magnets), 6),
            arrive=_days(b.ready(magnets), 24),
            end_use="commercial",
        )
    hl["lot:echizen/MAG-E2603-A"] = (
        "Australian ore separated in Malaysia, magnets made in Japan with traced US iron "
        "and boron: passes DFARS; fails bloc-2026 (Malaysia is not a bloc member)"
    )


def _through_estonia(s: _Story) -> None:
    """United States → Estonia → Germany: the clean chain, and the Estonian magnet maker
    that a Chinese state group holds 30% of."""
    b, hl = s.b, s.highlights
    clean = s.rare_earth_campaign(
        mine="mojave-mountain-pass",
        separator="baltic-sillamae",
        start=_d("2025-02-03"),
        parcels=(18_000, 21_000, 20_500),
        tag="2503",
        transit=30,
        oxides=(("BRE-NDPR-2503-1", 55), ("BRE-NDPR-2503-2", 45)),
    )
    shipped = _days(b.ready(clean), 2)
    b.ship([clean[0]], "rhein-hanau", shipped, arrive=_days(shipped, 5))
    b.ship([clean[1]], "narva-plant", shipped, arrive=_days(shipped, 1))
    rhein = s.magnet_heat(
        "rhein-hanau",
        _days(shipped, 8),
        [clean[0]],
        tag="R2504",
        magnets=(("MAG-R2504-A", 70), ("MAG-R2504-B", 30)),
    )
    s.deliver(rhein[0], "aegis-huntsville", _days(b.ready(rhein), 4))
    s.deliver(rhein[1], "aegis-huntsville", _days(b.ready(rhein), 9))
    hl[rhein[0]] = (
        "US ore separated in Estonia, magnets made in Germany with traced US iron and "
        "boron: passes DFARS and bloc-2026"
    )
    narva = s.magnet_heat(
        "narva-plant",
        _days(shipped, 12),
        [clean[1]],
        tag="N2504",
        magnets=(("MAG-N2504-A", 100),),
    )
    s.deliver(narva[0], "aegis-huntsville", _days(b.ready(narva), 6))
    hl[narva[0]] = (
        "magnets from an Estonian maker 30% held by a Chinese state group: passes DFARS "
        "(it judges location only); fails bloc-2026 (entity control)"
    )


def _chinese_commercial(s: _Story) -> None:
    """China: a commercial chain (the oxide behind the two frauds comes later)."""
    b = s.b
    (cn_oxide,) = s.rare_earth_campaign(
        mine="baotou-bayan-obo",
        separator="baotou-separation",
        start=_d("2025-03-03"),
        parcels=(30_000, 28_000),
        tag="2504",
        transit=3,
        oxides=(("BT-NDPR-2504", 100),),
    )
    shipped = _days(b.ready([cn_oxide]), 2)
    b.ship([cn_oxide], "ningbo-works", shipped, arrive=_days(shipped, 3))
    ningbo = s.magnet_heat(
        "ningbo-works",
        _days(shipped, 6),
        [cn_oxide],
        tag="C2504",
        magnets=(("MAG-C2504", 100),),
        traced_feed=False,
    )
    b.ship(
        ningbo,
        "aegis-huntsville",
        _days(b.ready(ningbo), 5),
        arrive=_days(b.ready(ningbo), 33),
        end_use="commercial",
    )


def _transshipment(s: _Story, chinese: Sequence[str]) -> None:
    """Chinese oxide (the first of ``chinese``) to a Mexican trader, repacked under a new lot
    id and sold on to Japan with a Mexican certificate of origin."""
    b, hl = s.b, s.highlights
    shipped = _days(b.ready(chinese), 3)
    b.ship([chinese[0]], "pacifico-manzanillo", shipped, arrive=_days(shipped, 24))
    arrived = b.ready([chinese[0]])
    (relabelled,) = b.make(
        "pacifico-manzanillo",
        "repack",
        _days(arrived, 6),
        [chinese[0]],
        [("PAC-OX-2512", "ndpr_oxide", b.remaining(chinese[0]))],
    )
    shipped = _days(b.ready([relabelled]), 4)
    b.ship(
        [relabelled],
        "echizen-takefu",
        shipped,
        arrive=_days(shipped, 19),
        documents=("bill_of_lading", "certificate_of_origin"),
    )
    laundered = s.magnet_heat(
        "echizen-takefu",
        _days(b.ready([relabelled]), 5),
        [relabelled],
        tag="E2602X",
        magnets=(("MAG-E2602X", 100),),
    )
    s.deliver(laundered[0], "aegis-huntsville", _days(b.ready(laundered), 5))
    hl[laundered[0]] = (
        "transshipment: Chinese-separated NdPr oxide repacked under a new lot id by a "
        "Mexican trader, magnets made in Japan: passes DFARS window A, fails window B "
        "(separated in CN) and bloc-2026"
    )


def _commingled_heat(s: _Story, estonian: Sequence[str], chinese: str) -> None:
    """95% Estonian-separated oxide topped up with 5% Chinese at the German maker; the rest
    of the Estonian oxide made into magnets in Estonia."""
    b, hl = s.b, s.highlights
    shipped = _days(b.ready([*estonian, chinese]), 2)
    b.ship([estonian[0]], "rhein-hanau", shipped, arrive=_days(shipped, 5))
    b.ship([chinese], "rhein-hanau", shipped, arrive=_days(shipped, 30))
    b.ship([estonian[1]], "narva-plant", shipped, arrive=_days(shipped, 1))
    topped_up = s.magnet_heat(
        "rhein-hanau",
        _days(b.ready([estonian[0], chinese]), 4),
        [estonian[0], chinese],
        tag="R2601",
        magnets=(("MAG-R2601", 100),),
    )
    s.deliver(topped_up[0], "aegis-huntsville", _days(b.ready(topped_up), 4))
    hl[topped_up[0]] = (
        "commingled heat: 95% Estonian-separated oxide topped up with 5% Chinese: fails "
        "DFARS and bloc-2026 (no de minimis)"
    )
    narva = s.magnet_heat(
        "narva-plant",
        _days(b.ready([estonian[1]]), 10),
        [estonian[1]],
        tag="N2512",
        magnets=(("MAG-N2512", 100),),
    )
    s.deliver(narva[0], "aegis-huntsville", _days(b.ready(narva), 6))


def _last_estonian_batch(s: _Story) -> None:
    """The last Estonian batch: part repacked with phantom mass in Mexico, part lost."""
    b, hl = s.b, s.highlights
    (late,) = s.rare_earth_campaign(
        mine="mojave-mountain-pass",
        separator="baltic-sillamae",
        start=_d("2026-04-06"),
        parcels=(20_000, 22_500, 18_500),
        tag="2605",
        transit=30,
        oxides=(("BRE-NDPR-2605", 100),),
    )
    shipped = _days(b.ready([late]), 2)
    b.ship([late], "rhein-hanau", shipped, arrive=_days(shipped, 5))
    batch = s.magnet_heat(
        "rhein-hanau",
        _days(b.ready([late]), 4),
        [late],
        tag="R2606",
        magnets=(("MAG-R2606-A", 45), ("MAG-R2606-B", 55)),
    )
    shipped = _days(b.ready(batch), 4)
    b.ship(
        [batch[0]],
        "pacifico-manzanillo",
        shipped,
        arrive=_days(shipped, 21),
        end_use="commercial",
    )
    received = b.remaining(batch[0])
    (padded,) = b.make(
        "pacifico-manzanillo",
        "repack",
        _days(b.ready([batch[0]]), 3),
        [batch[0]],
        [("PAC-MAG-2607", "ndfeb_magnet", _part(received, 108))],
        phantom=True,
    )
    s.deliver(padded, "aegis-huntsville", _days(b.ready([padded]), 3))
    hl[padded] = (
        "phantom-mass repack: German magnets repacked by the Mexican trader into 8% more "
        "than it received: mass-balance finding; inconclusive under both policies"
    )
    s.deliver(batch[1], "aegis-huntsville", _d("2026-10-12"), received=False)
    hl[batch[1]] = (
        "clean German magnets shipped for defense on 2026-10-12 and never received: "
        "not-received finding as of the check date (the verdicts still pass)"
    )


def relabelled_chinese_magnets(s: _Story) -> None:
    """Magnets sintered in China, flown to the Mexican trader, repacked under a new lot id
    and delivered for defense with a Mexican certificate of origin: sintering is a
    restricted phase today (DFARS window A, 252.225-7052(b)(2)(i)(A)), so they fail now
    and from 2027. Written last, and dated after every other event, so that the rest of
    the story keeps its log indexes."""
    b, hl = s.b, s.highlights
    (sintered,) = b.make(
        "ningbo-works",
        "sintering",
        _d("2026-10-12"),
        [],
        [("MAG-C2610", "ndfeb_magnet", 1_200_000)],
        untraced=[("ndfeb_powder", 1_236_000, "CN")],
    )
    b.ship([sintered], "pacifico-manzanillo", _d("2026-10-13"), arrive=_d("2026-10-16"))
    (relabelled,) = b.make(
        "pacifico-manzanillo",
        "repack",
        _d("2026-10-19"),
        [sintered],
        [("PAC-MAG-2610", "ndfeb_magnet", b.remaining(sintered))],
    )
    b.ship(
        [relabelled],
        "aegis-huntsville",
        _d("2026-10-21"),
        arrive=_d("2026-10-28"),
        end_use="defense",
        contract=s.contract(),
        documents=("bill_of_lading", "certificate_of_origin"),
    )
    hl[relabelled] = (
        "relabelled magnets: sintered in Ningbo, China, repacked under a new lot id by the "
        "Mexican trader and delivered with a Mexican certificate of origin: fails DFARS "
        "today (window A: sintering in CN) and from 2027, and bloc-2026"
    )
