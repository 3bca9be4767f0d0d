"""The C2SP ``tlog-tiles`` layout of the RFC 6962 log: tile paths, tile and bundle bytes, roots.

This module is pure (standard library and :mod:`ledger.log.merkle` only) and does no I/O. A tiled
log serves its Merkle tree as *tiles*: tile ``N`` at level ``L`` holds up to 256 consecutive
hashes of Merkle level ``8 * L``, hash ``i`` being ``MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1)
* 256**L])``. Level 0 tiles hold leaf hashes, and the *entry bundle* ``N`` holds the entries
those leaf hashes are computed from. What it guarantees:

* :func:`tile_path` and :func:`entries_path` write the path after ``<prefix>/tile/`` exactly as
  the specification does (``<L>/<N>[.p/<W>]`` and ``entries/<N>[.p/<W>]``, ``N`` in 3-digit
  groups, all but the last prefixed ``x``), and :func:`parse_tile_path` accepts exactly those
  strings: every resource has one path, and any other spelling raises :class:`InputError`.
* :func:`tile_width_at` is the number of hashes a tile holds for a tree size: 256 for a full
  tile, ``floor(size / 256**L) mod 256`` for the partial tile at the right edge, 0 for a tile
  that does not exist yet (empty tiles are never served).
* Hash tiles and entry bundles are encoded and decoded exactly: a hash tile is its hashes
  concatenated; a bundle is each entry prefixed with its big-endian ``uint16`` length. Decoding
  refuses wrong lengths, truncation and trailing bytes with :class:`InputError`.
* :func:`root_from_tiles` computes the RFC 6962 root of a tree size from tiles alone, so that a
  client can hold the tiles it fetched to a checkpoint's root hash. It reads only the partial
  tiles of that size (one per non-zero base-256 digit of the size), never a tile that did not
  exist at that size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.errors import InputError
from ledger.log.merkle import EMPTY_ROOT, HASH_SIZE, NodeGetter, hash_children

__all__ = [
    "MAX_ENTRY_BYTES",
    "MAX_TILE_INDEX",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileGetter",
    "TileRef",
    "decode_entry_bundle",
    "decode_hash_tile",
    "encode_entry_bundle",
    "encode_hash_tile",
    "entries_path",
    "parse_tile_path",
    "root_from_tiles",
    "tile_nodes",
    "tile_path",
    "tile_width_at",
]

TILE_HEIGHT = 8
"""Merkle levels spanned by one tile: a tile at level ``L`` holds hashes of Merkle level
``TILE_HEIGHT * L``."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile (256), and entries in a full bundle."""

MAX_TILE_LEVEL = 63
"""The highest tile level a path may name (the specification's bound)."""

MAX_TILE_INDEX = (1 << 64) - 1
"""The highest tile index a path may name. Tree sizes are 64-bit, so no tile index beyond it is
ever needed; bounding it also bounds the work of parsing a path."""

MAX_ENTRY_BYTES = 0xFFFF
"""The longest entry an entry bundle can hold: its length prefix is a ``uint16``. Admission
refuses a longer canonical envelope (``ledger.core.codec.MAX_CANONICAL_ENVELOPE_BYTES``, held
equal to this by a test; ADR 0033), so every admitted entry can be served."""

TileGetter = Callable[[int, int, int], list[bytes]]
"""``get_tile(level, index, width)``: the ``width`` hashes of tile ``index`` at tile ``level``
(as :func:`decode_hash_tile` returns them)."""

