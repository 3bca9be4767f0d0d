"""The in-memory ledger view answers as the store does (``memory_view``, used by admission tests).

The same records go to a database-backed :class:`helpers.World` (on each backend) and to a
:class:`memory_view.MemoryWorld`: both must accept and reject the same envelopes with the same
messages at the same log indexes, and then answer every question of the
:class:`~ledger.records.admission.LedgerView` protocol alike.
"""

from __future__ import annotations

from typing import Any

from memory_view import MemoryWorld

from ledger.records.admission import LedgerView
from ledger.records.model import FacilityId, LotId, ParticipantId, ShipmentId
from ledger.service import SubmitResult

from helpers import (
    World,
    envelope_bytes,
    extraction,
    key_for,
    participant,
    receipt,
    revocation,
    shipment,
)

LYNAS_2 = key_for("lynas-2")
NEO = key_for("neo")

REGISTRATIONS = [
    # a rotation: lynas's first key stops being valid when its second is registered
    participant("lynas", keys=[LYNAS_2], issued_at="2026-04-20T00:00:00Z"),
    # a key with a window, then two revocations of it: the earliest compromise wins
    {
        **participant("neo", valid_from="2026-01-15T00:00:00Z"),
        "keys": [
            {
                "keyid": NEO.keyid,
                "public_key": NEO.public_key.to_base64(),
                "valid_from": "2026-01-15T00:00:00Z",
                "valid_until": "2026-12-31T00:00:00Z",
            }
        ],
    },
    revocation("neo", NEO.keyid, "2026-05-01T00:00:00Z", issued_at="2026-05-03T00:00:00Z"),
    revocation("neo", NEO.keyid, "2026-04-01T00:00:00Z", issued_at="2026-05-04T00:00:00Z"),
    # refused: another participant's key, and a revocation of a key neo does not have
    participant("eve", keys=[World.shinetsu]),
    revocation("neo", World.mallory.keyid, "2026-04-01T00:00:00Z"),
]

EVENTS = [
    envelope_bytes(
        extraction(
            "lynas",
            "lynas-mt-weld",
            [("lot:lynas/ORE-2", "rare_earth_ore", 100)],
            issued_at="2026-04-25T00:00:00Z",
        ),
        LYNAS_2,
    ),
    envelope_bytes(
        shipment(
            "lynas",
            "ship:lynas/S-2",
            "lynas-mt-weld",
            "lynas-kuantan",
            ["lot:lynas/ORE-2"],
            issued_at="2026-04-26T00:00:00Z",
        ),
        LYNAS_2,
    ),
    envelope_bytes(
        receipt(
            "lynas",
            "ship:lynas/S-2",
            "lynas-kuantan",
            [("lot:lynas/ORE-2", 99)],
            issued_at="2026-04-27T00:00:00Z",
        ),
        LYNAS_2,
    ),
    # ORE-2 leaves again, to Takefu, and stays in transit
    envelope_bytes(
        shipment(
            "lynas",
            "ship:lynas/S-3",
            "lynas-kuantan",
            "shinetsu-takefu",
            ["lot:lynas/ORE-2"],
            issued_at="2026-04-27T12:00:00Z",
        ),
        LYNAS_2,
    ),
    # refused: a lot held by shinetsu, and one in transit (ADR 0036)
    envelope_bytes(
        shipment(
            "lynas",
            "ship:lynas/S-4",
            "lynas-kuantan",
            "lynas-mt-weld",
            ["lot:lynas/NDPR-1"],
            issued_at="2026-04-28T00:00:00Z",
        ),
        LYNAS_2,
    ),
    envelope_bytes(
        shipment(
            "lynas",
            "ship:lynas/S-5",
            "lynas-kuantan",
            "lynas-mt-weld",
            ["lot:lynas/ORE-2"],
            issued_at="2026-04-28T00:00:00Z",
        ),
        LYNAS_2,
    ),
    # refused: signed with lynas's rotated-out key, and a reused lot id
    envelope_bytes(
        extraction(
            "lynas",
            "lynas-mt-weld",
            [("lot:lynas/ORE-3", "rare_earth_ore", 1)],
            issued_at="2026-04-28T00:00:00Z",
        ),
        World.lynas,
    ),
    envelope_bytes(
        extraction(
            "lynas",
            "lynas-mt-weld",
            [("lot:lynas/ORE-1", "rare_earth_ore", 1)],
            issued_at="2026-04-28T00:00:00Z",
        ),
        LYNAS_2,
    ),
    # the world's first record again: a duplicate, accepted at its old index
    None,
]

