"""What ``bloc lots``, ``bloc participants`` and ``bloc facilities`` list: the index's current
rows, filtered in SQL and ordered by id, each naming the log index that created or last
registered it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import func, select

from ledger.store._sql import FACILITY, LOT, PARTICIPANT, PARTICIPANT_KEY
from ledger.store._unit import Unit


class LotListing(NamedTuple):
    id: str
    material: str
    mass_g: int
    remaining_g: int
    facility: str
    """Where the lot was made."""
    holder: str | None
    """The facility holding it now; ``None`` while it is in transit."""
    in_transit: str | None
    """The shipment carrying it."""
    created_index: int
    created_on: str


class ParticipantListing(NamedTuple):
    id: str
    name: str
    country: str
    roles: tuple[str, ...]
    keys: int
    """Keys registered to it (valid, expired or revoked)."""
    log_index: int
    """Its latest registration."""


class FacilityListing(NamedTuple):
    id: str
    operator: str
    name: str
    country: str
    region: str | None
    stages: tuple[str, ...]
    log_index: int
    """Its latest registration."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LotFilter:
    """Which lots to list; every condition given must hold."""

    material: str | None = None
    holder: str | None = None
    """The facility holding it now."""
    owner: str | None = None
    """Lots whose id names this owner (``lot:OWNER/...``; the participant's id without
    ``org:``)."""
    in_transit: bool = False
    limit: int | None = None


class Listings:
    """The listing commands' reads."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    def lots(self, where: LotFilter) -> list[LotListing]:
        query = select(
            LOT.c.id,
            LOT.c.material,
            LOT.c.mass_g,
            LOT.c.remaining_g,
            LOT.c.facility,
            LOT.c.holder,
            LOT.c.in_transit,
            LOT.c.created_index,
            LOT.c.created_on,
        ).order_by(LOT.c.id)
        if where.material is not None:
            query = query.where(LOT.c.material == where.material)
        if where.holder is not None:
            query = query.where(LOT.c.holder == where.holder)
        if where.owner is not None:
            prefix = f"lot:{where.owner.removeprefix('org:')}/"
            # Not LIKE (ids may hold '%' and '_') and not a range (collations differ).
            query = query.where(func.substr(LOT.c.id, 1, len(prefix)) == prefix)
        if where.in_transit:
            query = query.where(LOT.c.in_transit.is_not(None))
        if where.limit is not None:
            query = query.limit(where.limit)
        rows: list[Any] = list(self._unit.read().connection.execute(query).all())
        return [
            LotListing(
                id=str(r[0]),
                material=str(r[1]),
                mass_g=int(r[2]),
                remaining_g=int(r[3]),
                facility=str(r[4]),
                holder=None if r[5] is None else str(r[5]),
                in_transit=None if r[6] is None else str(r[6]),
                created_index=int(r[7]),
                created_on=str(r[8]),
            )
            for r in rows
        ]

    def participants(
        self, *, country: str | None = None, role: str | None = None
    ) -> list[ParticipantListing]:
        keys = (
            select(PARTICIPANT_KEY.c.participant, func.count().label("keys"))
            .group_by(PARTICIPANT_KEY.c.participant)
            .subquery()
        )
        query = (
            select(
                PARTICIPANT.c.id,
                PARTICIPANT.c.name,
                PARTICIPANT.c.country,
                PARTICIPANT.c.roles,
                func.coalesce(keys.c["keys"], 0),
                PARTICIPANT.c.log_index,
            )
            .outerjoin(keys, keys.c.participant == PARTICIPANT.c.id)
            .order_by(PARTICIPANT.c.id)
        )
        if country is not None:
            query = query.where(PARTICIPANT.c.country == country)
        rows = self._unit.read().connection.execute(query).all()
        found = [
            ParticipantListing(
                id=str(r[0]),
                name=str(r[1]),
                country=str(r[2]),
                roles=tuple(json.loads(r[3])),
                keys=int(r[4]),
                log_index=int(r[5]),
            )
            for r in rows
        ]
        return [p for p in found if role is None or role in p.roles]

    def facilities(
        self,
        *,
        country: str | None = None,
        operator: str | None = None,
        stage: str | None = None,
    ) -> list[FacilityListing]:
        query = select(
            FACILITY.c.id,
            FACILITY.c.operator,
            FACILITY.c.name,
            FACILITY.c.country,
            FACILITY.c.region,
            FACILITY.c.stages,
            FACILITY.c.log_index,
        ).order_by(FACILITY.c.id)
        if country is not None:
            query = query.where(FACILITY.c.country == country)
        if operator is not None:
            query = query.where(FACILITY.c.operator == operator)
        rows = self._unit.read().connection.execute(query).all()
        found = [
            FacilityListing(
                id=str(r[0]),
                operator=str(r[1]),
                name=str(r[2]),
                country=str(r[3]),
                region=None if r[4] is None else str(r[4]),
                stages=tuple(json.loads(r[5])),
                log_index=int(r[6]),
            )
            for r in rows
        ]
        return [f for f in found if stage is None or stage in f.stages]
