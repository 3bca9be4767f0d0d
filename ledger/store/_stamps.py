"""Timestamps as stored: fixed-width UTC text, so that text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.errors import StorageError


def stamp(moment: datetime) -> str:
    """Fixed-width UTC text (four-digit years, microseconds): text order is time order."""
    # isoformat always writes four-digit years; in UTC it ends in "+00:00".
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def unstamp(text: str) -> datetime:
    """The inverse of :func:`stamp`.

    Raises:
        StorageError: the text is not a stamp (a column edited outside the ledger).
    """
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as e:
        raise StorageError(f"stored timestamp {text[:40]!r} is malformed") from e
