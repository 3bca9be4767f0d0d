"""The demo ledger generator: a realistic sample ledger, and large synthetic ones, as plans.

:func:`story` is the sample ``bloc demo`` builds: twenty-two named (fictional) companies in
twelve countries, about three hundred records, clean chains and a handful of deliberate
problems, each reaching a US defense buyer. :func:`synthetic` builds ledgers of any size
shaped like real chains (fan-in at separators and magnet makers, five to eight stages deep,
blends and splits, some chains through covered countries, a few problems at a low rate),
for tests and benchmarks. Both return a :class:`Plan`: every record in submission order
with the participant whose key signs it, the keys, the lots worth looking at and the date
to check at. :func:`envelopes` signs a plan.

Guarantees:

- pure and deterministic: no clock, no global random state, no I/O; the same arguments
  give the same records, keys and envelope bytes;
- submitted in order to an empty ledger whose registrar signs the registry records, every
  record is accepted (registrations first; a lot is created, shipped and received before
  the facility that processes it acts on it; a revocation comes after what it taints);
- every ``issued_at`` and every event date lies between 2025-01-02 and 2026-10-31, and the
  log is in date order;
- the only integrity findings are the intended ones: ``mass-balance`` (phantom repacks),
  ``revoked-key`` (records signed with a stolen key) and ``not-received`` (shipments that
  never arrived).

Masses in the records are ``int`` or :class:`~decimal.Decimal` kilograms (never binary
floats): serialise a record with :func:`ledger.core.codec.canonical_json`.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.core.signing import Signer
from ledger.records.authoring import prepare_record, seal
from ledger.records.envelope import sign_envelope
from ledger.records.model import REGISTRAR

AS_OF = date(2027, 2, 1)
"""The date the demo checks at: DFARS window B (the whole chain from mining counts)."""

REGISTRATION_DAY = date(2025, 1, 2)
"""Every participant and facility is registered on this day."""

FIRST_EVENT_DAY = date(2025, 1, 6)
LAST_DAY = date(2026, 10, 31)
"""No record is issued, and nothing happens, after this day."""

KEY_VALID_FROM = "2024-12-01T00:00:00Z"

_DAY_START_SECONDS = 6 * 3600
_DAY_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One record to sign and submit."""

    record: dict[str, Any]
    """The record JSON object as ``bloc sign`` takes it, ``issued_at`` filled in."""
    signer: str | None
    """The slug of the participant whose key signs it; ``None``: the registrar."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A ledger to build: records in submission order, the keys that sign them."""

    items: tuple[Item, ...]
    keys: Mapping[str, Signer]
    """Participant slug → its signing key (derived from the seed)."""
    highlights: Mapping[str, str]
    """Lot id → one line on what the lot demonstrates."""
    as_of: date
    """The date to check at."""


def envelopes(plan: Plan, registrar: Signer) -> Iterator[bytes]:
    """The DSSE envelope bytes of every item, in plan order.

    Registry records are signed with ``registrar`` (after the same validation ``bloc
    register`` applies); the others with their participant's key from ``plan.keys``.
    """
    for item in plan.items:
        payload = _record_bytes(item.record)
        if item.signer is None:
            prepared, record = prepare_record(payload, now=_LAST_INSTANT)
            yield seal(prepared, record, registrar).canonical_bytes()
        else:
            yield sign_envelope(payload, [plan.keys[item.signer]]).canonical_bytes()


_LAST_INSTANT = datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, 23, 59, 59, tzinfo=UTC)

_DECIMAL_MASS = re.compile(r'"mass_kg":"([0-9]+\.[0-9]+)"')


def _record_bytes(record: Mapping[str, Any]) -> bytes:
    """``canonical_json(record)`` for a plan's records, about five times faster.

    The standard library's C encoder writes everything but the decimal masses, which it
    writes as strings; those are then unquoted. A quoted ``"mass_kg":"`` can only be a key
    and its value (a quote inside a string value is escaped), and a plan's decimal masses
    are normalised (:func:`_kg`), so the bytes are exactly the canonical ones.
    """
    text = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_decimal_text
    )
    return _DECIMAL_MASS.sub(r'"mass_kg":\1', text).encode("utf-8")


