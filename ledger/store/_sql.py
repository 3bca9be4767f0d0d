"""SQL shared by the store's jobs: Core table handles, bounded ``IN`` lists, and the two
statements that go straight to the driver (bulk inserts and log-index lookups).

The hot paths read and write plain rows through SQLAlchemy Core rather than ORM objects;
the tables here are the same tables :mod:`ledger.store._rows` declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Dialect,
    Select,
    Table,
    any_,
    bindparam,
    insert,
    select,
)

from ledger.store._rows import (
    EventRow,
    FacilityRegistrationRow,
    FacilityRow,
    FindingEffectRow,
    FindingRow,
    FlowRow,
    LogEntry,
    LotRow,
    MerkleNode,
    ParticipantKeyRow,
    ParticipantRow,
    ShipmentLotRow,
    ShipmentRow,
    SignatureRow,
    UntracedRow,
)

CHUNK = 500
"""Bound IN lists: SQLite and PostgreSQL both limit bound parameters per statement."""


def table(row: type[Any]) -> Table:
    """The Core table of a row class."""
    found: Table = row.__table__
    return found


LOG_ENTRY = table(LogEntry)
MERKLE_NODE = table(MerkleNode)
SIGNATURE = table(SignatureRow)
EVENT = table(EventRow)
FLOW = table(FlowRow)
UNTRACED = table(UntracedRow)
FINDING = table(FindingRow)
FINDING_EFFECT = table(FindingEffectRow)
LOT = table(LotRow)
SHIPMENT = table(ShipmentRow)
SHIPMENT_LOT = table(ShipmentLotRow)
FACILITY = table(FacilityRow)
FACILITY_REGISTRATION = table(FacilityRegistrationRow)
PARTICIPANT = table(ParticipantRow)
PARTICIPANT_KEY = table(ParticipantKeyRow)

APPEND_ONLY = (LOG_ENTRY, MERKLE_NODE, SIGNATURE, EVENT, FLOW, UNTRACED, FINDING, FINDING_EFFECT)
"""The tables whose rows are only ever inserted (never updated) while a ledger grows."""


ARRAY_CHUNK = 20_000
"""Values per PostgreSQL array parameter (:func:`rows_in`): one parameter, however long."""


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """``items`` without duplicates, in order, cut into lists that fit one ``IN`` clause."""
    ordered = sorted(set(items))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def log_index_of(connection: Connection, key: Column[Any], values: Iterable[Any]) -> list[Any]:
    """(key, log_index) of the log entries whose ``key`` column is one of ``values``: one
    lookup per envelope of a batch (:func:`rows_in`)."""
    return rows_in(connection, _log_index_select(key), key, values)


@lru_cache(maxsize=8)
def _log_index_select(key: Column[Any]) -> Select[Any]:
    return select(key, LOG_ENTRY.c.log_index)


def rows_in(
    connection: Connection, statement: Select[Any], key: Column[Any], values: Iterable[Any]
) -> list[Any]:
    """The rows of ``statement`` whose ``key`` column is one of ``values``, straight to the
    driver, in as few statements as the database allows: on PostgreSQL one array parameter
    per :data:`ARRAY_CHUNK` values (``key = ANY(...)``), on SQLite (``qmark`` parameters)
    an ``IN`` list of :data:`CHUNK` bound parameters.

    SQLAlchemy's handling of a literal IN list (coercing each value, then expanding the
    list at every execution) cost three times the query itself, and on PostgreSQL each
    statement is a round trip; the statement text is compiled once per dialect (and list
    length) instead. ``statement`` must be built once (a module constant): it is part of
    the cache key.
    """
    found: list[Any] = []
    if connection.dialect.name == "postgresql":
        sql = _any_sql(connection.dialect, statement, key)
        for chunk in chunks(values, ARRAY_CHUNK):
            found.extend(connection.exec_driver_sql(sql, {"keys": chunk}).all())
        return found
    for chunk in chunks(values):
        sql = _in_sql(connection.dialect, statement, key, len(chunk))
        found.extend(connection.exec_driver_sql(sql, tuple(chunk)).all())
    return found


@lru_cache(maxsize=256)
def _in_sql(dialect: Dialect, statement: Select[Any], key: Column[Any], count: int) -> str:
    filtered = statement.where(key.in_([bindparam(f"k{i}") for i in range(count)]))
    return str(filtered.compile(dialect=dialect))


@lru_cache(maxsize=64)
def _any_sql(dialect: Dialect, statement: Select[Any], key: Column[Any]) -> str:
    filtered = statement.where(key == any_(bindparam("keys")))
    return str(filtered.compile(dialect=dialect))


def insert_many(connection: Connection, into: Table, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT per row, handed to the driver's executemany in one call.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself; the
    values here are plain str, int, bool and bytes, which both drivers adapt directly.
    Every row of one call has the same fields (one builder per table).
    """
    sql, order = _insert_sql(connection.dialect, into, tuple(rows[0]))
    if order is None:
        connection.exec_driver_sql(sql, list(rows))
    else:
        connection.exec_driver_sql(sql, [tuple(row[name] for name in order) for row in rows])


@lru_cache(maxsize=256)
def _insert_sql(
    dialect: Dialect, into: Table, names: tuple[str, ...]
) -> tuple[str, tuple[str, ...] | None]:
    """The dialect's INSERT text for ``names``, and the parameter order when positional."""
    compiled = insert(into).compile(dialect=dialect, column_keys=list(names))
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return str(compiled), order
