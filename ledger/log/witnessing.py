"""The wire format of C2SP ``tlog-witness`` ``POST /add-checkpoint``, both directions.

Request body: ``old <size>\\n``, at most 63 consistency-proof lines (one base64 hash each), a
blank line, then the checkpoint note. A ``409 Conflict`` answer has content type
``text/x.tlog.size`` and holds the witness's size in decimal and a newline. A ``200`` answer
holds one or more cosignature lines. Both the witness (``ledger.witness``) and a log asking
witnesses use these functions. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.core.signing import b64decode, b64encode
from ledger.errors import InputError
from ledger.log.checkpoint import MAX_NOTE_BYTES
from ledger.log.merkle import HASH_SIZE

ADD_CHECKPOINT_PATH = "/add-checkpoint"
SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
MAX_REQUEST_BYTES = MAX_NOTE_BYTES + 64 * (MAX_PROOF_LINES + 1)
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True, slots=True, kw_only=True)
class AddCheckpoint:
    """One add-checkpoint request: the size the client believes the witness holds, the
    consistency proof from it, and the checkpoint note exactly as received."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str


def encode_add_checkpoint(*, old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The request body for ``POST /add-checkpoint``."""
    if old_size < 0 or len(proof) > MAX_PROOF_LINES:
        raise InputError("add-checkpoint: negative old size or more than 63 proof lines")
    lines = [f"old {old_size}\n", *(b64encode(h) + "\n" for h in proof), "\n", note]
    return "".join(lines).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an add-checkpoint request body (the note itself is parsed by its verifier).

    Raises:
        InputError: too large, not UTF-8, no ``old N`` line, a proof line that is not one
            base64 hash, more than 63 proof lines, or no blank line before the note.
    """
    if len(body) > MAX_REQUEST_BYTES:
        raise InputError("add-checkpoint request is too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError("add-checkpoint request is not UTF-8") from e
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise InputError("add-checkpoint request has no blank line before the checkpoint")
    lines = head.split("\n")
    old = lines[0].removeprefix("old ")
    if old == lines[0] or not _DECIMAL.fullmatch(old):
        raise InputError("add-checkpoint request does not start with 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise InputError("add-checkpoint request has more than 63 consistency proof lines")
    proof = tuple(_proof_hash(line) for line in lines[1:])
    return AddCheckpoint(old_size=int(old), proof=proof, note=note)


def _proof_hash(line: str) -> bytes:
    value = b64decode(line, field="consistency proof line")
    if len(value) != HASH_SIZE:
        raise InputError("consistency proof line is not a 32-byte hash")
    return value


def parse_size(body: bytes) -> int:
    """The witness's size from a ``text/x.tlog.size`` body (``<decimal>\\n``).

    Raises:
        InputError: the body is not one decimal number and a newline.
    """
    text = body.decode("ascii", errors="replace")
    if not text.endswith("\n") or not _DECIMAL.fullmatch(text[:-1]):
        raise InputError(f"witness size answer {text[:40]!r} is not a decimal and a newline")
    return int(text[:-1])
