"""The log as C2SP tlog-tiles: hash tiles and entry bundles read from the stored tree.

Every perfect subtree hash is stored (``ledger.store``), so a hash tile is one query for
the 256 (or fewer) hashes at tree level ``8 * L``; an entry bundle is the canonical
envelopes of up to 256 consecutive entries. Both exist only up to the newest checkpoint:
a tile is never served for a tree no signed checkpoint covers.
"""

from __future__ import annotations

from ledger.log import tiles
from ledger.store import Store


def _published_size(store: Store) -> int:
    with store.reader() as tx:
        row = tx.latest_checkpoint()
    return 0 if row is None else row.tree_size


def hash_tile(store: Store, ref: tiles.TileRef) -> bytes | None:
    """The hash tile ``ref`` names, or ``None`` when the published tree does not hold it
    (yet) at that width."""
    assert ref.level is not None
    available = tiles.tile_width_at(ref.level, ref.index, _published_size(store))
    if ref.width > available:
        return None
    wanted = tiles.tile_nodes(ref.level, ref.index, ref.width)
    with store.reader() as tx:
        found = tx.get_nodes(wanted)
    if len(found) != len(wanted):
        return None
    return tiles.encode_hash_tile([found[node] for node in wanted])


def entry_bundle(store: Store, ref: tiles.TileRef) -> bytes | None:
    """The entry bundle ``ref`` names, or ``None`` when the published tree does not hold
    it (yet) at that width."""
    available = tiles.tile_width_at(0, ref.index, _published_size(store))
    if ref.width > available:
        return None
    start = ref.index * tiles.TILE_WIDTH
    with store.reader() as tx:
        envelopes = [e.envelope for e in tx.entries(start=start, stop=start + ref.width)]
    if len(envelopes) != ref.width:
        return None
    return tiles.encode_entry_bundle(envelopes)
