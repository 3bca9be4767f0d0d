"""SQLModel row classes: storage rows only, never domain objects.

The log (``log_entry``, ``merkle_node``, ``tree_head``, ``checkpoint``) is the source of
truth; every other table is an index derived from it, written in the same transaction as
the entry it derives from. Timestamps are stored as fixed-width UTC text
(``YYYY-MM-DDTHH:MM:SS.ffffffZ``) so that text order is time order on every backend.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = "4"


def _entry_key() -> Any:
    """A log index as (part of) a primary key: assigned by the log, never generated."""
    return Field(sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False})


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class LogEntry(SQLModel, table=True):
    __tablename__ = "log_entry"
    log_index: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    leaf_hash: bytes = Field(sa_type=LargeBinary, unique=True)
    record_id: str = Field(unique=True)
    kind: str = Field(index=True)
    signer: str = Field(index=True)
    issued_at: str
    appended_at: str
    envelope: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class StoredEntry(NamedTuple):
    """A ``log_entry`` row read for a pass over the log: the same fields as
    :class:`LogEntry`, without an ORM object per row."""

    log_index: int
    leaf_hash: bytes
    record_id: str
    kind: str
    signer: str
    issued_at: str
    appended_at: str
    envelope: bytes


class MerkleNode(SQLModel, table=True):
    """Perfect subtree hashes above the leaves (level ≥ 1): proofs in O(log n) reads."""

    __tablename__ = "merkle_node"
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    hash: bytes = Field(sa_type=LargeBinary)


class TreeHead(SQLModel, table=True):
    """The one row that appends lock; holds the compact range of the current tree."""

    __tablename__ = "tree_head"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    tree_size: int = Field(sa_type=BigInteger)
    frontier: bytes = Field(sa_type=LargeBinary)


class CheckpointRow(SQLModel, table=True):
    __tablename__ = "checkpoint"
    tree_size: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    root_hash: bytes = Field(sa_type=LargeBinary)
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: str


class ParticipantRow(SQLModel, table=True):
    __tablename__ = "participant"
    id: str = Field(primary_key=True)
    name: str
    country: str
    roles: str  # JSON list
    control: str  # JSON list of {holder, country, percent, government}
    log_index: int = Field(sa_type=BigInteger)


class ControlRow(SQLModel, table=True):
    """Who held the participant, as each registration said (entity control is dated)."""

    __tablename__ = "participant_control"
    participant: str = Field(primary_key=True)
    log_index: int = _entry_key()
    effective_from: str  # the registration's issued_at, stamped
    control: str  # JSON list of {holder, country, percent, government}


class ParticipantKeyRow(SQLModel, table=True):
    __tablename__ = "participant_key"
    keyid: str = Field(primary_key=True)
    participant: str = Field(index=True)
    public_key: bytes = Field(sa_type=LargeBinary)
    valid_from: str
    valid_until: str | None = None
    compromised_since: str | None = None
    log_index: int = Field(sa_type=BigInteger)


class FacilityRow(SQLModel, table=True):
    __tablename__ = "facility"
    id: str = Field(primary_key=True)
    operator: str = Field(index=True)
    name: str
    country: str
    region: str | None = None
    stages: str  # JSON list
    log_index: int = Field(sa_type=BigInteger)


class FacilityRegistrationRow(SQLModel, table=True):
    """Every registration of a facility, as it said (a stage is judged by the one in force
    on its date, ADR 0016); ``facility`` holds the latest."""

    __tablename__ = "facility_registration"
    facility: str = Field(primary_key=True)
    log_index: int = _entry_key()
    effective_from: str  # the registration's issued_at, stamped
    operator: str
    country: str
    region: str | None = None
    stages: str  # JSON list


class LotRow(SQLModel, table=True):
    """A lot and its current state: balance, holder, whether it is on its way somewhere."""

    __tablename__ = "lot"
    id: str = Field(primary_key=True)
    material: str
    mass_g: int = Field(sa_type=BigInteger)
    facility: str
    created_index: int = Field(sa_type=BigInteger, index=True)
    created_on: str  # the event date (extracted_on / performed_on)
    remaining_g: int = Field(sa_type=BigInteger)
    holder: str | None = None  # the facility holding it; None while in transit
    in_transit: str | None = None  # the shipment carrying it


class EventRow(SQLModel, table=True):
    """Where and when an extraction or transformation happened (one row per entry)."""

    __tablename__ = "event"
    log_index: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    kind: str
    facility: str
    stage: str
    happened_on: str
    source: str | None = None  # extraction: mined / recycled
    origin: str | None = None  # recycled extraction: where the scrap arose (ADR 0018)


class FlowRow(SQLModel, table=True):
    """A traced input: the transformation at ``log_index`` consumed ``grams`` of ``lot``."""

    __tablename__ = "flow"
    log_index: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    lot: str = Field(primary_key=True, index=True)
    grams: int = Field(sa_type=BigInteger)


class UntracedRow(SQLModel, table=True):
    """Material bought outside the ledger that a transformation consumed."""

    __tablename__ = "untraced"
    log_index: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    position: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    material: str
    grams: int = Field(sa_type=BigInteger)
    declared_origin: str | None = None


class SignatureRow(SQLModel, table=True):
    """Which key signed which entry: a revocation finds what its key already signed."""

    __tablename__ = "signature"
    log_index: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    keyid: str = Field(primary_key=True, index=True)


class FindingRow(SQLModel, table=True):
    """An integrity finding, recorded when the entry that proves it was appended."""

    __tablename__ = "finding"
    log_index: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    code: str = Field(index=True)
    severity: str
    message: str = Field(sa_column=Column(Text, nullable=False))
    subject: str | None = Field(default=None, index=True)  # the lot or shipment it is about
    evidence: str  # JSON list of the log indexes that prove it


class FindingEffectRow(SQLModel, table=True):
    """Grams of a lot whose origin a finding leaves unknown (read by the checker)."""

    __tablename__ = "finding_effect"
    log_index: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    lot: str = Field(primary_key=True, index=True)
    unknown_g: int = Field(sa_type=BigInteger)


class ShipmentRow(SQLModel, table=True):
    __tablename__ = "shipment"
    id: str = Field(primary_key=True)
    from_facility: str
    to_facility: str
    shipped_on: str
    end_use: str | None = None
    created_index: int = Field(sa_type=BigInteger)
    received_index: int | None = Field(default=None, sa_type=BigInteger)


class ShipmentLotRow(SQLModel, table=True):
    __tablename__ = "shipment_lot"
    shipment: str = Field(primary_key=True)
    lot: str = Field(primary_key=True, index=True)
    shipped_g: int = Field(sa_type=BigInteger)  # the lot's balance when it left
    received_g: int | None = Field(default=None, sa_type=BigInteger)


DERIVED_TABLES: tuple[type[SQLModel], ...] = (
    ParticipantRow,
    ControlRow,
    ParticipantKeyRow,
    FacilityRow,
    FacilityRegistrationRow,
    LotRow,
    EventRow,
    FlowRow,
    UntracedRow,
    ShipmentRow,
    ShipmentLotRow,
    SignatureRow,
    FindingRow,
    FindingEffectRow,
)
"""Index tables rebuilt from the log; ``bloc verify`` compares them with a replay."""