_ENTRIES = "entries"
_PARTIAL = ".p/"
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
# At most seven groups: 2**64 - 1 has twenty digits. [0-9], not \d, which matches any Unicode digit.
_INDEX = re.compile(r"(?:x[0-9]{3}/){0,6}[0-9]{3}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TileRef:
    """One tiled-log resource: the hash tile ``index`` at tile ``level``, or the entry bundle
    ``index`` when ``level`` is ``None``, holding ``width`` hashes or entries (1 to 256).

    Raises :class:`InputError` on construction if a field is out of range.
    """

    level: int | None
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if self.level is not None:
            _check_level(self.level)
        if not 0 <= self.index <= MAX_TILE_INDEX:
            raise InputError(f"tile index {self.index} is not between 0 and {MAX_TILE_INDEX}")
        _check_width(self.width)

    @property
    def is_entries(self) -> bool:
        """Whether this is an entry bundle rather than a hash tile."""
        return self.level is None

    @property
    def is_partial(self) -> bool:
        """Whether this holds fewer than :data:`TILE_WIDTH` hashes or entries."""
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """The path after ``<prefix>/tile/``: ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]``."""
        head = _ENTRIES if self.level is None else str(self.level)
        suffix = f"{_PARTIAL}{self.width}" if self.is_partial else ""
        return f"{head}/{_encode_index(self.index)}{suffix}"


def _check_level(level: int) -> None:
    if not 0 <= level <= MAX_TILE_LEVEL:
        raise InputError(f"tile level {level} is not between 0 and {MAX_TILE_LEVEL}")


def _check_width(width: int) -> None:
    if not 1 <= width <= TILE_WIDTH:
        raise InputError(f"tile width {width} is not between 1 and {TILE_WIDTH}")


def _encode_index(index: int) -> str:
    """``index`` in zero-padded 3-digit groups, all but the last prefixed ``x``."""
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


# --------------------------------------------------------------------------- paths


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """The path of a hash tile after ``<prefix>/tile/``, e.g. ``0/x001/x234/067.p/5``.

    Raises :class:`InputError` unless ``0 <= level <= 63``, ``0 <= index < 2**64`` and
    ``1 <= width <= 256``.
    """
    return TileRef(level=level, index=index, width=width).path


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """The path of an entry bundle after ``<prefix>/tile/``, e.g. ``entries/x001/067``.

    Raises :class:`InputError` unless ``0 <= index < 2**64`` and ``1 <= width <= 256``.
    """
    return TileRef(level=None, index=index, width=width).path


def parse_tile_path(path: str) -> TileRef:
    """The resource named by a path after ``<prefix>/tile/``, in its one canonical spelling.

    ``parse_tile_path(ref.path) == ref`` for every :class:`TileRef`, and every string this
    accepts is the ``path`` of what it returns. Raises :class:`InputError` for anything else:
    a level with leading zeros or above 63, an index not in canonical 3-digit groups (a missing
    or extra ``x``, a leading ``x000`` group, more than 64 bits), a partial width of 0, of 256
    or more, or with leading zeros, and any other text.
    """
    head, sep, rest = path.partition("/")
    if not sep:
        raise InputError(f"tile path {path!r} is not <level>/<index>[.p/<width>]")
    level = _parse_level(path, head)
    index_text, width = _split_width(path, rest)
    return TileRef(level=level, index=_parse_index(path, index_text), width=width)


def _parse_level(path: str, head: str) -> int | None:
    if head == _ENTRIES:
        return None
    if not _LEVEL.fullmatch(head):
        raise InputError(f"tile path {path!r}: level {head!r} is not a decimal number 0 to 63")
    level = int(head)
    if level > MAX_TILE_LEVEL:
        raise InputError(f"tile path {path!r}: level {level} is above {MAX_TILE_LEVEL}")
    return level


def _split_width(path: str, rest: str) -> tuple[str, int]:
    """The index part and the width: 256 without a ``.p/`` suffix, 1 to 255 with one."""
    index_text, sep, width_text = rest.partition(_PARTIAL)
    if not sep:
        return rest, TILE_WIDTH
    if not _WIDTH.fullmatch(width_text):
        raise InputError(
            f"tile path {path!r}: partial width {width_text!r} is not a decimal number 1 to 255"
        )
    width = int(width_text)
    if width >= TILE_WIDTH:
        # A full tile has exactly one path, the one without a suffix.
        raise InputError(f"tile path {path!r}: a partial tile is narrower than {TILE_WIDTH}")
    return index_text, width


def _parse_index(path: str, text: str) -> int:
    if not _INDEX.fullmatch(text):
        raise InputError(f"tile path {path!r}: index {text!r} is not in x-prefixed 3-digit groups")
    if text.startswith("x000/"):
        raise InputError(f"tile path {path!r}: index {text!r} has a leading x000 group")
    index = int(text.replace("x", "").replace("/", ""))
    if index > MAX_TILE_INDEX:
        raise InputError(f"tile path {path!r}: index {index} does not fit in 64 bits")
    return index


# --------------------------------------------------------------------------- shape of the tree


def tile_width_at(level: int, index: int, tree_size: int) -> int:
    """How many hashes tile ``index`` at tile ``level`` holds in a tree of ``tree_size``
    leaves: 256 if full, 1 to 255 for the partial tile at the right edge, 0 if it does not exist.

    Raises :class:`InputError` for a level outside 0 to 63 or a negative index or size.
    """
    _check_level(level)
    if index < 0 or tree_size < 0:
        raise InputError(f"tile index {index} and tree size {tree_size} must be non-negative")
    hashes_at_level = tree_size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, hashes_at_level - index * TILE_WIDTH))


