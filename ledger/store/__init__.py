"""Storage: SQLModel rows, engines from URLs, and the repository (the only ``sqlmodel`` user)."""

from ledger.store.engine import resolve_db_url, sqlite_files
from ledger.store.repository import Store, Transaction
from ledger.store.rows import CheckpointRow, LogEntry, StoredEntry
from ledger.store.stamps import stamp, unstamp

__all__ = [
    "CheckpointRow",
    "LogEntry",
    "Store",
    "StoredEntry",
    "Transaction",
    "resolve_db_url",
    "sqlite_files",
    "stamp",
    "unstamp",
]
