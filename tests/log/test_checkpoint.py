"""ledger.log.checkpoint: C2SP tlog-checkpoint bodies and signed notes; negative vectors by attack name."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.core.signing import Signer
from ledger.errors import VerificationError
from ledger.log.checkpoint import Checkpoint, note_key_hash, sign_checkpoint, verify_checkpoint

from helpers import key_for

ORIGIN = "example.com/log"
LOG = Signer.from_seed(bytes(32))
ROOT = hashlib.sha256(b"root").digest()
ROOT_B64 = "SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I="
CHECKPOINT = Checkpoint(origin=ORIGIN, tree_size=7, root_hash=ROOT)
PINNED_NOTE = (
    "example.com/log\n7\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n\n"
    "\u2014 example.com/log "
    "Hd5FMVzl+T0tMLYbt3/pdZA4G+Nyd80kKpmoZZ7955m549VCiwxKAjBRH6Apw1CADexe7QxVtMKIpOAuDihBhEolFgk=\n"
)
NOT_SIGNED = f"checkpoint at tree size 7 is not signed by the log key {LOG.keyid}"
BAD_SIGNATURE = "checkpoint at tree size 7: signature does not verify with the log key"


def note() -> str:
    return sign_checkpoint(CHECKPOINT, LOG)


def verify(text: str, *, origin: str = ORIGIN, key: Signer = LOG) -> Checkpoint:
    return verify_checkpoint(text, origin=origin, key=key.public_key)


def failure(text: str, *, origin: str = ORIGIN, key: Signer = LOG) -> str:
    with pytest.raises(VerificationError) as info:
        verify(text, origin=origin, key=key)
    return str(info.value)


def signature_line(name: str, signer: Signer, body: bytes) -> str:
    blob = note_key_hash(name, signer.public_key) + signer.sign(body)
    return f"\u2014 {name} {base64.b64encode(blob).decode()}\n"


# --- formats ---------------------------------------------------------------------------------


def test_checkpoint_body_format() -> None:
    assert CHECKPOINT.body() == f"{ORIGIN}\n7\n{ROOT_B64}\n".encode()
    assert base64.b64encode(ROOT).decode() == ROOT_B64


def test_empty_tree_body() -> None:
    body = Checkpoint(origin=ORIGIN, tree_size=0, root_hash=hashlib.sha256(b"").digest()).body()
    assert body == b"example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"


def test_note_key_hash_independent_derivation() -> None:
    expected = hashlib.sha256(ORIGIN.encode() + b"\n" + b"\x01" + LOG.public_key.raw).digest()[:4]
    assert note_key_hash(ORIGIN, LOG.public_key) == expected
    assert expected.hex() == "1dde4531"


def test_note_key_hash_depends_on_name_and_key() -> None:
    assert note_key_hash("a", LOG.public_key) != note_key_hash("b", LOG.public_key)
    assert note_key_hash("a", LOG.public_key) != note_key_hash("a", key_for("x").public_key)


def test_signed_note_pinned() -> None:
    assert note() == PINNED_NOTE


def test_signed_note_structure() -> None:
    text = note()
    body, blank, signatures = text.partition("\n\n")
    assert blank
    assert (body + "\n").encode() == CHECKPOINT.body()
    assert signatures.endswith("\n")
    assert signatures.count("\n") == 1
    dash, name, encoded = signatures[:-1].split(" ")
    assert dash == "\u2014"  # an em dash, U+2014
    assert name == ORIGIN
    blob = base64.b64decode(encoded, validate=True)
    assert len(blob) == 4 + 64
    assert blob[:4] == note_key_hash(ORIGIN, LOG.public_key)
    Ed25519PublicKey.from_public_bytes(LOG.public_key.raw).verify(blob[4:], CHECKPOINT.body())


# --- verification: accepted -------------------------------------------------------------------


def test_verify_ok() -> None:
    assert verify(note()) == CHECKPOINT
    assert verify(PINNED_NOTE) == CHECKPOINT


def test_witness_signature_after_log_signature_ignored() -> None:
    witness = signature_line("witness.example", key_for("witness"), CHECKPOINT.body())
    assert verify(note() + witness) == CHECKPOINT


def test_witness_signature_before_log_signature_ignored() -> None:
    body, _, log_line = note().partition("\n\n")
    witness = signature_line("witness.example", key_for("witness"), CHECKPOINT.body())
    assert verify(body + "\n\n" + witness + log_line) == CHECKPOINT


def test_unknown_signature_with_unverifiable_blob_ignored() -> None:
    # A signature line by a key we do not know is not checked at all.
    stranger = "\u2014 witness.example " + base64.b64encode(b"\x00" * 68).decode() + "\n"
    assert verify(note() + stranger) == CHECKPOINT


def test_large_tree_size() -> None:
    checkpoint = Checkpoint(origin=ORIGIN, tree_size=2**63 - 1, root_hash=ROOT)
    assert verify(sign_checkpoint(checkpoint, LOG)) == checkpoint


# --- verification: named negative vectors -----------------------------------------------------


def test_other_key_under_the_same_name() -> None:
    forged = sign_checkpoint(CHECKPOINT, key_for("mallory"))
    assert failure(forged) == NOT_SIGNED


def test_other_key_claiming_the_log_key_hash() -> None:
    # Mallory copies the log key's 4-byte hash in front of her own signature.
    mallory = key_for("mallory")
    body, _, _ = note().partition("\n\n")
    blob = note_key_hash(ORIGIN, LOG.public_key) + mallory.sign(CHECKPOINT.body())
    forged = body + "\n\n\u2014 " + ORIGIN + " " + base64.b64encode(blob).decode() + "\n"
    assert failure(forged) == BAD_SIGNATURE


def test_only_witness_signatures() -> None:
    body, _, _ = note().partition("\n\n")
    witness = signature_line("witness.example", key_for("witness"), CHECKPOINT.body())
    assert failure(body + "\n\n" + witness) == NOT_SIGNED


def test_wrong_origin() -> None:
    assert (
        failure(note(), origin="example.com/other")
        == "checkpoint is for log 'example.com/log', expected 'example.com/other'"
    )


def test_verified_with_wrong_key() -> None:
    other = key_for("other")
    assert failure(note(), key=other) == (
        f"checkpoint at tree size 7 is not signed by the log key {other.keyid}"
    )


@pytest.mark.parametrize(
    "size",
    [
        pytest.param("012", id="leading-zero"),
        pytest.param("-1", id="negative"),
        pytest.param("1e3", id="exponent"),
        pytest.param("+7", id="plus-sign"),
        pytest.param("", id="empty"),
        pytest.param(" 7", id="leading-space"),
        pytest.param("7 ", id="trailing-space"),
        pytest.param("0x7", id="hex"),
        pytest.param("\u0667", id="arabic-indic-digit"),
        pytest.param("99999999999999999999", id="twenty-digits"),
    ],
)
def test_malformed_size(size: str) -> None:
    tampered = note().replace("\n7\n", f"\n{size}\n", 1)
    assert failure(tampered) == f"checkpoint tree size {size!r} is not a decimal number"


def test_tampered_size() -> None:
    assert failure(note().replace("\n7\n", "\n8\n", 1)) == (
        "checkpoint at tree size 8: signature does not verify with the log key"
    )


def test_tampered_root() -> None:
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    assert failure(note().replace(ROOT_B64, other)) == BAD_SIGNATURE


def test_root_not_base64() -> None:
    assert failure(note().replace(ROOT_B64, "!!!")) == "checkpoint root hash is not base64"


def test_root_wrong_length() -> None:
    assert (
        failure(note().replace(ROOT_B64, "AAAA"))
        == "checkpoint is malformed: root hash is not 32 bytes"
    )


def test_missing_blank_line() -> None:
    assert failure(note().replace("\n\n", "\n", 1)) == "checkpoint note has no signature block"


def test_no_final_newline() -> None:
    assert failure(note()[:-1]) == "checkpoint note has no signature block"


def test_trailing_blank_line() -> None:
    assert failure(note() + "\n") == "checkpoint note has no signature block"


def test_trailing_garbage_without_newline() -> None:
    assert failure(note() + "garbage") == "checkpoint note has no signature block"


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("garbage", id="trailing-garbage-line"),
        pytest.param("- example.com/log AAAA", id="hyphen-not-em-dash"),
        pytest.param("\u2014 witness.example", id="no-signature-field"),
        pytest.param("\u2014 witness.example AAAA extra", id="four-fields"),
    ],
)
def test_trailing_malformed_signature_line(line: str) -> None:
    # Every signature line must be well formed, wherever it is: a malformed line after the
    # log's valid signature makes the note malformed, as it does before it.
    assert failure(note() + line + "\n") == f"checkpoint signature line {line!r} is malformed"


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("garbage", id="garbage-line"),
        pytest.param("- example.com/log AAAA", id="hyphen-not-em-dash"),
        pytest.param("\u2014 witness.example AAAA extra", id="four-fields"),
    ],
)
def test_leading_malformed_signature_line(line: str) -> None:
    body, _, log_line = note().partition("\n\n")
    assert (
        failure(body + "\n\n" + line + "\n" + log_line)
        == f"checkpoint signature line {line!r} is malformed"
    )


def test_signature_not_base64() -> None:
    body, _, _ = note().partition("\n\n")
    assert failure(body + "\n\n\u2014 " + ORIGIN + " !!!\n") == "checkpoint signature is not base64"


def test_truncated_signature() -> None:
    body, _, _ = note().partition("\n\n")
    blob = note_key_hash(ORIGIN, LOG.public_key) + LOG.sign(CHECKPOINT.body())[:63]
    truncated = body + "\n\n\u2014 " + ORIGIN + " " + base64.b64encode(blob).decode() + "\n"
    assert failure(truncated) == BAD_SIGNATURE


def test_extension_line_not_covered_by_signature() -> None:
    tampered = note().replace(ROOT_B64 + "\n", ROOT_B64 + "\nextension\n", 1)
    assert failure(tampered) == BAD_SIGNATURE


def test_body_too_short() -> None:
    assert failure(f"{ORIGIN}\n7\n\n" + signature_line(ORIGIN, LOG, b"x")) == (
        "checkpoint body does not have origin, size and root lines"
    )


def test_note_too_large() -> None:
    assert failure("x" * ((1 << 20) + 1)) == "checkpoint note is too large"


# --- Checkpoint invariants --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "size", "root", "message"),
    [
        pytest.param("", 1, ROOT, "log origin '' is empty or holds whitespace or '+'", id="empty"),
        pytest.param(
            "a b", 1, ROOT, "log origin 'a b' is empty or holds whitespace or '+'", id="space"
        ),
        pytest.param(
            "a+b", 1, ROOT, "log origin 'a+b' is empty or holds whitespace or '+'", id="plus"
        ),
        pytest.param(
            "a\n", 1, ROOT, "log origin 'a\\n' is empty or holds whitespace or '+'", id="newline"
        ),
        pytest.param(ORIGIN, -1, ROOT, "tree size is negative", id="negative-size"),
        pytest.param(ORIGIN, 1, ROOT[:31], "root hash is not 32 bytes", id="short-root"),
    ],
)
def test_checkpoint_invariants(origin: str, size: int, root: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Checkpoint(origin=origin, tree_size=size, root_hash=root)


# --- the registry extension line (ADR 0038) ------------------------------------------------

REGISTRY = hashlib.sha256(b"registry").digest()


def test_a_registry_digest_is_an_extension_line_after_the_root() -> None:
    checkpoint = Checkpoint(origin=ORIGIN, tree_size=7, root_hash=ROOT, registry=REGISTRY)
    assert checkpoint.body() == f"{ORIGIN}\n7\n{ROOT_B64}\nregistry {REGISTRY.hex()}\n".encode()
    assert verify(sign_checkpoint(checkpoint, LOG)) == checkpoint


def test_other_extension_lines_are_signed_but_ignored() -> None:
    body = f"{ORIGIN}\n7\n{ROOT_B64}\nsomething else\nregistry {REGISTRY.hex()}\n".encode()
    text = body.decode() + "\n" + signature_line(ORIGIN, LOG, body)
    assert verify(text).registry == REGISTRY


@pytest.mark.parametrize(
    "lines",
    [
        f"registry {REGISTRY.hex()}\nregistry {REGISTRY.hex()}\n",
        f"registry {REGISTRY.hex().upper()}\n",
        f"registry {REGISTRY.hex()[:-2]}\n",
        "registry \n",
    ],
    ids=["twice", "upper-case", "short", "empty"],
)
def test_a_malformed_registry_line_is_refused(lines: str) -> None:
    body = f"{ORIGIN}\n7\n{ROOT_B64}\n{lines}".encode()
    text = body.decode() + "\n" + signature_line(ORIGIN, LOG, body)
    assert "checkpoint is malformed" in failure(text)


def test_a_registry_line_added_to_a_signed_note_breaks_its_signature() -> None:
    tampered = note().replace(f"{ROOT_B64}\n", f"{ROOT_B64}\nregistry {REGISTRY.hex()}\n")
    assert failure(tampered) == BAD_SIGNATURE
