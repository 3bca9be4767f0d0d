"""The transaction: one unit of work, and the one object every caller of the store holds.

:class:`Transaction` is a facade. The work is done by one object per job, all sharing the
transaction's :class:`~ledger.store._unit.Unit` (session, working set, tree, read path):

- :class:`~ledger.store._log.LogRows`: the log's rows (entries, Merkle nodes, checkpoints);
- :class:`~ledger.store._derive.Indexer`: the index rows an admitted record adds;
- :class:`~ledger.store._views.RegistryReads`, :class:`~ledger.store._views.FindingsIndex`,
  :class:`~ledger.store._views.IndexAudit` and :class:`~ledger.store._graph_views.GraphReads`:
  the reads admission, findings, verification and the provenance graph make.

:meth:`Transaction.append` writes an entry, its Merkle nodes, the new tree head and every
derived row in the same transaction: an append commits whole or not at all. Every read
sees the writes made before it in the transaction, through the unit's one read path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from sqlmodel import Session, SQLModel

from ledger.compliance import FacilityFacts
from ledger.core.signing import KeyId, PublicKey
from ledger.errors import StorageError
from ledger.provenance import findings, graph
from ledger.records.admission import FacilityState, KeyState, LotPlace, Opened, ShipmentState
from ledger.records.model import FacilityId, LotId, ParticipantId, ShipmentId
from ledger.store._derive import Indexer
from ledger.store._graph_views import GraphReads
from ledger.store._listings import (
    FacilityListing,
    Listings,
    LotFilter,
    LotListing,
    ParticipantListing,
)
from ledger.store._log import LogRows
from ledger.store._rows import CheckpointRow, StoredEntry, TreeHead
from ledger.store._unit import Unit
from ledger.store._views import FindingsIndex, IndexAudit, IndexRows, RegistryReads


class Transaction:
    """One unit of work; also the view that admission, findings and the graph read.

    It implements :class:`~ledger.records.admission.LedgerView`,
    :class:`~ledger.provenance.findings.IndexView` and
    :class:`~ledger.provenance.graph.ProvenanceSource` at once, so its class body is one
    delegating line per method of those protocols and of the log: longer than most classes,
    with no logic of its own (see the module docstring for where the work is done).
    """

    def __init__(
        self,
        session: Session,
        head: TreeHead,
        *,
        registrars: Mapping[KeyId, PublicKey],
        partial: bool = False,
        scratch: bool = False,
    ) -> None:
        self._scratch = scratch
        self._unit = unit = Unit(session, head, registrars=registrars, partial=partial)
        self._log = LogRows(unit)
        self._registry = RegistryReads(unit)
        self._index = FindingsIndex(unit)
        self._audit = IndexAudit(unit)
        self._graph = GraphReads(unit)
        self._listings = Listings(unit)
        self._indexer = Indexer(unit, registry=self._registry, index=self._index)

    @property
    def session(self) -> Session:
        """The raw session (tests edit the database behind the ledger's back with it)."""
        return self._unit.write_session

    def sync(self) -> None:
        """Write the pending rows (every read does; the writer does before commit)."""
        self._unit.sync()

    # -- the tree and the log ---------------------------------------------------------

    @property
    def tree_size(self) -> int:
        return self._unit.frontier.size

    def root_hash(self) -> bytes:
        return self._unit.frontier.root()

    def append(self, opened: Opened, *, appended_at: datetime) -> int:
        """Append an admitted envelope with its derived rows; returns its log index."""
        index = self._log.append(opened, appended_at=appended_at)
        self._indexer.index_entry(opened, index)
        return index

    def replay_entry(self, opened: Opened, index: int) -> None:
        """Store an entry of a replay into a scratch store at its own log index, with its
        derived rows, and no Merkle nodes: a partial replay's tree is not the log's, and
        ``bloc verify`` recomputes the log's tree itself."""
        if not self._scratch:
            raise StorageError("replay_entry is for replays into a scratch store only")
        self._log.entry(opened, index, opened.record.issued_at)
        self._indexer.index_entry(opened, index)

    def get_node(self, level: int, index: int) -> bytes:
        """The perfect subtree hash at (level, index); level 0 is a leaf hash."""
        return self._log.get_node(level, index)

    def get_nodes(self, wanted: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        return self._log.get_nodes(wanted)

    def node_levels_above(self, level: int) -> list[tuple[int, int]]:
        return self._log.node_levels_above(level)

    def nodes_at(self, level: int, *, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        return self._log.nodes_at(level, batch=batch)

    def find_leaf(self, leaf_hash: bytes) -> int | None:
        return self._log.find_leaf(leaf_hash)

    def find_record(self, record_id: str) -> int | None:
        return self._log.find_record(record_id)

    def entries(
        self, *, start: int = 0, stop: int | None = None, batch: int = 5000
    ) -> Iterator[StoredEntry]:
        return self._log.entries(start=start, stop=stop, batch=batch)

    def leaf_hashes(self, *, start: int, batch: int = 10_000) -> Iterator[tuple[int, bytes]]:
        return self._log.leaf_hashes(start=start, batch=batch)

    def registry_entries(self, *, before: int) -> Iterator[StoredEntry]:
        return self._log.registry_entries(before=before)

    def registry_leaves(self, *, start: int, stop: int) -> list[tuple[int, bytes]]:
        return self._log.registry_leaves(start=start, stop=stop)

    def entries_at(self, indexes: Iterable[int]) -> list[StoredEntry]:
        return self._log.entries_at(indexes)

    def entry_count(self) -> tuple[int, int | None]:
        return self._log.entry_count()

    def add_checkpoint(
        self, *, tree_size: int, root_hash: bytes, note: str, created_at: datetime
    ) -> None:
        self._log.add_checkpoint(
            tree_size=tree_size, root_hash=root_hash, note=note, created_at=created_at
        )

    def set_checkpoint_note(self, tree_size: int, note: str) -> None:
        self._log.set_checkpoint_note(tree_size, note)

    def checkpoint(self, tree_size: int) -> CheckpointRow | None:
        return self._log.checkpoint(tree_size)

    def recent_checkpoints(
        self, *, limit: int, below: int | None = None
    ) -> Sequence[CheckpointRow]:
        return self._log.recent_checkpoints(limit=limit, below=below)

    def latest_checkpoint(self) -> CheckpointRow | None:
        return self._log.latest_checkpoint()

    def checkpoints(self) -> Sequence[CheckpointRow]:
        return self._log.checkpoints()

    # -- the index --------------------------------------------------------------------

    def prefetch(self, opened: Sequence[Opened], *, duplicates: bool = True) -> None:
        """Load, in a few queries, every row admitting and indexing ``opened`` will read.

        Without ``duplicates`` the stored leaf hashes are not loaded: a replay appends
        every entry it admits and never asks whether an envelope was logged already.
        """
        self._indexer.prefetch(opened, duplicates=duplicates)

    def index_entry(self, opened: Opened, index: int) -> None:
        """Write every derived row of the entry at ``index`` (append and reindex share it)."""
        self._indexer.index_entry(opened, index)

    def clear_index(self) -> None:
        """Delete every derived row (``bloc reindex`` then replays the log)."""
        self._indexer.clear_index()

    def index_rows(self, table: type[SQLModel], *, batch: int = 1000) -> IndexRows:
        return self._audit.index_rows(table, batch=batch)

    def index_differences(self, expected: Transaction) -> Iterator[tuple[str, str, str]]:
        """(table, row key, what) for the first difference per derived index table between
        this database and ``expected`` (a replay of the same log)."""
        return self._audit.index_differences(self, expected)

    # -- the view admission reads -----------------------------------------------------

    def registrar_keys(self) -> Mapping[KeyId, PublicKey]:
        return self._registry.registrar_keys()

    def key(self, keyid: KeyId) -> KeyState | None:
        return self._registry.key(keyid)

    def signing_keys(self) -> dict[KeyId, PublicKey]:
        """The registrar keys this transaction was given and every participant key in the
        index, by key id.

        For checking signatures ahead of admission (ledger.service._parallel). A row whose
        key id is not the SHA-256 of its key is left out, so an edited row cannot vouch for
        anything; whether a key may sign is still decided by admission.
        """
        return self._registry.signing_keys()

    def keys_of(self, participant: ParticipantId) -> list[KeyState]:
        return self._registry.keys_of(participant)

    def participant_exists(self, participant: ParticipantId) -> bool:
        return self._registry.participant_exists(participant)

    def participant_roles(self, participant: ParticipantId) -> tuple[str, ...] | None:
        return self._registry.participant_roles(participant)

    def facility(self, facility: FacilityId) -> FacilityState | None:
        return self._registry.facility(facility)

    def lot_exists(self, lot: LotId) -> bool:
        return self._registry.lot_exists(lot)

    def lot_place(self, lot: LotId) -> LotPlace | None:
        return self._registry.lot_place(lot)

    def shipment(self, shipment: ShipmentId) -> ShipmentState | None:
        return self._registry.shipment(shipment)

    # -- the provenance index findings read, and the findings stored ------------------

    def lot_state(self, lot: LotId) -> findings.LotState | None:
        return self._index.lot_state(lot)

    def lots_created_by(self, log_index: int) -> list[findings.LotState]:
        return self._index.lots_created_by(log_index)

    def shipment_record(self, shipment: ShipmentId) -> findings.ShipmentRecord | None:
        return self._index.shipment_record(shipment)

    def shipment_records(self) -> list[findings.ShipmentRecord]:
        """Every shipment, in log order."""
        return self._index.shipment_records()

    def signed_by(self, keyid: KeyId) -> list[tuple[int, datetime]]:
        return self._index.signed_by(keyid)

    def facility_registered(self, facility: FacilityId) -> tuple[int, str] | None:
        return self._index.facility_registered(facility)

    def records_about(self, lots: Iterable[LotId]) -> set[int]:
        """Log indexes of every record that created, consumed, shipped or received a lot."""
        return self._index.records_about(lots)

    def stored_findings(self, *, lots: Iterable[LotId] | None = None) -> list[findings.Finding]:
        """Stored findings in log order; with ``lots``, those about or affecting any of them."""
        return self._index.stored_findings(lots=lots)

    def unknown_grams(self, lots: Iterable[LotId]) -> dict[LotId, int]:
        """Grams of each lot that findings leave of unknown origin."""
        return self._index.unknown_grams(lots)

    # -- the provenance graph reads (batched: one query per step of a walk) ------------

    def lots(self, ids: Iterable[LotId]) -> dict[LotId, graph.LotInfo]:
        return self._graph.lots(ids)

    def all_lots(self) -> dict[LotId, graph.LotInfo]:
        return self._graph.all_lots()

    def outputs_of(self, log_indexes: Iterable[int]) -> dict[int, list[graph.LotInfo]]:
        return self._graph.outputs_of(log_indexes)

    def output_grams(self, log_indexes: Iterable[int]) -> dict[int, int]:
        return self._graph.output_grams(log_indexes)

    def shipped_lots(self, end_use: str) -> set[LotId]:
        """The lots shipped with ``end_use``."""
        return self._graph.shipped_lots(end_use)

    def upstream_lots(self, lot: LotId) -> set[LotId]:
        """``lot`` and every lot upstream of it, in one recursive query."""
        return self._graph.upstream_lots(lot)

    def upstream_of_shipped(self, end_use: str) -> set[LotId]:
        """Every lot shipped with ``end_use`` and every lot upstream of one, in one query."""
        return self._graph.upstream_of_shipped(end_use)

    def flows_into(self, log_indexes: Iterable[int]) -> dict[int, list[graph.Flow]]:
        return self._graph.flows_into(log_indexes)

    def flows_from(self, lots: Iterable[LotId]) -> dict[LotId, list[graph.Flow]]:
        return self._graph.flows_from(lots)

    def untraced_into(self, log_indexes: Iterable[int]) -> dict[int, list[graph.Untraced]]:
        return self._graph.untraced_into(log_indexes)

    def hops(self, lots: Iterable[LotId]) -> dict[LotId, list[graph.Hop]]:
        return self._graph.hops(lots)

    def facility_facts(self, ids: Iterable[str]) -> dict[str, FacilityFacts]:
        """Country, operator, stages and the operator's controlling holders per facility."""
        return self._graph.facility_facts(ids)

    # -- listings -----------------------------------------------------------------------

    def list_lots(self, where: LotFilter) -> list[LotListing]:
        return self._listings.lots(where)

    def list_participants(
        self, *, country: str | None = None, role: str | None = None
    ) -> list[ParticipantListing]:
        return self._listings.participants(country=country, role=role)

    def list_facilities(
        self, *, country: str | None = None, operator: str | None = None, stage: str | None = None
    ) -> list[FacilityListing]:
        return self._listings.facilities(country=country, operator=operator, stage=stage)
