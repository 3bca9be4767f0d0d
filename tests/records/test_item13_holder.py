"""Issue 13, "Only the holder acts on a lot" (ADR 0036): griefing another party's lot is refused.

A shipment or transformation may name as input only lots its signer holds at that point of
the log: lots created at, or last received at, a facility the signer operates (by that
facility's latest registration so far), and not shipped away since. A lot in transit is
held by nobody until its receipt. Anything else is refused at the ``authority`` step in one
line naming who holds the lot and where, and nothing is stored, so another party's lot, its
findings and its verdicts stay as they were. Acting at one of the signer's own facilities on
a lot held at another of them stays the ``not-holder`` finding (``test_findings.py``).

Through the store on both backends (``world``, ``empty_world``); the standard world is
``helpers.World``: lot:lynas/NDPR-1 was made at Kuantan, shipped on ship:lynas/S-1 and
received at Shin-Etsu's Takefu plant (log indexes 8..10).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger.compliance.policy import load
from ledger.core.signing import Signer

from helpers import (
    World,
    envelope_bytes,
    facility,
    receipt,
    shipment,
    transformation,
)

DFARS = load("dfars-252.225-7052")
AS_OF = date(2026, 11, 15)
HELD_BY_SHINETSU = "lot:lynas/NDPR-1 is held by org:shinetsu at fac:shinetsu-takefu"


def submit(world: World, record: dict[str, Any], signer: Signer) -> tuple[str | None, int | None]:
    """(the rejection line or None, the log index or None)."""
    result = world.submit([envelope_bytes(record, signer)])[0]
    return result.error, result.log_index


def accepted(world: World, record: dict[str, Any], signer: Signer) -> int:
    error, index = submit(world, record, signer)
    assert error is None, error
    assert index is not None
    return index


def sintering() -> dict[str, Any]:
    """Shin-Etsu's sintering of the oxide Lynas shipped it into MAGNET-1 at Takefu."""
    return transformation(
        "shinetsu",
        "shinetsu-takefu",
        "sintering",
        [("lot:lynas/NDPR-1", 5199.8)],
        [("lot:shinetsu/MAGNET-1", "ndfeb_magnet", 5150)],
        issued_at="2026-03-20T00:00:00Z",
    )


def magnet(world: World) -> str:
    """Shin-Etsu sinters the oxide it received into a magnet it holds at Takefu."""
    index = accepted(
        world,
        sintering(),
        World.shinetsu,
    )
    assert "overdrawn" not in codes_at(world, index)
    return "lot:shinetsu/MAGNET-1"


def codes(world: World, lot: str) -> list[str]:
    return [f.code for f in world.ledger.findings(as_of=AS_OF, lot=lot)]


def codes_at(world: World, index: int) -> list[str]:
    """The findings the entry at ``index`` raised."""
    return [f.code for f in world.ledger.findings(as_of=AS_OF) if f.log_index == index]


def test_a_competitor_cannot_ship_another_partys_lot(world: World) -> None:
    lot = magnet(world)
    before = (codes(world, lot), world.ledger.check(lot, policy=DFARS, as_of=AS_OF).verdict)
    state = world.state()
    for signer, key, site in (
        ("lynas", World.lynas, "lynas-kuantan"),
        ("mallory", World.mallory, "mallory-works"),
    ):
        error, index = submit(
            world,
            shipment(
                signer,
                f"ship:{signer}/GRIEF-1",
                site,
                "lynas-mt-weld",
                [lot],
                issued_at="2026-03-21T00:00:00Z",
            ),
            key,
        )
        assert error == (
            f"authority: shipment.lots[0] {lot} is held by org:shinetsu at "
            f"fac:shinetsu-takefu, not by org:{signer}"
        )
        assert index is None
    assert world.state() == state
    after = (codes(world, lot), world.ledger.check(lot, policy=DFARS, as_of=AS_OF).verdict)
    assert after == before


def test_a_lot_sold_is_no_longer_its_makers_to_ship(world: World) -> None:
    """Lynas made NDPR-1, but Shin-Etsu received it: making a lot is not holding it."""
    error, _ = submit(
        world,
        shipment(
            "lynas",
            "ship:lynas/S-2",
            "lynas-kuantan",
            "mallory-works",
            ["lot:lynas/NDPR-1"],
            issued_at="2026-03-21T00:00:00Z",
        ),
        World.lynas,
    )
    assert error == f"authority: shipment.lots[0] {HELD_BY_SHINETSU}, not by org:lynas"


