"""Demo ledgers: the story of ``bloc demo`` and the synthetic generator of ``--size``."""

from ledger.demo._demo import (
    AS_OF,
    Item,
    Plan,
    envelopes,
    story,
    synthetic,
)

__all__ = [
    "AS_OF",
    "Item",
    "Plan",
    "envelopes",
    "story",
    "synthetic",
]
