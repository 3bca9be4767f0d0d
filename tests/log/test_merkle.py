"""Tests for ledger.log.merkle against a naive RFC 6962 reference and published test vectors."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from memory_tree import MemoryTree

from ledger.log.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    ProofError,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_proof,
    inclusion_proof_nodes,
    root_from_inclusion_proof,
    root_hash,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------------------------------------
# Naive reference, written straight from the recursive definitions of RFC 6962 §2.1
# (MTH, §2.1.1 PATH, §2.1.2 PROOF/SUBPROOF) over a list of leaf *data*. Memoised on the
# (immutable) tuple of leaves only to keep the exhaustive property tests fast.
# ---------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.lru_cache(maxsize=200_000)
def naive_mth(d: tuple[bytes, ...]) -> bytes:
    n = len(d)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + d[0])
    k = _k(n)
    return _sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def naive_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def naive_proof(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    # RFC 6962 defines PROOF for 0 < m < n; the trivial cases have empty proofs.
    if m in (0, len(d)):
        return []
    return naive_subproof(m, d, True)


# ---------------------------------------------------------------------------------------------
# Published vectors. Source: github.com/transparency-dev/merkle, file proof/verify_test.go
# (Google's Certificate Transparency reference tests, also in google/certificate-transparency
# merkle_tree_test). Inclusion vectors there are written with 1-based leaf numbers
# ({leaf, size, proof}, verified at index leaf-1); they are converted to 0-based indices below.
# Consistency vectors are {size1, size2, proof}. roots[i] is the root of the first i+1 leaves.
# ---------------------------------------------------------------------------------------------

CT_LEAVES: tuple[bytes, ...] = tuple(
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
)

CT_EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

CT_ROOTS: dict[int, str] = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}

# (index (0-based), tree size, proof)
CT_INCLUSION: list[tuple[int, int, list[str]]] = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# (old size, new size, proof)
CT_CONSISTENCY: list[tuple[int, int, list[str]]] = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# Also from proof/verify_test.go: an arbitrary well-formed hash that is in no tree.
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _hx(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def _ct_root(size: int) -> bytes:
    return bytes.fromhex(CT_ROOTS[size])


@pytest.fixture(scope="module")
def ct_tree() -> MemoryTree:
    return MemoryTree.from_data(CT_LEAVES)


# ---------------------------------------------------------------------------------------------
# Hashing and published vectors
# ---------------------------------------------------------------------------------------------


def test_constants() -> None:
    assert HASH_SIZE == 32
    assert EMPTY_ROOT.hex() == CT_EMPTY_ROOT
    assert naive_mth(()) == EMPTY_ROOT


def test_hash_primitives_are_domain_separated() -> None:
    assert hash_leaf(b"") == _ct_root(1)
    assert hash_leaf(b"ab") == hashlib.sha256(b"\x00ab").digest()
    left, right = hash_leaf(b"a"), hash_leaf(b"b")
    assert hash_children(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert hash_leaf(left + right) != hash_children(left, right)


def test_published_roots(ct_tree: MemoryTree) -> None:
    assert ct_tree.root(0).hex() == CT_EMPTY_ROOT
    assert root_hash(ct_tree.get_node, 0) == EMPTY_ROOT
    for size, expected in CT_ROOTS.items():
        assert ct_tree.root(size).hex() == expected
        assert MemoryTree.from_data(CT_LEAVES[:size]).root().hex() == expected
        assert naive_mth(CT_LEAVES[:size]).hex() == expected  # the reference agrees too


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_published_inclusion_proofs(
    ct_tree: MemoryTree, index: int, size: int, proof: list[str]
) -> None:
    expected = _hx(proof)
    assert ct_tree.inclusion_proof(index, size) == expected
    assert naive_path(index, CT_LEAVES[:size]) == expected
    leaf = hash_leaf(CT_LEAVES[index])
    assert root_from_inclusion_proof(index, size, leaf, expected) == _ct_root(size)
    verify_inclusion(
        index=index, size=size, leaf_hash=leaf, proof=expected, root_hash=_ct_root(size)
    )


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_published_consistency_proofs(
    ct_tree: MemoryTree, old: int, new: int, proof: list[str]
) -> None:
    expected = _hx(proof)
    assert ct_tree.consistency_proof(old, new) == expected
    assert naive_proof(old, CT_LEAVES[:new]) == expected
    verify_consistency(
        old_size=old, new_size=new, old_root=_ct_root(old), new_root=_ct_root(new), proof=expected
    )


# ---------------------------------------------------------------------------------------------
# Negative vectors, named after the attack. Built from the published vectors above and the
# corruption probes of transparency-dev/merkle proof/verify_test.go.
# ---------------------------------------------------------------------------------------------

_I_INDEX, _I_SIZE = 5, 8
_I_PROOF = _hx(CT_INCLUSION[2][2])
_I_LEAF = hash_leaf(CT_LEAVES[_I_INDEX])
_I_ROOT = _ct_root(_I_SIZE)


def _flip(node: bytes, position: int = 0, mask: int = 8) -> bytes:
    return node[:position] + bytes([node[position] ^ mask]) + node[position + 1 :]


INCLUSION_ATTACKS: list[tuple[str, int, int, bytes, list[bytes], bytes, str]] = [
    # id, index, size, leaf hash, proof, root, expected message fragment
    ("wrong-leaf", _I_INDEX, _I_SIZE, hash_leaf(b"WrongLeaf"), _I_PROOF, _I_ROOT, "root hash"),
    ("leaf-data-not-hash", _I_INDEX, _I_SIZE, b"WrongLeaf", _I_PROOF, _I_ROOT, "leaf hash is 9"),
    ("wrong-root", _I_INDEX, _I_SIZE, _I_LEAF, _I_PROOF, SOME_HASH, "root hash"),
    ("empty-tree-root", _I_INDEX, _I_SIZE, _I_LEAF, _I_PROOF, EMPTY_ROOT, "root hash"),
    ("index-minus-1", _I_INDEX - 1, _I_SIZE, _I_LEAF, _I_PROOF, _I_ROOT, "root hash"),
    ("index-plus-1", _I_INDEX + 1, _I_SIZE, _I_LEAF, _I_PROOF, _I_ROOT, "root hash"),
    ("index-xor-2", _I_INDEX ^ 2, _I_SIZE, _I_LEAF, _I_PROOF, _I_ROOT, "root hash"),
    ("index-beyond-size", _I_SIZE, _I_SIZE, _I_LEAF, _I_PROOF, _I_ROOT, "out of range"),
    ("negative-index", -1, _I_SIZE, _I_LEAF, _I_PROOF, _I_ROOT, "non-negative"),
    ("empty-tree", 0, 0, _I_LEAF, [], EMPTY_ROOT, "out of range"),
    ("size-doubled", _I_INDEX, _I_SIZE * 2, _I_LEAF, _I_PROOF, _I_ROOT, "expected 4"),
    ("size-halved", _I_INDEX, _I_SIZE // 2, _I_LEAF, _I_PROOF, _I_ROOT, "out of range"),
    (
        "trailing-garbage",
        _I_INDEX,
        _I_SIZE,
        _I_LEAF,
        [*_I_PROOF, b""],
        _I_ROOT,
        "inclusion proof has 4 hashes, expected 3 for index 5 in a tree of size 8",
    ),
    ("trailing-root", _I_INDEX, _I_SIZE, _I_LEAF, [*_I_PROOF, _I_ROOT], _I_ROOT, "expected 3"),
    ("preceding-garbage", _I_INDEX, _I_SIZE, _I_LEAF, [b"", *_I_PROOF], _I_ROOT, "expected 3"),
    ("preceding-root", _I_INDEX, _I_SIZE, _I_LEAF, [_I_ROOT, *_I_PROOF], _I_ROOT, "expected 3"),
    ("truncated-proof", _I_INDEX, _I_SIZE, _I_LEAF, _I_PROOF[:-1], _I_ROOT, "has 2 hashes"),
    ("empty-proof", _I_INDEX, _I_SIZE, _I_LEAF, [], _I_ROOT, "has 0 hashes"),
    (
        "inserted-component",
        _I_INDEX,
        _I_SIZE,
        _I_LEAF,
        [_I_PROOF[0], SOME_HASH, *_I_PROOF[1:]],
        _I_ROOT,
        "expected 3",
    ),
    (
        "replaced-component",
        _I_INDEX,
        _I_SIZE,
        _I_LEAF,
        [_I_PROOF[0], SOME_HASH, _I_PROOF[2]],
        _I_ROOT,
        "root hash",
    ),
    (
        "swapped-components",
        _I_INDEX,
        _I_SIZE,
        _I_LEAF,
        [_I_PROOF[1], _I_PROOF[0], _I_PROOF[2]],
        _I_ROOT,
        "root hash",
    ),
    *[
        (
            f"modified-proof-{i}-bit-3",
            _I_INDEX,
            _I_SIZE,
            _I_LEAF,
            [_flip(h) if j == i else h for j, h in enumerate(_I_PROOF)],
            _I_ROOT,
            "root hash",
        )
        for i in range(len(_I_PROOF))
    ],
    (
        "short-proof-hash",
        _I_INDEX,
        _I_SIZE,
        _I_LEAF,
        [_I_PROOF[0][:31], *_I_PROOF[1:]],
        _I_ROOT,
        "inclusion proof hash 0 is 31 bytes",
    ),
    ("short-root", _I_INDEX, _I_SIZE, _I_LEAF, _I_PROOF, _I_ROOT[:31], "root hash is 31 bytes"),
    (
        "leaf-as-root-of-size-1",
        0,
        1,
        hash_leaf(b"data"),
        [],
        hash_leaf(b"other"),
        "does not lead to the root hash",
    ),
]


@pytest.mark.parametrize(
    ("index", "size", "leaf", "proof", "root", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in INCLUSION_ATTACKS],
)
def test_inclusion_attacks_rejected(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes, message: str
) -> None:
    with pytest.raises(ProofError, match=message):
        verify_inclusion(index=index, size=size, leaf_hash=leaf, proof=proof, root_hash=root)


_C_OLD, _C_NEW = 6, 8
_C_PROOF = _hx(CT_CONSISTENCY[2][2])
_C_OLD_ROOT, _C_NEW_ROOT = _ct_root(_C_OLD), _ct_root(_C_NEW)

CONSISTENCY_ATTACKS: list[tuple[str, int, int, bytes, bytes, list[bytes], str]] = [
    # id, old size, new size, old root, new root, proof, expected message fragment
    ("old-size-minus-1", 5, _C_NEW, _C_OLD_ROOT, _C_NEW_ROOT, _C_PROOF, "expected 4"),
    ("old-size-plus-1", 7, _C_NEW, _C_OLD_ROOT, _C_NEW_ROOT, _C_PROOF, "expected 4"),
    ("old-size-xor-2", 4, _C_NEW, _C_OLD_ROOT, _C_NEW_ROOT, _C_PROOF, "expected 1"),
    ("new-size-doubled", _C_OLD, 16, _C_OLD_ROOT, _C_NEW_ROOT, _C_PROOF, "expected 4"),
    ("new-size-halved", _C_OLD, 4, _C_OLD_ROOT, _C_NEW_ROOT, _C_PROOF, "larger than"),
    ("old-larger-than-new", _C_NEW, _C_OLD, _C_NEW_ROOT, _C_OLD_ROOT, [], "larger than"),
    ("negative-size", -1, _C_NEW, EMPTY_ROOT, _C_NEW_ROOT, [], "non-negative"),
    ("wrong-old-root", _C_OLD, _C_NEW, SOME_HASH, _C_NEW_ROOT, _C_PROOF, "old root hash"),
    ("wrong-new-root", _C_OLD, _C_NEW, _C_OLD_ROOT, SOME_HASH, _C_PROOF, "new root hash"),
    ("swapped-roots", _C_OLD, _C_NEW, _C_NEW_ROOT, _C_OLD_ROOT, _C_PROOF, "old root hash"),
    ("short-old-root", _C_OLD, _C_NEW, b"WrongRoot", _C_NEW_ROOT, _C_PROOF, "is 9 bytes"),
    ("empty-proof", _C_OLD, _C_NEW, _C_OLD_ROOT, _C_NEW_ROOT, [], "has 0 hashes"),
    (
        "trailing-garbage",
        _C_OLD,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [*_C_PROOF, b""],
        "consistency proof has 4 hashes, expected 3 from size 6 to size 8",
    ),
    (
        "trailing-old-root",
        _C_OLD,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [*_C_PROOF, _C_OLD_ROOT],
        "expected 3",
    ),
    (
        "trailing-new-root",
        _C_OLD,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [*_C_PROOF, _C_NEW_ROOT],
        "expected 3",
    ),
    (
        "preceding-garbage",
        _C_OLD,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [b"", *_C_PROOF],
        "expected 3",
    ),
    (
        "preceding-old-root",
        _C_OLD,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [_C_OLD_ROOT, *_C_PROOF],
        "expected 3",
    ),
    (
        "preceding-proof-0",
        _C_OLD,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [_C_PROOF[0], *_C_PROOF],
        "expected 3",
    ),
    ("truncated-proof", _C_OLD, _C_NEW, _C_OLD_ROOT, _C_NEW_ROOT, _C_PROOF[:-1], "has 2 hashes"),
    (
        "replaced-component",
        _C_OLD,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [_C_PROOF[0], SOME_HASH, _C_PROOF[2]],
        "root hash",
    ),
    (
        "swapped-components",
        _C_OLD,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [_C_PROOF[1], _C_PROOF[0], _C_PROOF[2]],
        "root hash",
    ),
    *[
        (
            f"modified-proof-{i}-bit-4",
            _C_OLD,
            _C_NEW,
            _C_OLD_ROOT,
            _C_NEW_ROOT,
            [_flip(h, mask=16) if j == i else h for j, h in enumerate(_C_PROOF)],
            "root hash",
        )
        for i in range(len(_C_PROOF))
    ],
    (
        "equal-sizes-different-roots",
        _C_NEW,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [],
        "root hashes differ for the same tree size 8",
    ),
    (
        "equal-sizes-non-empty-proof",
        _C_NEW,
        _C_NEW,
        _C_NEW_ROOT,
        _C_NEW_ROOT,
        [EMPTY_ROOT],
        "has 1 hashes, expected 0",
    ),
    (
        "empty-old-tree-with-proof",
        0,
        _C_NEW,
        EMPTY_ROOT,
        _C_NEW_ROOT,
        [EMPTY_ROOT],
        "has 1 hashes, expected 0",
    ),
    (
        "empty-old-tree-wrong-root",
        0,
        _C_NEW,
        _C_OLD_ROOT,
        _C_NEW_ROOT,
        [],
        "not the empty-tree hash",
    ),
    ("both-empty-wrong-roots", 0, 0, SOME_HASH, SOME_HASH, [], "not the empty-tree hash"),
    # Old size a power of two: the old root is the first node of the path, not in the proof.
    (
        "power-of-two-wrong-old-root",
        4,
        8,
        SOME_HASH,
        _C_NEW_ROOT,
        _hx([CT_CONSISTENCY[1][2][2]]),
        "new root hash",
    ),
]


@pytest.mark.parametrize(
    ("old_size", "new_size", "old_root", "new_root", "proof", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in CONSISTENCY_ATTACKS],
)
def test_consistency_attacks_rejected(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: list[bytes],
    message: str,
) -> None:
    with pytest.raises(ProofError, match=message):
        verify_consistency(
            old_size=old_size,
            new_size=new_size,
            old_root=old_root,
            new_root=new_root,
            proof=proof,
        )


def test_trivial_consistency_accepted() -> None:
    verify_consistency(old_size=0, new_size=0, old_root=EMPTY_ROOT, new_root=EMPTY_ROOT, proof=[])
    verify_consistency(old_size=0, new_size=8, old_root=EMPTY_ROOT, new_root=_I_ROOT, proof=[])
    verify_consistency(old_size=8, new_size=8, old_root=_I_ROOT, new_root=_I_ROOT, proof=[])


def test_proof_errors_are_value_errors() -> None:
    assert issubclass(ProofError, ValueError)


# ---------------------------------------------------------------------------------------------
# Property tests against the naive reference
# ---------------------------------------------------------------------------------------------

leaf_lists = st.lists(st.binary(max_size=6), max_size=70).map(tuple)
unique_leaf_lists = st.lists(st.binary(max_size=6), min_size=1, max_size=70, unique=True).map(tuple)


@settings(max_examples=40, deadline=None)
@given(leaf_lists)
def test_roots_and_inclusion_proofs_match_reference(leaves: tuple[bytes, ...]) -> None:
    tree = MemoryTree.from_data(leaves)
    n = len(leaves)
    assert tree.size == n
    assert tree.root() == naive_mth(leaves) == tree.frontier.root()
    for size in range(n + 1):
        root = tree.root(size)
        assert root == naive_mth(leaves[:size])
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            assert proof == naive_path(index, leaves[:size])
            verify_inclusion(
                index=index,
                size=size,
                leaf_hash=hash_leaf(leaves[index]),
                proof=proof,
                root_hash=root,
            )


@settings(max_examples=40, deadline=None)
@given(leaf_lists)
def test_consistency_proofs_match_reference(leaves: tuple[bytes, ...]) -> None:
    tree = MemoryTree.from_data(leaves)
    n = len(leaves)
    roots = [naive_mth(leaves[:size]) for size in range(n + 1)]
    for new in range(n + 1):
        for old in range(new + 1):
            proof = tree.consistency_proof(old, new)
            assert proof == naive_proof(old, leaves[:new])
            verify_consistency(
                old_size=old, new_size=new, old_root=roots[old], new_root=roots[new], proof=proof
            )


MUTATIONS = ("flip-byte", "drop", "add", "swap", "wrong-index", "wrong-size")


@settings(max_examples=150, deadline=None)
@given(unique_leaf_lists, st.data(), st.sampled_from(MUTATIONS))
def test_mutated_inclusion_proofs_fail(
    leaves: tuple[bytes, ...], data: st.DataObject, mutation: str
) -> None:
    size = len(leaves)
    tree = MemoryTree.from_data(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index, size)
    leaf = hash_leaf(leaves[index])
    root = tree.root()
    claimed_index, claimed_size = index, size
    if mutation == "flip-byte":
        assume(proof)
        i = data.draw(st.integers(0, len(proof) - 1), label="hash")
        b = data.draw(st.integers(0, HASH_SIZE - 1), label="byte")
        proof[i] = _flip(proof[i], b, data.draw(st.integers(1, 255), label="mask"))
    elif mutation == "drop":
        assume(proof)
        del proof[data.draw(st.integers(0, len(proof) - 1), label="hash")]
    elif mutation == "add":
        extra = data.draw(st.binary(min_size=HASH_SIZE, max_size=HASH_SIZE), label="extra")
        proof.insert(data.draw(st.integers(0, len(proof)), label="at"), extra)
    elif mutation == "swap":
        assume(len(proof) >= 2)
        i, j = data.draw(
            st.lists(st.integers(0, len(proof) - 1), min_size=2, max_size=2, unique=True),
            label="swap",
        )
        proof[i], proof[j] = proof[j], proof[i]
    elif mutation == "wrong-index":
        # With distinct leaves a leaf hash occurs at one position only.
        claimed_index = data.draw(st.integers(0, size * 2), label="claimed index")
        assume(claimed_index != index)
    else:
        # Some sizes share a proof shape (leaf 0 of sizes 3 and 4), so an inclusion proof does
        # not bind the size by itself; only claims whose proof shape differs must fail.
        claimed_size = data.draw(st.integers(0, size * 2 + 2), label="claimed size")
        assume(claimed_size > index)
        assume(len(naive_path(index, (b"",) * claimed_size)) != len(proof))
    with pytest.raises(ProofError):
        verify_inclusion(
            index=claimed_index,
            size=claimed_size,
            leaf_hash=leaf,
            proof=proof,
            root_hash=root,
        )


@settings(max_examples=150, deadline=None)
@given(unique_leaf_lists, st.data(), st.sampled_from(MUTATIONS))
def test_mutated_consistency_proofs_fail(
    leaves: tuple[bytes, ...], data: st.DataObject, mutation: str
) -> None:
    new = len(leaves)
    assume(new >= 2)
    tree = MemoryTree.from_data(leaves)
    old = data.draw(st.integers(1, new - 1), label="old size")
    proof = tree.consistency_proof(old, new)
    old_root, new_root = tree.root(old), tree.root(new)
    claimed_old, claimed_new = old, new
    if mutation == "flip-byte":
        i = data.draw(st.integers(0, len(proof) - 1), label="hash")
        b = data.draw(st.integers(0, HASH_SIZE - 1), label="byte")
        proof[i] = _flip(proof[i], b, data.draw(st.integers(1, 255), label="mask"))
    elif mutation == "drop":
        del proof[data.draw(st.integers(0, len(proof) - 1), label="hash")]
    elif mutation == "add":
        extra = data.draw(st.binary(min_size=HASH_SIZE, max_size=HASH_SIZE), label="extra")
        proof.insert(data.draw(st.integers(0, len(proof)), label="at"), extra)
    elif mutation == "swap":
        assume(len(proof) >= 2)
        i, j = data.draw(
            st.lists(st.integers(0, len(proof) - 1), min_size=2, max_size=2, unique=True),
            label="swap",
        )
        proof[i], proof[j] = proof[j], proof[i]
    elif mutation == "wrong-index":
        # The old root commits to its size: claiming another old size must fail.
        claimed_old = data.draw(st.integers(1, new - 1), label="claimed old size")
        assume(claimed_old != old)
    else:
        # As for inclusion, only new sizes with a different proof shape are distinguishable.
        claimed_new = data.draw(st.integers(old + 1, new * 2 + 2), label="claimed new size")
        assume(len(naive_proof(old, (b"",) * claimed_new)) != len(proof))
    with pytest.raises(ProofError):
        verify_consistency(
            old_size=claimed_old,
            new_size=claimed_new,
            old_root=old_root,
            new_root=new_root,
            proof=proof,
        )


def test_proofs_do_not_bind_the_size_alone() -> None:
    """Documented limitation of RFC 9162 verification: some sizes share a proof shape, so the
    size must come from the same signed tree head as the root, never from the prover."""
    tree = MemoryTree.from_data(CT_LEAVES)
    proof = tree.inclusion_proof(0, 4)
    leaf = hash_leaf(CT_LEAVES[0])
    verify_inclusion(index=0, size=3, leaf_hash=leaf, proof=proof, root_hash=tree.root(4))
    # The published (6, 8) consistency proof also "verifies" when the new size is claimed as 7.
    verify_consistency(
        old_size=6, new_size=7, old_root=_C_OLD_ROOT, new_root=_C_NEW_ROOT, proof=_C_PROOF
    )


# ---------------------------------------------------------------------------------------------
# Node-getter contract: O(log n) reads, perfect nodes only, argument validation
# ---------------------------------------------------------------------------------------------


class CountingGetter:
    def __init__(self, tree: MemoryTree, limit: int) -> None:
        self.tree = tree
        self.limit = limit
        self.calls = 0

    def __call__(self, level: int, index: int) -> bytes:
        self.calls += 1
        # Only nodes that are complete within the requested tree may be read.
        assert (index + 1) << level <= self.limit
        return self.tree.get_node(level, index)


def test_proofs_use_logarithmic_reads() -> None:
    tree = MemoryTree([hash_leaf(i.to_bytes(4, "big")) for i in range(1000)])
    for size in (1, 2, 3, 7, 8, 9, 100, 511, 512, 513, 777, 1000):
        bound = 2 * math.ceil(math.log2(size)) + 2
        getter = CountingGetter(tree, size)
        assert root_hash(getter, size) == tree.root(size)
        assert getter.calls == size.bit_count()
        for index in {0, size // 3, size // 2, size - 1}:
            getter = CountingGetter(tree, size)
            inclusion_proof(getter, index, size)
            assert getter.calls <= bound, (index, size, getter.calls)
        for old in {1, size // 3, size // 2, size - 1}:
            if 0 < old < size:
                getter = CountingGetter(tree, size)
                consistency_proof(getter, old, size)
                assert getter.calls <= bound, (old, size, getter.calls)


def test_subtree_hash_ranges() -> None:
    leaves = tuple(bytes([i]) for i in range(13))
    tree = MemoryTree.from_data(leaves)
    assert subtree_hash(tree.get_node, 8, 13) == naive_mth(leaves[8:13])
    assert subtree_hash(tree.get_node, 4, 8) == naive_mth(leaves[4:8])
    assert subtree_hash(tree.get_node, 12, 13) == hash_leaf(leaves[12])
    for start, end in ((3, 3), (5, 4), (-1, 2), (1, 3), (4, 9), (2, 5)):
        with pytest.raises(ValueError, match="range"):
            subtree_hash(tree.get_node, start, end)


def test_generation_argument_errors() -> None:
    tree = MemoryTree.from_data(CT_LEAVES)
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof(tree.get_node, 8, 8)
    with pytest.raises(ValueError, match="out of range"):
        inclusion_proof(tree.get_node, 0, 0)
    with pytest.raises(ValueError, match="non-negative"):
        inclusion_proof(tree.get_node, -1, 8)
    with pytest.raises(ValueError, match="larger than"):
        consistency_proof(tree.get_node, 5, 4)
    with pytest.raises(ValueError, match="non-negative"):
        root_hash(tree.get_node, -1)
    with pytest.raises(ValueError, match="out of range"):
        tree.root(9)
    with pytest.raises(IndexError):
        tree.get_node(3, 1)
    assert consistency_proof(tree.get_node, 0, 8) == []
    assert consistency_proof(tree.get_node, 8, 8) == []


def test_bad_node_getter_is_reported() -> None:
    def short(level: int, index: int) -> bytes:
        return b"\x00" * 31

    with pytest.raises(ValueError, match="31 bytes for level 0 index 0"):
        root_hash(short, 1)


# ---------------------------------------------------------------------------------------------
# Frontier (compact range)
# ---------------------------------------------------------------------------------------------


def test_frontier_matches_reference_for_every_size() -> None:
    leaves = tuple(i.to_bytes(2, "big") for i in range(300))
    frontier = Frontier.empty()
    assert frontier.root() == EMPTY_ROOT
    tree = MemoryTree()
    seen: set[tuple[int, int]] = set()
    for n, data in enumerate(leaves, start=1):
        frontier, nodes = frontier.append(hash_leaf(data))
        tree.append(hash_leaf(data))
        assert frontier.size == n
        assert len(frontier.hashes) == n.bit_count()
        assert frontier.root() == naive_mth(leaves[:n])
        assert nodes[0] == (0, n - 1, hash_leaf(data))
        for level, index, node in nodes:
            assert node == naive_mth(leaves[index << level : (index + 1) << level])
            assert (index + 1) << level == n  # completed by this very append
            seen.add((level, index))
        assert [level for level, _, _ in nodes] == list(range(len(nodes)))
        assert Frontier.from_getter(tree.get_node, n) == frontier
    expected = {(lv, i) for lv in range(9) for i in range(len(leaves) >> lv)}
    assert seen == expected  # every perfect subtree reported exactly once in total


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 1 << 40), st.data())
def test_frontier_bytes_round_trip(size: int, data: st.DataObject) -> None:
    hashes = tuple(
        data.draw(st.binary(min_size=HASH_SIZE, max_size=HASH_SIZE))
        for _ in range(size.bit_count())
    )
    frontier = Frontier(size, hashes)
    encoded = frontier.to_bytes()
    assert len(encoded) == size.bit_count() * HASH_SIZE
    assert Frontier.from_bytes(size, encoded) == frontier
    with pytest.raises(ValueError, match="bytes"):
        Frontier.from_bytes(size, encoded + b"\x00")
    with pytest.raises(ValueError, match="bytes"):
        Frontier.from_bytes(
            size + 1 if size.bit_count() == (size + 1).bit_count() else size,
            encoded + b"\x00" * HASH_SIZE,
        )
    if encoded:
        with pytest.raises(ValueError, match="bytes"):
            Frontier.from_bytes(size, encoded[:-1])


def test_frontier_validation() -> None:
    good = hash_leaf(b"x")
    with pytest.raises(ValueError, match="needs 1 hashes"):
        Frontier(1, ())
    with pytest.raises(ValueError, match="needs 2 hashes"):
        Frontier(3, (good,))
    with pytest.raises(ValueError, match="31 bytes"):
        Frontier(1, (good[:31],))
    with pytest.raises(ValueError, match="non-negative"):
        Frontier(-1, ())
    with pytest.raises(ValueError, match="leaf hash is 3 bytes"):
        Frontier.empty().append(b"abc")
    with pytest.raises(ValueError, match="needs 64 bytes, got 32"):
        Frontier.from_bytes(3, good)
    frontier = Frontier(1, (good,))
    with pytest.raises(AttributeError):
        frontier.size = 2  # type: ignore[misc]


def test_memory_tree_append_returns_index() -> None:
    tree = MemoryTree()
    assert tree.root() == EMPTY_ROOT
    assert [tree.append(hash_leaf(d)) for d in CT_LEAVES] == list(range(8))
    assert tree.leaf_hash(5) == hash_leaf(CT_LEAVES[5])
    assert tree.root().hex() == CT_ROOTS[8]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3000), st.data())
def test_inclusion_proof_nodes_are_exactly_the_nodes_a_proof_reads(
    size: int, data: st.DataObject
) -> None:
    # A store fetches these in one go (evidence bundles); a proof built from only them must
    # equal the proof read node by node.
    tree = MemoryTree.from_data(tuple(i.to_bytes(2, "big") for i in range(size)))
    index = data.draw(st.integers(0, size - 1))
    wanted = inclusion_proof_nodes(index, size)
    fetched = {(level, at): tree.get_node(level, at) for level, at in wanted}
    assert len(fetched) == len(wanted)
    assert inclusion_proof(lambda level, at: fetched[level, at], index, size) == (
        tree.inclusion_proof(index, size)
    )


def test_inclusion_proof_nodes_of_a_single_leaf_tree_are_none() -> None:
    assert inclusion_proof_nodes(0, 1) == []
