"""Records as explicit, immutable domain objects.

:func:`decode_record` is the one way from payload bytes to a record: strict JSON, then the
JSON Schema (``record.schema.json``), then the invariants a schema cannot express (known
vocabulary terms, masses in whole grams, key ids that match their keys, no id listed twice,
dates that exist). Masses are integer grams; timestamps are aware UTC datetimes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, NewType

from ledger.core import schema
from ledger.core.codec import (
    MAX_PAYLOAD_BYTES,
    mass_to_grams,
    parse_day,
    parse_json,
    parse_timestamp,
)
from ledger.core.signing import KeyId, PublicKey
from ledger.core.vocabulary import did_you_mean, vocabulary
from ledger.errors import InputError

RecordId = NewType("RecordId", str)
"""Hex SHA-256 of a record's payload bytes."""
ParticipantId = NewType("ParticipantId", str)
FacilityId = NewType("FacilityId", str)
LotId = NewType("LotId", str)
ShipmentId = NewType("ShipmentId", str)

REGISTRAR = ParticipantId("org:registrar")
"""The reserved participant id that registry records are signed as (see ADR 0004)."""

REGISTRY_KINDS = frozenset({"participant", "facility", "key_revocation"})

RECORD_FORMAT = 1
"""The only ``schema_version`` a record has (``common.schema.json`` holds it constant)."""

END_USES = ("defense", "commercial")
"""The end uses a shipment may declare (``shipment.schema.json`` lists the same)."""


def record_id_of(payload: bytes) -> RecordId:
    return RecordId(hashlib.sha256(payload).hexdigest())