def tile_nodes(level: int, index: int, width: int) -> list[tuple[int, int]]:
    """The Merkle ``(level, index)`` nodes whose hashes the tile holds, in order: Merkle level
    ``8 * level``, indices ``index * 256`` to ``index * 256 + width - 1``.

    These are the keys of a :data:`ledger.log.merkle.NodeGetter` (and of a store that persists
    every perfect node). Raises :class:`InputError` as :class:`TileRef` does.
    """
    TileRef(level=level, index=index, width=width)
    first = index * TILE_WIDTH
    return [(TILE_HEIGHT * level, first + offset) for offset in range(width)]


# --------------------------------------------------------------------------- tile bytes


def encode_hash_tile(hashes: Sequence[bytes]) -> bytes:
    """The served bytes of a hash tile: its 1 to 256 hashes of 32 bytes, concatenated.

    Raises :class:`InputError` for no hashes, more than 256, or a hash that is not 32 bytes.
    """
    _check_width(len(hashes))
    for position, node in enumerate(hashes):
        if len(node) != HASH_SIZE:
            raise InputError(f"tile hash {position} is {len(node)} bytes, expected {HASH_SIZE}")
    return b"".join(hashes)


def decode_hash_tile(data: bytes, width: int) -> list[bytes]:
    """The ``width`` hashes of a served hash tile.

    Raises :class:`InputError` unless ``1 <= width <= 256`` and ``data`` is exactly
    ``width * 32`` bytes.
    """
    _check_width(width)
    expected = width * HASH_SIZE
    if len(data) != expected:
        raise InputError(
            f"tile of width {width} is {len(data)} bytes, expected {expected} ({width} hashes)"
        )
    return [bytes(data[start : start + HASH_SIZE]) for start in range(0, expected, HASH_SIZE)]


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """The served bytes of an entry bundle: each of its 1 to 256 entries prefixed with its
    length as a big-endian ``uint16``.

    Raises :class:`InputError` for no entries, more than 256, or an entry longer than
    :data:`MAX_ENTRY_BYTES`.
    """
    _check_width(len(entries))
    parts: list[bytes] = []
    for position, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_BYTES:
            raise InputError(
                f"bundle entry {position} is {len(entry):,} bytes, "
                f"longer than the {MAX_ENTRY_BYTES:,} a bundle can hold"
            )
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def decode_entry_bundle(data: bytes, *, width: int | None = None) -> list[bytes]:
    """The entries of a served entry bundle, in order.

    ``width``, when given (a client knows it from the path it fetched), is the number of entries
    the bundle must hold; bytes after that many entries are trailing garbage. Without it the
    bundle must hold 1 to 256 entries that use up ``data`` exactly.

    Raises :class:`InputError` for an empty bundle, a truncated length prefix or entry, more
    entries than ``width`` (or 256), or fewer than ``width``.
    """
    limit = TILE_WIDTH if width is None else width
    _check_width(limit)
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if len(entries) == limit:
            raise InputError(
                f"entry bundle has {len(data) - offset} bytes after its {limit} entries"
            )
        entry, offset = _read_entry(data, offset, len(entries))
        entries.append(entry)
    if not entries or (width is not None and len(entries) != width):
        raise InputError(f"entry bundle holds {len(entries)} entries, expected {limit}")
    return entries


def _read_entry(data: bytes, offset: int, position: int) -> tuple[bytes, int]:
    """Entry ``position`` starting at ``offset``, and the offset after it."""
    if offset + 2 > len(data):
        raise InputError(f"entry bundle is truncated in the length of entry {position}")
    length = int.from_bytes(data[offset : offset + 2], "big")
    start, end = offset + 2, offset + 2 + length
    if end > len(data):
        raise InputError(
            f"entry bundle is truncated in entry {position}: {len(data) - start} of {length} bytes"
        )
    return bytes(data[start:end]), end


