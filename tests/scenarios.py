"""A small builder for realistic supply chains made of real signed records.

``Scenario`` registers participants and facilities on demand, signs every record with the
participant's deterministic key, ships a lot to a facility (shipment + receipt) before that
facility processes it, and submits everything through the service, asserting acceptance.
The compliance scenarios then judge lots through the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpers import (
    World,
    envelope_bytes,
    extraction,
    facility,
    key_for,
    participant,
    receipt,
    shipment,
    transformation,
)

ISSUED = "2026-05-01T00:00:00Z"


@dataclass
class Scenario:
    world: World
    orgs: set[str] = field(default_factory=set)
    facilities: dict[str, str] = field(default_factory=dict)  # facility slug -> operator slug
    holder: dict[str, str] = field(default_factory=dict)  # lot -> facility slug
    mass: dict[str, Any] = field(default_factory=dict)
    shipments: int = 0

    def org(
        self,
        slug: str,
        country: str,
        control: list[dict[str, Any]] | None = None,
        *,
        issued_at: str = "2026-01-05T09:00:00Z",
    ) -> None:
        record = participant(slug, country=country, control=control, issued_at=issued_at)
        self._accept(self.world.register([record]))
        self.orgs.add(slug)

    def site(self, slug: str, operator: str, country: str, stages: list[str]) -> None:
        self._accept(self.world.register([facility(slug, operator, stages, country=country)]))
        self.facilities[slug] = operator

    def mine(self, site: str, lot: str, material: str, kg: Any, *, source: str = "mined") -> str:
        operator = self.facilities[site]
        lot_id = f"lot:{operator}/{lot}"
        record = extraction(
            operator, site, [(lot_id, material, kg)], issued_at=ISSUED, source=source
        )
        self._submit(record, operator)
        self.holder[lot_id], self.mass[lot_id] = site, kg
        return lot_id

    def make(
        self,
        site: str,
        stage: str,
        inputs: list[tuple[str, Any]],
        outputs: list[tuple[str, str, Any]],
        *,
        untraced: list[dict[str, Any]] | None = None,
        on: str = "2026-03-02",
    ) -> list[str]:
        operator = self.facilities[site]
        for lot, _ in inputs:
            self.ship(lot, site)
        ids = [(f"lot:{operator}/{name}", material, kg) for name, material, kg in outputs]
        # Signed no earlier than the day it reports: an event dated after its issued_at is
        # rejected (issue 11 item 9, ADR 0021).
        issued = max(ISSUED, f"{on}T12:00:00Z")
        record = transformation(
            operator, site, stage, inputs, ids, untraced=untraced, issued_at=issued
        )
        record["performed_on"] = on
        self._submit(record, operator)
        for lot_id, _, kg in ids:
            self.holder[lot_id], self.mass[lot_id] = site, kg
        return [lot_id for lot_id, _, _ in ids]

    def ship(self, lot: str, to: str, *, end_use: str | None = None, receive: bool = True) -> None:
        src = self.holder[lot]
        if src == to and end_use is None:
            return
        operator = self.facilities[src]
        self.shipments += 1
        ship_id = f"ship:{operator}/S-{self.shipments}"
        self._submit(
            shipment(operator, ship_id, src, to, [lot], issued_at=ISSUED, end_use=end_use),
            operator,
        )
        if receive:
            receiver = self.facilities[to]
            self._submit(
                receipt(receiver, ship_id, to, [(lot, self.mass[lot])], issued_at=ISSUED),
                receiver,
            )
        self.holder[lot] = to

    def _submit(self, record: dict[str, Any], signer: str) -> None:
        self._accept(self.world.submit([envelope_bytes(record, key_for(signer))]))

    @staticmethod
    def _accept(results: list[Any]) -> None:
        for result in results:
            assert result.accepted, result.error