def namespace_of(identifier: str) -> str:
    """The owner slug of a participant, lot or shipment id (``lot:acme/17`` → ``acme``)."""
    _, _, rest = identifier.partition(":")
    return rest.split("/", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyGrant:
    """A public key a participant may sign with, and when."""

    keyid: KeyId
    public_key: PublicKey
    valid_from: datetime
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        if self.public_key.keyid != self.keyid:
            raise InputError(f"keyid {self.keyid} is not the SHA-256 of its public_key")
        # valid_until == valid_from is a key withdrawn before it began (see rotated_keys);
        # registrations themselves must give a non-empty window (checked when decoding).
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise InputError(f"key {self.keyid}: valid_until is not after valid_from")


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    """One holder's share of a participant's ownership or control."""

    holder: str
    country: str
    percent: Decimal
    government: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Control:
        """From a record's ``control`` item, or the JSON the store keeps of one (where the
        percentage may have been read back as a number)."""
        return cls(
            holder=data["holder"],
            country=data["country"],
            percent=Decimal(str(data["percent"])),
            government=data["government"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "holder": self.holder,
            "country": self.country,
            "percent": self.percent,
            "government": self.government,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class _Record:
    kind: ClassVar[str]
    issued_at: datetime
    signer: ParticipantId


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant(_Record):
    kind: ClassVar[str] = "participant"
    id: ParticipantId
    name: str
    country: str
    roles: tuple[str, ...]
    control: tuple[Control, ...]
    keys: tuple[KeyGrant, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Facility(_Record):
    kind: ClassVar[str] = "facility"
    id: FacilityId
    operator: ParticipantId
    name: str
    country: str
    region: str | None
    stages: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRevocation(_Record):
    kind: ClassVar[str] = "key_revocation"
    participant: ParticipantId
    keyid: KeyId
    compromised_since: datetime
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EndItemClaim:
    """A transformation output declared an end item an exception may reach (ADR 0025):
    ``kind`` is ``cots`` or ``electronic_device``; ``mill_product`` is what a COTS claim
    says of its form (``None``: not said)."""

    kind: str
    mill_product: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewLot:
    id: LotId
    material: str
    grams: int
    end_item: EndItemClaim | None = None
    """The submitter's declaration, on a transformation output only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LotAmount:
    lot: LotId
    grams: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UntracedInput:
    material: str
    grams: int
    declared_origin: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Extraction(_Record):
    kind: ClassVar[str] = "extraction"
    facility: FacilityId
    extracted_on: date
    source: str
    lots: tuple[NewLot, ...]
    origin: str | None = None
    """Recycled only: the country where the scrap was generated or collected (ADR 0018);
    ``None`` when not recorded (unknown)."""

    @property
    def stage(self) -> str:
        """Mining brings ore onto the ledger; scrap collection brings scrap, with no origin."""
        return "mining" if self.source == "mined" else "scrap_collection"


@dataclass(frozen=True, slots=True, kw_only=True)
class Transformation(_Record):
    kind: ClassVar[str] = "transformation"
    facility: FacilityId
    stage: str
    performed_on: date
    inputs: tuple[LotAmount, ...]
    untraced_inputs: tuple[UntracedInput, ...]
    outputs: tuple[NewLot, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    type: str
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Shipment(_Record):
    kind: ClassVar[str] = "shipment"
    id: ShipmentId
    from_facility: FacilityId
    to_facility: FacilityId
    shipped_on: date
    lots: tuple[LotId, ...]
    end_use: str | None
    contract: str | None
    documents: tuple[Document, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt(_Record):
    kind: ClassVar[str] = "receipt"
    shipment: ShipmentId
    facility: FacilityId
    received_on: date
    lots: tuple[LotAmount, ...]


Record = Participant | Facility | KeyRevocation | Extraction | Transformation | Shipment | Receipt


def decode_record(payload: bytes) -> Record:
    """Parse and validate a record's payload bytes.

    Raises:
        InputError: the first problem, naming the field and value.
    """
    data = parse_json(payload, max_bytes=MAX_PAYLOAD_BYTES, what="payload")
    if not isinstance(data, dict):
        raise InputError("payload is not a JSON object")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in _BUILDERS:
        raise InputError(f"record.kind {kind!r} is not a known record kind")
    # Straight to the kind's own schema: record.schema.json dispatches to the same documents.
    schema.validate(data, f"{kind}.schema.json", what=str(kind))
    record: Record = _BUILDERS[kind](data)
    return record


def _common(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "issued_at": parse_timestamp(data["issued_at"], field=f"{data['kind']}.issued_at"),
        "signer": ParticipantId(data["signer"]),
    }


def _material(name: str, field: str) -> str:
    if not vocabulary().is_material(name):
        raise InputError(
            f"{field} {name!r} is not a material in the vocabulary"
            f"{did_you_mean(name, vocabulary().materials)}"
        )
    return name


def _stage(name: str, field: str) -> str:
    if not vocabulary().is_stage(name):
        raise InputError(
            f"{field} {name!r} is not a stage in the vocabulary"
            f"{did_you_mean(name, vocabulary().stages)}"
        )
    return name


def _no_repeats(values: Iterable[str], field: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise InputError(f"{field} lists {value} twice")
        seen.add(value)


def _new_lots(items: list[dict[str, Any]], field: str) -> tuple[NewLot, ...]:
    lots = tuple(
        NewLot(
            id=LotId(item["id"]),
            material=_material(item["material"], f"{field}[{i}].material"),
            grams=mass_to_grams(item["mass_kg"], field=f"{field}[{i}].mass_kg"),
            end_item=_end_item(item.get("end_item")),
        )
        for i, item in enumerate(items)
    )
    _no_repeats((lot.id for lot in lots), field)
    return lots


def _end_item(claim: Mapping[str, Any] | None) -> EndItemClaim | None:
    if claim is None:
        return None
    return EndItemClaim(kind=claim["kind"], mill_product=claim.get("mill_product"))


def _amounts(items: list[dict[str, Any]], field: str) -> tuple[LotAmount, ...]:
    amounts = tuple(
        LotAmount(
            lot=LotId(item["lot"]),
            grams=mass_to_grams(item["mass_kg"], field=f"{field}[{i}].mass_kg"),
        )
        for i, item in enumerate(items)
    )
    _no_repeats((a.lot for a in amounts), field)
    return amounts


def _key_grant(k: Mapping[str, Any], field: str) -> KeyGrant:
    public = PublicKey.from_base64(k["public_key"], field=f"{field}.public_key")
    if public.keyid != k["keyid"]:
        raise InputError(f"{field}.keyid {k['keyid']} is not the SHA-256 of its public_key")
    valid_from = parse_timestamp(k["valid_from"], field=f"{field}.valid_from")
    valid_until = (
        parse_timestamp(k["valid_until"], field=f"{field}.valid_until")
        if "valid_until" in k
        else None
    )
    if valid_until is not None and valid_until <= valid_from:
        raise InputError(f"key {public.keyid}: valid_until is not after valid_from")
    return KeyGrant(
        keyid=public.keyid, public_key=public, valid_from=valid_from, valid_until=valid_until
    )


def _participant(data: Mapping[str, Any]) -> Participant:
    keys = tuple(_key_grant(k, f"participant.keys[{i}]") for i, k in enumerate(data["keys"]))
    _no_repeats((k.keyid for k in keys), "participant.keys")
    control = tuple(Control.from_dict(c) for c in data["control"])
    total = sum((c.percent for c in control), Decimal(0))
    if total > 100:
        raise InputError(f"participant.control percentages add up to {total}, more than 100")
    return Participant(
        **_common(data),
        id=ParticipantId(data["id"]),
        name=data["name"],
        country=data["country"],
        roles=tuple(data["roles"]),
        control=control,
        keys=keys,
    )


def _facility(data: Mapping[str, Any]) -> Facility:
    region = data.get("region")
    if region is not None and region.split("-", 1)[0] != data["country"]:
        raise InputError(f"facility.region {region} is not in facility.country {data['country']}")
    return Facility(
        **_common(data),
        id=FacilityId(data["id"]),
        operator=ParticipantId(data["operator"]),
        name=data["name"],
        country=data["country"],
        region=data.get("region"),
        stages=tuple(_stage(s, f"facility.stages[{i}]") for i, s in enumerate(data["stages"])),
    )


def _key_revocation(data: Mapping[str, Any]) -> KeyRevocation:
    return KeyRevocation(
        **_common(data),
        participant=ParticipantId(data["participant"]),
        keyid=KeyId(data["keyid"]),
        compromised_since=parse_timestamp(
            data["compromised_since"], field="key_revocation.compromised_since"
        ),
        reason=data["reason"],
    )


def _extraction(data: Mapping[str, Any]) -> Extraction:
    return Extraction(
        **_common(data),
        facility=FacilityId(data["facility"]),
        extracted_on=parse_day(data["extracted_on"], field="extraction.extracted_on"),
        source=data["source"],
        lots=_new_lots(data["lots"], "extraction.lots"),
        origin=data.get("origin"),
    )


def _transformation(data: Mapping[str, Any]) -> Transformation:
    inputs = _amounts(data["inputs"], "transformation.inputs")
    untraced = tuple(
        UntracedInput(
            material=_material(u["material"], f"transformation.untraced_inputs[{i}].material"),
            grams=mass_to_grams(u["mass_kg"], field=f"transformation.untraced_inputs[{i}].mass_kg"),
            declared_origin=u.get("declared_origin"),
        )
        for i, u in enumerate(data["untraced_inputs"])
    )
    if not inputs and not untraced:
        raise InputError("transformation has no inputs: list traced inputs or untraced_inputs")
    outputs = _new_lots(data["outputs"], "transformation.outputs")
    consumed = {a.lot for a in inputs} & {lot.id for lot in outputs}
    if consumed:
        raise InputError(f"transformation outputs {sorted(consumed)[0]} which it also consumes")
    return Transformation(
        **_common(data),
        facility=FacilityId(data["facility"]),
        stage=_stage(data["stage"], "transformation.stage"),
        performed_on=parse_day(data["performed_on"], field="transformation.performed_on"),
        inputs=inputs,
        untraced_inputs=untraced,
        outputs=outputs,
    )


def _shipment(data: Mapping[str, Any]) -> Shipment:
    lots = tuple(LotId(lot) for lot in data["lots"])
    _no_repeats(lots, "shipment.lots")
    if data["from_facility"] == data["to_facility"]:
        raise InputError(f"shipment.to_facility {data['to_facility']} is its from_facility")
    return Shipment(
        **_common(data),
        id=ShipmentId(data["id"]),
        from_facility=FacilityId(data["from_facility"]),
        to_facility=FacilityId(data["to_facility"]),
        shipped_on=parse_day(data["shipped_on"], field="shipment.shipped_on"),
        lots=lots,
        end_use=data.get("end_use"),
        contract=data.get("contract"),
        documents=tuple(
            Document(type=d["type"], sha256=d["sha256"]) for d in data.get("documents", [])
        ),
    )


def _receipt(data: Mapping[str, Any]) -> Receipt:
    return Receipt(
        **_common(data),
        shipment=ShipmentId(data["shipment"]),
        facility=FacilityId(data["facility"]),
        received_on=parse_day(data["received_on"], field="receipt.received_on"),
        lots=_amounts(data["lots"], "receipt.lots"),
    )


_BUILDERS: dict[str, Any] = {
    "participant": _participant,
    "facility": _facility,
    "key_revocation": _key_revocation,
    "extraction": _extraction,
    "transformation": _transformation,
    "shipment": _shipment,
    "receipt": _receipt,
}
