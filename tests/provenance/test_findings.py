"""Integrity findings: one test per code, with the exact message and the proving indexes.

The standard world (tests/helpers.py) has, at log indexes 7..10: the extraction of
lot:lynas/ORE-1 (25,000 kg) at Mt Weld, its separation into lot:lynas/NDPR-1 (5,200.5 kg) at
Kuantan, shipment ship:lynas/S-1 of NDPR-1 to Takefu, and its receipt (5,199.8 kg). The ore
is never shipped from Mt Weld to Kuantan, so the world itself carries one finding: Kuantan
processed a lot held by Mt Weld (log index 8). The tests below look at what they add.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text

from ledger.provenance import findings
from ledger.provenance.findings import Finding

from helpers import (
    World,
    envelope_bytes,
    extraction,
    receipt,
    revocation,
    shipment,
    transformation,
)

WORLD_FINDING = (
    8,
    findings.NOT_HOLDER,
    "error",
    "fac:lynas-kuantan processed lot:lynas/ORE-1 at log index 8, but the lot is held by "
    "fac:lynas-mt-weld",
    [7, 8],
)


def stored(world: World) -> list[tuple[int, str, str, str, list[int]]]:
    """Findings beyond the world's own (see the module docstring)."""
    with world.ledger.store.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT log_index, code, severity, message, evidence FROM finding "
                "ORDER BY log_index, seq"
            )
        ).all()
    found = [(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]
    return [f for f in found if f != WORLD_FINDING]


def effects(world: World) -> dict[str, int]:
    """Unknown grams per lot, beyond the world's own (all of NDPR-1, from log index 8)."""
    with world.ledger.store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT lot, unknown_g FROM finding_effect WHERE log_index <> 8")
        ).all()
    return {r[0]: r[1] for r in rows}


def submit(world: World, record: dict, signer=None) -> int:  # type: ignore[no-untyped-def]
    result = world.submit([envelope_bytes(record, signer or world.lynas)])[0]
    assert result.accepted, result.error
    assert result.log_index is not None
    return result.log_index


def test_the_world_finding(world: World) -> None:
    with world.ledger.store.engine.connect() as connection:
        rows = connection.execute(text("SELECT lot, unknown_g FROM finding_effect")).all()
        count = connection.execute(text("SELECT count(*) FROM finding")).scalar_one()
    assert [tuple(r) for r in rows] == [("lot:lynas/NDPR-1", 5_200_500)]
    assert count == 1
    assert stored(world) == []


def test_phantom_mass(world: World) -> None:
    index = submit(
        world,
        transformation(
            "shinetsu",
            "shinetsu-takefu",
            "sintering",
            [("lot:lynas/NDPR-1", 5199.8)],
            [("lot:shinetsu/BIG-1", "ndfeb_magnet", 6000)],
        ),
        world.shinetsu,
    )
    assert stored(world) == [
        (
            index,
            findings.MASS_BALANCE,
            "error",
            f"sintering at log index {index}: outputs 6,000 kg exceed inputs 5,199.8 kg plus "
            "untraced 0 kg by 800.2 kg (15.39%, tolerance 0.50%)",
            [index],
        ),
        # Sintering oxide into a magnet skips stages nobody recorded (issue 11 item 10).
        (
            index,
            findings.STAGE_GAP,
            "warning",
            f"sintering at log index {index} made ndfeb_magnet lot:shinetsu/BIG-1 from "
            "ndpr_oxide lot:lynas/NDPR-1 without metal_reduction, powder_formation on record: "
            "record the metal_reduction, powder_formation where it was done, or register "
            "fac:shinetsu-takefu for it (registered for alloy_melting, sintering)",
            [index],
        ),
    ]
    assert effects(world) == {"lot:shinetsu/BIG-1": 800_200}


def test_double_spend(world: World) -> None:
    index = submit(
        world,
        transformation(
            "lynas",
            "lynas-kuantan",
            "separation",
            [("lot:lynas/ORE-1", 1000)],
            [("lot:lynas/NDPR-2", "ndpr_oxide", 200)],
        ),
    )
    codes = [(f[1], f[3], f[4]) for f in stored(world)]
    assert (
        findings.OVERDRAWN,
        f"lot:lynas/ORE-1: consumed 1,000 kg at log index {index} with only 0 kg of 25,000 kg left",
        [7, index],
    ) in codes
    assert effects(world) == {"lot:lynas/NDPR-2": 200_000}


def test_processing_a_lot_held_elsewhere(world: World) -> None:
    """ORE-1 was extracted at Mt Weld but consumed at Kuantan without a shipment."""
    index = submit(
        world,
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-2", "rare_earth_concentrate", 100)]),
    )
    second = submit(
        world,
        transformation(
            "lynas",
            "lynas-kuantan",
            "separation",
            [("lot:lynas/ORE-2", 100)],
            [("lot:lynas/NDPR-3", "ndpr_oxide", 20)],
        ),
    )
    assert [(f[0], f[1], f[3], f[4]) for f in stored(world)] == [
        (
            second,
            findings.NOT_HOLDER,
            f"fac:lynas-kuantan processed lot:lynas/ORE-2 at log index {second}, but the lot is "
            "held by fac:lynas-mt-weld",
            [index, second],
        )
    ]


