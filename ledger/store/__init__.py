"""Storage: SQLModel rows, engines from URLs, the log, the derived index and the reads over
them (the only ``sqlmodel`` user).

The public face is re-exported here; the modules behind it are internal, one per job:

- ``_engine``: engines from database URLs, with each backend's locking;
- ``_rows``: the SQLModel row classes; ``_stamps``: timestamps as stored;
- ``_sql``: Core table handles and the statements that go straight to the driver;
- ``_store``: :class:`Store`, the database behind one ledger;
- ``_transaction``: :class:`Transaction`, the facade over one unit of work, whose jobs are
  ``_unit`` (shared state and the one read path), ``_working`` (the write path's in-memory
  rows), ``_log`` (log rows and checkpoints), ``_derive`` (index derivation), ``_views`` and
  ``_graph_views`` (the reads callers make), ``_listings`` (what the listing commands show).
"""

from ledger.store._engine import resolve_db_url, sqlite_files
from ledger.store._listings import FacilityListing, LotFilter, LotListing, ParticipantListing
from ledger.store._rows import CheckpointRow, LogEntry, StoredEntry
from ledger.store._stamps import stamp, unstamp
from ledger.store._store import LedgerIdentity, Store
from ledger.store._transaction import Transaction

__all__ = [
    "CheckpointRow",
    "FacilityListing",
    "LedgerIdentity",
    "LogEntry",
    "LotFilter",
    "LotListing",
    "ParticipantListing",
    "Store",
    "StoredEntry",
    "Transaction",
    "resolve_db_url",
    "sqlite_files",
    "stamp",
    "unstamp",
]
