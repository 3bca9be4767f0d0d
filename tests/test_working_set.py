"""The write path's working set (``ledger.store._working``) against the database itself.

A ledger built in one atomic batch (every row mirrored in memory until the flush) must
hold exactly the rows of the same ledger built one envelope per transaction (every read
going back to the database), and of its rebuilt index; the demo story exercises every
record kind, findings, a revocation and a receipt of a multi-lot shipment.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger import demo
from ledger.service import Ledger
from ledger.service.home import LOG_KEY, REGISTRAR_KEY, Home, init_home
from ledger.store import stamp, unstamp
from ledger.store._rows import DERIVED_TABLES, LogEntry, MerkleNode


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
            assert isinstance(tx.entries_at([0])[0], LogEntry)
    finally:
        ledger.store.dispose()


# --- stamps: fixed-width text whose order is time order ---------------------------------------


_OFFSETS = st.builds(
    timezone, st.timedeltas(min_value=-timedelta(hours=23), max_value=timedelta(hours=23))
)
"""Fixed offsets: a zone's ambiguous local times compare in ways no stamp could keep."""


@settings(max_examples=300, deadline=None)
@given(
    first=st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 31), timezones=_OFFSETS),
    second=st.datetimes(datetime(2, 1, 1), datetime(9998, 12, 31), timezones=_OFFSETS),
)
def test_stamp_text_order_is_time_order_and_round_trips(first: datetime, second: datetime) -> None:
    assume(first.utcoffset() is not None and second.utcoffset() is not None)
    a, b = stamp(first), stamp(second)
    assert len(a) == len(b) == 27
    assert (a < b) == (first < second)
    assert unstamp(a) == first
