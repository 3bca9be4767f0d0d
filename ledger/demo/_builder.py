"""The machinery the story and the synthetic generator share: a builder of plans.

:class:`_Builder` writes registry records and events in causal order, checking what the
ledger would check, and turns them into a :class:`~ledger.demo._plan.Plan`. The helpers
here convert the masses and dates the chains are written in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledger.core.signing import Signer
from ledger.demo._plan import (
    AS_OF,
    KEY_VALID_FROM,
    LAST_DAY,
    REGISTRATION_DAY,
    Plan,
    _Journal,
)
from ledger.records.model import REGISTRAR

# The stages of the kinds of facility that both the story and the synthetic ledgers register.
_MINE = ("mining", "beneficiation")
_SEPARATOR = ("cracking_leaching", "separation", "metal_reduction")
_MAGNET_PLANT = ("metal_reduction", "alloy_melting", "powder_formation", "pressing", "sintering")
_TUNGSTEN_WORKS = ("apt_refining", "calcination", "reduction_to_powder", "consolidation_sintering")
_TANTALUM_WORKS = ("chemical_processing", "reduction_to_powder", "melting")
_TRADING = ("repack", "split", "blend")


def _holder(name: str, country: str, percent: int, *, government: bool = False) -> dict[str, Any]:
    return {"holder": name, "country": country, "percent": percent, "government": government}


def _record_mass(grams: int) -> int | Decimal:
    """A mass for a record: whole kilograms as ``int``, else an exact decimal."""
    if grams % 1000 == 0:
        return grams // 1000
    return Decimal(grams).scaleb(-3).normalize()


def _t(kg: float | int) -> int:
    """Kilograms (as written in the story) to grams."""
    return round(kg * 1000)


def _part(grams: int, percent: float) -> int:
    """``percent`` of ``grams``, in whole grams (never more than the percentage)."""
    return int(grams * Decimal(str(percent)) / 100)


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _days(day: date, n: int) -> date:
    return min(day + timedelta(days=n), LAST_DAY)


@dataclass(frozen=True, slots=True)
class _Site:
    operator: str
    country: str
    stages: frozenset[str]


@dataclass(slots=True)
class _Lot:
    material: str
    remaining: int
    holder: str | None
    """Facility slug holding the lot; ``None`` while in transit."""
    last: date
    """The day of the last event that touched the lot: later events may not be earlier."""


class _Registry(_Journal):
    """The registry records: participants (each with a key derived from the key label and
    its slug), their facilities, and key revocations, all signed by the registrar."""

    def __init__(self, key_label: str) -> None:
        super().__init__()
        self._key_label = key_label
        self.keys: dict[str, Signer] = {}
        self.sites: dict[str, _Site] = {}

    def participant(
        self,
        slug: str,
        *,
        name: str,
        country: str,
        roles: Sequence[str],
        control: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        seed = hashlib.sha256(f"bloc-demo:{self._key_label}:{slug}".encode()).digest()
        signer = Signer.from_seed(seed)
        self.keys[slug] = signer
        holders = (
            [dict(c) for c in control]
            if control is not None
            else [_holder("Private shareholders", country, 100)]
        )
        self._emit(
            REGISTRATION_DAY,
            {
                "kind": "participant",
                "schema_version": 1,
                "issued_at": None,
                "signer": REGISTRAR,
                "id": f"org:{slug}",
                "name": name,
                "country": country,
                "roles": list(roles),
                "control": holders,
                "keys": [
                    {
                        "keyid": signer.keyid,
                        "public_key": signer.public_key.to_base64(),
                        "valid_from": KEY_VALID_FROM,
                    }
                ],
            },
            None,
        )

    def facility(
        self,
        slug: str,
        *,
        operator: str,
        name: str,
        country: str,
        stages: Sequence[str],
        region: str | None = None,
    ) -> None:
        if operator not in self.keys:
            raise ValueError(f"facility {slug}: operator {operator} is not registered")
        record: dict[str, Any] = {
            "kind": "facility",
            "schema_version": 1,
            "issued_at": None,
            "signer": REGISTRAR,
            "id": f"fac:{slug}",
            "operator": f"org:{operator}",
            "name": name,
            "country": country,
        }
        if region is not None:
            record["region"] = region
        record["stages"] = list(stages)
        self.sites[slug] = _Site(operator=operator, country=country, stages=frozenset(stages))
        self._emit(REGISTRATION_DAY, record, None)

    def revoke(self, slug: str, *, since: date, day: date, reason: str) -> None:
        """The registrar revokes ``slug``'s key, compromised since the start of ``since``."""
        if self._last_signed.get(slug, REGISTRATION_DAY) > day:
            raise ValueError(f"org:{slug} signed after its revocation on {day}")
        self._emit(
            day,
            {
                "kind": "key_revocation",
                "schema_version": 1,
                "issued_at": None,
                "signer": REGISTRAR,
                "participant": f"org:{slug}",
                "keyid": self.keys[slug].keyid,
                "compromised_since": f"{since.isoformat()}T00:00:00Z",
                "reason": reason,
            },
            None,
        )
        self._revoked[slug] = day


