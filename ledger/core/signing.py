"""Ed25519 keys, key ids and signers (the only module that imports ``cryptography`` or ``nacl``).

Public keys (:class:`PublicKey`) and private signers (:class:`Signer`) are separate types: a
verifier never holds a private key. A key id is the hex SHA-256 of the raw 32-byte public
key. Private keys travel as PKCS#8 PEM, encrypted when a passphrase is given; reading and
writing files is the caller's job (see ``ledger.service.home``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import NewType

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import ConfigError, InputError

KeyId = NewType("KeyId", str)
"""Hex SHA-256 of a raw Ed25519 public key."""

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def keyid_for(raw_public_key: bytes) -> KeyId:
    """The key id of a raw public key."""
    return KeyId(hashlib.sha256(raw_public_key).hexdigest())


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as text."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, field: str) -> bytes:
    """Strict standard base64: padding required, no other alphabets, canonical bits.

    Raises:
        InputError: naming ``field`` when ``text`` is not canonical standard base64.
    """
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise InputError(f"{field} is not standard base64") from e
    if base64.b64encode(data).decode("ascii") != text:
        raise InputError(f"{field} is not canonical standard base64")
    return data


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key, as its 32 raw bytes."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != PUBLIC_KEY_SIZE:
            raise InputError(f"an Ed25519 public key is 32 bytes, got {len(self.raw)}")

    @classmethod
    def from_base64(cls, text: str, *, field: str = "public_key") -> PublicKey:
        raw = b64decode(text, field=field)
        if len(raw) != PUBLIC_KEY_SIZE:
            raise InputError(f"{field} decodes to {len(raw)} bytes, not 32")
        return cls(raw=raw)

    @property
    def keyid(self) -> KeyId:
        return keyid_for(self.raw)

    def to_base64(self) -> str:
        return b64encode(self.raw)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's signature over ``message``.

        libsodium checks (ADR 0013): twice as fast here as OpenSSL, and strict about
        non-canonical and small-order encodings.
        """
        if len(signature) != SIGNATURE_SIZE:
            return False
        try:
            nacl.bindings.crypto_sign_open(signature + message, self.raw)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
            return False
        return True


class Signer:
    """An Ed25519 private key that signs; never printed, compared or serialised by accident."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key = PublicKey(raw=raw)

    def __repr__(self) -> str:
        return f"Signer(keyid={self.keyid})"

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        """A deterministic signer from 32 seed bytes (tests and known-answer vectors)."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(
        cls, pem: bytes, *, passphrase: bytes | None = None, source: str = "key"
    ) -> Signer:
        """Load a PKCS#8 PEM Ed25519 private key.

        Raises:
            ConfigError: the PEM is unreadable, is not Ed25519, or the passphrase is wrong
                or missing.
        """
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase)
        except TypeError as e:
            if passphrase is None:
                raise ConfigError(
                    f"{source} is encrypted: give its passphrase (on the command line, "
                    "--passphrase-env VAR names an environment variable holding it; the log "
                    "key's comes from $BLOC_LOG_PASSPHRASE)"
                ) from e
            raise ConfigError(f"{source} is not encrypted, but a passphrase was given") from e
        except (ValueError, UnsupportedAlgorithm) as e:
            if passphrase is not None:
                raise ConfigError(f"{source}: wrong passphrase or not a PEM private key") from e
            raise ConfigError(f"{source} is not a PEM private key") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{source} is not an Ed25519 key")
        return cls(key)

    def to_pem(self, *, passphrase: bytes | None = None) -> bytes:
        """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
        if passphrase is not None and not passphrase:
            raise ConfigError("an empty passphrase would leave the key unencrypted")
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase is not None
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @property
    def keyid(self) -> KeyId:
        return self.public_key.keyid

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)