KEYS = [
    key.keyid
    for key in (World.lynas, LYNAS_2, World.shinetsu, World.mallory, NEO, key_for("stranger"))
]
PARTICIPANTS = ["org:lynas", "org:shinetsu", "org:mallory", "org:neo", "org:eve", "org:ghost"]
FACILITIES = ["fac:lynas-mt-weld", "fac:lynas-kuantan", "fac:shinetsu-takefu", "fac:nowhere"]
LOTS = ["lot:lynas/ORE-1", "lot:lynas/NDPR-1", "lot:lynas/ORE-2", "lot:lynas/ORE-3"]
SHIPMENTS = ["ship:lynas/S-1", "ship:lynas/S-2", "ship:lynas/S-3", "ship:lynas/S-404"]


def grow(world: World | MemoryWorld) -> list[SubmitResult]:
    events = [data if data is not None else world.chain()[0] for data in EVENTS]
    return world.register(REGISTRATIONS) + world.submit(events)


def outcome(result: SubmitResult) -> tuple[Any, ...]:
    return (
        result.error,
        result.log_index,
        result.duplicate,
        result.kind,
        result.record_id,
        result.storage_failure,
    )


def answers(view: LedgerView, record_ids: list[str]) -> dict[str, Any]:
    return {
        "keys": [view.key(keyid) for keyid in KEYS],
        "participants": [view.participant_exists(ParticipantId(p)) for p in PARTICIPANTS],
        "facilities": [view.facility(FacilityId(f)) for f in FACILITIES],
        "lots": [view.lot_exists(LotId(lot)) for lot in LOTS],
        "places": [view.lot_place(LotId(lot)) for lot in LOTS],
        "shipments": [view.shipment(ShipmentId(s)) for s in SHIPMENTS],
        "records": [view.find_record(r) for r in [*record_ids, "0" * 64]],
    }


def test_memory_world_admits_and_answers_as_the_store_does(
    world: World, memory_world: MemoryWorld
) -> None:
    assert [outcome(r) for r in memory_world.log] == [outcome(r) for r in world.log]

    stored, in_memory = grow(world), grow(memory_world)

    assert [outcome(r) for r in in_memory] == [outcome(r) for r in stored]
    assert [r.error.split(":")[0] for r in stored if r.error is not None] == [
        "identity",
        "reference",
        "authority",
        "authority",
        "signature",
        "identity",
    ]
    assert [r.duplicate for r in stored].count(True) == 1
    record_ids = [r.record_id for r in world.log if r.record_id is not None]
    registrars = world.ledger.root.registrar_keys()
    with world.ledger.store.reader(registrars=registrars) as tx:
        expected = answers(tx, record_ids)
        assert tx.tree_size == memory_world.view.tree_size
    assert answers(memory_world.view, record_ids) == expected
    assert [(p.holder, p.in_transit) if p else None for p in expected["places"]] == [
        ("fac:lynas-mt-weld", None),
        ("fac:shinetsu-takefu", None),
        (None, "ship:lynas/S-3"),
        None,
    ]
    assert dict(memory_world.view.registrar_keys()) == {
        memory_world.registrar.keyid: memory_world.registrar.public_key
    }
