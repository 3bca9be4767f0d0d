"""What the provenance graph is built from: lots, flows, untraced inputs and shipments as
the index gives them, and the batch lookups a :class:`ProvenanceSource` answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, Protocol

from ledger.records.model import LotId

UNREGISTERED = "unregistered"
"""The country and operator of a lot made (or a shipment's destination) on a day before its
facility's first registration: not on the ledger (ADR 0016)."""


class LotInfo(NamedTuple):
    """A lot with the event that created it. (These rows are tuples: a whole ledger's
    graph makes a million of them, and a frozen dataclass costs three times as much to
    make.)"""

    id: LotId
    material: str
    mass_g: int
    created_index: int
    facility: str
    country: str
    """The facility's, by its registration in force on ``happened_on`` (or
    :data:`UNREGISTERED`); likewise ``operator``."""
    operator: str
    stage: str
    happened_on: str
    source: str | None  # extraction: mined / recycled; None for transformations
    origin: str | None = None
    """A recycled extraction's recorded origin (ADR 0018); None when not recorded."""


class Flow(NamedTuple):
    """``grams`` of ``lot`` consumed by the transformation at ``log_index``."""

    log_index: int
    lot: LotId
    grams: int


class Untraced(NamedTuple):
    log_index: int
    position: int
    material: str
    grams: int
    declared_origin: str | None


class Hop(NamedTuple):
    """A shipment that moved a lot (and its receipt, when there was one)."""

    shipment: str
    from_facility: str
    to_facility: str
    to_country: str
    """The destination's, by its registration in force on ``shipped_on``."""
    shipped_on: str
    shipped_index: int
    received_index: int | None
    end_use: str | None


class ProvenanceSource(Protocol):
    """Batch lookups over the provenance index."""

    def lots(self, ids: Iterable[LotId]) -> Mapping[LotId, LotInfo]: ...

    def outputs_of(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[LotInfo]]: ...

    def output_grams(self, log_indexes: Iterable[int]) -> Mapping[int, int]:
        """The grams of all the lots each transformation made."""
        ...

    def flows_into(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[Flow]]:
        """The traced inputs of each transformation."""
        ...

    def untraced_into(self, log_indexes: Iterable[int]) -> Mapping[int, Sequence[Untraced]]: ...

    def flows_from(self, lots: Iterable[LotId]) -> Mapping[LotId, Sequence[Flow]]:
        """Where each lot went: the transformations that consumed it."""
        ...

    def hops(self, lots: Iterable[LotId]) -> Mapping[LotId, Sequence[Hop]]: ...

    def all_lots(self) -> Mapping[LotId, LotInfo]: ...

    def upstream_lots(self, lot: LotId) -> set[LotId]:
        """``lot`` and every lot upstream of it, in one query (the index's recursive walk)."""
        ...

    def upstream_of_shipped(self, end_use: str) -> set[LotId]:
        """Every lot shipped with ``end_use`` and every lot upstream of one, in one query."""
        ...
