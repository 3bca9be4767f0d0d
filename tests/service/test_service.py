"""Submission, idempotency, atomic batches, checkpoints and proofs through the service layer."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest

from ledger.compliance.policy import load
from ledger.log import merkle
from ledger.log.checkpoint import verify_checkpoint
from ledger.service import _parallel as parallel

from helpers import NOW, World, envelope_bytes, extraction, key_for, shipment, transformation


def test_clean_chain_is_accepted_in_order(world: World) -> None:
    indexes = [r.log_index for r in world.log]
    assert indexes == list(range(11))
    assert world.ledger.verify().clean


def test_resubmitting_identical_envelope_returns_existing_index(world: World) -> None:
    before = world.state()
    again = world.submit(world.chain()[:1])
    assert again[0].accepted
    assert again[0].duplicate
    assert again[0].log_index == 7
    assert world.state() == before


def test_checkpoint_published_after_each_growing_submit(world: World) -> None:
    checkpoint, note = world.ledger.latest_checkpoint()
    assert checkpoint.tree_size == 11
    assert (
        verify_checkpoint(note, origin="test.bloc/ledger", key=world.ledger.root.log_key)
        == checkpoint
    )


def test_inclusion_and_consistency_proofs_verify(world: World) -> None:
    for index in range(11):
        proof = world.ledger.prove_inclusion(index)
        merkle.verify_inclusion(
            index=index,
            size=11,
            leaf_hash=proof.leaf_hash,
            proof=proof.inclusion_proof,
            root_hash=proof.root_hash,
        )
    checkpoint, _ = world.ledger.latest_checkpoint()
    for old in range(12):
        c = world.ledger.prove_consistency(old, 11)
        assert c.new_root == checkpoint.root_hash
        merkle.verify_consistency(
            old_size=old,
            new_size=11,
            old_root=c.old_root,
            new_root=c.new_root,
            proof=c.consistency_proof,
        )


def test_batch_keeps_valid_envelopes_when_others_fail(world: World) -> None:
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-2", "rare_earth_ore", 10)]),
        world.lynas,
    )
    bad = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    results = world.submit([bad, good])
    assert results[0].error == "identity: extraction.lots[0].id lot:lynas/ORE-1 already exists"
    assert results[1].log_index == 11


def test_atomic_batch_stores_nothing_when_one_fails(world: World) -> None:
    before = world.state()
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-2", "rare_earth_ore", 10)]),
        world.lynas,
    )
    bad = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    results = world.submit([good, bad], atomic=True)
    assert results[0].error == "not stored: the batch is atomic and envelope 2 was rejected"
    assert results[1].error == "identity: extraction.lots[0].id lot:lynas/ORE-1 already exists"
    assert world.state() == before


def test_atomic_batch_sees_its_own_earlier_records(empty_world: World) -> None:
    world = empty_world
    results = world.submit(
        [world.registrar_envelope(r) for r in world.registrations()] + world.chain(), atomic=True
    )
    assert [r.log_index for r in results] == list(range(11))
    assert world.ledger.verify().clean


def test_records_must_arrive_in_causal_order(empty_world: World) -> None:
    world = empty_world
    world.register(world.registrations())
    chain = world.chain()
    results = world.submit([chain[1], chain[0]])
    assert results[0].error == (
        "reference: transformation.inputs[0] lot:lynas/ORE-1 does not exist "
        "(not created by an earlier record)"
    )
    assert results[1].accepted


def test_now_is_a_parameter(world: World) -> None:
    env = envelope_bytes(
        extraction(
            "lynas",
            "lynas-mt-weld",
            [("lot:lynas/ORE-9", "rare_earth_ore", 1)],
            issued_at="2026-06-01T12:30:00Z",
        ),
        world.lynas,
    )
    assert world.ledger.submit([env], now=NOW)[0].error == (
        "payload: extraction.issued_at 2026-06-01T12:30:00Z is in the future (now 2026-06-01T12:00:00Z)"
    )


def test_a_database_failure_rolls_back_its_group_only_and_says_what_was_stored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit (ADR 0039), in groups of two here: the first group is committed with its
    checkpoint; a storage failure in the second rolls that group back whole, its envelopes
    and every later one are reported not stored, and the caller still learns which were."""
    from sqlalchemy import text

    from ledger.service import SubmitInterrupted, _submit

    monkeypatch.setattr(_submit, "COMMIT_GROUP", 2)
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("DROP TABLE shipment_lot"))

    def ore(n: int) -> bytes:
        lot = f"lot:lynas/ORE-{n}"
        return envelope_bytes(
            extraction("lynas", "lynas-mt-weld", [(lot, "rare_earth_ore", 10)]), world.lynas
        )

    ship = envelope_bytes(
        shipment("lynas", "ship:lynas/S-2", "lynas-mt-weld", "lynas-kuantan", ["lot:lynas/ORE-2"]),
        world.lynas,
    )
    with pytest.raises(SubmitInterrupted) as caught:
        world.ledger.submit([ore(2), ore(3), ore(4), ship, ore(5)], now=NOW)
    results = caught.value.results
    assert [r.log_index for r in results[:2]] == [11, 12]
    for result in results[2:4]:  # the failing group: ore 4 was judged, then rolled back
        assert result.storage_failure
        assert result.log_index is None
        assert result.error is not None
        assert result.error.startswith("not stored: database error: ")
    assert results[4].error == "not stored: an earlier envelope hit a database error"
    checkpoint, _ = world.ledger.latest_checkpoint()
    assert checkpoint.tree_size == 13
    with world.ledger.store.reader() as tx:
        assert tx.tree_size == 13