class _Builder(_Registry):
    """Writes records in causal order, checking what the ledger would check.

    Every event is dated; :meth:`plan` puts the records in date order (ties in the order
    written) and gives each its ``issued_at`` on its day. That order is causal because
    every event on a lot is dated no earlier than the one before it, a receipt no earlier
    than its shipment, and a revocation no earlier than the records its key signed.
    A mistake in a plan raises ``ValueError`` here rather than becoming a rejection or an
    unintended finding.
    """

    def __init__(self, key_label: str) -> None:
        super().__init__(key_label)
        self.lots: dict[str, _Lot] = {}
        self._counters: dict[str, int] = {}

    def name(self, scope: str, prefix: str) -> str:
        """The next local name ``PREFIX-n`` in ``scope`` (an org slug)."""
        key = f"{scope}/{prefix}"
        n = self._counters.get(key, 0) + 1
        self._counters[key] = n
        return f"{prefix}-{n}"

    def _may(self, site: str, stage: str) -> _Site:
        facts = self.sites[site]
        if stage not in facts.stages:
            raise ValueError(f"fac:{site} is not registered for {stage}")
        return facts

    def _touch(self, lot_id: str, site: str, day: date) -> _Lot:
        lot = self.lots[lot_id]
        if lot.holder != site:
            raise ValueError(f"fac:{site} does not hold {lot_id} (held by {lot.holder})")
        if day < lot.last:
            raise ValueError(f"{lot_id}: event on {day} before its last event on {lot.last}")
        lot.last = day
        return lot

    def _new_lot(self, lot_id: str, material: str, grams: int, site: str, day: date) -> None:
        if lot_id in self.lots:
            raise ValueError(f"{lot_id} already exists")
        if grams <= 0:
            raise ValueError(f"{lot_id}: {grams} g")
        self.lots[lot_id] = _Lot(material=material, remaining=grams, holder=site, last=day)

    def extract(
        self,
        site: str,
        day: date,
        lots: Sequence[tuple[str, str, int]],
        *,
        source: str = "mined",
    ) -> list[str]:
        """New lots ``(local name, material, grams)`` extracted at ``site``."""
        facts = self._may(site, "mining" if source == "mined" else "scrap_collection")
        ids = []
        for local, material, grams in lots:
            lot_id = f"lot:{facts.operator}/{local}"
            self._new_lot(lot_id, material, grams, site, day)
            ids.append(lot_id)
        self._emit(
            day,
            {
                "kind": "extraction",
                "schema_version": 1,
                "issued_at": None,
                "signer": f"org:{facts.operator}",
                "facility": f"fac:{site}",
                "extracted_on": day.isoformat(),
                "source": source,
                "lots": [
                    {"id": lot_id, "material": material, "mass_kg": _record_mass(grams)}
                    for lot_id, (_, material, grams) in zip(ids, lots, strict=True)
                ],
            },
            facts.operator,
        )
        return ids

    def make(
        self,
        site: str,
        stage: str,
        day: date,
        inputs: Sequence[str | tuple[str, int]],
        outputs: Sequence[tuple[str, str, int]],
        *,
        untraced: Sequence[tuple[str, int, str | None]] = (),
        phantom: bool = False,
    ) -> list[str]:
        """One transformation at ``site``: ``inputs`` are lots (consumed whole) or ``(lot,
        grams)``; ``outputs`` are ``(local name, material, grams)``; ``untraced`` are
        ``(material, grams, declared origin)``. Outputs may exceed the inputs only when
        ``phantom`` says the plan means it."""
        facts = self._may(site, stage)
        consumed: list[tuple[str, int]] = []
        for item in inputs:
            lot_id, grams = (item, self.lots[item].remaining) if isinstance(item, str) else item
            lot = self._touch(lot_id, site, day)
            if not 0 < grams <= lot.remaining:
                raise ValueError(f"{lot_id}: {grams} g asked, {lot.remaining} g left")
            lot.remaining -= grams
            consumed.append((lot_id, grams))
        total_in = sum(g for _, g in consumed) + sum(g for _, g, _ in untraced)
        total_out = sum(g for _, _, g in outputs)
        if total_out > total_in and not phantom:
            raise ValueError(f"{stage} at fac:{site} on {day}: {total_out} g out of {total_in} g")
        ids = []
        for local, material, grams in outputs:
            lot_id = f"lot:{facts.operator}/{local}"
            self._new_lot(lot_id, material, grams, site, day)
            ids.append(lot_id)
        self._emit(
            day,
            {
                "kind": "transformation",
                "schema_version": 1,
                "issued_at": None,
                "signer": f"org:{facts.operator}",
                "facility": f"fac:{site}",
                "stage": stage,
                "performed_on": day.isoformat(),
                "inputs": [{"lot": lot_id, "mass_kg": _record_mass(g)} for lot_id, g in consumed],
                "untraced_inputs": [
                    {"material": material, "mass_kg": _record_mass(g)}
                    | ({"declared_origin": origin} if origin else {})
                    for material, g, origin in untraced
                ],
                "outputs": [
                    {"id": lot_id, "material": material, "mass_kg": _record_mass(g)}
                    for lot_id, (_, material, g) in zip(ids, outputs, strict=True)
                ],
            },
            facts.operator,
        )
        return ids

    def ship(
        self,
        lots: Sequence[str],
        to: str,
        day: date,
        *,
        arrive: date | None,
        end_use: str | None = None,
        contract: str | None = None,
        documents: Sequence[str] = (),
        local: str | None = None,
        loss_permille: int = 0,
    ) -> str:
        """Ship whole lots from the facility that holds them to ``to``; received on
        ``arrive`` (``None``: never), measured ``loss_permille`` lighter (at most 4‰)."""
        source = self.holder(lots[0])
        if source == to:
            raise ValueError(f"{lots[0]} is already at fac:{to}")
        operator = self.sites[source].operator
        ship_id = f"ship:{operator}/{local or self.name(operator, 'S')}"
        for lot_id in lots:
            lot = self._touch(lot_id, source, day)
            if lot.remaining <= 0:
                raise ValueError(f"{lot_id} is used up")
            lot.holder = None
        record: dict[str, Any] = {
            "kind": "shipment",
            "schema_version": 1,
            "issued_at": None,
            "signer": f"org:{operator}",
            "id": ship_id,
            "from_facility": f"fac:{source}",
            "to_facility": f"fac:{to}",
            "shipped_on": day.isoformat(),
            "lots": list(lots),
        }
        if end_use is not None:
            record["end_use"] = end_use
        if contract is not None:
            record["contract"] = contract
        if documents:
            record["documents"] = [
                {"type": kind, "sha256": hashlib.sha256(f"{ship_id} {kind}".encode()).hexdigest()}
                for kind in documents
            ]
        self._emit(day, record, operator)
        if arrive is not None:
            self._receive(ship_id, lots, to, arrive, shipped=day, loss_permille=loss_permille)
        return ship_id

    def _receive(
        self,
        ship_id: str,
        lots: Sequence[str],
        site: str,
        day: date,
        *,
        shipped: date,
        loss_permille: int,
    ) -> None:
        if day < shipped or not 0 <= loss_permille <= 4:
            raise ValueError(f"{ship_id}: received {day}, loss {loss_permille}‰")
        operator = self.sites[site].operator
        amounts = []
        for lot_id in lots:
            lot = self.lots[lot_id]
            lot.remaining -= lot.remaining * loss_permille // 1000
            lot.holder, lot.last = site, day
            amounts.append({"lot": lot_id, "mass_kg": _record_mass(lot.remaining)})
        self._emit(
            day,
            {
                "kind": "receipt",
                "schema_version": 1,
                "issued_at": None,
                "signer": f"org:{operator}",
                "shipment": ship_id,
                "facility": f"fac:{site}",
                "received_on": day.isoformat(),
                "lots": amounts,
            },
            operator,
        )

    def holder(self, lot_id: str) -> str:
        """The facility holding the lot."""
        holder = self.lots[lot_id].holder
        if holder is None:
            raise ValueError(f"{lot_id} is in transit")
        return holder

    def remaining(self, lot_id: str) -> int:
        return self.lots[lot_id].remaining

    def ready(self, lots: Sequence[str]) -> date:
        """The first day every one of ``lots`` may be acted on."""
        return max(self.lots[lot].last for lot in lots)

    def plan(self, highlights: Mapping[str, str]) -> Plan:
        """The records in date order, each with its ``issued_at`` (06:00 UTC on, spaced)."""
        items = self._items()
        for lot in highlights:
            if lot not in self.lots:
                raise ValueError(f"highlighted {lot} is not in the plan")
        return Plan(items=items, keys=dict(self.keys), highlights=dict(highlights), as_of=AS_OF)
