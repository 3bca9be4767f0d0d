"""The story's tungsten and tantalum chapters, for US defense contractors.

Tungsten from Portugal and Rwanda is refined in Vietnam and Korea into powder and heavy
alloy (one parcel signed with a stolen key); tantalum from Australia and Rwanda is
processed in Germany into capacitor powder and ingot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from ledger.demo._builder import _Builder, _d, _days, _part, _t
from ledger.demo._story_cast import _Story


def tungsten(s: _Story) -> None:
    """Write the tungsten chapter, in the order it happened."""
    b, hl = s.b, s.highlights
    # Portugal → Korea: clean under both policies.
    ores = [
        _tungsten_concentrate(b, "beira-panasqueira", "2025-02-10", "PAN-2502", 9_000),
        _tungsten_concentrate(b, "beira-panasqueira", "2025-03-10", "PAN-2503", 8_500),
    ]
    b.ship(ores, "hanbit-yeongwol", _d("2025-03-14"), arrive=_d("2025-04-21"))
    powder = _tungsten_powder(b, ores, "hanbit-yeongwol", _d("2025-04-24"), "T2505")
    alloy = _heavy_alloy(b, powder, _days(b.ready([powder]), 5), "T2505")
    s.deliver(alloy, "redstone-mesa", _days(b.ready([alloy]), 6))
    hl[alloy] = (
        "Portuguese tungsten refined and alloyed in Korea with traced nickel and iron: "
        "passes DFARS and bloc-2026"
    )

    # Rwanda and Portugal → Vietnam → Korea: no covered country, but two outside the bloc.
    rw = [
        _tungsten_concentrate(b, "gatumba-nyakabingo", "2025-05-05", "NYA-2505", 6_000),
        _tungsten_concentrate(b, "gatumba-nyakabingo", "2025-06-02", "NYA-2506", 5_500),
    ]
    b.ship(rw, "thainguyen-refinery", _d("2025-06-06"), arrive=_d("2025-07-18"))
    pt = _tungsten_concentrate(b, "beira-panasqueira", "2025-06-09", "PAN-2506", 7_800)
    b.ship([pt], "thainguyen-refinery", _d("2025-06-12"), arrive=_d("2025-07-22"))
    powder = _tungsten_powder(b, [*rw, pt], "thainguyen-refinery", _d("2025-07-28"), "T2508")
    s.deliver(powder, "redstone-mesa", _days(b.ready([powder]), 7))
    hl[powder] = (
        "tungsten mined in Rwanda and Portugal, refined to APT in Vietnam, powder made in "
        "Korea: passes DFARS (no covered country); fails bloc-2026 (RW, VN outside the bloc)"
    )

    # Beira's signing key is stolen on 2026-06-01; the thief registers a parcel that was
    # never mined and ships it to Korea, where it is refined with two honest ones.
    honest = [
        _tungsten_concentrate(b, "beira-panasqueira", "2026-04-13", "PAN-2604", 8_200),
        _tungsten_concentrate(b, "beira-panasqueira", "2026-05-11", "PAN-2605", 8_000),
    ]
    b.ship(honest, "hanbit-yeongwol", _d("2026-05-18"), arrive=_d("2026-06-22"))
    fake = _tungsten_concentrate(b, "beira-panasqueira", "2026-06-08", "PAN-2606", 9_500)
    b.ship([fake], "hanbit-yeongwol", _d("2026-06-12"), arrive=_d("2026-07-17"))
    powder = _tungsten_powder(b, [*honest, fake], "hanbit-yeongwol", _d("2026-07-20"), "T2608")
    alloy = _heavy_alloy(b, powder, _days(b.ready([powder]), 4), "T2608")
    s.deliver(alloy, "redstone-mesa", _days(b.ready([alloy]), 5))
    b.revoke(
        "beira",
        since=_d("2026-06-01"),
        day=_d("2026-09-15"),
        reason="signing key copied from a compromised mine-office workstation",
    )
    hl[alloy] = (
        "heavy alloy refined partly from a parcel signed with Beira's stolen key after its "
        "compromise: revoked-key finding; inconclusive under both policies"
    )


def tantalum(s: _Story) -> None:
    """Write the tantalum chapter, in the order it happened."""
    b, hl = s.b, s.highlights
    # Australia → Germany: clean under both policies.
    ores = [
        _tantalum_concentrate(b, "pilbara-wodgina", "2025-03-03", "WOD-2503-1", 3_000),
        _tantalum_concentrate(b, "pilbara-wodgina", "2025-03-17", "WOD-2503-2", 2_800),
    ]
    b.ship(ores, "harz-goslar", _d("2025-03-20"), arrive=_d("2025-05-02"))
    powder = _tantalum_powder(b, ores, _d("2025-05-06"), "TA2505")
    s.deliver(powder, "liberty-greenville", _days(b.ready([powder]), 5))
    hl[powder] = (
        "Australian tantalum processed into capacitor-grade powder in Germany: passes "
        "DFARS and bloc-2026"
    )

    # Rwandan coltan with Australian, melted into ingot in Germany.
    rw = _tantalum_concentrate(b, "gatumba-coltan", "2025-11-03", "GAT-2511", 2_500)
    b.ship([rw], "harz-goslar", _d("2025-11-07"), arrive=_d("2025-12-19"))
    au = _tantalum_concentrate(b, "pilbara-wodgina", "2025-11-10", "WOD-2511", 3_000)
    b.ship([au], "harz-goslar", _d("2025-11-14"), arrive=_d("2025-12-22"))
    powder = _tantalum_powder(b, [rw, au], _d("2026-01-08"), "TA2601")
    (ingot,) = b.make(
        "harz-goslar",
        "melting",
        _days(b.ready([powder]), 6),
        [powder],
        [("TAM-TA2601", "tantalum_metal", _part(b.remaining(powder), 96))],
    )
    s.deliver(ingot, "liberty-greenville", _days(b.ready([ingot]), 5))
    hl[ingot] = (
        "tantalum ingot from Rwandan and Australian coltan, processed in Germany: passes "
        "DFARS; fails bloc-2026 (mined in Rwanda, outside the bloc)"
    )


def _tungsten_concentrate(b: _Builder, site: str, day: str, name: str, kg: int) -> str:
    """A parcel of ``kg`` kilograms of concentrate mined at ``site`` on ``day``."""
    return b.extract(site, _d(day), [(name, "tungsten_concentrate", _t(kg))])[0]


def _heavy_alloy(b: _Builder, powder: str, day: date, tag: str) -> str:
    """Korean tungsten powder sintered on ``day`` with traced Australian nickel and US iron."""
    tungsten_g = b.remaining(powder)
    nickel_g, iron_g = tungsten_g * 7 // 100, tungsten_g * 3 // 100
    mined = day - timedelta(days=45)
    (nickel,) = b.extract("kambalda-mine", mined, [(f"NI-{tag}", "nickel", nickel_g)])
    b.ship([nickel], "hanbit-yeongwol", _days(mined, 4), arrive=_days(mined, 30))
    (iron,) = b.extract("mesabi-hibbing", mined, [(f"FE-{tag}", "iron", iron_g)])
    b.ship([iron], "hanbit-yeongwol", _days(mined, 4), arrive=_days(mined, 34))
    total = tungsten_g + nickel_g + iron_g
    return b.make(
        "hanbit-yeongwol",
        "consolidation_sintering",
        day,
        [powder, nickel, iron],
        [(f"WHA-{tag}", "tungsten_heavy_alloy", _part(total, 98.8))],
    )[0]


def _tungsten_powder(b: _Builder, lots: Sequence[str], site: str, day: date, tag: str) -> str:
    """Concentrate ``lots`` refined to APT and oxide at ``site`` from ``day``, reduced to
    powder in Korea."""
    total = sum(b.remaining(lot) for lot in lots)
    (apt,) = b.make(site, "apt_refining", day, lots, [(f"APT-{tag}", "apt", _part(total, 62))])
    (oxide,) = b.make(
        site,
        "calcination",
        _days(day, 5),
        [apt],
        [(f"WO3-{tag}", "tungsten_oxide", _part(b.remaining(apt), 86))],
    )
    if site != "hanbit-yeongwol":
        shipped = _days(day, 8)
        b.ship([oxide], "hanbit-yeongwol", shipped, arrive=_days(shipped, 9))
    return b.make(
        "hanbit-yeongwol",
        "reduction_to_powder",
        _days(b.ready([oxide]), 4),
        [oxide],
        [(f"WPD-{tag}", "tungsten_powder", _part(b.remaining(oxide), 78))],
    )[0]


def _tantalum_concentrate(b: _Builder, site: str, day: str, name: str, kg: int) -> str:
    """A parcel of ``kg`` kilograms of coltan mined at ``site`` on ``day``."""
    return b.extract(site, _d(day), [(name, "tantalum_concentrate", _t(kg))])[0]


def _tantalum_powder(b: _Builder, lots: Sequence[str], day: date, tag: str) -> str:
    """Coltan ``lots`` processed into K2TaF7 in Germany from ``day``, reduced to powder."""
    total = sum(b.remaining(lot) for lot in lots)
    (salt,) = b.make(
        "harz-goslar",
        "chemical_processing",
        day,
        lots,
        [(f"K2TAF7-{tag}", "k2taf7", _part(total, 52))],
    )
    return b.make(
        "harz-goslar",
        "reduction_to_powder",
        _days(day, 9),
        [salt],
        [(f"TAP-{tag}", "tantalum_powder", _part(b.remaining(salt), 44))],
    )[0]
