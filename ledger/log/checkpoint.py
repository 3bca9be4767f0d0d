"""Checkpoints in the C2SP ``tlog-checkpoint`` format, signed as C2SP ``signed-note``s.

A checkpoint body is three lines: the log origin, the tree size in decimal, and the base64
RFC 6962 root hash; then extension lines. A bloc log writes one, ``registry <hex>``, the
digest of its key registry at that size (:mod:`ledger.log.registry`, ADR 0038); other
extension lines are kept in the signed text and otherwise ignored.

The note is the body, a blank line, and one signature line per signer:
``— <key name> <base64(4-byte key hash ‖ Ed25519 signature)>``. The key hash of an Ed25519
note key is the first four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). The log signs
with its origin as the key name. Verification ignores signatures by unknown keys and fails
unless the log key's signature verifies, as the signed-note specification requires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from ledger.core.signing import SIGNATURE_SIZE, PublicKey, Signer, b64encode
from ledger.errors import VerificationError
from ledger.log.merkle import HASH_SIZE
from ledger.log.registry import parse_registry_line, registry_line

_ED25519 = b"\x01"
_DASH = "\u2014"
_ORIGIN = re.compile(r"[^\s+]+")
MAX_NOTE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A log's claim: the tree of ``tree_size`` leaves has root ``root_hash``."""

    origin: str
    tree_size: int
    root_hash: bytes
    registry: bytes | None = None
    """The registry digest the checkpoint commits to (None: a checkpoint without one, made
    by an older bloc or another log)."""

    def __post_init__(self) -> None:
        if not _ORIGIN.fullmatch(self.origin):
            raise ValueError(f"log origin {self.origin!r} is empty or holds whitespace or '+'")
        if self.tree_size < 0:
            raise ValueError("tree size is negative")
        if len(self.root_hash) != HASH_SIZE:
            raise ValueError("root hash is not 32 bytes")
        if self.registry is not None and len(self.registry) != HASH_SIZE:
            raise ValueError("registry digest is not 32 bytes")

    def body(self) -> bytes:
        head = f"{self.origin}\n{self.tree_size}\n{b64encode(self.root_hash)}\n"
        if self.registry is not None:
            head += registry_line(self.registry) + "\n"
        return head.encode()


def note_key_hash(name: str, key: PublicKey) -> bytes:
    """The 4-byte key hash that prefixes an Ed25519 note signature."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519 + key.raw).digest()[:4]


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The signed note of ``checkpoint``, signed by ``signer`` under the log origin."""
    body = checkpoint.body()
    blob = note_key_hash(checkpoint.origin, signer.public_key) + signer.sign(body)
    return body.decode() + "\n" + f"{_DASH} {checkpoint.origin} {b64encode(blob)}\n"


def parse_checkpoint_body(body: str) -> Checkpoint:
    """The checkpoint a note body states (origin, size, root; extension lines allowed).

    Raises:
        VerificationError: the body does not have origin, size and root-hash lines.
    """
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerificationError("checkpoint body does not have origin, size and root lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size):
        raise VerificationError(f"checkpoint tree size {size!r} is not a decimal number")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error as e:
        raise VerificationError("checkpoint root hash is not base64") from e
    try:
        digests = [d for d in map(parse_registry_line, lines[3:-1]) if d is not None]
        if len(digests) > 1:
            raise ValueError("more than one registry line")
        return Checkpoint(
            origin=origin,
            tree_size=int(size),
            root_hash=root_hash,
            registry=digests[0] if digests else None,
        )
    except ValueError as e:
        raise VerificationError(f"checkpoint is malformed: {e}") from e


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    """``— <name> <base64>``: every line must have this form, known key or not."""
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != _DASH or not parts[1]:
        raise VerificationError(f"checkpoint signature line {line[:80]!r} is malformed")
    try:
        blob = base64.b64decode(parts[2], validate=True)
    except binascii.Error as e:
        raise VerificationError("checkpoint signature is not base64") from e
    if len(blob) < 5:
        raise VerificationError(f"checkpoint signature line {line[:80]!r} is too short")
    return parts[1], blob


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note's text (ending in a newline) and its signature lines as (name, blob).

    The text ends at the note's last blank line. Every signature line must be well formed,
    whoever signed it; nothing is verified here.

    Raises:
        VerificationError: the note is too large, has no signature block, or a signature
            line is malformed.
    """
    if len(note.encode("utf-8")) > MAX_NOTE_BYTES:
        raise VerificationError("checkpoint note is too large")
    body, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise VerificationError("checkpoint note has no signature block")
    lines = [_parse_signature_line(line) for line in signatures[:-1].split("\n")]
    return body + "\n", lines


def verify_checkpoint(note: str, *, origin: str, key: PublicKey) -> Checkpoint:
    """Check a signed checkpoint note against the log's origin and public key.

    Raises:
        VerificationError: the note is malformed, is for another log, or carries no valid
            signature by ``key``.
    """
    body, lines = split_note(note)
    checkpoint = parse_checkpoint_body(body)
    if checkpoint.origin != origin:
        raise VerificationError(f"checkpoint is for log {checkpoint.origin!r}, expected {origin!r}")
    wanted = note_key_hash(origin, key)
    for name, blob in lines:
        if name != origin or blob[:4] != wanted:
            continue  # a signature by a key we do not know (a witness, say): ignored
        if len(blob) == 4 + SIGNATURE_SIZE and key.verify(blob[4:], body.encode("utf-8")):
            return checkpoint
        raise VerificationError(
            f"checkpoint at tree size {checkpoint.tree_size}: signature does not verify "
            "with the log key"
        )
    raise VerificationError(
        f"checkpoint at tree size {checkpoint.tree_size} is not signed by the log key {key.keyid}"
    )
