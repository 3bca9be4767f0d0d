"""The store: one database behind one ledger, and the transactions over it.

:class:`Store` owns the engine. :meth:`Store.writer` opens a transaction that holds the
append lock for its whole life (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` of
the ``tree_head`` row on PostgreSQL), so log indexes are assigned gap-free and without
duplicates across processes. :meth:`Store.reader` opens a read-only transaction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, SQLModel, select

from ledger.core.signing import KeyId, PublicKey
from ledger.errors import ConfigError, StorageError
from ledger.log.merkle import Frontier
from ledger.store._engine import READ_ONLY, backend_of, make_engine, redact
from ledger.store._rows import DERIVED_TABLES, SCHEMA_VERSION, Meta, TreeHead
from ledger.store._transaction import Transaction
from ledger.store._typed import as_bytes, as_index

_HEAD_ID = 1

ANALYZE_FROM = 4096
"""On PostgreSQL, the planner's statistics are refreshed each time the log reaches a power
of two from this size on (4,096, 8,192, ...), and after a reindex (ADR 0041)."""
_ORIGIN_KEY = "log_origin"
_ROOT_KEY = "root_sha256"


@dataclass(frozen=True, slots=True)
class LedgerIdentity:
    """Which ledger a database belongs to: its log origin and the SHA-256 of its home's
    ``root.json`` (ADR 0027), recorded in ``meta`` when the database is created."""

    origin: str
    root_sha256: str
    """Lower-case hex."""

    def describe(self) -> str:
        return f"{self.origin} (root {self.root_sha256[:16]})"


class Store:
    """The database behind one ledger."""

    def __init__(self, engine: Engine, *, url: str, partial: bool = False) -> None:
        self.engine = engine
        self.url = url
        self.backend = backend_of(url)
        self.partial = partial
        """A partial replay (an evidence bundle): references outside it are skipped."""
        self.throwaway = False
        """A store made by :meth:`scratch`, for a replay."""
        self.unbound: LedgerIdentity | None = None
        """The identity of the home that opened a database created before databases recorded
        theirs (ADR 0027): until ``bloc reindex`` from that home has checked the log against
        its ``root.json`` and recorded it, every reader and writer refuses."""
        self._auditing = False
        self.stale_index: str | None = None
        """The schema version of an index built by an older bloc (None when current): its
        derived tables lack what this bloc reads, so only :meth:`reindexing` may open it."""

    @classmethod
    def open(cls, url: str, *, identity: LedgerIdentity | None = None) -> Store:
        """Open an existing ledger database; with ``identity``, only as that ledger's.

        Raises:
            ConfigError: the database is unreachable, holds no ledger, or (before anything
                but its identity is read) belongs to a ledger other than ``identity``.
        """
        store = cls(make_engine(url), url=url)
        try:
            with store._bind(read_only=True).connect() as connection:
                tables = set(inspect(connection).get_table_names())
        except (SQLAlchemyError, ValueError, TypeError) as e:
            raise ConfigError(f"cannot open database {redact(url)}: {_first_line(e)}") from e
        if "meta" not in tables or "tree_head" not in tables:
            raise ConfigError(f"database {redact(url)} holds no ledger (run 'bloc init')")
        if identity is not None:
            store._check_identity(identity)
        version = store._schema_version()
        if version != SCHEMA_VERSION:
            if not version.isdigit() or int(version) > int(SCHEMA_VERSION):
                raise ConfigError(
                    f"database {redact(url)} was indexed by a newer bloc (schema version "
                    f"{version}; this bloc reads {SCHEMA_VERSION}): upgrade bloc"
                )
            store.stale_index = version
        return store

    def tree_size(self) -> int:
        """The log's size, from its tree head (readable while the index is stale)."""
        with self._session(read_only=True) as session:
            return session.exec(select(TreeHead.tree_size).where(TreeHead.id == _HEAD_ID)).one()

    def _schema_version(self) -> str:
        with self._session(read_only=True) as session:
            row = session.get(Meta, "schema_version")
        return row.value if row is not None else "0"

    def label(self) -> str:
        """``database URL`` for messages, with any password redacted."""
        return f"database {redact(self.url)}"

    def identity(self) -> LedgerIdentity | None:
        """The identity recorded in the database (None for one created by an older bloc)."""
        with self._session(read_only=True) as session:
            origin = session.get(Meta, _ORIGIN_KEY)
            digest = session.get(Meta, _ROOT_KEY)
        if origin is None or digest is None:
            return None
        return LedgerIdentity(origin.value, digest.value)

    def _check_identity(self, expected: LedgerIdentity) -> None:
        recorded = self.identity()
        if recorded is None:
            self.unbound = expected
        elif recorded != expected:
            raise ConfigError(
                f"database {redact(self.url)} belongs to ledger {recorded.describe()}, "
                f"not this home's {expected.describe()}"
            )

    def rebind(self, identity: LedgerIdentity) -> None:
        """Record a new identity for this bound database (its home's ``root.json`` changed
        by the operator's own command: a witness added, ADR 0037). The caller opened the
        store with the old identity, so only the ledger's own home can do this.

        Raises:
            ConfigError: the database is unbound, or is for another origin.
        """
        if self.unbound is not None or self.stale_index is not None:
            raise ConfigError(f"{self.label()} must be reindexed before root.json can change")
        if identity.origin != (self.identity() or identity).origin:
            raise ConfigError("the log origin of a ledger cannot change")
        with self._session(read_only=False) as session:
            session.merge(Meta(key=_ROOT_KEY, value=identity.root_sha256))
            session.commit()

    @contextmanager
    def auditing(self) -> Iterator[None]:
        """Let readers open the log of a database not yet bound to its home (ADR 0027), so
        ``bloc reindex`` can check it against the home's ``root.json`` before binding it.
        A stale index (ADR 0026) is let through too: only the log may be read then."""
        self._auditing = True
        try:
            yield
        finally:
            self._auditing = False

    def _refuse_stale(self) -> None:
        if self.unbound is not None and not self._auditing:
            raise ConfigError(
                f"database {redact(self.url)} records no ledger identity (created by an older "
                "bloc): run 'bloc reindex' from its own home to check its log against that "
                "home's root.json and record it"
            )
        if self.stale_index is not None and not self._auditing:
            raise ConfigError(
                f"database {redact(self.url)} was indexed by an older bloc (schema version "
                f"{self.stale_index}; this bloc reads {SCHEMA_VERSION}): run 'bloc reindex' to "
                "rebuild the index from the log"
            )

    @classmethod
    def create(cls, url: str, *, identity: LedgerIdentity | None = None) -> Store:
        """Create the tables of a new, empty ledger (``identity``: whose it is; scratch
        replays have none and are never opened again).

        Raises:
            ConfigError: the database is unreachable or already holds a ledger.
        """
        store = cls(make_engine(url), url=url)
        try:
            with store.engine.connect() as connection:
                if "tree_head" in inspect(connection).get_table_names():
                    raise ConfigError(f"database {redact(url)} already holds a ledger")
            SQLModel.metadata.create_all(store.engine)
            with Session(store.engine) as session:
                session.add(Meta(key="schema_version", value=SCHEMA_VERSION))
                if identity is not None:
                    session.add(Meta(key=_ORIGIN_KEY, value=identity.origin))
                    session.add(Meta(key=_ROOT_KEY, value=identity.root_sha256))
                empty = Frontier.empty()
                session.add(TreeHead(id=_HEAD_ID, tree_size=0, frontier=empty.to_bytes()))
                session.commit()
        except SQLAlchemyError as e:
            raise ConfigError(f"cannot create ledger in {redact(url)}: {_first_line(e)}") from e
        return store

    def dispose(self) -> None:
        self.engine.dispose()

    @classmethod
    @contextmanager
    def scratch(cls, *, partial: bool = False) -> Iterator[Store]:
        """A throw-away SQLite ledger in a temporary directory (for replays).

        ``partial`` replays hold part of a log (an evidence bundle's records): a lot or
        shipment that an entry refers to but the replay does not hold is skipped, where a
        full ledger would report a broken invariant.
        """
        with tempfile.TemporaryDirectory(prefix="bloc-scratch-") as directory:
            store = cls.create(f"sqlite:///{Path(directory) / 'scratch.db'}")
            store.partial = partial
            store.throwaway = True
            try:
                yield store
            finally:
                store.dispose()

    @contextmanager
    def writer(self, *, registrars: Mapping[KeyId, PublicKey]) -> Iterator[Transaction]:
        """A write transaction holding the append lock; commits when the block ends cleanly.

        Raises:
            ConfigError: the index was built by an older bloc (see :meth:`reindexing`).
        """
        self._refuse_stale()
        with self._session(read_only=False) as session:
            head = _checked_head(
                session.exec(
                    select(TreeHead).where(TreeHead.id == _HEAD_ID).with_for_update()
                ).one()
            )
            before = head.tree_size
            tx = Transaction(
                session, head, registrars=registrars, partial=self.partial, scratch=self.throwaway
            )
            yield tx
            tx.sync()
            session.commit()
            after = tx.tree_size
        if _doubled(before, after):
            self.refresh_statistics()

    def refresh_statistics(self) -> None:
        """Have PostgreSQL collect the statistics its planner reads (``ANALYZE``).

        Without them, and autovacuum may be off, the planner guesses: with no statistics
        a lot's shipments were read by a parallel scan of every shipment, 100 ms per
        ``check`` on a million records instead of 1 ms. SQLite plans without statistics.
        Statistics are only an optimisation: a failure leaves the committed write as it is.
        """
        if self.backend != "postgresql":
            return
        tables = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql(f"ANALYZE {tables}")
                connection.commit()
        except SQLAlchemyError:
            return

    @contextmanager
    def reader(
        self, *, registrars: Mapping[KeyId, PublicKey] | None = None
    ) -> Iterator[Transaction]:
        """A read-only transaction (ended without commit when the block ends).

        Raises:
            ConfigError: the index was built by an older bloc (see :meth:`reindexing`).
        """
        self._refuse_stale()
        with self._session(read_only=True) as session:
            head = _checked_head(
                session.exec(select(TreeHead).where(TreeHead.id == _HEAD_ID)).one()
            )
            # Closing the session ends the transaction without expiring loaded rows.
            yield Transaction(session, head, registrars=registrars or MappingProxyType({}))

    @contextmanager
    def reindexing(self, *, registrars: Mapping[KeyId, PublicKey]) -> Iterator[Transaction]:
        """A writer whose index starts empty, for replaying the whole log into it.

        An index built by an older bloc has its derived tables made anew first (the log,
        its tree and checkpoints are kept); the current schema version is recorded only when
        the block ends cleanly, so a failed replay leaves the index still marked stale. A
        database not yet bound to its home (:attr:`unbound`) is bound in the same transaction:
        the caller must have checked its log against the home's ``root.json`` first.
        """
        if self.stale_index is not None:
            tables = [table.__table__ for table in DERIVED_TABLES]  # type: ignore[attr-defined]
            try:
                SQLModel.metadata.drop_all(self.engine, tables=tables)
                SQLModel.metadata.create_all(self.engine, tables=tables)
            except SQLAlchemyError as e:
                raise StorageError(f"cannot rebuild the index: {_first_line(e)}") from e
        stale, self.stale_index = self.stale_index, None
        unbound, self.unbound = self.unbound, None
        try:
            with self.writer(registrars=registrars) as tx:
                tx.clear_index()
                yield tx
                if stale is not None:
                    tx.session.merge(Meta(key="schema_version", value=SCHEMA_VERSION))
                if unbound is not None:
                    tx.session.merge(Meta(key=_ORIGIN_KEY, value=unbound.origin))
                    tx.session.merge(Meta(key=_ROOT_KEY, value=unbound.root_sha256))
        except BaseException:
            self.stale_index, self.unbound = stale, unbound
            raise
        self.refresh_statistics()  # every derived table was written anew

    def _bind(self, *, read_only: bool) -> Engine:
        if not read_only:
            return self.engine
        if self.backend == "postgresql":
            # One snapshot for the whole read: a concurrent append must not make verify
            # see entries that its tree head does not count yet.
            return self.engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        return self.engine.execution_options(**{READ_ONLY: True})

    @contextmanager
    def _session(self, *, read_only: bool) -> Iterator[Session]:
        try:
            with Session(
                self._bind(read_only=read_only), autoflush=True, expire_on_commit=False
            ) as session:
                yield session
        except SQLAlchemyError as e:
            raise StorageError(f"database error: {_first_line(e)}") from e


def _doubled(before: int, after: int) -> bool:
    """Whether the log grew past a power of two of at least :data:`ANALYZE_FROM`."""
    return after >= ANALYZE_FROM and after.bit_length() > max(before, ANALYZE_FROM - 1).bit_length()


def _checked_head(head: TreeHead) -> TreeHead:
    """The tree head, its columns of the types they must have (ADR 0006)."""
    as_index(head.tree_size, "the tree head's tree_size")
    as_bytes(head.frontier, "the tree head's frontier")
    return head


def _first_line(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
