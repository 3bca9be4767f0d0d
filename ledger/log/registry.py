"""The registry digest: what a checkpoint commits to about the key registry (ADR 0038).

A checkpoint of tree size N carries an extension line ``registry <64 hex>``: a hash chain
over every registry entry (participant, facility, key_revocation) at a log index below N, in
log order. ``d_0 = SHA-256("bloc-registry-v1\\n")`` and, for each registry entry,
``d = SHA-256(d ‖ u64be(log index) ‖ leaf hash)``. The chain extends from one checkpoint to
the next without re-reading older entries, and anyone holding the registry entries below N
(an evidence bundle carries them all) recomputes it: a registry entry left out, added or
reordered changes the digest that the log and its witnesses signed.

Pure: values in, values out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

REGISTRY_PREFIX = "registry "
EMPTY_REGISTRY = hashlib.sha256(b"bloc-registry-v1\n").digest()
_LINE = re.compile(r"registry ([0-9a-f]{64})")


def extend_registry(digest: bytes, entries: Iterable[tuple[int, bytes]]) -> bytes:
    """``digest`` extended by each ``(log index, leaf hash)`` of registry entries, in order."""
    for index, leaf_hash in entries:
        digest = hashlib.sha256(digest + index.to_bytes(8, "big") + leaf_hash).digest()
    return digest


def registry_digest(entries: Iterable[tuple[int, bytes]]) -> bytes:
    """The digest of a registry made of ``entries`` (log index, leaf hash), in log order."""
    return extend_registry(EMPTY_REGISTRY, entries)


def registry_line(digest: bytes) -> str:
    """The checkpoint extension line (without its newline)."""
    return REGISTRY_PREFIX + digest.hex()


def parse_registry_line(line: str) -> bytes | None:
    """The digest a ``registry <hex>`` line states; None for any other extension line.

    Raises:
        ValueError: the line starts with ``registry `` but is not 64 lower-case hex digits.
    """
    if not line.startswith(REGISTRY_PREFIX):
        return None
    match = _LINE.fullmatch(line)
    if match is None:
        raise ValueError(f"registry line {line[:80]!r} is not 'registry' and 64 hex digits")
    return bytes.fromhex(match.group(1))