# --------------------------------------------------------------------------- roots


def root_from_tiles(get_tile: TileGetter, tree_size: int) -> bytes:
    """``MTH(D[0:tree_size])`` computed from tiles only; :data:`EMPTY_ROOT` for size 0.

    The tree splits into one perfect subtree per set bit of ``tree_size``; one of height
    ``8 * L + r`` (``0 <= r < 8``) is the root of ``2**r`` hashes of the partial tile at tile
    level ``L``. So this calls ``get_tile`` once per tile level whose width
    (:func:`tile_width_at`) is not 0, for the partial tile of that level and with that width,
    and never for a tile that did not exist at ``tree_size``.

    Raises :class:`InputError` for a negative size or if ``get_tile`` returns a tile of the
    wrong shape. Comparing the result to a checkpoint's root is the caller's check.
    """
    if tree_size < 0:
        raise InputError(f"tree size {tree_size} is negative")
    subtrees: list[bytes] = []  # largest first, as in merkle.Frontier
    level = (tree_size.bit_length() - 1) // TILE_HEIGHT
    while level >= 0:
        subtrees.extend(_partial_tile_subtrees(get_tile, level, tree_size))
        level -= 1
    if not subtrees:
        return EMPTY_ROOT
    node = subtrees[-1]
    for left in reversed(subtrees[:-1]):
        node = hash_children(left, node)
    return node


def _partial_tile_subtrees(get_tile: TileGetter, level: int, tree_size: int) -> list[bytes]:
    """The roots of the perfect subtrees of heights ``8 * level`` to ``8 * level + 7`` that
    ``[0, tree_size)`` splits into, largest first, from the partial tile at ``level``."""
    index = tree_size >> (TILE_HEIGHT * (level + 1))
    width = tile_width_at(level, index, tree_size)
    if width == 0:
        return []
    hashes = _fetch_tile(get_tile, level, index, width)
    roots: list[bytes] = []
    offset = 0
    for height in range(TILE_HEIGHT - 1, -1, -1):
        if width >> height & 1:
            roots.append(_perfect_root(hashes[offset : offset + (1 << height)]))
            offset += 1 << height
    return roots


def _fetch_tile(get_tile: TileGetter, level: int, index: int, width: int) -> list[bytes]:
    hashes = get_tile(level, index, width)
    name = tile_path(level, index, width)
    if len(hashes) != width:
        raise InputError(f"tile {name} has {len(hashes)} hashes, expected {width}")
    for position, node in enumerate(hashes):
        if len(node) != HASH_SIZE:
            raise InputError(
                f"tile {name} hash {position} is {len(node)} bytes, expected {HASH_SIZE}"
            )
    return hashes


def _perfect_root(hashes: list[bytes]) -> bytes:
    """The root of the perfect tree over ``hashes`` (a power of two of them)."""
    while len(hashes) > 1:
        hashes = [hash_children(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def node_getter(get_tile: TileGetter, tree_size: int) -> NodeGetter:
    """A :data:`~ledger.log.merkle.NodeGetter` over the tiles of a tree of ``tree_size``
    leaves: the perfect subtree (level, index) is folded from ``2**(level % 8)`` hashes of a
    tile at tile level ``level // 8``, fetched at its width for ``tree_size`` (and once).
    With it, :func:`~ledger.log.merkle.consistency_proof` and
    :func:`~ledger.log.merkle.inclusion_proof` run on a reader's side from public tiles.

    Raises :class:`InputError` (when called) for a node outside the tree or a tile of the
    wrong shape.
    """
    fetched: dict[tuple[int, int], list[bytes]] = {}

    def get_node(level: int, index: int) -> bytes:
        tile_level, height = divmod(level, TILE_HEIGHT)
        first = index << height
        tile = first >> TILE_HEIGHT
        width = tile_width_at(tile_level, tile, tree_size)
        offset = first - (tile << TILE_HEIGHT)
        if offset + (1 << height) > width:
            raise InputError(f"node ({level}, {index}) is not in a tree of size {tree_size}")
        if (tile_level, tile) not in fetched:
            fetched[tile_level, tile] = _fetch_tile(get_tile, tile_level, tile, width)
        return _perfect_root(fetched[tile_level, tile][offset : offset + (1 << height)])

    return get_node
