"""Witness cosignatures (C2SP ``tlog-cosignature``, Ed25519 ``cosignature/v1``) and verifier keys.

A cosignature is a signed-note signature line on a checkpoint:
``— <witness name> base64(key ID ‖ u64 timestamp ‖ Ed25519 signature)``. The key ID is
SHA-256(name ‖ 0x0A ‖ 0x04 ‖ public key)[:4]; the signed message is
``cosignature/v1\\ntime <timestamp>\\n`` followed by the whole checkpoint note text (extension
lines included, signature lines not). A witness names itself to others with a verifier key
(C2SP ``signed-note``): ``<name>+<8 hex digits of key ID>+base64(type byte ‖ public key)``.

Pure: values in, values out; the clock is the caller's (``timestamp``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from ledger.core.signing import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, PublicKey, Signer, b64encode
from ledger.errors import InputError, VerificationError
from ledger.log.checkpoint import split_note

NOTE_ED25519 = 0x01
"""Signature type of an ordinary Ed25519 note signature (a log's checkpoint key)."""
COSIGNATURE_V1 = 0x04
"""Signature type of a timestamped Ed25519 witness cosignature."""
MAX_TIMESTAMP = (1 << 63) - 1

_DASH = "\u2014"
_NAME = re.compile(r"[^\s+]+")
_HASH = re.compile(r"[0-9a-f]{8}")
_COSIGNATURE_SIZE = 4 + 8 + SIGNATURE_SIZE


def key_id(name: str, signature_type: int, raw_public_key: bytes) -> bytes:
    """The 4-byte signed-note key ID: SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]."""
    data = name.encode("utf-8") + b"\n" + bytes([signature_type]) + raw_public_key
    return hashlib.sha256(data).digest()[:4]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifierKey:
    """A named Ed25519 public key of one signature type (0x01 note or 0x04 cosignature)."""

    name: str
    signature_type: int
    key: PublicKey

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise InputError(f"key name {self.name!r} is empty or holds whitespace or '+'")
        if self.signature_type not in (NOTE_ED25519, COSIGNATURE_V1):
            raise InputError(f"signature type 0x{self.signature_type:02x} is not supported")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, self.key.raw)

    def encode(self) -> str:
        """The C2SP vkey text ``NAME+KEYHASH+BASE64``."""
        material = b64encode(bytes([self.signature_type]) + self.key.raw)
        return f"{self.name}+{self.key_id.hex()}+{material}"


def witness_vkey(name: str, key: PublicKey) -> VerifierKey:
    """The cosignature/v1 verifier key of a witness called ``name``."""
    return VerifierKey(name=name, signature_type=COSIGNATURE_V1, key=key)


def parse_vkey(text: str) -> VerifierKey:
    """Parse a C2SP vkey ``NAME+KEYHASH+BASE64`` of an Ed25519 key (type 0x01 or 0x04).

    Raises:
        InputError: not three ``+``-separated parts, a key hash that is not 8 lowercase hex
            digits or does not match the key, bad base64, an unsupported type, or a key that
            is not 32 bytes.
    """
    parts = text.split("+", 2)
    if len(parts) != 3 or not _HASH.fullmatch(parts[1]):
        raise InputError(f"verifier key {text[:80]!r} is not NAME+KEYHASH+BASE64")
    name, hash_hex, material = parts
    try:
        data = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InputError(f"verifier key {name!r}: key material is not base64") from e
    if len(data) != 1 + PUBLIC_KEY_SIZE or b64encode(data) != material:
        raise InputError(f"verifier key {name!r}: key material is not a type byte and 32 bytes")
    vkey = VerifierKey(name=name, signature_type=data[0], key=PublicKey(raw=data[1:]))
    if vkey.key_id.hex() != hash_hex:
        raise InputError(f"verifier key {name!r}: key hash {hash_hex} does not match its key")
    return vkey


def cosignature_message(note_text: bytes, *, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header, time line, then the note text (final newline
    included, signature lines not)."""
    _check_timestamp(timestamp)
    return b"cosignature/v1\ntime %d\n" % timestamp + note_text


def cosign(note_text: bytes, *, name: str, signer: Signer, timestamp: int) -> str:
    """The cosignature line (newline-terminated) of witness ``name`` on ``note_text``."""
    vkey = witness_vkey(name, signer.public_key)
    signature = signer.sign(cosignature_message(note_text, timestamp=timestamp))
    blob = vkey.key_id + timestamp.to_bytes(8, "big") + signature
    return f"{_DASH} {name} {b64encode(blob)}\n"


def verify_cosignature(note: str, *, vkey: VerifierKey) -> int:
    """Check that ``note`` carries a valid cosignature by ``vkey``; return its timestamp.

    Signature lines by other keys (another name or key ID) are ignored, as signed-note says.

    Raises:
        VerificationError: the note is malformed, carries no line by ``vkey``, or that line
            is malformed or does not verify.
        InputError: ``vkey`` is not a cosignature (type 0x04) key.
    """
    timestamp = find_cosignature(note, vkey=vkey)
    if timestamp is None:
        raise VerificationError(f"checkpoint carries no cosignature by witness {vkey.name!r}")
    return timestamp


def find_cosignature(note: str, *, vkey: VerifierKey) -> int | None:
    """The timestamp of ``vkey``'s cosignature on ``note``, or None when it has none.

    Raises:
        VerificationError: the note is malformed, or ``vkey``'s line is there but is
            malformed or does not verify (a damaged cosignature is never just absent).
        InputError: ``vkey`` is not a cosignature (type 0x04) key.
    """
    if vkey.signature_type != COSIGNATURE_V1:
        raise InputError(f"verifier key {vkey.name!r} is not a cosignature/v1 key")
    text, lines = split_note(note)
    wanted = vkey.key_id
    for name, blob in lines:
        if name == vkey.name and blob[:4] == wanted:
            return _check_blob(text.encode("utf-8"), blob, vkey)
    return None


def with_cosignatures(note: str, lines: str) -> str:
    """``note`` with the cosignature ``lines`` (newline-terminated signature lines) added.

    A witness's earlier line (same name and key ID) is replaced by its new one, so a note
    holds one cosignature per witness; the other signature lines keep their order.

    Raises:
        VerificationError: ``note`` or ``lines`` is malformed.
    """
    text, existing = split_note(note)
    _, added = split_note("x\n\n" + lines)
    fresh = {(name, blob[:4]) for name, blob in added}
    kept = [(name, blob) for name, blob in existing if (name, blob[:4]) not in fresh]
    signatures = "".join(f"{_DASH} {name} {b64encode(blob)}\n" for name, blob in [*kept, *added])
    return f"{text}\n{signatures}"


def _check_blob(text: bytes, blob: bytes, vkey: VerifierKey) -> int:
    if len(blob) != _COSIGNATURE_SIZE:
        raise VerificationError(f"cosignature by witness {vkey.name!r} has the wrong length")
    timestamp = int.from_bytes(blob[4:12], "big")
    if timestamp > MAX_TIMESTAMP:
        raise VerificationError(f"cosignature by witness {vkey.name!r} has a bad timestamp")
    if not vkey.key.verify(blob[12:], cosignature_message(text, timestamp=timestamp)):
        raise VerificationError(f"cosignature by witness {vkey.name!r} does not verify")
    return timestamp


def _check_timestamp(timestamp: int) -> None:
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InputError(f"cosignature timestamp {timestamp} is out of range")
