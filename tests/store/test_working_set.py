"""The write path's working set (``ledger.store._working``) against the database itself.

A ledger built in one atomic batch (every row mirrored in memory until the flush) must
hold exactly the rows of the same ledger built one envelope per transaction (every read
going back to the database), and of its rebuilt index; the demo story exercises every
record kind, findings, a revocation and a receipt of a multi-lot shipment. Every read a
transaction offers must see the writes made before it in the transaction, with no explicit
sync.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger import demo
from ledger.core.signing import KeyId
from ledger.records.admission import Opened, admit, open_envelope
from ledger.records.model import FacilityId, LotId, ParticipantId, ShipmentId
from ledger.service import Ledger
from ledger.service.home import LOG_KEY, REGISTRAR_KEY, Home, init_home
from ledger.store import LotFilter, Store, Transaction, sqlite_files, stamp, unstamp
from ledger.store._rows import DERIVED_TABLES, MerkleNode, StoredEntry


def _build(home: Home, *, batch: int, atomic: bool) -> Ledger:
    ledger = home.ledger()
    envelopes = list(demo.envelopes(demo.story(), home.signer(REGISTRAR_KEY)))
    for start in range(0, len(envelopes), batch):
        results = ledger.submit(
            envelopes[start : start + batch], now=datetime.now(UTC), atomic=atomic
        )
        assert all(r.accepted for r in results), [r.error for r in results if r.error][:1]
    return ledger


def _tables(ledger: Ledger) -> dict[str, list[tuple[object, ...]]]:
    with ledger.store.reader() as tx:
        found = {
            str(table.__tablename__): [row for _, row in tx.index_rows(table)]
            for table in DERIVED_TABLES
        }
        for table in (MerkleNode,):
            found[str(table.__tablename__)] = [row for _, row in tx.index_rows(table)]
        found["log_entry"] = [
            (e.log_index, e.leaf_hash, e.record_id, e.envelope) for e in tx.entries()
        ]
    return found


@pytest.fixture
def homes(tmp_path: Path, db_url: str) -> tuple[Home, Home]:
    one = init_home(tmp_path / "one", db_url=db_url, origin="test.bloc/ledger")
    other = init_home(tmp_path / "other", origin="test.bloc/ledger")
    # One registrar and log key for both, so that every byte can be compared.
    for name in (REGISTRAR_KEY, LOG_KEY):
        shutil.copyfile(one.key_path(name), other.key_path(name))
    shutil.copyfile(one.root_path, other.root_path)
    # Its database recorded the root.json it was made with (ADR 0027): make it anew for this one.
    for path in sqlite_files(other.db_url):
        path.unlink(missing_ok=True)
    Store.create(other.db_url, identity=other.identity()).dispose()
    return one, other


def test_one_atomic_batch_and_one_envelope_per_transaction_store_the_same_rows(
    homes: tuple[Home, Home],
) -> None:
    one, other = homes
    batched = _build(one, batch=10_000, atomic=True)
    single = _build(other, batch=40, atomic=False)  # each envelope its own transaction
    try:
        a, b = _tables(batched), _tables(single)
        assert sorted(a) == sorted(b)
        for name in a:
            assert a[name] == b[name], name
        assert any(a["finding"]), "the story has findings"
        assert len(a["shipment_lot"]) >= len(a["shipment"])
    finally:
        batched.store.dispose()
        single.store.dispose()


def test_reindex_rebuilds_exactly_what_the_batch_wrote(homes: tuple[Home, Home]) -> None:
    one, _ = homes
    ledger = _build(one, batch=120, atomic=True)
    try:
        before = _tables(ledger)
        ledger.reindex()
        assert _tables(ledger) == before
        assert ledger.verify().clean
        with ledger.store.reader() as tx:
            assert tx.entry_count()[0] == len(before["log_entry"])
            assert tx.tree_size == len(before["log_entry"])
            assert isinstance(tx.entries_at([0])[0], StoredEntry)
    finally:
        ledger.store.dispose()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Ids:
    """What the reads ask about, taken from a reference ledger (asking the ledger under
    test would read, and so flush, before the read being tested)."""

    size: int
    lots: list[LotId]
    shipments: list[ShipmentId]
    keys: list[KeyId]
    facilities: list[FacilityId]
    participants: list[ParticipantId]
    leaves: list[bytes]
    records: list[str]


def _ids(tx: Transaction, tail: list[Opened]) -> _Ids:
    lots = tx.all_lots()
    return _Ids(
        size=tx.tree_size,
        lots=sorted(lots),
        shipments=sorted(ShipmentId(s.id) for s in tx.shipment_records()),
        keys=sorted(tx.signing_keys()),
        facilities=sorted({FacilityId(info.facility) for info in lots.values()}),
        participants=sorted({ParticipantId(e.signer) for e in tx.entries()}),
        leaves=[opened.leaf_hash for opened in tail],
        records=[opened.record_id for opened in tail],
    )


_Read = Callable[[Transaction, _Ids], object]

_READS: list[tuple[str, _Read]] = [
    ("tree_size", lambda tx, ids: tx.tree_size),
    ("root_hash", lambda tx, ids: tx.root_hash()),
    ("entry_count", lambda tx, ids: tx.entry_count()),
    ("entries", lambda tx, ids: list(tx.entries())),
    (
        "entries_at",
        lambda tx, ids: [(e.log_index, e.envelope) for e in tx.entries_at(range(ids.size))],
    ),
    (
        "registry_entries",
        lambda tx, ids: [(e.log_index, e.kind) for e in tx.registry_entries(before=ids.size)],
    ),
    ("registry_leaves", lambda tx, ids: tx.registry_leaves(start=0, stop=ids.size)),
    ("leaf_hashes", lambda tx, ids: list(tx.leaf_hashes(start=0))),
    ("get_node", lambda tx, ids: (tx.get_node(0, ids.size - 1), tx.get_node(2, 0))),
    ("get_nodes", lambda tx, ids: tx.get_nodes({(0, ids.size - 1), (1, 0), (3, 1)})),
    ("node_levels_above", lambda tx, ids: tx.node_levels_above(0)),
    ("nodes_at", lambda tx, ids: list(tx.nodes_at(1))),
    ("find_leaf", lambda tx, ids: [tx.find_leaf(leaf) for leaf in ids.leaves]),
    ("find_record", lambda tx, ids: [tx.find_record(r) for r in ids.records]),
    *[
        ("index_rows", lambda tx, ids, table=table: list(tx.index_rows(table)))
        for table in DERIVED_TABLES
    ],
    ("stored_findings", lambda tx, ids: tx.stored_findings()),
    ("stored_findings", lambda tx, ids: tx.stored_findings(lots=ids.lots[-20:])),
    ("unknown_grams", lambda tx, ids: tx.unknown_grams(ids.lots)),
    ("records_about", lambda tx, ids: tx.records_about(ids.lots)),
    ("shipment_records", lambda tx, ids: tx.shipment_records()),
    ("shipment_record", lambda tx, ids: [tx.shipment_record(s) for s in ids.shipments]),
    ("shipment", lambda tx, ids: [tx.shipment(s) for s in ids.shipments]),
    ("lots", lambda tx, ids: tx.lots(ids.lots)),
    ("all_lots", lambda tx, ids: tx.all_lots()),
    ("lot_state", lambda tx, ids: [tx.lot_state(lot) for lot in ids.lots]),
    ("lot_exists", lambda tx, ids: [tx.lot_exists(lot) for lot in ids.lots]),
    ("lot_place", lambda tx, ids: [tx.lot_place(lot) for lot in ids.lots]),
    ("lots_created_by", lambda tx, ids: [tx.lots_created_by(i) for i in range(ids.size)]),
    ("outputs_of", lambda tx, ids: tx.outputs_of(range(ids.size))),
    ("output_grams", lambda tx, ids: tx.output_grams(range(ids.size))),
    ("shipped_lots", lambda tx, ids: tx.shipped_lots("defense")),
    ("upstream_lots", lambda tx, ids: [tx.upstream_lots(lot) for lot in ids.lots[-20:]]),
    ("upstream_of_shipped", lambda tx, ids: tx.upstream_of_shipped("defense")),
    ("flows_into", lambda tx, ids: tx.flows_into(range(ids.size))),
    ("flows_from", lambda tx, ids: tx.flows_from(ids.lots)),
    ("untraced_into", lambda tx, ids: tx.untraced_into(range(ids.size))),
    ("hops", lambda tx, ids: tx.hops(ids.lots)),
    ("registrar_keys", lambda tx, ids: dict(tx.registrar_keys())),
    ("signing_keys", lambda tx, ids: tx.signing_keys()),
    ("key", lambda tx, ids: [tx.key(k) for k in ids.keys]),
    ("signed_by", lambda tx, ids: [tx.signed_by(k) for k in ids.keys]),
    ("keys_of", lambda tx, ids: [tx.keys_of(p) for p in ids.participants]),
    ("participant_exists", lambda tx, ids: [tx.participant_exists(p) for p in ids.participants]),
    ("participant_roles", lambda tx, ids: [tx.participant_roles(p) for p in ids.participants]),
    ("facility", lambda tx, ids: [tx.facility(f) for f in ids.facilities]),
    ("facility_facts", lambda tx, ids: tx.facility_facts(ids.facilities)),
    # issue 11 item 1: the facility's latest registration, as findings read it
    ("facility_registered", lambda tx, ids: [tx.facility_registered(f) for f in ids.facilities]),
    # issue 15: what bloc lots, participants and facilities list
    ("list_lots", lambda tx, ids: tx.list_lots(LotFilter())),
    ("list_participants", lambda tx, ids: tx.list_participants()),
    ("list_facilities", lambda tx, ids: tx.list_facilities()),
]

_NOT_READ_HERE = {
    # writes
    "add_checkpoint",
    "set_checkpoint_note",
    "append",
    "clear_index",
    "index_entry",
    "prefetch",
    "replay_entry",
    "sync",
    "session",
    # index_rows on two transactions
    "index_differences",
    # checkpoint rows are flushed as they are added, and the two ledgers here are
    # checkpointed at different sizes
    "checkpoint",
    "checkpoints",
    "latest_checkpoint",
    "recent_checkpoints",
}


class _Abort(Exception):
    """Ends a writer without committing."""


def _read_after_appends(
    ledger: Ledger, tail: list[Opened], read: _Read, ids: _Ids, *, now: datetime
) -> object:
    """``read`` in a writer that has just appended ``tail``; the writer is rolled back."""
    found: list[object] = []
    with (
        contextlib.suppress(_Abort),
        ledger.store.writer(registrars=ledger.root.registrar_keys()) as tx,
    ):
        for opened in tail:
            admit(opened, tx, now=now)
            tx.append(opened, appended_at=now)
        found.append(read(tx, ids))
        raise _Abort
    return found[0]


def test_every_read_sees_the_writes_before_it_in_its_transaction(
    homes: tuple[Home, Home],
) -> None:
    """Each read, made in a writer right after appends and with no explicit sync, returns
    what the same ledger built and committed returns: a read that skipped the flush of
    pending rows would not see them. Every public read of a transaction is listed."""
    public = {name for name in dir(Transaction) if not name.startswith("_")}
    assert public - _NOT_READ_HERE == {name for name, _ in _READS}
    one, other = homes
    envelopes = list(demo.envelopes(demo.story(), one.signer(REGISTRAR_KEY)))
    committed, tail = envelopes[:-25], [open_envelope(data) for data in envelopes[-25:]]
    now = datetime.now(UTC)
    ledger, reference = one.ledger(), other.ledger()
    try:
        assert all(r.accepted for r in reference.submit(envelopes, now=now, atomic=True))
        with reference.store.reader(registrars=reference.root.registrar_keys()) as tx:
            ids = _ids(tx, tail)
            expected = [read(tx, ids) for _, read in _READS]
        assert all(r.accepted for r in ledger.submit(committed, now=now, atomic=True))
        for (name, read), want in zip(_READS, expected, strict=True):
            assert _read_after_appends(ledger, tail, read, ids, now=now) == want, name
    finally:
        ledger.store.dispose()
        reference.store.dispose()


# --- stamps: fixed-width text whose order is time order ---------------------------------------


_OFFSETS = st.builds(
    timezone, st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23))
)
"""Fixed offsets: a zone's ambiguous local times compare in ways no stamp could keep."""


# hypothesis takes naive bounds; timezones= makes every example aware
_EARLIEST = datetime(2, 1, 1)  # noqa: DTZ001
_LATEST = datetime(9998, 12, 31)  # noqa: DTZ001


@settings(max_examples=300, deadline=None)
@given(
    first=st.datetimes(_EARLIEST, _LATEST, timezones=_OFFSETS),
    second=st.datetimes(_EARLIEST, _LATEST, timezones=_OFFSETS),
)
def test_stamp_text_order_is_time_order_and_round_trips(first: datetime, second: datetime) -> None:
    assume(first.utcoffset() is not None and second.utcoffset() is not None)
    a, b = stamp(first), stamp(second)
    assert len(a) == len(b) == 27
    assert (a < b) == (first < second)
    assert unstamp(a) == first
