"""``root.json`` with witnesses (ADR 0037): parsing, the quorum's bounds, and the quorum
check every reader of a checkpoint applies."""

from __future__ import annotations

import json

import pytest

from ledger.core.signing import Signer
from ledger.errors import InputError, VerificationError
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.cosignature import NOTE_ED25519, VerifierKey, cosign, witness_vkey
from ledger.records.trust import TrustRoot, WitnessEntry

ORIGIN = "test.bloc/ledger"
LOG = Signer.from_seed(bytes([1]) * 32)
REGISTRAR = Signer.from_seed(bytes([2]) * 32)
WITNESSES = [Signer.from_seed(bytes([10 + i]) * 32) for i in range(3)]


def entry(i: int, url: str = "http://127.0.0.1:9") -> WitnessEntry:
    return WitnessEntry(vkey=witness_vkey(f"w{i}.test", WITNESSES[i].public_key), url=url)


def root(quorum: int = 2, count: int = 3) -> TrustRoot:
    return TrustRoot(
        origin=ORIGIN,
        registrars=(REGISTRAR.public_key,),
        log_key=LOG.public_key,
        witnesses=tuple(entry(i) for i in range(count)),
        witness_quorum=quorum,
    )


def note(*cosigners: int) -> str:
    checkpoint = Checkpoint(origin=ORIGIN, tree_size=5, root_hash=bytes(32))
    signed = sign_checkpoint(checkpoint, LOG)
    lines = "".join(
        cosign(checkpoint.body(), name=f"w{i}.test", signer=WITNESSES[i], timestamp=100)
        for i in cosigners
    )
    return signed + lines


def test_a_root_with_witnesses_round_trips_through_root_json() -> None:
    data = json.dumps(root().to_dict()).encode()
    assert TrustRoot.from_bytes(data) == root()


def test_a_root_without_witnesses_writes_no_witness_keys() -> None:
    plain = TrustRoot(origin=ORIGIN, registrars=(REGISTRAR.public_key,), log_key=LOG.public_key)
    assert "witnesses" not in plain.to_dict()
    plain.require_quorum(note(), size=5)  # no witnesses: nothing is required


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"witness_quorum": 0}, "witness_quorum"),
        ({"witness_quorum": 4}, "witness_quorum 4 is not between 1 and the 3"),
        ({"witness_quorum": None}, "witness_quorum"),
        ({"witnesses": None}, "witness_quorum"),
        ({"duplicate": True}, "names a witness twice"),
        ({"note_key": True}, "not a cosignature/v1"),
        ({"bad_hash": True}, "key hash"),
        ({"url": "ftp://w"}, "url"),
    ],
)
def test_malformed_witness_sections_are_refused(change: dict[str, object], message: str) -> None:
    document = root().to_dict()
    if change.get("duplicate"):
        document["witnesses"].append(dict(document["witnesses"][0], url="http://other"))
    elif change.get("note_key"):
        key = VerifierKey(name="w0.test", signature_type=NOTE_ED25519, key=WITNESSES[0].public_key)
        document["witnesses"][0]["vkey"] = key.encode()
    elif change.get("bad_hash"):
        name, _, material = document["witnesses"][0]["vkey"].split("+", 2)
        document["witnesses"][0]["vkey"] = f"{name}+00000000+{material}"
    elif "url" in change:
        document["witnesses"][0]["url"] = change["url"]
    else:
        for key, value in change.items():
            if value is None:
                document.pop(key)
            else:
                document[key] = value
    with pytest.raises(InputError, match=message):
        TrustRoot.from_bytes(json.dumps(document).encode())


def test_two_of_three_cosignatures_meet_a_quorum_of_two() -> None:
    assert root().cosigned_by(note(0, 2)) == ("w0.test", "w2.test")
    root().require_quorum(note(0, 2), size=5)


def test_below_quorum_names_the_missing_witnesses() -> None:
    with pytest.raises(VerificationError) as caught:
        root().require_quorum(note(1), size=5)
    assert str(caught.value) == (
        "checkpoint at tree size 5 is cosigned by 1 of the 2 witnesses required "
        "(missing: w0.test, w2.test)"
    )


def test_a_cosignature_by_a_witness_not_in_the_root_does_not_count() -> None:
    assert root(quorum=1, count=2).cosigned_by(note(2)) == ()


def test_a_forged_cosignature_is_refused_not_counted() -> None:
    good = note(0)
    line = good.rstrip("\n").split("\n")[-1]
    forged = good.replace(line, line[:-6] + ("AAAA==" if not line.endswith("AAAA==") else "BBBB=="))
    with pytest.raises(VerificationError, match="does not verify"):
        root(quorum=1).require_quorum(forged, size=5)


def test_adding_a_witness_keeps_the_others_and_sets_the_quorum() -> None:
    one = root(quorum=1, count=1)
    two = one.with_witness(entry(1), quorum=2)
    assert [w.name for w in two.witnesses] == ["w0.test", "w1.test"]
    assert two.witness_quorum == 2
    moved = two.with_witness(entry(1, url="http://127.0.0.1:10"), quorum=None)
    assert moved.witnesses[1].url == "http://127.0.0.1:10"
    assert moved.witness_quorum == 2
    with pytest.raises(InputError, match="witness_quorum 3"):
        two.with_witness(entry(1), quorum=3)