def test_a_competitor_cannot_consume_another_partys_lot_before_its_holder(world: World) -> None:
    state = world.state()
    error, _ = submit(
        world,
        transformation(
            "mallory",
            "mallory-works",
            "separation",
            [("lot:lynas/NDPR-1", 5199.8)],
            [("lot:mallory/GRIEF-1", "ndpr_oxide", 5199.8)],
            issued_at="2026-03-20T00:00:00Z",
        ),
        World.mallory,
    )
    assert error == f"authority: transformation.inputs[0] {HELD_BY_SHINETSU}, not by org:mallory"
    assert world.state() == state
    # The holder's own record then draws on the whole lot: no overdraft (see magnet()).
    magnet(world)


def test_a_lot_in_transit_is_held_by_nobody(empty_world: World) -> None:
    world = empty_world
    world.register(world.registrations())
    for result in world.submit(world.chain()[:3]):  # shipped to Takefu, not yet received
        assert result.accepted, result.error
    in_transit = (
        "lot:lynas/NDPR-1 is in transit on ship:lynas/S-1 to fac:shinetsu-takefu, held by "
        "nobody until received"
    )
    # Neither its sender, nor its receiver before the receipt, nor anyone else.
    error, _ = submit(
        world,
        shipment(
            "lynas",
            "ship:lynas/S-2",
            "lynas-kuantan",
            "mallory-works",
            ["lot:lynas/NDPR-1"],
            issued_at="2026-03-11T00:00:00Z",
        ),
        World.lynas,
    )
    assert error == f"authority: shipment.lots[0] {in_transit}, not by org:lynas"
    error, _ = submit(
        world,
        sintering(),
        World.shinetsu,
    )
    assert error == f"authority: transformation.inputs[0] {in_transit}, not by org:shinetsu"
    # Once received, the receiver holds it.
    world.submit(world.chain()[3:])
    magnet(world)


def test_the_receiver_of_a_shipment_may_then_ship_or_transform_the_lot(world: World) -> None:
    lot = magnet(world)
    # Shin-Etsu ships its magnet on to Mallory, who receives it and may then use it.
    accepted(
        world,
        shipment(
            "shinetsu",
            "ship:shinetsu/S-1",
            "shinetsu-takefu",
            "mallory-works",
            [lot],
            issued_at="2026-03-22T00:00:00Z",
        ),
        World.shinetsu,
    )
    received = accepted(
        world,
        receipt(
            "mallory",
            "ship:shinetsu/S-1",
            "mallory-works",
            [(lot, 5150)],
            issued_at="2026-04-02T00:00:00Z",
        ),
        World.mallory,
    )
    # Its sender no longer holds it.
    error, _ = submit(
        world,
        shipment(
            "shinetsu",
            "ship:shinetsu/S-2",
            "shinetsu-takefu",
            "lynas-kuantan",
            [lot],
            issued_at="2026-04-03T00:00:00Z",
        ),
        World.shinetsu,
    )
    assert error == (
        f"authority: shipment.lots[0] {lot} is held by org:mallory at fac:mallory-works, "
        "not by org:shinetsu"
    )
    used = accepted(
        world,
        transformation(
            "mallory",
            "mallory-works",
            "separation",
            [(lot, 5150)],
            [("lot:mallory/SCRAP-1", "ndfeb_magnet", 5150)],
            issued_at="2026-04-03T00:00:00Z",
        ),
        World.mallory,
    )
    assert "not-holder" not in codes_at(world, received) + codes_at(world, used)


def test_the_holder_is_read_from_the_facilitys_registration_at_that_point(world: World) -> None:
    """A facility sold to another operator (ADR 0016) hands the lots there to its new operator."""
    world.register(
        [
            facility(
                "shinetsu-takefu",
                "mallory",
                ["alloy_melting", "sintering"],
                country="JP",
                issued_at="2026-03-15T00:00:00Z",
            )
        ]
    )
    ship = shipment(
        "shinetsu",
        "ship:shinetsu/S-1",
        "shinetsu-takefu",
        "lynas-kuantan",
        ["lot:lynas/NDPR-1"],
        issued_at="2026-03-20T00:00:00Z",
    )
    error, _ = submit(world, ship, World.shinetsu)
    # Shin-Etsu no longer operates the facility it ships from: that check comes first.
    assert error == (
        "authority: shipment.from_facility fac:shinetsu-takefu is operated by org:mallory, "
        "not by org:shinetsu"
    )
    ship.update(signer="org:mallory", id="ship:mallory/S-1")
    accepted(world, ship, World.mallory)
