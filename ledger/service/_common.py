"""What several service modules share: the progress callback and the prefetch chunk size."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int], None]
"""Called with the number of items just finished."""

Steps = Callable[[int, int], None]
"""Called with (items done, items in all) when the total is known only once work began."""

PREFETCH = 2048
"""Envelopes whose rows are loaded together before they are admitted or replayed."""
