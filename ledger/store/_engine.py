"""Engines from database URLs, with the locking each backend needs for a gap-free log.

SQLite runs in WAL mode; every write transaction starts with ``BEGIN IMMEDIATE``, which
takes the database's write lock across processes before anything is read, so two writers
can never compute the same next log index. Read-only work starts a deferred transaction
and does not block writers. On PostgreSQL the writer locks the ``tree_head`` row
(``SELECT ... FOR UPDATE``) instead; see :mod:`ledger.store._store`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ledger.errors import ConfigError

READ_ONLY = "bloc_read_only"
"""Execution option: a transaction that never writes (SQLite then begins deferred)."""

SQLITE_BUSY_TIMEOUT_MS = 120_000


def backend_of(url: str) -> str:
    """``sqlite`` or ``postgresql``; anything else is a configuration error."""
    try:
        name = make_url(url).get_backend_name()
    except (ArgumentError, ValueError) as e:
        raise ConfigError(f"database URL {redact(url)!r} is not a valid URL") from e
    if name not in ("sqlite", "postgresql"):
        raise ConfigError(f"database URL {redact(url)!r}: only sqlite and postgresql are supported")
    return name


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable URL>"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///PATH`` or ``postgresql+psycopg://...``)."""
    backend = backend_of(url)
    try:
        if backend == "sqlite":
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _configure_sqlite(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError, TypeError) as e:
        raise ConfigError(f"cannot use database URL {redact(url)!r}: {e}") from e
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (the pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a checkpoint that was printed must survive a power cut, or the log could
        # sign a different tree at the same size (equivocation).
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA cache_size = -65536")  # 64 MiB: keep the hot indexes in memory
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def resolve_db_url(url: str, base: Path) -> str:
    """Make a relative SQLite path absolute against ``base``; leave other URLs alone."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as e:
        raise ConfigError(f"database URL {redact(url)!r} is not a valid URL") from e
    database = parsed.database
    is_file = parsed.get_backend_name() == "sqlite" and database and database != ":memory:"
    if is_file and not Path(str(database)).is_absolute():
        resolved = str((base / str(database)).resolve())
        return parsed.set(database=resolved).render_as_string(hide_password=False)
    return url


def sqlite_files(url: str) -> list[Path]:
    """The files a SQLite database at ``url`` consists of (none for other backends)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return []
    base = Path(parsed.database)
    return [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-shm")]
