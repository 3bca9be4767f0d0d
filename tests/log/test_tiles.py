"""ledger.log.tiles: C2SP tlog-tiles paths, tile widths, tile and bundle bytes, roots from tiles.

Paths are held to the specification's own examples and to their one canonical spelling (each
refusal is named after the mistake); roots computed from tiles are held to
:func:`ledger.log.merkle.root_hash` over every perfect node that :meth:`Frontier.append`
reports.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.core.codec import MAX_CANONICAL_ENVELOPE_BYTES
from ledger.errors import InputError
from ledger.log.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    hash_leaf,
    root_hash,
    subtree_hash,
    verify_consistency,
)
from ledger.log.tiles import (
    MAX_ENTRY_BYTES,
    MAX_TILE_INDEX,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileRef,
    decode_entry_bundle,
    decode_hash_tile,
    encode_entry_bundle,
    encode_hash_tile,
    entries_path,
    node_getter,
    parse_tile_path,
    root_from_tiles,
    tile_nodes,
    tile_path,
    tile_width_at,
)

Nodes = dict[tuple[int, int], bytes]

# ---------------------------------------------------------------------------------------------
# A tree kept as every perfect node (what the ledger's store persists), and tiles served from it
# ---------------------------------------------------------------------------------------------


def build_nodes(size: int) -> tuple[Nodes, list[Frontier]]:
    """Every perfect node of the tree over leaves 0..size-1, and its frontier at each size."""
    nodes: Nodes = {}
    frontiers = [Frontier.empty()]
    for i in range(size):
        frontier, completed = frontiers[-1].append(hash_leaf(i.to_bytes(8, "big")))
        nodes.update(((level, index), node) for level, index, node in completed)
        frontiers.append(frontier)
    return nodes, frontiers


@functools.cache
def small_tree() -> tuple[Nodes, list[Frontier]]:
    return build_nodes(3100)


class TileServer:
    """Serves the tiles of one tree size from a node dict, as a log would, and records every
    request; a request for a tile that does not exist at that size, or with the wrong width,
    fails the test."""

    def __init__(self, nodes: Nodes, tree_size: int) -> None:
        self.nodes = nodes
        self.tree_size = tree_size
        self.requests: list[tuple[int, int, int]] = []

    def get_tile(self, level: int, index: int, width: int) -> list[bytes]:
        self.requests.append((level, index, width))
        assert width == tile_width_at(level, index, self.tree_size), (level, index, width)
        return [self.nodes[node] for node in tile_nodes(level, index, width)]


# ---------------------------------------------------------------------------------------------
# Paths: the specification's examples and round trips
# ---------------------------------------------------------------------------------------------


def test_the_specifications_index_example() -> None:
    assert tile_path(0, 1234067) == "0/x001/x234/067"
    assert entries_path(1234067) == "entries/x001/x234/067"


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        (TileRef(level=0, index=0), "0/000"),
        (TileRef(level=0, index=0, width=1), "0/000.p/1"),
        (TileRef(level=1, index=67, width=255), "1/067.p/255"),
        (TileRef(level=63, index=999), "63/999"),
        (TileRef(level=2, index=1000), "2/x001/000"),
        (TileRef(level=0, index=1234067, width=112), "0/x001/x234/067.p/112"),
        (TileRef(level=None, index=273, width=112), "entries/273.p/112"),
        (TileRef(level=None, index=5), "entries/005"),
        (TileRef(level=0, index=MAX_TILE_INDEX), "0/x018/x446/x744/x073/x709/x551/615"),
    ],
)
def test_paths_are_written_and_read_as_the_specification_does(ref: TileRef, path: str) -> None:
    assert ref.path == path
    assert parse_tile_path(path) == ref
    if ref.level is None:
        assert entries_path(ref.index, ref.width) == path
    else:
        assert tile_path(ref.level, ref.index, ref.width) == path


def test_a_tile_knows_whether_it_is_partial_and_whether_it_holds_entries() -> None:
    assert parse_tile_path("0/000.p/3").is_partial
    assert not parse_tile_path("0/000").is_partial
    assert parse_tile_path("entries/000").is_entries
    assert not parse_tile_path("0/000").is_entries


refs = st.builds(
    TileRef,
    level=st.none() | st.integers(0, 63),
    index=st.integers(0, 999) | st.integers(0, MAX_TILE_INDEX),
    width=st.integers(1, TILE_WIDTH) | st.just(TILE_WIDTH),
)


@given(refs)
def test_a_path_reads_back_as_the_tile_it_names(ref: TileRef) -> None:
    assert parse_tile_path(ref.path) == ref
    if ref.level is not None:
        assert parse_tile_path(tile_path(ref.level, ref.index, ref.width)) == ref


@given(refs, st.data())
def test_a_path_one_character_away_is_refused_or_names_another_tile_canonically(
    ref: TileRef, data: st.DataObject
) -> None:
    path = ref.path
    at = data.draw(st.integers(0, len(path)))
    if data.draw(st.booleans()) and at < len(path):
        mutated = path[:at] + path[at + 1 :]
    else:
        mutated = path[:at] + data.draw(st.sampled_from("0159x/.p")) + path[at:]
    try:
        parsed = parse_tile_path(mutated)
    except InputError:
        return
    assert parsed.path == mutated


@given(st.text(alphabet="0125x/.pentris", max_size=24))
@example("0/000.p/1")
def test_every_path_that_is_accepted_is_canonical(text: str) -> None:
    try:
        parsed = parse_tile_path(text)
    except InputError:
        return
    assert parsed.path == text


# ---------------------------------------------------------------------------------------------
# Paths: every other spelling is refused
# ---------------------------------------------------------------------------------------------


def refused(path: str) -> str:
    with pytest.raises(InputError) as caught:
        parse_tile_path(path)
    return str(caught.value)


def test_a_partial_tile_of_full_width_is_refused() -> None:
    assert "narrower than 256" in refused("0/000.p/256")
    assert "narrower than 256" in refused("entries/000.p/256")


def test_a_partial_tile_of_width_zero_is_refused() -> None:
    assert "partial width '0'" in refused("0/000.p/0")


@pytest.mark.parametrize("path", ["0/000.p/257", "0/000.p/999", "0/000.p/1000", "0/000.p/65536"])
def test_a_partial_tile_wider_than_a_full_one_is_refused(path: str) -> None:
    refused(path)


@pytest.mark.parametrize("path", ["0/000.p/05", "0/000.p/005", "0/000.p/00"])
def test_a_width_with_leading_zeros_is_refused(path: str) -> None:
    assert "partial width" in refused(path)


@pytest.mark.parametrize(
    "path", ["0/000.p/", "0/000.p/+5", "0/000.p/-1", "0/000.p/5 ", "0/000.p/1.p/1"]
)
def test_a_width_that_is_not_a_decimal_number_is_refused(path: str) -> None:
    assert "partial width" in refused(path)


@pytest.mark.parametrize("path", ["00/000", "01/000", "007/000"])
def test_a_level_with_leading_zeros_is_refused(path: str) -> None:
    assert "level" in refused(path)


@pytest.mark.parametrize("path", ["64/000", "99/000", "100/000", "18446744073709551616/000"])
def test_a_level_above_63_is_refused(path: str) -> None:
    assert "level" in refused(path)


@pytest.mark.parametrize("path", ["-1/000", "0/-01", "0/-001", "entries/-001"])
def test_a_negative_level_or_index_is_refused(path: str) -> None:
    refused(path)


@pytest.mark.parametrize("path", ["0/001/234/067", "0/x001/234/067", "0/001/x234/067"])
def test_an_index_group_without_its_x_is_refused(path: str) -> None:
    assert "3-digit groups" in refused(path)


@pytest.mark.parametrize("path", ["0/x067", "0/x001/x067", "entries/x000"])
def test_a_last_index_group_with_an_x_is_refused(path: str) -> None:
    assert "3-digit groups" in refused(path)


@pytest.mark.parametrize(
    "path", ["0/0", "0/67", "0/0067", "0/x01/234", "0/x1/000", "0/x0001/000", "0/1234067"]
)
def test_an_index_group_that_is_not_three_digits_is_refused(path: str) -> None:
    assert "3-digit groups" in refused(path)


@pytest.mark.parametrize("path", ["0/x000/067", "0/x000/x001/000", "entries/x000/000"])
def test_an_index_with_a_leading_x000_group_is_refused(path: str) -> None:
    # Another spelling of 67 (or 1000, or 0): one resource has one path.
    assert "leading x000 group" in refused(path)


def test_an_index_beyond_64_bits_is_refused() -> None:
    assert "64 bits" in refused("0/x018/x446/x744/x073/x709/x551/616")
    assert "3-digit groups" in refused("0/x001/x000/x000/x000/x000/x000/x000/000")


@pytest.mark.parametrize("path", ["0/\u0660\u0660\u0660", "\u0661/000", "0/000.p/\u0661"])
def test_digits_that_are_not_ascii_are_refused(path: str) -> None:
    refused(path)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "0",
        "entries",
        "0/",
        "/0/000",
        "0/000/",
        "0//000",
        "tile/0/000",
        "Entries/000",
        "data/000",
        "0/000.P/5",
        "0/000.p5",
        "0/000.p",
        "0/000\n",
        " 0/000",
        "0/000?x=1",
        "0/000.p/5/",
        "0/x001//000",
    ],
)
def test_anything_else_is_refused(path: str) -> None:
    refused(path)


@pytest.mark.parametrize(
    ("level", "index", "width"),
    [
        (64, 0, 256),
        (-1, 0, 256),
        (0, -1, 256),
        (0, MAX_TILE_INDEX + 1, 256),
        (0, 0, 0),
        (0, 0, 257),
    ],
)
def test_a_path_is_not_written_for_a_tile_that_cannot_exist(
    level: int, index: int, width: int
) -> None:
    with pytest.raises(InputError):
        tile_path(level, index, width)
    with pytest.raises(InputError):
        tile_nodes(level, index, width)


def test_an_entries_path_is_not_written_for_a_width_of_zero_or_above_256() -> None:
    for width in (0, 257):
        with pytest.raises(InputError):
            entries_path(0, width)


# ---------------------------------------------------------------------------------------------
# The shape of the tree: tile widths and the nodes a tile holds
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tree_size", "level", "index", "width"),
    [
        *((0, level, 0, 0) for level in range(3)),
        (1, 0, 0, 1),
        (1, 1, 0, 0),
        (1, 2, 0, 0),
        (255, 0, 0, 255),
        (255, 1, 0, 0),
        (255, 2, 0, 0),
        (256, 0, 0, 256),
        (256, 0, 1, 0),
        (256, 1, 0, 1),
        (256, 2, 0, 0),
        (257, 0, 0, 256),
        (257, 0, 1, 1),
        (257, 1, 0, 1),
        (257, 2, 0, 0),
        (65536, 0, 255, 256),
        (65536, 0, 256, 0),
        (65536, 1, 0, 256),
        (65536, 1, 1, 0),
        (65536, 2, 0, 1),
        (65537, 0, 255, 256),
        (65537, 0, 256, 1),
        (65537, 1, 0, 256),
        (65537, 1, 1, 0),
        (65537, 2, 0, 1),
        (65537, 3, 0, 0),
    ],
)
def test_tile_widths(tree_size: int, level: int, index: int, width: int) -> None:
    assert tile_width_at(level, index, tree_size) == width


def test_the_specifications_tree_of_70000_leaves() -> None:
    # 273 full level 0 tiles and one of width 112; one full level 1 tile and one of width 17;
    # one level 2 tile of width 1.
    assert [tile_width_at(0, n, 70_000) for n in (0, 272, 273, 274)] == [256, 256, 112, 0]
    assert [tile_width_at(1, n, 70_000) for n in (0, 1, 2)] == [256, 17, 0]
    assert [tile_width_at(2, n, 70_000) for n in (0, 1)] == [1, 0]
    assert tile_width_at(3, 0, 70_000) == 0


@given(st.integers(0, 1 << 64), st.integers(0, 7))
def test_only_the_rightmost_tile_of_a_level_is_partial(tree_size: int, level: int) -> None:
    partial = tree_size >> (TILE_HEIGHT * (level + 1))
    # The specification: the partial tile at level l has floor(s / 256**l) mod 256 entries.
    assert tile_width_at(level, partial, tree_size) == (tree_size // 256**level) % 256
    if partial:
        assert tile_width_at(level, partial - 1, tree_size) == TILE_WIDTH
        assert tile_width_at(level, 0, tree_size) == TILE_WIDTH
    assert tile_width_at(level, partial + 1, tree_size) == 0


def test_tile_widths_are_refused_for_a_negative_size_or_index_or_a_bad_level() -> None:
    for level, index, tree_size in ((0, 0, -1), (0, -1, 10), (64, 0, 10), (-1, 0, 10)):
        with pytest.raises(InputError):
            tile_width_at(level, index, tree_size)


def test_a_tile_holds_the_nodes_of_level_eight_times_its_own() -> None:
    assert tile_nodes(0, 0, 2) == [(0, 0), (0, 1)]
    assert tile_nodes(1, 2, 3) == [(8, 512), (8, 513), (8, 514)]
    assert tile_nodes(2, 0, 256)[-1] == (16, 255)


def test_tile_hashes_are_the_subtree_hashes_the_specification_defines() -> None:
    # MTH(D[(n * 256 + i) * 256**l : (n * 256 + i + 1) * 256**l])
    nodes, _ = small_tree()
    for level, index in ((0, 0), (0, 11), (1, 0)):
        width = tile_width_at(level, index, 3100)
        for i, node in enumerate(tile_nodes(level, index, width)):
            start = (index * 256 + i) * 256**level
            end = (index * 256 + i + 1) * 256**level
            assert nodes[node] == subtree_hash(lambda lv, ix: nodes[(lv, ix)], start, end)


# ---------------------------------------------------------------------------------------------
# Hash tiles and entry bundles
# ---------------------------------------------------------------------------------------------

HASHES = [bytes([i]) * 32 for i in range(3)]


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=TILE_WIDTH))
def test_a_hash_tile_round_trips(hashes: list[bytes]) -> None:
    data = encode_hash_tile(hashes)
    assert data == b"".join(hashes)
    assert decode_hash_tile(data, len(hashes)) == hashes


def test_a_full_hash_tile_is_8192_bytes() -> None:
    assert len(encode_hash_tile([bytes(32)] * TILE_WIDTH)) == 8192


@pytest.mark.parametrize(("extra", "width"), [(b"", 4), (b"", 2), (b"\x00", 3), (b"\x00" * 32, 3)])
def test_a_hash_tile_of_the_wrong_length_is_refused(extra: bytes, width: int) -> None:
    with pytest.raises(InputError, match="bytes, expected"):
        decode_hash_tile(encode_hash_tile(HASHES) + extra, width)


def test_a_truncated_hash_tile_is_refused() -> None:
    with pytest.raises(InputError, match="95 bytes, expected 96"):
        decode_hash_tile(encode_hash_tile(HASHES)[:-1], 3)


def test_a_hash_tile_of_width_zero_or_above_256_is_refused() -> None:
    for width in (0, 257):
        with pytest.raises(InputError):
            decode_hash_tile(bytes(32 * width), width)
    for hashes in ([], [bytes(32)] * 257):
        with pytest.raises(InputError):
            encode_hash_tile(hashes)


def test_a_hash_tile_is_not_written_with_a_hash_that_is_not_32_bytes() -> None:
    with pytest.raises(InputError, match="tile hash 1 is 31 bytes"):
        encode_hash_tile([bytes(32), bytes(31)])


def test_an_entry_bundle_is_length_prefixed_entries() -> None:
    assert encode_entry_bundle([b"", b"ab"]) == b"\x00\x00\x00\x02ab"
    assert decode_entry_bundle(b"\x00\x00\x00\x02ab") == [b"", b"ab"]
    assert decode_entry_bundle(b"\x00\x00\x00\x02ab", width=2) == [b"", b"ab"]


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=TILE_WIDTH))
def test_an_entry_bundle_round_trips(entries: list[bytes]) -> None:
    data = encode_entry_bundle(entries)
    assert decode_entry_bundle(data) == entries
    assert decode_entry_bundle(data, width=len(entries)) == entries


def test_the_longest_entry_round_trips() -> None:
    entry = b"\xab" * MAX_ENTRY_BYTES
    data = encode_entry_bundle([entry])
    assert data[:2] == b"\xff\xff"
    assert decode_entry_bundle(data, width=1) == [entry]


def test_admission_refuses_every_envelope_a_bundle_cannot_frame() -> None:
    """The envelope limit admission applies is the bundle's frame, defined in core (which
    cannot import log) and held equal here (ADR 0033)."""
    assert MAX_CANONICAL_ENVELOPE_BYTES == MAX_ENTRY_BYTES == 65_535


def test_an_entry_of_65536_bytes_is_refused() -> None:
    with pytest.raises(InputError, match="bundle entry 1 is 65,536 bytes"):
        encode_entry_bundle([b"a", bytes(65_536)])


def test_a_bundle_of_no_entries_or_more_than_256_is_not_written() -> None:
    for entries in ([], [b""] * 257):
        with pytest.raises(InputError):
            encode_entry_bundle(entries)


def test_an_empty_bundle_is_refused() -> None:
    with pytest.raises(InputError, match="holds 0 entries"):
        decode_entry_bundle(b"")


def test_a_bundle_with_a_truncated_length_prefix_is_refused() -> None:
    with pytest.raises(InputError, match="truncated in the length of entry 1"):
        decode_entry_bundle(b"\x00\x02ab\x00")


def test_a_bundle_with_a_truncated_entry_is_refused() -> None:
    with pytest.raises(InputError, match=r"truncated in entry 1: 2 of 3 bytes"):
        decode_entry_bundle(b"\x00\x02ab\x00\x03cd")


def test_a_bundle_with_trailing_bytes_is_refused() -> None:
    with pytest.raises(InputError, match="2 bytes after its 1 entries"):
        decode_entry_bundle(b"\x00\x02ab\x00\x00", width=1)
    # Without a width, anything after the 256th entry is trailing.
    with pytest.raises(InputError, match="after its 256 entries"):
        decode_entry_bundle(encode_entry_bundle([b"x"] * 256) + b"\x00\x00")


def test_a_bundle_with_fewer_entries_than_its_width_is_refused() -> None:
    with pytest.raises(InputError, match="holds 1 entries, expected 2"):
        decode_entry_bundle(b"\x00\x02ab", width=2)


def test_a_bundle_is_not_read_for_a_width_of_zero_or_above_256() -> None:
    for width in (0, 257):
        with pytest.raises(InputError):
            decode_entry_bundle(b"\x00\x00", width=width)


def test_bundle_entries_hash_to_their_level_0_tile() -> None:
    nodes, _ = small_tree()
    entries = [i.to_bytes(8, "big") for i in range(256, 300)]
    bundle = decode_entry_bundle(encode_entry_bundle(entries), width=44)
    tile = [nodes[node] for node in tile_nodes(0, 1, 44)]
    assert [hash_leaf(entry) for entry in bundle] == tile


# ---------------------------------------------------------------------------------------------
# Roots from tiles
# ---------------------------------------------------------------------------------------------


def check_root_from_tiles(nodes: Nodes, frontier: Frontier) -> TileServer:
    server = TileServer(nodes, frontier.size)
    root = root_from_tiles(server.get_tile, frontier.size)
    assert root == frontier.root()
    assert root == root_hash(lambda level, index: nodes[(level, index)], frontier.size)
    return server


@given(st.integers(0, 3100))
@example(0)
@example(1)
@example(255)
@example(256)
@example(257)
@example(512)
@example(2560)
@example(3072)
@example(3100)
def test_the_root_from_tiles_is_the_tree_root(tree_size: int) -> None:
    nodes, frontiers = small_tree()
    check_root_from_tiles(nodes, frontiers[tree_size])


@pytest.mark.parametrize("tree_size", [256 * k for k in range(1, 13)])
def test_the_root_from_tiles_at_multiples_of_256(tree_size: int) -> None:
    nodes, frontiers = small_tree()
    server = check_root_from_tiles(nodes, frontiers[tree_size])
    assert (0, tree_size // 256, 0) not in server.requests


def test_the_root_from_tiles_reads_one_partial_tile_per_nonzero_base_256_digit() -> None:
    nodes, frontiers = small_tree()
    server = check_root_from_tiles(nodes, frontiers[2 * 256 + 7])
    assert server.requests == [(1, 0, 2), (0, 2, 7)]


def test_the_root_of_the_empty_tree_reads_no_tile() -> None:
    server = TileServer({}, 0)
    assert root_from_tiles(server.get_tile, 0) == EMPTY_ROOT
    assert server.requests == []


def test_the_root_from_tiles_at_and_past_65536() -> None:
    # Level 2 tiles first exist at 65,536 leaves. The leaves are synthetic (only their hashes
    # matter), and the tree is built once for all four sizes.
    nodes, frontiers = build_nodes(65_536 + 300)
    for tree_size in (65_535, 65_536, 65_537, 65_536 + 256 + 44):
        server = check_root_from_tiles(nodes, frontiers[tree_size])
        assert len(server.requests) == sum(
            1 for level in range(3) if (tree_size >> (8 * level)) & 255
        )
    assert check_root_from_tiles(nodes, frontiers[65_536]).requests == [(2, 0, 1)]


def test_a_tile_of_the_wrong_shape_is_refused() -> None:
    nodes, _ = small_tree()
    server = TileServer(nodes, 300)

    def short(level: int, index: int, width: int) -> list[bytes]:
        hashes = server.get_tile(level, index, width)
        return hashes[:-1] if level == 0 else hashes

    def bad_hash(level: int, index: int, width: int) -> list[bytes]:
        return [h[:31] for h in server.get_tile(level, index, width)]

    with pytest.raises(InputError, match=r"tile 0/001.p/44 has 43 hashes, expected 44"):
        root_from_tiles(short, 300)
    with pytest.raises(InputError, match=r"tile 1/000.p/1 hash 0 is 31 bytes"):
        root_from_tiles(bad_hash, 300)
    with pytest.raises(InputError):
        root_from_tiles(server.get_tile, -1)


# ---------------------------------------------------------------------------------------------
# Proofs on the reader's side, from tiles only
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=3100), st.data())
def test_a_consistency_proof_from_tiles_is_the_logs_own(new: int, data: st.DataObject) -> None:
    """A reader holding an old checkpoint asks for no proof: it builds the RFC 6962
    consistency proof from public tiles of the new tree, and it is exactly the log's."""
    old = data.draw(st.integers(min_value=1, max_value=new), label="old size")
    nodes, frontiers = small_tree()
    server = TileServer(nodes, new)
    from_tiles = consistency_proof(node_getter(server.get_tile, new), old, new)
    assert from_tiles == consistency_proof(lambda lv, i: nodes[lv, i], old, new)
    verify_consistency(
        old_size=old,
        new_size=new,
        old_root=frontiers[old].root(),
        new_root=frontiers[new].root(),
        proof=from_tiles,
    )


def test_a_node_outside_the_tree_is_refused() -> None:
    nodes, _ = small_tree()
    get_node = node_getter(TileServer(nodes, 300).get_tile, 300)
    with pytest.raises(InputError, match="not in a tree of size 300"):
        get_node(0, 300)
    with pytest.raises(InputError, match="not in a tree of size 300"):
        get_node(9, 0)  # 512 leaves