def test_atomic_rollback_does_not_report_rolled_back_duplicates(world: World) -> None:
    before = world.state()
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-2", "rare_earth_ore", 10)]),
        world.lynas,
    )
    bad = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    old = world.chain()[0]
    results = world.submit([good, good, old, bad], atomic=True)
    rolled_back = "not stored: the batch is atomic and envelope 4 was rejected"
    assert [r.error for r in results[:2]] == [rolled_back, rolled_back]
    assert results[2].duplicate
    assert results[2].log_index == 7
    assert results[3].error == "identity: extraction.lots[0].id lot:lynas/ORE-1 already exists"
    assert results[3].kind == "extraction"
    assert world.state() == before


# --- large batches: worker processes open them and check their signatures (ADR 0013) ---------


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small batches go to the worker processes too, in small chunks."""
    if parallel.usable_cores() < 2:
        pytest.skip("one core: batches are always opened inline")
    monkeypatch.setattr(parallel, "PARALLEL_FROM", 64)
    monkeypatch.setattr(parallel, "CHUNK", 32)


def _extractions(world: World, count: int) -> list[bytes]:
    return [
        envelope_bytes(
            extraction("lynas", "lynas-mt-weld", [(f"lot:lynas/BULK-{i}", "rare_earth_ore", 10)]),
            world.lynas,
        )
        for i in range(count)
    ]


@pytest.mark.usefixtures("workers")
def test_large_atomic_batch_is_accepted_and_verifies(world: World) -> None:
    results = world.submit(_extractions(world, 700), atomic=True)
    assert parallel._pool is not None
    assert all(r.accepted for r in results)
    assert [r.log_index for r in results] == list(range(11, 711))
    assert world.ledger.verify().clean


@pytest.mark.usefixtures("workers")
def test_forged_signature_deep_in_a_large_batch_is_rejected(world: World) -> None:
    # The forgery sits in a chunk a worker checked: its signature must still fail.
    before = world.state()
    batch = _extractions(world, 700)
    forged = json.loads(batch[600])
    sig = base64.b64decode(forged["signatures"][0]["sig"])
    forged["signatures"][0]["sig"] = base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()
    batch[600] = json.dumps(forged).encode()
    results = world.submit(batch, atomic=True)
    assert results[600].error == (
        f"signature: envelope.signatures[0]: signature by key {world.lynas.keyid} does not verify"
    )
    assert world.state() == before


@pytest.mark.usefixtures("workers")
def test_key_registered_inside_a_large_batch_signs_later_records(empty_world: World) -> None:
    # The workers learn the keys the batch's participant records declare; admission still
    # decides that the key may sign.
    world = empty_world
    registrations = [world.registrar_envelope(r) for r in world.registrations()]
    results = world.submit(registrations + _extractions(world, 400), atomic=True)
    assert all(r.accepted for r in results)
    assert world.ledger.verify().clean


@pytest.mark.usefixtures("workers")
def test_unregistered_key_in_a_large_batch_is_rejected(world: World) -> None:
    batch = _extractions(world, 300)
    batch[299] = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/BULK-X", "rare_earth_ore", 10)]),
        key_for("stranger"),
    )
    results = world.submit(batch, atomic=True)
    assert results[299].error == (
        f"signature: envelope.signatures[0].keyid {key_for('stranger').keyid} is not a "
        "registered participant key"
    )


@pytest.mark.usefixtures("workers")
def test_verify_through_the_workers_finds_an_edited_entry(world: World) -> None:
    world.submit(_extractions(world, 200), atomic=True)
    with world.ledger.store.writer(registrars=world.ledger.root.registrar_keys()) as tx:
        tx.session.connection().exec_driver_sql(
            "UPDATE log_entry SET envelope = ? WHERE log_index = 150"
            if tx.session.get_bind().dialect.paramstyle == "qmark"
            else "UPDATE log_entry SET envelope = %s WHERE log_index = 150",
            (_extractions(world, 1)[0],),
        )
    report = world.ledger.verify()
    assert not report.clean
    assert report.problems[0].log_index == 150


# --- group commit: judged one by one, committed together -------------------------------------


def test_group_commit_keeps_the_good_records_of_a_batch_with_a_bad_one(world: World) -> None:
    """A group (the server's commit of concurrent submissions) is not atomic: the rejected
    record stores nothing, the others are stored in one transaction, in order, with one
    checkpoint covering them; a record may depend on an earlier one of the same group."""
    start = world.state()[0]
    ore = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-2", "rare_earth_ore", 10)]),
        world.lynas,
    )
    reuse = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    uses_ore = envelope_bytes(
        transformation(
            "lynas",
            "lynas-mt-weld",
            "beneficiation",
            [("lot:lynas/ORE-2", 10)],
            [("lot:lynas/CONC-2", "rare_earth_concentrate", 9)],
        ),
        world.lynas,
    )
    results = world.ledger.submit([ore, reuse, ore, uses_ore], now=NOW)
    assert [r.log_index for r in results] == [start, None, start, start + 1]
    assert [r.duplicate for r in results] == [False, False, True, False]
    assert results[1].error == "identity: extraction.lots[0].id lot:lynas/ORE-1 already exists"
    checkpoint, _ = world.ledger.latest_checkpoint()
    assert checkpoint.tree_size == start + 2
    assert world.ledger.verify().clean


def test_group_commit_of_only_rejected_records_changes_nothing(world: World) -> None:
    before = world.state()
    reuse = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    results = world.ledger.submit([reuse, b"{not json"], now=NOW)
    assert [r.accepted for r in results] == [False, False]
    assert world.state() == before


def test_check_all_reports_each_lot_judged_against_the_total(world: World) -> None:
    """The progress `bloc check --all` shows on a terminal (issue 14)."""
    seen: list[tuple[int, int]] = []
    verdicts = world.ledger.check_all(
        policy=load("dfars-252.225-7052"),
        as_of=date(2026, 6, 1),
        steps=lambda d, t: seen.append((d, t)),
    )
    assert len(verdicts) >= 2
    assert seen == [(n, len(verdicts)) for n in range(1, len(verdicts) + 1)]


def test_after_a_failed_group_no_later_group_is_committed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when the failed group ends with an envelope rejected before it was judged
    (review finding: the failure was read from the last result only)."""
    from sqlalchemy import text

    from ledger.service import SubmitInterrupted, _submit

    monkeypatch.setattr(_submit, "COMMIT_GROUP", 3)
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("DROP TABLE shipment_lot"))
    ore = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-7", "rare_earth_ore", 10)]),
        world.lynas,
    )
    ship = envelope_bytes(
        shipment("lynas", "ship:lynas/S-7", "lynas-mt-weld", "lynas-kuantan", ["lot:lynas/ORE-7"]),
        world.lynas,
    )
    later = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-8", "rare_earth_ore", 10)]),
        world.lynas,
    )
    with pytest.raises(SubmitInterrupted) as caught:
        world.ledger.submit([ore, ship, b"{not json", later], now=NOW)
    results = caught.value.results
    assert results[3].error == "not stored: an earlier envelope hit a database error"
    with world.ledger.store.reader() as tx:
        assert tx.tree_size == 11


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_registry_digest_of_an_unsigned_tail_reads_the_envelopes_not_the_kind_column(
    world: World,
) -> None:
    """Review finding: a registration whose stored kind was edited in the unsigned tail
    (after a crash) must still count in the registry digest the log signs."""
    from sqlalchemy import text

    from ledger.log.checkpoint import parse_checkpoint_body
    from ledger.log.registry import registry_digest
    from ledger.records.admission import open_envelope
    from ledger.records.model import REGISTRY_KINDS

    from helpers import participant

    world.register([participant("bystander", country="CA")])
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM checkpoint WHERE tree_size = 12"))
        connection.execute(text("UPDATE log_entry SET kind = 'shipment' WHERE log_index = 11"))
    note = world.ledger.publish_checkpoint(now=NOW)
    signed = parse_checkpoint_body(note.rpartition("\n\n")[0] + "\n")
    with world.ledger.store.reader() as tx:
        truth = [
            (e.log_index, e.leaf_hash)
            for e in tx.entries()
            if open_envelope(e.envelope).record.kind in REGISTRY_KINDS
        ]
    assert truth[-1][0] == 11
    assert signed.registry == registry_digest(truth)
