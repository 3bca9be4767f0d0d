"""cosignature/v1 lines and C2SP verifier keys: known-answer vectors, round trips, tampering.

Known answers: the vkeys below are from the Go reference implementations' tests
(golang.org/x/mod/sumdb/note: type 0x01; transparency-dev/formats note_cosigv1_test.go:
a native type 0x04 witness key), and the signed message is the example printed in
C2SP tlog-cosignature. Neither specification publishes a cosignature together with the
key that made it, so the signature itself is pinned as a regression vector from a fixed seed.
"""

from __future__ import annotations

import base64

import pytest

from ledger.core.signing import Signer
from ledger.errors import InputError, VerificationError
from ledger.log.cosignature import (
    COSIGNATURE_V1,
    NOTE_ED25519,
    VerifierKey,
    cosign,
    cosignature_message,
    find_cosignature,
    parse_vkey,
    verify_cosignature,
    with_cosignatures,
    witness_vkey,
)

GO_NOTE_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
COSIG_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
SPEC_BODY = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_LOG_LINE = (
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SEED = bytes(range(32))
PINNED_LINE = (
    "\u2014 witness.example/w1 519lMgAAAABkGFDLBuRDazBLVac2NE+Y+IjbjQOcXLfF9CSDZVUIoS83rE1nFZsVE8Y"
    "iWV6Ngr7lV8H6bdoBQGP/l73euDMQ9k+bBQ==\n"
)


@pytest.mark.parametrize(
    ("text", "kind"), [(GO_NOTE_VKEY, NOTE_ED25519), (COSIG_VKEY, COSIGNATURE_V1)]
)
def test_reference_vkeys_parse_and_encode_back(text: str, kind: int) -> None:
    vkey = parse_vkey(text)
    assert vkey.signature_type == kind
    assert vkey.name == text.split("+")[0]
    assert vkey.encode() == text


def test_every_single_byte_change_of_a_vkey_is_refused() -> None:
    raw = bytearray(COSIG_VKEY.encode())
    for i in range(len(raw)):
        raw[i] += 1
        with pytest.raises(InputError):
            parse_vkey(raw.decode("latin-1"))
        raw[i] -= 1


@pytest.mark.parametrize(
    "text",
    [
        "remora.n621.de+da77ade7",
        "remora.n621.de+DA77ADE7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw",
        "remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        "rekor.sigstore.dev+12345678+AwEB",
        "bad name+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
    ],
    ids=["two-parts", "upper-hex", "short-key", "wrong-hash", "unknown-type", "space-in-name"],
)
def test_malformed_vkeys_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_vkey(text)


def test_signed_message_is_the_spec_example() -> None:
    assert cosignature_message(SPEC_BODY, timestamp=1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + SPEC_BODY
    )


def test_the_spec_example_cosignature_holds_its_key_id_and_timestamp() -> None:
    blob = base64.b64decode(
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZ"
        "qhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    assert len(blob) == 4 + 8 + 64
    assert int.from_bytes(blob[4:12], "big") == 1679315147


def _note(*lines: str) -> str:
    return SPEC_BODY.decode() + "\n" + SPEC_LOG_LINE + "".join(lines)


def test_cosign_then_verify_returns_the_timestamp() -> None:
    signer = Signer.from_seed(SEED)
    line = cosign(SPEC_BODY, name="witness.example/w1", signer=signer, timestamp=1679315147)
    vkey = witness_vkey("witness.example/w1", signer.public_key)
    assert line.startswith(
        f"\u2014 witness.example/w1 {base64.b64encode(vkey.key_id).decode()[:5]}"
    )
    assert verify_cosignature(_note(line), vkey=vkey) == 1679315147


def test_cosignature_is_deterministic_regression_vector() -> None:
    signer = Signer.from_seed(SEED)
    line = cosign(SPEC_BODY, name="witness.example/w1", signer=signer, timestamp=1679315147)
    assert line == cosign(SPEC_BODY, name="witness.example/w1", signer=signer, timestamp=1679315147)
    assert line == PINNED_LINE


def test_other_witnesses_lines_are_ignored() -> None:
    ours, other = Signer.from_seed(SEED), Signer.from_seed(bytes(32))
    theirs = cosign(SPEC_BODY, name="other.example/w", signer=other, timestamp=1)
    mine = cosign(SPEC_BODY, name="witness.example/w1", signer=ours, timestamp=2)
    vkey = witness_vkey("witness.example/w1", ours.public_key)
    assert verify_cosignature(_note(theirs, mine), vkey=vkey) == 2


@pytest.mark.parametrize("attack", ["body-changed", "timestamp-changed", "missing", "note-key"])
def test_tampered_cosignatures_fail(attack: str) -> None:
    signer = Signer.from_seed(SEED)
    vkey = witness_vkey("witness.example/w1", signer.public_key)
    line = cosign(SPEC_BODY, name="witness.example/w1", signer=signer, timestamp=7)
    note = _note(line)
    if attack == "body-changed":
        note = note.replace("20852163", "20852164")
    elif attack == "timestamp-changed":
        blob = bytearray(base64.b64decode(line.split(" ")[2]))
        blob[11] ^= 1
        note = _note(f"\u2014 witness.example/w1 {base64.b64encode(bytes(blob)).decode()}\n")
    elif attack == "missing":
        note = _note()
    else:  # the same key as a plain note key (type 0x01) is not a cosigner key
        plain = VerifierKey(name=vkey.name, signature_type=NOTE_ED25519, key=vkey.key)
        with pytest.raises(InputError):
            verify_cosignature(note, vkey=plain)
        return
    with pytest.raises(VerificationError):
        verify_cosignature(note, vkey=vkey)


def test_a_new_cosignature_replaces_the_same_witnesses_old_one_and_keeps_the_rest() -> None:
    ours, other = Signer.from_seed(SEED), Signer.from_seed(bytes(32))
    vkey = witness_vkey("witness.example/w1", ours.public_key)
    old = cosign(SPEC_BODY, name="witness.example/w1", signer=ours, timestamp=1)
    theirs = cosign(SPEC_BODY, name="other.example/w", signer=other, timestamp=5)
    new = cosign(SPEC_BODY, name="witness.example/w1", signer=ours, timestamp=9)
    merged = with_cosignatures(_note(old, theirs), new)
    assert merged == _note(theirs, new)  # the log's line first, one line per witness
    assert verify_cosignature(merged, vkey=vkey) == 9
    assert find_cosignature(_note(theirs), vkey=vkey) is None


def test_adding_nothing_new_leaves_the_note_byte_for_byte() -> None:
    line = cosign(SPEC_BODY, name="witness.example/w1", signer=Signer.from_seed(SEED), timestamp=3)
    assert with_cosignatures(_note(line), line) == _note(line)


def test_a_damaged_cosignature_is_an_error_not_an_absence() -> None:
    signer = Signer.from_seed(SEED)
    vkey = witness_vkey("witness.example/w1", signer.public_key)
    line = cosign(SPEC_BODY, name="witness.example/w1", signer=signer, timestamp=7)
    blob = bytearray(base64.b64decode(line.split(" ")[2]))
    blob[-1] ^= 1
    forged = f"\u2014 witness.example/w1 {base64.b64encode(bytes(blob)).decode()}\n"
    with pytest.raises(VerificationError, match="does not verify"):
        find_cosignature(_note(forged), vkey=vkey)


@pytest.mark.parametrize("lines", ["not a signature line\n", "\u2014 w AAAA\n"])
def test_malformed_lines_are_not_merged(lines: str) -> None:
    with pytest.raises(VerificationError):
        with_cosignatures(_note(), lines)
