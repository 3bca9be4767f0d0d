"""ledger.core.signing: key ids, known-answer Ed25519 signatures, PEM keys and strict base64.

Known answers are pinned as literals (so a change in derivation is caught) and, where
possible, re-derived independently with ``hashlib`` and ``cryptography`` directly.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.signing import PublicKey, Signer, b64decode, b64encode, keyid_for
from ledger.errors import ConfigError, InputError, LedgerError
from ledger.service.home import read_signer, write_signer

from helpers import key_for

ZERO_SEED = bytes(32)
ZERO_PUBLIC_HEX = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
ZERO_PUBLIC_B64 = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
ZERO_KEYID = "139e3940e64b5491722088d9a0d741628fc826e09475d341a780acde3c4b8070"
ZERO_PEM = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
    b"-----END PRIVATE KEY-----\n"
)

# RFC 8032 §7.1, TEST 1 (empty message).
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
    "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)

PASSPHRASE_HINT = (
    " (on the command line, --passphrase-env VAR names an environment variable holding it; "
    "the log key's comes from $BLOC_LOG_PASSPHRASE)"
)


# --- key ids ---------------------------------------------------------------------------------


def test_keyid_known_answer_pinned() -> None:
    signer = Signer.from_seed(ZERO_SEED)
    assert signer.public_key.raw.hex() == ZERO_PUBLIC_HEX
    assert signer.public_key.to_base64() == ZERO_PUBLIC_B64
    assert signer.keyid == ZERO_KEYID
    assert signer.public_key.keyid == ZERO_KEYID


def test_keyid_matches_independent_derivation() -> None:
    raw = (
        Ed25519PrivateKey.from_private_bytes(ZERO_SEED)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert Signer.from_seed(ZERO_SEED).keyid == hashlib.sha256(raw).hexdigest()
    assert keyid_for(raw) == hashlib.sha256(raw).hexdigest()


def test_keyid_of_rfc8032_key() -> None:
    assert Signer.from_seed(RFC8032_SECRET).keyid == hashlib.sha256(RFC8032_PUBLIC).hexdigest()


def test_deterministic_test_keys_are_distinct_and_stable() -> None:
    assert key_for("lynas").keyid == key_for("lynas").keyid
    assert key_for("lynas").keyid != key_for("shinetsu").keyid


# --- Ed25519 known answers --------------------------------------------------------------------


def test_rfc8032_test_1_public_key() -> None:
    assert Signer.from_seed(RFC8032_SECRET).public_key.raw == RFC8032_PUBLIC


def test_rfc8032_test_1_signature() -> None:
    signer = Signer.from_seed(RFC8032_SECRET)
    assert signer.sign(b"") == RFC8032_SIGNATURE
    assert PublicKey(raw=RFC8032_PUBLIC).verify(RFC8032_SIGNATURE, b"")


def test_zero_seed_signature_pinned() -> None:
    signer = Signer.from_seed(ZERO_SEED)
    signature = signer.sign(b"bloc ledger")
    # Cross-check with cryptography directly, then pin so a change is noticed.
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(ZERO_PUBLIC_HEX)).verify(
        signature, b"bloc ledger"
    )
    assert signature == Ed25519PrivateKey.from_private_bytes(ZERO_SEED).sign(b"bloc ledger")
    assert signature.hex() == (
        "52626a65484144b6eeab544cee4f83595c82ced92bde23eab437577b265a91dc"
        "f70a8439c93060801efacaade08e83cb94eca01e3519153647b0200449163907"
    )


def test_verify_rejects_wrong_message_key_and_length() -> None:
    signer, other = key_for("a"), key_for("b")
    signature = signer.sign(b"message")
    assert signer.public_key.verify(signature, b"message")
    assert not signer.public_key.verify(signature, b"messagE")
    assert not other.public_key.verify(signature, b"message")
    assert not signer.public_key.verify(signature[:-1], b"message")
    assert not signer.public_key.verify(signature + b"\x00", b"message")
    assert not signer.public_key.verify(bytes(64), b"message")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not signer.public_key.verify(flipped, b"message")


# --- PublicKey --------------------------------------------------------------------------------


def test_public_key_base64_round_trip() -> None:
    key = Signer.from_seed(ZERO_SEED).public_key
    assert PublicKey.from_base64(key.to_base64()) == key


def test_public_key_wrong_length() -> None:
    with pytest.raises(InputError) as info:
        PublicKey(raw=bytes(31))
    assert str(info.value) == "an Ed25519 public key is 32 bytes, got 31"
    with pytest.raises(InputError) as info:
        PublicKey.from_base64(b64encode(bytes(33)), field="keys[0].public_key")
    assert str(info.value) == "keys[0].public_key decodes to 33 bytes, not 32"


def test_public_key_bad_base64_names_field() -> None:
    with pytest.raises(InputError) as info:
        PublicKey.from_base64("O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik", field="root.log")
    assert str(info.value) == "root.log is not standard base64"


# --- PEM --------------------------------------------------------------------------------------


def test_pem_plain_known_answer() -> None:
    assert Signer.from_seed(ZERO_SEED).to_pem() == ZERO_PEM
    assert Signer.from_pem(ZERO_PEM).keyid == ZERO_KEYID


def test_pem_plain_round_trip() -> None:
    signer = key_for("pem")
    again = Signer.from_pem(signer.to_pem())
    assert again.keyid == signer.keyid
    assert again.sign(b"m") == signer.sign(b"m")


def test_pem_encrypted_round_trip() -> None:
    signer = key_for("pem")
    pem = signer.to_pem(passphrase=b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert pem != signer.to_pem(passphrase=b"correct horse")  # fresh salt each time
    again = Signer.from_pem(pem, passphrase=b"correct horse")
    assert again.keyid == signer.keyid
    assert again.sign(b"m") == signer.sign(b"m")


def test_pem_with_crlf_line_endings_loads() -> None:
    assert Signer.from_pem(ZERO_PEM.replace(b"\n", b"\r\n")).keyid == ZERO_KEYID


def config_error(pem: bytes, *, passphrase: bytes | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        Signer.from_pem(pem, passphrase=passphrase, source="keys/acme.pem")
    assert info.value.__cause__ is not None or "Ed25519" in str(info.value)
    return str(info.value)


def test_pem_wrong_passphrase() -> None:
    pem = key_for("pem").to_pem(passphrase=b"right")
    assert (
        config_error(pem, passphrase=b"wrong")
        == "keys/acme.pem: wrong passphrase or not a PEM private key"
    )


def test_pem_missing_passphrase() -> None:
    pem = key_for("pem").to_pem(passphrase=b"right")
    assert config_error(pem) == "keys/acme.pem is encrypted: give its passphrase" + PASSPHRASE_HINT


def test_pem_passphrase_for_unencrypted_key() -> None:
    assert (
        config_error(ZERO_PEM, passphrase=b"pw")
        == "keys/acme.pem is not encrypted, but a passphrase was given"
    )


def test_pem_ec_key_is_not_ed25519() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert config_error(pem) == "keys/acme.pem is not an Ed25519 key"


def test_pem_public_key_is_not_a_private_key() -> None:
    pem = (
        Ed25519PrivateKey.from_private_bytes(ZERO_SEED)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert config_error(pem) == "keys/acme.pem is not a PEM private key"


@pytest.mark.parametrize(
    "pem",
    [
        pytest.param(b"garbage", id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param(ZERO_PEM[:40], id="truncated"),
        pytest.param(ZERO_PEM.replace(b"MC4C", b"XC4C"), id="corrupted-body"),
    ],
)
def test_pem_garbage(pem: bytes) -> None:
    assert config_error(pem) == "keys/acme.pem is not a PEM private key"


def test_pem_garbage_with_passphrase() -> None:
    assert (
        config_error(b"garbage", passphrase=b"pw")
        == "keys/acme.pem: wrong passphrase or not a PEM private key"
    )


def test_empty_passphrase_never_writes_the_key_in_clear() -> None:
    # An empty passphrase is a request for encryption that cannot be honoured: refuse it
    # rather than silently writing an unencrypted key (which from_pem then refuses to load
    # with the same empty passphrase).
    signer = key_for("pem")
    try:
        pem = signer.to_pem(passphrase=b"")
    except (ValueError, LedgerError):
        return
    assert b"ENCRYPTED" in pem


# --- no key material by accident --------------------------------------------------------------


def test_repr_and_str_hold_no_key_material() -> None:
    signer = Signer.from_seed(RFC8032_SECRET)
    pem_body = b"".join(signer.to_pem().splitlines()[1:-1]).decode()
    for text in (repr(signer), str(signer), f"{signer!r}", f"{[signer]}"):
        assert f"Signer(keyid={signer.keyid})" in text
        assert RFC8032_SECRET.hex() not in text
        assert b64encode(RFC8032_SECRET) not in text
        assert pem_body not in text


def test_signer_has_no_instance_dict() -> None:
    signer = key_for("a")
    assert not hasattr(signer, "__dict__")
    assert "private" not in dir(signer)


# --- strict base64 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("", b""),
        ("AA==", b"\x00"),
        ("AAA=", b"\x00\x00"),
        ("AAAA", bytes(3)),
        ("+/8=", b"\xfb\xff"),
    ],
)
def test_b64decode_accepts_canonical_standard_base64(text: str, data: bytes) -> None:
    assert b64decode(text, field="f") == data
    assert b64encode(data) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("-_8=", "is not standard base64", id="url-safe-alphabet"),
        pytest.param("AAA", "is not standard base64", id="missing-padding"),
        pytest.param("AA", "is not standard base64", id="missing-two-padding"),
        pytest.param("A", "is not standard base64", id="one-character"),
        pytest.param("AB==", "is not canonical standard base64", id="non-zero-trailing-bits-1"),
        pytest.param("AAB=", "is not canonical standard base64", id="non-zero-trailing-bits-2"),
        pytest.param("AAAA====", "is not canonical standard base64", id="excess-padding"),
        pytest.param(" AAAA", "is not standard base64", id="leading-space"),
        pytest.param("AAAA\n", "is not standard base64", id="trailing-newline"),
        pytest.param("AA AA", "is not standard base64", id="inner-space"),
        pytest.param("AA\tAA", "is not standard base64", id="tab"),
        pytest.param("AA=A", "is not standard base64", id="padding-in-middle"),
        pytest.param("====", "is not standard base64", id="padding-only"),
        pytest.param("é", "is not standard base64", id="non-ascii"),
    ],
)
def test_b64decode_rejects(text: str, reason: str) -> None:
    with pytest.raises(InputError) as info:
        b64decode(text, field="envelope.payload")
    assert str(info.value) == f"envelope.payload {reason}"


# --- key files (ledger.service.home) ------------------------------------------------------------------


def test_key_file_round_trip_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "acme.pem"
    signer = key_for("acme")
    write_signer(path, signer, passphrase=b"pw")
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_signer(path, passphrase=b"pw").keyid == signer.keyid


def test_key_file_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "acme.pem"
    write_signer(path, key_for("acme"))
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        write_signer(path, key_for("other"))
    assert str(info.value) == f"{path} exists; refusing to overwrite it"
    assert path.read_bytes() == before


def test_key_file_missing(tmp_path: Path) -> None:
    path = tmp_path / "missing.pem"
    with pytest.raises(ConfigError) as info:
        read_signer(path)
    assert str(info.value) == f"cannot read key {path}: {os.strerror(2)}"


def test_key_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "acme.pem"
    write_signer(path, key_for("acme"), passphrase=b"pw")
    with pytest.raises(ConfigError) as info:
        read_signer(path)
    assert str(info.value) == f"{path} is encrypted: give its passphrase" + PASSPHRASE_HINT


# --- libsodium's strictness (ADR 0013) ---------------------------------------------------------

_ORDER = 2**252 + 27742317777372353535851937790883648493
"""L, the order of the Ed25519 base point."""


def test_verify_rejects_non_canonical_s_malleability() -> None:
    # S + L satisfies the verification equation too; a strict verifier refuses it so that
    # one signed message has one signature.
    signer = key_for("a")
    signature = signer.sign(b"message")
    s = int.from_bytes(signature[32:], "little") + _ORDER
    assert s < 2**256
    assert not signer.public_key.verify(signature[:32] + s.to_bytes(32, "little"), b"message")


def test_verify_rejects_small_order_public_key() -> None:
    # The identity point as a key with R = identity and S = 0 "signs" every message under
    # a cofactorless check that ignores small-order keys; libsodium refuses such keys.
    identity = (1).to_bytes(32, "little")
    assert not PublicKey(raw=identity).verify(identity + bytes(32), b"any message")


@settings(max_examples=50, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=700))
def test_verify_agrees_with_openssl_on_honest_and_altered_signatures(
    seed: bytes, message: bytes
) -> None:
    signer = Signer.from_seed(seed)
    signature = signer.sign(message)
    openssl = Ed25519PublicKey.from_public_bytes(signer.public_key.raw)
    openssl.verify(signature, message)  # raises if OpenSSL disagrees
    assert signer.public_key.verify(signature, message)
    altered = message + b"\x00"
    assert not signer.public_key.verify(signature, altered)
