"""Cosignatures stored on checkpoints (ADR 0037), without witness processes: the ledger
stores only valid lines by the witnesses of its root.json, readers see the newest checkpoint
with the quorum, and ``bloc verify`` finds a stored cosignature that was tampered with."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from ledger.cli.main import bloc
from ledger.core.signing import Signer
from ledger.errors import VerificationError
from ledger.log.checkpoint import split_note
from ledger.log.cosignature import cosign, witness_vkey
from ledger.records.trust import WitnessEntry
from ledger.service import Ledger
from ledger.service.home import replace_root

from helpers import World, envelope_bytes, extraction

WITNESSES = [Signer.from_seed(bytes([40 + i]) * 32) for i in range(2)]
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def witnessed_ledger(world: World, quorum: int = 2) -> Ledger:
    root = world.home.root()
    for i, signer in enumerate(WITNESSES):
        entry = WitnessEntry(vkey=witness_vkey(f"w{i}.test", signer.public_key), url=f"http://w{i}")
        root = root.with_witness(entry, quorum=quorum if i else 1)
    world.ledger.store.dispose()
    replace_root(world.home, root)
    return world.home.ledger()


def line(ledger: Ledger, i: int, *, timestamp: int = 1_800_000_000) -> str:
    _, note = ledger.newest_checkpoint()
    text_, _ = split_note(note)
    return cosign(text_.encode(), name=f"w{i}.test", signer=WITNESSES[i], timestamp=timestamp)


def grow(world: World, ledger: Ledger, tag: str) -> None:
    record = extraction("lynas", "lynas-mt-weld", [(f"lot:lynas/{tag}", "rare_earth_ore", 1)])
    (result,) = ledger.submit([envelope_bytes(record, world.lynas)], now=NOW)
    assert result.accepted, result.error


def test_readers_see_the_newest_checkpoint_with_the_quorum(world: World) -> None:
    ledger = witnessed_ledger(world)
    try:
        with pytest.raises(VerificationError, match=r"cosigned by 0 of the 2 witnesses required"):
            ledger.latest_checkpoint()
        ledger.add_cosignatures(11, line(ledger, 0) + line(ledger, 1))
        assert ledger.latest_checkpoint()[0].tree_size == 11
        grow(world, ledger, "A")
        ledger.add_cosignatures(12, line(ledger, 0))  # one of two: not yet for readers
        assert ledger.newest_checkpoint()[0].tree_size == 12
        assert ledger.latest_checkpoint()[0].tree_size == 11
        assert ledger.prove_inclusion(10).tree_size == 11
        ledger.add_cosignatures(12, line(ledger, 1))
        assert ledger.latest_checkpoint()[0].tree_size == 12
    finally:
        ledger.store.dispose()


def test_a_new_cosignature_replaces_the_witnesses_older_one(world: World) -> None:
    ledger = witnessed_ledger(world)
    try:
        ledger.add_cosignatures(11, line(ledger, 0, timestamp=1))
        note = ledger.add_cosignatures(11, line(ledger, 0, timestamp=2))
        assert note.count("\u2014 w0.test ") == 1
    finally:
        ledger.store.dispose()


@pytest.mark.parametrize("attack", ["stranger", "forged", "other-checkpoint"])
def test_only_valid_lines_by_the_roots_witnesses_are_stored(world: World, attack: str) -> None:
    ledger = witnessed_ledger(world)
    try:
        _, before = ledger.newest_checkpoint()
        if attack == "stranger":
            text_, _ = split_note(before)
            bad = cosign(text_.encode(), name="w9.test", signer=Signer.generate(), timestamp=1)
            match = "not a witness in root.json"
        elif attack == "forged":
            good = line(ledger, 0)
            blob = bytearray(base64.b64decode(good.split(" ")[2]))
            blob[-1] ^= 1
            bad = f"\u2014 w0.test {base64.b64encode(bytes(blob)).decode()}\n"
            match = "does not verify"
        else:
            bad = line(ledger, 0)
            grow(world, ledger, "B")  # the line was made for size 11, offered for 12
            with pytest.raises(VerificationError, match="does not verify"):
                ledger.add_cosignatures(12, bad)
            return
        with pytest.raises(VerificationError, match=match):
            ledger.add_cosignatures(11, bad)
        assert ledger.newest_checkpoint()[1] == before
    finally:
        ledger.store.dispose()


def test_verify_finds_a_stored_cosignature_that_was_tampered_with(world: World) -> None:
    ledger = witnessed_ledger(world)
    try:
        note = ledger.add_cosignatures(11, line(ledger, 0) + line(ledger, 1))
    finally:
        ledger.store.dispose()
    good = next(x for x in note.splitlines() if x.startswith("\u2014 w1.test "))
    blob = bytearray(base64.b64decode(good.split(" ")[2]))
    blob[-1] ^= 1
    forged = note.replace(good, f"\u2014 w1.test {base64.b64encode(bytes(blob)).decode()}")
    store = world.home.ledger().store
    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE checkpoint SET note = :n WHERE tree_size = 11"), {"n": forged}
        )
    store.dispose()
    result = CliRunner().invoke(bloc, ["--home", str(world.home.path), "verify"])
    assert result.exit_code == 3, result.output
    assert "checkpoint at tree size 11: cosignature by witness 'w1.test' does not verify" in (
        result.stdout
    )


def test_a_hostile_witness_fails_alone(world: World) -> None:
    """One witness answers 200 with garbage, the other honestly: the honest cosignature is
    stored and the hostile witness is named (review finding: one bad answer blocked all)."""
    import httpx

    from ledger.log.witnessing import parse_add_checkpoint
    from ledger.net import collect_once

    root = world.home.root()
    for i, signer in enumerate(WITNESSES):
        entry = WitnessEntry(vkey=witness_vkey(f"w{i}.test", signer.public_key), url=f"http://w{i}")
        root = root.with_witness(entry, quorum=1)
    world.ledger.store.dispose()
    replace_root(world.home, root)
    ledger = world.home.ledger()

    def witness(request: httpx.Request) -> httpx.Response:
        if request.url.host == "w0":
            return httpx.Response(200, text="hello\n")
        note = parse_add_checkpoint(request.content).note
        text_, _ = split_note(note)
        line = cosign(text_.encode(), name="w1.test", signer=WITNESSES[1], timestamp=5)
        return httpx.Response(200, text=line)

    try:
        witnessed = collect_once(ledger, transport=httpx.MockTransport(witness))
    finally:
        ledger.store.dispose()
    assert witnessed is not None
    assert witnessed.cosigned == ("w1.test",)
    assert witnessed.met
    assert witnessed.failures == (("w0.test", "answered 200 without a cosignature line by it"),)


def test_a_witness_url_that_is_not_a_url_is_a_warning_not_a_crash(world: World) -> None:
    root = world.home.root().with_witness(
        WitnessEntry(vkey=witness_vkey("w0.test", WITNESSES[0].public_key), url="http://a:b"),
        quorum=1,
    )
    world.ledger.store.dispose()
    replace_root(world.home, root)
    path = world.home.path.parent / "ore.json"
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/URL-1", "rare_earth_ore", 1)])
    path.write_bytes(envelope_bytes(record, world.lynas))
    result = CliRunner().invoke(bloc, ["--home", str(world.home.path), "submit", str(path)])
    assert result.exit_code == 0, result.output
    assert "w0.test: unreachable at http://a:b (InvalidURL)" in result.stderr


def test_adding_a_witness_with_a_bad_url_changes_nothing(world: World) -> None:
    before = world.home.root_path.read_bytes()
    vkey = witness_vkey("w0.test", WITNESSES[0].public_key).encode()
    result = CliRunner().invoke(
        bloc, ["--home", str(world.home.path), "log", "witness", "add", f"{vkey}@127.0.0.1:8770"]
    )
    assert result.exit_code == 2
    assert "the new root.json would not be valid" in result.stderr
    assert world.home.root_path.read_bytes() == before
    assert CliRunner().invoke(bloc, ["--home", str(world.home.path), "verify"]).exit_code == 0


def test_a_new_process_asks_each_witness_from_where_it_stands(world: World) -> None:
    """Where each witness stands is read from the stored cosignatures, so a new `bloc
    submit` process needs no 409 round trip to learn it."""
    import httpx

    from ledger.log.witnessing import parse_add_checkpoint
    from ledger.net import collect_once

    ledger = witnessed_ledger(world, quorum=1)
    olds: list[int] = []

    def witness(request: httpx.Request) -> httpx.Response:
        asked = parse_add_checkpoint(request.content)
        olds.append(asked.old_size)
        text_, _ = split_note(asked.note)
        i = 0 if request.url.host == "w0" else 1
        answer = cosign(text_.encode(), name=f"w{i}.test", signer=WITNESSES[i], timestamp=9)
        return httpx.Response(200, text=answer)

    try:
        ledger.add_cosignatures(11, line(ledger, 0) + line(ledger, 1))
        grow(world, ledger, "C")
        witnessed = collect_once(ledger, transport=httpx.MockTransport(witness))
    finally:
        ledger.store.dispose()
    assert witnessed is not None
    assert witnessed.cosigned == ("w0.test", "w1.test")
    assert olds == [11, 11]  # not 0: no 409 round trip