def _decimal_text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a record value")


# -- the builder -------------------------------------------------------------------------


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


class _Builder:
    """Writes records in causal order, checking what the ledger would check.

    Every event is dated; :meth:`plan` puts the records in date order (ties in the order
    written) and gives each its ``issued_at`` on its day. That order is causal because
    every event on a lot is dated no earlier than the one before it, a receipt no earlier
    than its shipment, and a revocation no earlier than the records its key signed.
    A mistake in a plan raises ``ValueError`` here rather than becoming a rejection or an
    unintended finding.
    """

    def __init__(self, key_label: str) -> None:
        self._key_label = key_label
        self._entries: list[tuple[date, int, dict[str, Any], str | None]] = []
        self.keys: dict[str, Signer] = {}
        self.sites: dict[str, _Site] = {}
        self.lots: dict[str, _Lot] = {}
        self._counters: dict[str, int] = {}
        self._revoked: dict[str, date] = {}
        self._last_signed: dict[str, date] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _emit(self, day: date, record: dict[str, Any], signer: str | None) -> None:
        if not REGISTRATION_DAY <= day <= LAST_DAY:
            raise ValueError(f"{record['kind']} dated {day}, outside the demo's dates")
        if signer is not None:
            revoked = self._revoked.get(signer)
            if revoked is not None and day >= revoked:
                raise ValueError(f"org:{signer} signs on {day}, after its key was revoked")
            if day > self._last_signed.get(signer, REGISTRATION_DAY):
                self._last_signed[signer] = day
        self._entries.append((day, len(self._entries), record, signer))

    def name(self, scope: str, prefix: str) -> str:
        """The next local name ``PREFIX-n`` in ``scope`` (an org slug)."""
        key = f"{scope}/{prefix}"
        n = self._counters.get(key, 0) + 1
        self._counters[key] = n
        return f"{prefix}-{n}"

    # registry

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

    # events

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
        entries = sorted(self._entries, key=lambda entry: (entry[0], entry[1]))
        items: list[Item] = []
        start = 0
        while start < len(entries):
            day = entries[start][0]
            end = start
            while end < len(entries) and entries[end][0] == day:
                end += 1
            count = end - start
            step = min(60, (_DAY_SECONDS - _DAY_START_SECONDS) // count)
            if step < 1:
                raise ValueError(f"{count} records on {day}: more than one a second")
            stem = day.isoformat()
            for i in range(count):
                _, _, record, signer = entries[start + i]
                seconds = _DAY_START_SECONDS + i * step
                hours, rest = divmod(seconds, 3600)
                record["issued_at"] = f"{stem}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"
                items.append(Item(record=record, signer=signer))
            start = end
        for lot in highlights:
            if lot not in self.lots:
                raise ValueError(f"highlighted {lot} is not in the plan")
        return Plan(
            items=tuple(items), keys=dict(self.keys), highlights=dict(highlights), as_of=AS_OF
        )


def _d(text: str) -> date:
    return date.fromisoformat(text)


def _days(day: date, n: int) -> date:
    return min(day + timedelta(days=n), LAST_DAY)


# -- the story ----------------------------------------------------------------------------


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

_MINE = ("mining", "beneficiation")
_SEPARATOR = ("cracking_leaching", "separation", "metal_reduction")
_MAGNET_PLANT = ("metal_reduction", "alloy_melting", "powder_formation", "pressing", "sintering")
_TUNGSTEN_WORKS = ("apt_refining", "calcination", "reduction_to_powder", "consolidation_sintering")
_TANTALUM_WORKS = ("chemical_processing", "reduction_to_powder", "melting")
_TRADING = ("repack", "split", "blend")

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
    ("mesabi-hibbing", "US-MN", "Hibbing iron mine", ("mining",)),
    ("searles-trona", "US-CA", "Trona borate works", ("mining",)),
    ("kambalda-mine", "AU-WA", "Kambalda nickel operations", ("mining",)),
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
    """The sample ledger's chains, written in the order they happened."""

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

    def rare_earths(self) -> None:
        b, hl = self.b, self.highlights
        # Australia → Malaysia → Japan: clean under DFARS, but Malaysia is not in the bloc.
        for tag, start in (("2502", "2025-01-20"), ("2508", "2025-07-07"), ("2603", "2026-02-02")):
            (oxide,) = self.rare_earth_campaign(
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
            magnets = self.magnet_heat(
                "echizen-takefu",
                _days(shipped, 14),
                [oxide],
                tag=f"E{tag}",
                magnets=((f"MAG-E{tag}-A", 60), (f"MAG-E{tag}-B", 40)),
            )
            self.deliver(magnets[0], "aegis-huntsville", _days(b.ready(magnets), 5))
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

        # United States → Estonia → Germany: the clean chain, and the Estonian magnet maker
        # that a Chinese state group holds 30% of.
        clean = self.rare_earth_campaign(
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
        rhein = self.magnet_heat(
            "rhein-hanau",
            _days(shipped, 8),
            [clean[0]],
            tag="R2504",
            magnets=(("MAG-R2504-A", 70), ("MAG-R2504-B", 30)),
        )
        self.deliver(rhein[0], "aegis-huntsville", _days(b.ready(rhein), 4))
        self.deliver(rhein[1], "aegis-huntsville", _days(b.ready(rhein), 9))
        hl[rhein[0]] = (
            "US ore separated in Estonia, magnets made in Germany with traced US iron and "
            "boron: passes DFARS and bloc-2026"
        )
        narva = self.magnet_heat(
            "narva-plant",
            _days(shipped, 12),
            [clean[1]],
            tag="N2504",
            magnets=(("MAG-N2504-A", 100),),
        )
        self.deliver(narva[0], "aegis-huntsville", _days(b.ready(narva), 6))
        hl[narva[0]] = (
            "magnets from an Estonian maker 30% held by a Chinese state group: passes DFARS "
            "(it judges location only); fails bloc-2026 (entity control)"
        )

        # China: a commercial chain, and the oxide behind the two frauds.
        (cn_oxide,) = self.rare_earth_campaign(
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
        ningbo = self.magnet_heat(
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

        second = self.rare_earth_campaign(
            mine="mojave-mountain-pass",
            separator="baltic-sillamae",
            start=_d("2025-09-01"),
            parcels=(19_000, 17_500, 20_000),
            tag="2510",
            transit=30,
            oxides=(("BRE-NDPR-2510-1", 60), ("BRE-NDPR-2510-2", 40)),
        )
        cn_lots = self.rare_earth_campaign(
            mine="baotou-bayan-obo",
            separator="baotou-separation",
            start=_d("2025-11-03"),
            parcels=(26_000, 25_000),
            tag="2512",
            transit=3,
            oxides=(("BT-NDPR-2512-1", 96.5), ("BT-NDPR-2512-2", 3.5)),
        )
        # The transshipment: Chinese oxide to a Mexican trader, repacked under a new lot id
        # and sold on to Japan with a Mexican certificate of origin.
        shipped = _days(b.ready(cn_lots), 3)
        b.ship([cn_lots[0]], "pacifico-manzanillo", shipped, arrive=_days(shipped, 24))
        arrived = b.ready([cn_lots[0]])
        (relabelled,) = b.make(
            "pacifico-manzanillo",
            "repack",
            _days(arrived, 6),
            [cn_lots[0]],
            [("PAC-OX-2512", "ndpr_oxide", b.remaining(cn_lots[0]))],
        )
        shipped = _days(b.ready([relabelled]), 4)
        b.ship(
            [relabelled],
            "echizen-takefu",
            shipped,
            arrive=_days(shipped, 19),
            documents=("bill_of_lading", "certificate_of_origin"),
        )
        laundered = self.magnet_heat(
            "echizen-takefu",
            _days(b.ready([relabelled]), 5),
            [relabelled],
            tag="E2602X",
            magnets=(("MAG-E2602X", 100),),
        )
        self.deliver(laundered[0], "aegis-huntsville", _days(b.ready(laundered), 5))
        hl[laundered[0]] = (
            "transshipment: Chinese-separated NdPr oxide repacked under a new lot id by a "
            "Mexican trader, magnets made in Japan: passes DFARS window A, fails window B "
            "(separated in CN) and bloc-2026"
        )

        # The commingled heat: 95% Estonian-separated oxide, 5% Chinese.
        shipped = _days(b.ready([*second, cn_lots[1]]), 2)
        b.ship([second[0]], "rhein-hanau", shipped, arrive=_days(shipped, 5))
        b.ship([cn_lots[1]], "rhein-hanau", shipped, arrive=_days(shipped, 30))
        b.ship([second[1]], "narva-plant", shipped, arrive=_days(shipped, 1))
        topped_up = self.magnet_heat(
            "rhein-hanau",
            _days(b.ready([second[0], cn_lots[1]]), 4),
            [second[0], cn_lots[1]],
            tag="R2601",
            magnets=(("MAG-R2601", 100),),
        )
        self.deliver(topped_up[0], "aegis-huntsville", _days(b.ready(topped_up), 4))
        hl[topped_up[0]] = (
            "commingled heat: 95% Estonian-separated oxide topped up with 5% Chinese: fails "
            "DFARS and bloc-2026 (no de minimis)"
        )
        narva = self.magnet_heat(
            "narva-plant",
            _days(b.ready([second[1]]), 10),
            [second[1]],
            tag="N2512",
            magnets=(("MAG-N2512", 100),),
        )
        self.deliver(narva[0], "aegis-huntsville", _days(b.ready(narva), 6))

        # The last Estonian batch: part repacked with phantom mass in Mexico, part lost.
        (late,) = self.rare_earth_campaign(
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
        batch = self.magnet_heat(
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
        self.deliver(padded, "aegis-huntsville", _days(b.ready([padded]), 3))
        hl[padded] = (
            "phantom-mass repack: German magnets repacked by the Mexican trader into 8% more "
            "than it received: mass-balance finding; inconclusive under both policies"
        )
        self.deliver(batch[1], "aegis-huntsville", _d("2026-10-12"), received=False)
        hl[batch[1]] = (
            "clean German magnets shipped for defense on 2026-10-12 and never received: "
            "not-received finding as of the check date (the verdicts still pass)"
        )

    # tungsten

    def tungsten(self) -> None:
        b, hl = self.b, self.highlights

        def concentrate(site: str, day: str, name: str, kg: int) -> str:
            return b.extract(site, _d(day), [(name, "tungsten_concentrate", _t(kg))])[0]

        def heavy_alloy(powder: str, day: date, tag: str) -> str:
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

        def powder_from(lots: Sequence[str], site: str, day: date, tag: str) -> str:
            total = sum(b.remaining(lot) for lot in lots)
            (apt,) = b.make(
                site, "apt_refining", day, lots, [(f"APT-{tag}", "apt", _part(total, 62))]
            )
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

        # Portugal → Korea: clean under both policies.
        ores = [
            concentrate("beira-panasqueira", "2025-02-10", "PAN-2502", 9_000),
            concentrate("beira-panasqueira", "2025-03-10", "PAN-2503", 8_500),
        ]
        b.ship(ores, "hanbit-yeongwol", _d("2025-03-14"), arrive=_d("2025-04-21"))
        powder = powder_from(ores, "hanbit-yeongwol", _d("2025-04-24"), "T2505")
        alloy = heavy_alloy(powder, _days(b.ready([powder]), 5), "T2505")
        self.deliver(alloy, "redstone-mesa", _days(b.ready([alloy]), 6))
        hl[alloy] = (
            "Portuguese tungsten refined and alloyed in Korea with traced nickel and iron: "
            "passes DFARS and bloc-2026"
        )

        # Rwanda and Portugal → Vietnam → Korea: no covered country, but two outside the bloc.
        rw = [
            concentrate("gatumba-nyakabingo", "2025-05-05", "NYA-2505", 6_000),
            concentrate("gatumba-nyakabingo", "2025-06-02", "NYA-2506", 5_500),
        ]
        b.ship(rw, "thainguyen-refinery", _d("2025-06-06"), arrive=_d("2025-07-18"))
        pt = concentrate("beira-panasqueira", "2025-06-09", "PAN-2506", 7_800)
        b.ship([pt], "thainguyen-refinery", _d("2025-06-12"), arrive=_d("2025-07-22"))
        powder = powder_from([*rw, pt], "thainguyen-refinery", _d("2025-07-28"), "T2508")
        self.deliver(powder, "redstone-mesa", _days(b.ready([powder]), 7))
        hl[powder] = (
            "tungsten mined in Rwanda and Portugal, refined to APT in Vietnam, powder made in "
            "Korea: passes DFARS (no covered country); fails bloc-2026 (RW, VN outside the bloc)"
        )

        # Beira's signing key is stolen on 2026-06-01; the thief registers a parcel that was
        # never mined and ships it to Korea, where it is refined with two honest ones.
        honest = [
            concentrate("beira-panasqueira", "2026-04-13", "PAN-2604", 8_200),
            concentrate("beira-panasqueira", "2026-05-11", "PAN-2605", 8_000),
        ]
        b.ship(honest, "hanbit-yeongwol", _d("2026-05-18"), arrive=_d("2026-06-22"))
        fake = concentrate("beira-panasqueira", "2026-06-08", "PAN-2606", 9_500)
        b.ship([fake], "hanbit-yeongwol", _d("2026-06-12"), arrive=_d("2026-07-17"))
        powder = powder_from([*honest, fake], "hanbit-yeongwol", _d("2026-07-20"), "T2608")
        alloy = heavy_alloy(powder, _days(b.ready([powder]), 4), "T2608")
        self.deliver(alloy, "redstone-mesa", _days(b.ready([alloy]), 5))
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

    # tantalum

    def tantalum(self) -> None:
        b, hl = self.b, self.highlights

        def concentrate(site: str, day: str, name: str, kg: int) -> str:
            return b.extract(site, _d(day), [(name, "tantalum_concentrate", _t(kg))])[0]

        def process(lots: Sequence[str], day: date, tag: str) -> str:
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

        # Australia → Germany: clean under both policies.
        ores = [
            concentrate("pilbara-wodgina", "2025-03-03", "WOD-2503-1", 3_000),
            concentrate("pilbara-wodgina", "2025-03-17", "WOD-2503-2", 2_800),
        ]
        b.ship(ores, "harz-goslar", _d("2025-03-20"), arrive=_d("2025-05-02"))
        powder = process(ores, _d("2025-05-06"), "TA2505")
        self.deliver(powder, "liberty-greenville", _days(b.ready([powder]), 5))
        hl[powder] = (
            "Australian tantalum processed into capacitor-grade powder in Germany: passes "
            "DFARS and bloc-2026"
        )

        # Rwandan coltan with Australian, melted into ingot in Germany.
        rw = concentrate("gatumba-coltan", "2025-11-03", "GAT-2511", 2_500)
        b.ship([rw], "harz-goslar", _d("2025-11-07"), arrive=_d("2025-12-19"))
        au = concentrate("pilbara-wodgina", "2025-11-10", "WOD-2511", 3_000)
        b.ship([au], "harz-goslar", _d("2025-11-14"), arrive=_d("2025-12-22"))
        powder = process([rw, au], _d("2026-01-08"), "TA2601")
        (ingot,) = b.make(
            "harz-goslar",
            "melting",
            _days(b.ready([powder]), 6),
            [powder],
            [("TAM-TA2601", "tantalum_metal", _part(b.remaining(powder), 96))],
        )
        self.deliver(ingot, "liberty-greenville", _days(b.ready([ingot]), 5))
        hl[ingot] = (
            "tantalum ingot from Rwandan and Australian coltan, processed in Germany: passes "
            "DFARS; fails bloc-2026 (mined in Rwanda, outside the bloc)"
        )


def story(*, seed: int = 2026) -> Plan:
    """The sample ledger ``bloc demo`` builds (the seed only chooses the keys).

    Twenty-two companies in twelve countries; rare-earth chains from Australia, the US and
    China through separators in Malaysia, Estonia and China to magnet makers in Japan,
    Germany, Estonia and China; tungsten from Rwanda and Portugal through Vietnam and Korea;
    tantalum from Australia and Rwanda through Germany; a Mexican trader; three US defense
    contractors. Deliberate problems, each delivered for defense: a transshipment through
    Mexico with relabelling, a commingled heat with 5% Chinese oxide, a phantom-mass
    repack, a stolen and revoked key, a shipment never received, and an operator a
    Chinese state group holds 30% of. ``highlights`` names the lots that show each one,
    and the clean lots.
    """
    chains = _Story(seed)
    chains.rare_earths()
    chains.tungsten()
    chains.tantalum()
    return chains.b.plan(chains.highlights)


# -- synthetic ledgers --------------------------------------------------------------------

_RE_MINES = {"remine-au": "AU", "remine-us": "US", "remine-cn": "CN"}
_SEPARATORS = {"sep-my": "MY", "sep-ee": "EE", "sep-us": "US", "sep-cn": "CN"}
_MAKERS = {"mag-jp": "JP", "mag-de": "DE", "mag-us": "US", "mag-kr": "KR", "mag-cn": "CN"}
_W_MINES = {"wmine-rw": "RW", "wmine-pt": "PT", "wmine-cn": "CN"}
_W_REFINERS = {"wref-vn": "VN", "wref-kr": "KR", "wref-cn": "CN"}
_TA_MINES = {"tamine-au": "AU", "tamine-rw": "RW"}
_TA_PROCESSORS = {"taproc-de": "DE", "taproc-cn": "CN"}
_FIXED: Mapping[str, tuple[str, tuple[str, ...], str]] = {
    "iron-us": ("US", ("mining",), "miner"),
    "boron-us": ("US", ("mining",), "miner"),
    "nickel-au": ("AU", ("mining",), "miner"),
    "trader-mx": ("MX", _TRADING, "trader"),
    "broker-mx": ("MX", _TRADING, "trader"),
    "wpow-us": ("US", _TUNGSTEN_WORKS[2:], "manufacturer"),
    "def-us-1": ("US", ("assembly",), "defense_contractor"),
    "def-us-2": ("US", ("assembly",), "defense_contractor"),
    "def-us-3": ("US", ("assembly",), "defense_contractor"),
    "com-us": ("US", ("assembly",), "manufacturer"),
}
_FEEDERS = {
    "sep-my": ("remine-au",),
    "sep-ee": ("remine-us", "remine-au"),
    "sep-us": ("remine-us",),
    "sep-cn": ("remine-cn",),
}
_SOURCES = {
    "mag-jp": ("sep-my", "sep-ee"),
    "mag-de": ("sep-ee", "sep-us"),
    "mag-us": ("sep-us",),
    "mag-kr": ("sep-ee", "sep-my"),
    "mag-cn": ("sep-cn",),
}
_W_FEEDERS = {
    "wref-vn": ("wmine-rw", "wmine-pt"),
    "wref-kr": ("wmine-pt",),
    "wref-cn": ("wmine-cn",),
}
_TA_FEEDERS = {"taproc-de": ("tamine-au", "tamine-rw"), "taproc-cn": ("tamine-rw",)}
_DEFENSE = ("def-us-1", "def-us-2", "def-us-3")

_PHANTOM_RATE = 0.12
"""Share of trader repacks that add mass out of nothing."""
_UNRECEIVED_RATE = 0.01
_LEAK_RATE = 0.04
"""Share of bloc-country heats that take Chinese oxide relabelled by a trader."""
_TRADER_RATE = 0.10
_BROKER_SHARE = 0.4
"""Share of trader routes through the broker whose key is stolen late in the timeline."""

_SPAN_START = date(2025, 3, 1)
_SPAN_END = date(2026, 8, 31)
_COMPROMISED = date(2026, 5, 1)

_DEEP_FROM = 20_000
"""Ledgers at least this large hold one deep heat (the evidence benchmark's lot)."""
_DEEP_FAN_IN = 100
"""Oxide lots melted into the deep heat: with their separations, about 500 upstream records."""

_RESERVE_BIG = 120
"""More records than any magnet heat writes (with the separations it triggers)."""
_RESERVE_SMALL = 30
"""More records than any tungsten or tantalum chain writes."""


class _Synthetic:
    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.rng = random.Random(seed)  # noqa: S311 - reproducible shapes, not secrets
        self.b = _Builder(f"synthetic:{seed}")
        self.copies = 1 + max(0, int(math.log10(max(size, 1) / 2000)))
        self.instances: dict[str, list[str]] = {}
        self.pools: dict[str, list[str]] = {}
        self.notes: dict[str, tuple[str, str]] = {}
        """Problem → the first lot that shows it, and a line about it (the highlights)."""
        self._register()

    # registry

    def _register(self) -> None:
        groups: list[tuple[Mapping[str, str], tuple[str, ...], str]] = [
            (_RE_MINES, _MINE, "miner"),
            (_SEPARATORS, _SEPARATOR, "processor"),
            (_MAKERS, (*_MAGNET_PLANT, "coating"), "manufacturer"),
            (_W_MINES, _MINE, "miner"),
            (_W_REFINERS, _TUNGSTEN_WORKS, "processor"),
            (_TA_MINES, _MINE, "miner"),
            (_TA_PROCESSORS, _TANTALUM_WORKS, "processor"),
        ]
        for kinds, stages, role in groups:
            for kind, country in kinds.items():
                for n in range(1, self.copies + 1):
                    self._site(f"{kind}-{n}", kind, country, stages, role)
        for kind, (country, stages, role) in _FIXED.items():
            self._site(kind, kind, country, stages, role)

    def _site(self, slug: str, kind: str, country: str, stages: Sequence[str], role: str) -> None:
        control = None
        if kind == "mag-kr":  # a bloc-country maker a Chinese state group holds 30% of
            control = [
                _holder("State-owned rare earth group", "CN", 30, government=True),
                _holder("Private shareholders", country, 70),
            ]
        self.b.participant(
            slug, name=f"{slug} ({country})", country=country, roles=(role,), control=control
        )
        self.b.facility(slug, operator=slug, name=f"{slug} site", country=country, stages=stages)
        self.instances.setdefault(kind, []).append(slug)

    def note(self, problem: str, lot: str, text: str) -> None:
        self.notes.setdefault(problem, (lot, text))

    def pick(self, kind: str) -> str:
        return self.rng.choice(self.instances[kind])

    def day(self) -> date:
        """Where the timeline is: proportional to the records written so far."""
        span = (_SPAN_END - _SPAN_START).days
        return _SPAN_START + timedelta(days=span * len(self.b) // max(self.size, 1))

    # building blocks

    def ship(
        self,
        lots: Sequence[str],
        to: str,
        day: date,
        *,
        end_use: str | None = None,
        final: bool = False,
    ) -> date:
        """Ship lots and return when they arrive (a final delivery may never arrive)."""
        arrive = _days(day, self.rng.randint(3, 30))
        lost = final and self.rng.random() < _UNRECEIVED_RATE
        self.b.ship(lots, to, day, arrive=None if lost else arrive, end_use=end_use)
        if lost:
            self.note(
                "not-received",
                lots[0],
                f"shipped to fac:{to} on {day} and never "
                "received: not-received finding as of the check date",
            )
        return arrive

    def make(
        self,
        site: str,
        stage: str,
        day: date,
        inputs: Sequence[str],
        material: str,
        percent: float,
        *,
        outputs: int = 1,
        extra: Sequence[str | tuple[str, int]] = (),
        untraced: Sequence[tuple[str, int, str | None]] = (),
    ) -> list[str]:
        """A transformation consuming ``inputs`` whole (plus ``extra``), making ``outputs``
        lots of ``material`` that together weigh ``percent`` of the traced inputs."""
        b = self.b
        total = sum(b.remaining(lot) for lot in inputs)
        made = _part(total, percent)
        shares = [self.rng.randint(2, 5) for _ in range(outputs)]
        grams = [made * s // sum(shares) for s in shares]
        prefix = _PREFIX[material]
        operator = b.sites[site].operator
        return b.make(
            site,
            stage,
            day,
            [*inputs, *extra],
            [(b.name(operator, prefix), material, g) for g in grams if g > 0],
            untraced=untraced,
        )

    def via_trader(
        self, lots: Sequence[str], to: str, day: date, *, end_use: str | None
    ) -> tuple[list[str], date]:
        """Lots through a Mexican trader (blended, repacked or split there) on to ``to``."""
        b, rng = self.b, self.rng
        trader = "broker-mx" if rng.random() < _BROKER_SHARE else "trader-mx"
        arrive = self.ship(lots, trader, day)
        day = _days(arrive, rng.randint(1, 6))
        total = sum(b.remaining(lot) for lot in lots)
        material = b.lots[lots[0]].material
        prefix = _PREFIX[material]
        if len(lots) > 1:
            out = b.make(trader, "blend", day, lots, [(b.name(trader, prefix), material, total)])
        elif rng.random() < _PHANTOM_RATE:
            gain = rng.choice((3, 5, 8, 12))
            out = b.make(
                trader,
                "repack",
                day,
                lots,
                [(b.name(trader, prefix), material, _part(total, 100 + gain))],
                phantom=True,
            )
            self.note(
                "mass-balance",
                out[0],
                f"repacked by org:{trader} into {gain}% more "
                "than it received: mass-balance finding",
            )
        elif rng.random() < 0.5 and total >= 2_000_000:
            half = total * rng.randint(30, 70) // 100
            out = b.make(
                trader,
                "split",
                day,
                lots,
                [
                    (b.name(trader, prefix), material, half),
                    (b.name(trader, prefix), material, total - half),
                ],
            )
        else:
            out = b.make(trader, "repack", day, lots, [(b.name(trader, prefix), material, total)])
        if trader == "broker-mx" and day >= _COMPROMISED:
            self.note(
                "revoked-key",
                out[0],
                f"made by org:{trader} with its key stolen "
                f"(compromised since {_COMPROMISED}, revoked on {LAST_DAY}): revoked-key "
                "finding",
            )
        shipped = _days(day, rng.randint(1, 5))
        arrivals = [
            self.ship([lot], to, shipped, end_use=end_use, final=end_use is not None) for lot in out
        ]
        return out, max(arrivals)

    def deliver(self, lots: Sequence[str], day: date, *, covered_origin: bool) -> None:
        """Finished lots to buyers: defense (sometimes through a trader) or commercial."""
        rng = self.rng
        for lot in lots:
            defense = rng.random() < (0.15 if covered_origin else 0.7)
            when = _days(day, rng.randint(1, 8))
            if defense and (covered_origin or rng.random() < _TRADER_RATE):
                self.via_trader([lot], rng.choice(_DEFENSE), when, end_use="defense")
            elif defense:
                self.ship([lot], rng.choice(_DEFENSE), when, end_use="defense", final=True)
            else:
                self.ship([lot], "com-us", when, end_use="commercial", final=True)

    # chains

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
        day = self.day()
        covered = kind == "mag-cn"
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
        day = _days(max(arrivals), rng.randint(1, 4))
        (metal,) = self.make(maker, "metal_reduction", day, inputs, "ndpr_metal", 84)
        metal_g = b.remaining(metal)
        melt = _days(day, rng.randint(2, 5))
        extra: list[str | tuple[str, int]] = []
        untraced: list[tuple[str, int, str | None]] = []
        if covered:
            untraced = [("iron", metal_g * 219 // 100, "CN"), ("boron", metal_g * 33 // 1000, "CN")]
        else:
            mined = max(FIRST_EVENT_DAY, melt - timedelta(days=40))
            for site, material, grams in (
                ("iron-us", "iron", metal_g * 219 // 100),
                ("boron-us", "boron", metal_g * 33 // 1000),
            ):
                (lot,) = b.extract(
                    site, mined, [(b.name(site, _PREFIX[material]), material, grams)]
                )
                b.ship([lot], maker, _days(mined, 1), arrive=_days(mined, 1 + rng.randint(5, 30)))
                melt = max(melt, b.ready([lot]))
                extra.append(lot)
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


_PREFIX = {
    "rare_earth_concentrate": "ORE",
    "mixed_rare_earth_carbonate": "MREC",
    "ndpr_oxide": "NDPR",
    "ndpr_metal": "MET",
    "ndfeb_alloy": "ALY",
    "ndfeb_powder": "PWD",
    "ndfeb_magnet": "MAG",
    "iron": "FE",
    "boron": "B",
    "nickel": "NI",
    "tungsten_concentrate": "WC",
    "apt": "APT",
    "tungsten_oxide": "WO3",
    "tungsten_powder": "WPD",
    "tungsten_heavy_alloy": "WHA",
    "tantalum_concentrate": "TAC",
    "k2taf7": "K2TAF7",
    "tantalum_powder": "TAP",
    "tantalum_metal": "TAM",
}


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
