"""What several service modules share: the progress callback and the prefetch chunk size."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int], None]
"""Called with the number of items just finished."""

PREFETCH = 2048
"""Envelopes whose rows are loaded together before they are admitted or replayed."""