def test_event_dated_before_its_input(world: World) -> None:
    record = transformation(
        "shinetsu",
        "shinetsu-takefu",
        "alloy_melting",
        [("lot:lynas/NDPR-1", 100)],
        [("lot:shinetsu/ALLOY-1", "ndfeb_alloy", 100)],
    )
    record["performed_on"] = "2026-01-01"
    index = submit(world, record, world.shinetsu)
    assert [(f[1], f[3], f[4]) for f in stored(world)] == [
        (
            findings.DATE_ORDER,
            f"transformation at log index {index} performed 2026-01-01 before its input "
            "lot:lynas/NDPR-1 was created (2026-03-02, log index 8)",
            [8, index],
        ),
        # Melting oxide into alloy skips metal reduction (issue 11 item 10).
        (
            findings.STAGE_GAP,
            f"alloy_melting at log index {index} made ndfeb_alloy lot:shinetsu/ALLOY-1 from "
            "ndpr_oxide lot:lynas/NDPR-1 without metal_reduction on record: record the "
            "metal_reduction where it was done, or register fac:shinetsu-takefu for it "
            "(registered for alloy_melting, sintering)",
            [index],
        ),
    ]


def test_received_mass_differs(empty_world: World) -> None:
    world = empty_world
    world.register(world.registrations())
    chain = world.chain()
    world.submit(chain[:3])
    index = submit(
        world,
        receipt("shinetsu", "ship:lynas/S-1", "shinetsu-takefu", [("lot:lynas/NDPR-1", 5000)]),
        world.shinetsu,
    )
    assert [(f[1], f[2], f[3], f[4]) for f in stored(world)] == [
        (
            findings.RECEIVED_MASS,
            "warning",
            "ship:lynas/S-1: lot:lynas/NDPR-1 shipped 5,200.5 kg, received 5,000 kg at log "
            f"index {index} (tolerance 0.50%)",
            [9, index],
        )
    ]


def test_record_signed_after_compromise_is_found_when_the_revocation_arrives(
    world: World,
) -> None:
    later = submit(
        world,
        extraction(
            "lynas",
            "lynas-mt-weld",
            [("lot:lynas/ORE-5", "rare_earth_ore", 10)],
            issued_at="2026-05-01T00:00:00Z",
        ),
    )
    results = world.register([revocation("lynas", world.lynas.keyid, "2026-04-01T00:00:00Z")])
    revoked_at = results[0].log_index
    assert [(f[0], f[1], f[3], f[4]) for f in stored(world)] == [
        (
            revoked_at,
            findings.REVOKED_KEY,
            f"log index {later} was signed by key {world.lynas.keyid} of org:lynas on "
            "2026-05-01T00:00:00Z, after it was compromised (2026-04-01T00:00:00Z; revoked at "
            f"log index {revoked_at})",
            [later, revoked_at],
        )
    ]
    assert effects(world) == {"lot:lynas/ORE-5": 10_000}


def test_repack_that_changes_the_material(world: World) -> None:
    """A trader repacks ore and the new label says oxide: relabelling is not processing."""
    submit(world, extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-9", "rare_earth_ore", 50)]))
    submit(
        world,
        shipment("lynas", "ship:lynas/S-9", "lynas-mt-weld", "lynas-kuantan", ["lot:lynas/ORE-9"]),
    )
    submit(world, receipt("lynas", "ship:lynas/S-9", "lynas-kuantan", [("lot:lynas/ORE-9", 50)]))
    index = submit(
        world,
        transformation(
            "lynas",
            "lynas-kuantan",
            "repack",
            [("lot:lynas/ORE-9", 50)],
            [("lot:lynas/OXIDE-9", "ndpr_oxide", 50)],
        ),
    )
    assert [(f[0], f[1], f[3], f[4]) for f in stored(world)] == [
        (
            index,
            findings.MATERIAL_CHANGED,
            f"repack at log index {index} turned rare_earth_ore into ndpr_oxide",
            [index],
        )
    ]
    assert effects(world) == {"lot:lynas/OXIDE-9": 50_000}


def test_not_received_as_of_a_date() -> None:
    from ledger.provenance.findings import ShipmentRecord, ShippedLot
    from ledger.records.model import FacilityId, LotId, ShipmentId

    record = ShipmentRecord(
        id=ShipmentId("ship:lynas/S-9"),
        from_facility=FacilityId("fac:a"),
        to_facility=FacilityId("fac:b"),
        shipped_on=date(2026, 3, 10),
        created_index=12,
        received_index=None,
        lots=(ShippedLot(lot=LotId("lot:lynas/X"), shipped_g=1),),
    )
    assert findings.not_received([record], as_of=date(2026, 3, 10)) == []
    assert findings.not_received([record], as_of=date(2026, 4, 1)) == [
        Finding(
            code=findings.NOT_RECEIVED,
            severity="warning",
            message="ship:lynas/S-9 shipped 2026-03-10 from fac:a to fac:b (log index 12) was not "
            "received as of 2026-04-01",
            log_index=12,
            evidence=(12,),
            subject="ship:lynas/S-9",
        )
    ]


@pytest.mark.parametrize("code", sorted(findings.CODES))
def test_every_code_is_described(code: str) -> None:
    assert findings.CODES[code]
