"""Reading log columns whose type an attacker may have changed.

Anyone with write access to the database can store text where bytes belong, a float or a
word where an integer belongs (SQLite keeps any value in any column; on PostgreSQL a column
can be altered). The log's readers therefore fetch these columns raw, without the
database driver's conversions, and check each value's type here: a wrong one is a
:class:`~ledger.errors.VerificationError` naming the row, never a ``TypeError`` from deep
inside a library.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, type_coerce
from sqlalchemy.types import NullType

from ledger.errors import VerificationError

EDITED = "the database was edited"


def raw(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` as the driver returns it, without SQLAlchemy's result conversion."""
    return type_coerce(column, NullType())


def shown(value: object) -> str:
    """A stored value for a message: text quoted, anything else as it prints (cut short)."""
    return repr(value)[:40] if isinstance(value, str) else str(value)[:40]


def _kind(value: object) -> str:
    match value:
        case str():
            return "text"
        case bool():
            return "a boolean"
        case int():
            return "an integer"
        case float():
            return "a real number"
        case None:
            return "NULL"
        case _:
            return type(value).__name__


def as_index(value: object, what: str) -> int:
    """An integer column (a log index, a tree size, a node index)."""
    if type(value) is int:
        return value
    raise VerificationError(f"{what} is stored as {_kind(value)}, not an integer ({EDITED})")


def as_bytes(value: object, what: str) -> bytes:
    """A binary column (an envelope, a hash)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise VerificationError(f"{what} is stored as {_kind(value)}, not bytes ({EDITED})")


def as_text(value: object, what: str) -> str:
    """A text column."""
    if isinstance(value, str):
        return value
    raise VerificationError(f"{what} is stored as {_kind(value)}, not text ({EDITED})")
