"""PostgreSQL plans from statistics only ANALYZE collects, and autovacuum may be off (it is
on the machine the benchmarks run on): a ledger without them read a lot's shipments by a
parallel scan of every shipment, 110 ms per ``check`` on a million records instead of 11.
The store refreshes them when the log reaches a power of two from ``ANALYZE_FROM`` on, and
after a reindex (ADR 0041)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.service.home import REGISTRAR_KEY, Home
from ledger.store import _store

from helpers import World


@pytest.fixture
def pg_home(home: Home) -> Home:
    if not home.db_url.startswith("postgresql"):
        pytest.skip("SQLite plans without statistics")
    return home


def never_analyzed(home: Home) -> bool:
    """Whether PostgreSQL has no statistics on the ``lot`` table."""
    store = home.ledger().store
    try:
        with store.engine.connect() as connection:
            tuples = connection.execute(
                text(
                    "SELECT reltuples FROM pg_class WHERE relname = 'lot' "
                    "AND relnamespace = current_schema()::regnamespace"
                )
            ).scalar_one()
        return bool(tuples < 0)  # -1: never analyzed (nor vacuumed)
    finally:
        store.dispose()


def build(home: Home) -> World:
    ledger = home.ledger()
    world = World(home=home, ledger=ledger, registrar=home.signer(REGISTRAR_KEY)).build()
    ledger.store.dispose()
    return world


def test_a_log_that_reaches_the_threshold_gets_statistics(
    pg_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_store, "ANALYZE_FROM", 8)
    build(pg_home)
    assert not never_analyzed(pg_home)


def test_a_log_below_the_threshold_is_not_analyzed(
    pg_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case above can fail: without the refresh, the table has no statistics."""
    monkeypatch.setattr(_store, "ANALYZE_FROM", 1 << 40)
    build(pg_home)
    assert never_analyzed(pg_home)


def test_a_reindex_refreshes_the_statistics(pg_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_store, "ANALYZE_FROM", 1 << 40)
    build(pg_home)
    assert never_analyzed(pg_home)
    ledger = pg_home.ledger()
    try:
        ledger.reindex()
    finally:
        ledger.store.dispose()
    assert not never_analyzed(pg_home)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (0, 4095, False),
        (0, 4096, True),
        (4095, 4096, True),
        (4096, 8191, False),
        (5000, 9000, True),
        (9000, 9000, False),
        (0, 3, False),
    ],
)
def test_the_refresh_happens_at_each_doubling(before: int, after: int, expected: bool) -> None:
    assert _store._doubled(before, after) is expected
