"""The registry digest's hash chain (ADR 0038): it extends from one checkpoint to the next,
and any change to the registry entries below a size changes it."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ledger.log.registry import EMPTY_REGISTRY, extend_registry, registry_digest

leaves = st.lists(
    st.tuples(st.integers(0, 2**40), st.binary(min_size=32, max_size=32)), max_size=12
)


def test_the_empty_registry_is_a_fixed_constant() -> None:
    assert registry_digest([]) == EMPTY_REGISTRY == hashlib.sha256(b"bloc-registry-v1\n").digest()


def test_one_entry_is_the_documented_hash() -> None:
    leaf = bytes(range(32))
    expected = hashlib.sha256(EMPTY_REGISTRY + (5).to_bytes(8, "big") + leaf).digest()
    assert registry_digest([(5, leaf)]) == expected


@given(leaves, leaves)
def test_extending_a_checkpoints_digest_equals_computing_it_whole(
    before: list[tuple[int, bytes]], since: list[tuple[int, bytes]]
) -> None:
    assert extend_registry(registry_digest(before), since) == registry_digest(before + since)


@given(leaves.filter(bool), st.data())
def test_leaving_out_any_entry_changes_the_digest(
    entries: list[tuple[int, bytes]], data: st.DataObject
) -> None:
    dropped = data.draw(st.integers(0, len(entries) - 1))
    assert registry_digest(entries[:dropped] + entries[dropped + 1 :]) != registry_digest(entries)


@given(leaves.filter(lambda e: len(e) >= 2 and e[0] != e[1]))
def test_reordering_entries_changes_the_digest(entries: list[tuple[int, bytes]]) -> None:
    swapped = [entries[1], entries[0], *entries[2:]]
    assert registry_digest(swapped) != registry_digest(entries)
