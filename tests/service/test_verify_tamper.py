"""``bloc verify`` against a database tampered with by plain SQL, on both backends.

Each test starts from the ``world`` fixture (11 entries; signed checkpoints at tree sizes 7
and 11), changes the real database the way an attacker with write access to it (but
without the log key) would, runs ``bloc --home H verify`` and checks the exit code (3) and
the exact first problem line, which must name the offending log index.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from ledger.cli.main import bloc
from ledger.core.signing import Signer
from ledger.log.checkpoint import Checkpoint, parse_checkpoint_body, sign_checkpoint
from ledger.log.merkle import Frontier, hash_leaf
from ledger.log.registry import registry_digest
from ledger.service.home import LOG_KEY
from ledger.store import stamp

from helpers import (
    NOW,
    World,
    envelope_bytes,
    envelope_of_size,
    extraction,
    key_for,
    shipment,
    tamper,
)

ORIGIN = "test.bloc/ledger"
EXIT_INTEGRITY = 3

EDITED = 8
"""The entry most tests tamper with: lynas' separation (transformation), entries 8 and 9
share the level-1 Merkle node (level 1, index 4); checkpoint 7 covers 0..6, 11 covers 0..10."""


# -- running verify -----------------------------------------------------------------------


def verify(world: World, *args: str) -> Result:
    return CliRunner().invoke(bloc, ["--home", str(world.home.path), "verify", *args])


def assert_detected(world: World, expected_first: str, *, log_index: int | None) -> list[str]:
    """verify exits 3, prints ``expected_first`` first, and --json names ``log_index`` first."""
    result = verify(world)
    assert "Traceback" not in result.output
    assert result.exit_code == EXIT_INTEGRITY, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == expected_first, "\n".join(lines)
    assert result.stderr.startswith("bloc: verification failed: ")
    as_json = verify(world, "--json")
    assert as_json.exit_code == EXIT_INTEGRITY
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert report["problems"][0] == {"log_index": log_index, "message": expected_first}
    return lines


# -- plain SQL on the real database ----------------------------------------------------------


def sql(world: World, statement: str, **params: Any) -> None:
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text(statement), params)


def query(world: World, statement: str, **params: Any) -> list[Any]:
    with world.ledger.store.engine.connect() as connection:
        return list(connection.execute(text(statement), params).all())


def envelope_at(world: World, index: int) -> bytes:
    (row,) = query(world, "SELECT envelope FROM log_entry WHERE log_index = :i", i=index)
    return bytes(row[0])


def record_id_of(envelope: bytes) -> str:
    return hashlib.sha256(base64.b64decode(json.loads(envelope)["payload"])).hexdigest()


def more_output(record: dict[str, Any]) -> None:
    """The edit: 100 kg more NdPr oxide out of the separation."""
    record["outputs"][0]["mass_kg"] = Decimal("5300.5")


def rewrite_entry(
    world: World, index: int, envelope: bytes, *, leaf: bool = True, record_id: bool = True
) -> None:
    """Store ``envelope`` at ``index``, optionally with a matching leaf hash and record id."""
    sets = ["envelope = :envelope"]
    if leaf:
        sets.append("leaf_hash = :leaf")
    if record_id:
        sets.append("record_id = :rid")
    sql(
        world,
        f"UPDATE log_entry SET {', '.join(sets)} WHERE log_index = :i",
        envelope=envelope,
        leaf=hash_leaf(envelope),
        rid=record_id_of(envelope),
        i=index,
    )


def rebuild_tree(world: World) -> None:
    """What a thorough attacker does next: recompute every Merkle node and the tree head from
    the (tampered) entries, so that only the signed checkpoints can still tell."""
    leaves = [
        bytes(row[0]) for row in query(world, "SELECT leaf_hash FROM log_entry ORDER BY log_index")
    ]
    frontier = Frontier.empty()
    nodes: list[tuple[int, int, bytes]] = []
    for leaf in leaves:
        frontier, completed = frontier.append(leaf)
        nodes.extend(node for node in completed if node[0] > 0)
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM merkle_node"))
        for level, idx, digest in nodes:
            connection.execute(
                text("INSERT INTO merkle_node (level, idx, hash) VALUES (:l, :i, :h)"),
                {"l": level, "i": idx, "h": digest},
            )
        connection.execute(
            text("UPDATE tree_head SET tree_size = :s, frontier = :f"),
            {"s": frontier.size, "f": frontier.to_bytes()},
        )


def swap(world: World, a: int, b: int) -> None:
    with world.ledger.store.engine.begin() as connection:
        for old, new in ((a, -1), (b, a), (-1, b)):
            connection.execute(
                text("UPDATE log_entry SET log_index = :new WHERE log_index = :old"),
                {"old": old, "new": new},
            )


def insert_entry(world: World, index: int, envelope: bytes) -> None:
    """Insert a row whose every column agrees with its envelope, as a careful attacker would."""
    record = json.loads(base64.b64decode(json.loads(envelope)["payload"]))
    sql(
        world,
        "INSERT INTO log_entry (log_index, leaf_hash, record_id, kind, signer, issued_at, "
        "appended_at, envelope) VALUES (:i, :leaf, :rid, :kind, :signer, "
        ":issued, :appended, :envelope)",
        i=index,
        leaf=hash_leaf(envelope),
        rid=record_id_of(envelope),
        kind=record["kind"],
        signer=record["signer"],
        issued=stamp(datetime.fromisoformat(record["issued_at"].replace("Z", "+00:00"))),
        appended=stamp(NOW),
        envelope=envelope,
    )


def checkpoint_mismatch(size: int, since: int | None = None) -> str:
    """The checkpoint at ``size`` fails; entries before ``since`` (default: the previous
    checkpoint of the world, at 7) are vouched for by a checkpoint that still matches."""
    since = (7 if size == 11 else 0) if since is None else since
    return (
        f"checkpoint at tree size {size}: the signed root hash does not match entries "
        f"{since}..{size - 1} (one of them was edited, inserted, removed or reordered)"
    )


def node_mismatch(first: int, level: int = 1) -> str:
    return (
        f"log indexes {first}..{first + (1 << level) - 1}: the stored Merkle node "
        f"(level {level}) does not match the entries (entries reordered or replaced)"
    )


def uncovered(first: int, last: int) -> str:
    return (
        f"log indexes {first}..{last} are not covered by a signed checkpoint (entries "
        "inserted, or a submit was interrupted: the next submit publishes one)"
    )


# -- a clean ledger -----------------------------------------------------------------------


def test_clean_ledger_verifies(world: World) -> None:
    result = verify(world)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "ok: 11 entries, 2 checkpoints, every signature, leaf, node and root verified\n"
    )
    assert result.stderr == ""


def test_clean_ledger_verifies_as_json(world: World) -> None:
    result = verify(world, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "ok": True,
        "tree_size": 11,
        "entries": 11,
        "checkpoints": 2,
        "problems": [],
    }


# -- edited entries -----------------------------------------------------------------------


def test_edited_envelope_bytes_are_found(world: World) -> None:
    """Payload changed, signature, leaf hash and record id columns left as they were."""
    rewrite_entry(
        world, EDITED, tamper(envelope_at(world, EDITED), more_output), leaf=False, record_id=False
    )
    lines = assert_detected(
        world,
        f"log index {EDITED}: envelope bytes do not match the stored leaf hash (entry edited)",
        log_index=EDITED,
    )
    assert f"log index {EDITED}: stored record id does not match the payload" in lines


def test_edited_envelope_with_its_leaf_hash_is_found_by_the_record_id(world: World) -> None:
    rewrite_entry(world, EDITED, tamper(envelope_at(world, EDITED), more_output), record_id=False)
    assert_detected(
        world,
        f"log index {EDITED}: stored record id does not match the payload",
        log_index=EDITED,
    )


def test_edited_envelope_with_consistent_columns_fails_its_signature(world: World) -> None:
    """Envelope, leaf hash and record id all consistent: only the signature can tell."""
    rewrite_entry(world, EDITED, tamper(envelope_at(world, EDITED), more_output))
    lines = assert_detected(
        world,
        f"log index {EDITED}: signature: envelope.signatures[0]: signature by key "
        f"{World.lynas.keyid} does not verify",
        log_index=EDITED,
    )
    assert node_mismatch(EDITED) in lines
    assert checkpoint_mismatch(11) in lines


def test_resigned_edit_is_found_by_the_merkle_node(world: World) -> None:
    """Re-signed with lynas' real key, leaf hash and record id updated: every row is valid on
    its own; the stored Merkle node over 8..9 and the checkpoint at 11 still remember."""
    edited = tamper(envelope_at(world, EDITED), more_output, resign=World.lynas)
    rewrite_entry(world, EDITED, edited)
    lines = assert_detected(world, node_mismatch(EDITED), log_index=EDITED)
    assert checkpoint_mismatch(11) in lines


def test_resigned_edit_with_rebuilt_tree_is_found_by_the_checkpoint(world: World) -> None:
    """Merkle nodes and tree head recomputed too: only the signed checkpoint at 11 can tell."""
    edited = tamper(envelope_at(world, EDITED), more_output, resign=World.lynas)
    rewrite_entry(world, EDITED, edited)
    rebuild_tree(world)
    lines = assert_detected(world, checkpoint_mismatch(11), log_index=7)
    assert len(lines) == 1


# -- deleted and inserted entries -----------------------------------------------------------


def test_deleted_middle_entry_is_found(world: World) -> None:
    sql(world, "DELETE FROM log_entry WHERE log_index = 5")
    assert_detected(world, "log index 5 is missing (entry deleted or moved)", log_index=5)


def test_deleted_last_entry_is_found(world: World) -> None:
    sql(world, "DELETE FROM log_entry WHERE log_index = 10")
    assert_detected(
        world,
        "the log holds 10 entries but its tree head says 11 (entries inserted or deleted)",
        log_index=10,
    )


def test_truncated_log_with_rebuilt_tree_is_found_by_the_checkpoint(world: World) -> None:
    sql(world, "DELETE FROM log_entry WHERE log_index = 10")
    rebuild_tree(world)
    assert_detected(
        world,
        "checkpoint at tree size 11 covers entries the log no longer holds "
        "(it has 10: entries deleted)",
        log_index=10,
    )


def forged_extraction() -> bytes:
    """A valid envelope, properly signed by lynas: the attacker may hold a participant key or
    replay an envelope, but not the log key."""
    return envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-X", "rare_earth_ore", 999)]),
        World.lynas,
    )


def test_inserted_last_entry_is_found(world: World) -> None:
    insert_entry(world, 11, forged_extraction())
    assert_detected(
        world,
        "the log holds 12 entries but its tree head says 11 (entries inserted or deleted)",
        log_index=11,
    )


def test_inserted_last_entry_with_rebuilt_tree_is_found(world: World) -> None:
    insert_entry(world, 11, forged_extraction())
    rebuild_tree(world)
    assert_detected(world, uncovered(11, 11), log_index=11)


def test_an_entry_over_todays_limits_is_reported(world: World) -> None:
    """ADR 0033: an older bloc admitted payloads of up to 256 KiB. Such an entry, signed and
    appended as that bloc did, is reported at its log index like any entry admission would
    now refuse. Signed with Ed25519, an envelope too long for an entry bundle (here 65,536
    bytes) always has a payload over 40 KiB, so the envelope schema's payload bound names it."""
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-X", "rare_earth_ore", 9)])
    payload = json.dumps(record, separators=(",", ":")).encode()
    envelope = envelope_of_size(payload, World.lynas, size=65_536, signatures=1)
    insert_entry(world, 11, envelope)
    rebuild_tree(world)
    assert_detected(
        world,
        "log index 11: envelope.payload must be at most 54616 characters long",
        log_index=11,
    )


def test_a_griefing_entry_an_older_bloc_admitted_is_reported(world: World) -> None:
    """ADR 0036: an older bloc admitted a shipment of a lot its signer did not hold (with a
    ``not-holder`` finding). Signed and appended as that bloc did, it is now reported at its
    log index: verify replays admission and does not grandfather it."""
    grief = shipment(
        "mallory",
        "ship:mallory/GRIEF-1",
        "mallory-works",
        "lynas-mt-weld",
        ["lot:lynas/NDPR-1"],
        issued_at="2026-04-02T00:00:00Z",
    )
    insert_entry(world, 11, envelope_bytes(grief, World.mallory))
    rebuild_tree(world)
    assert_detected(
        world,
        "log index 11: out of order or inconsistent with the entries before it: authority: "
        "shipment.lots[0] lot:lynas/NDPR-1 is held by org:shinetsu at fac:shinetsu-takefu, "
        "not by org:mallory",
        log_index=11,
    )


# -- reordered entries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "named"),
    [
        pytest.param(8, 9, [8], id="within-a-level-1-pair"),
        pytest.param(9, 8, [8], id="within-a-level-1-pair-reversed"),
        pytest.param(3, 9, [2, 8], id="far-apart-across-checkpoints"),
        pytest.param(7, 10, [6], id="far-apart-after-last-checkpoint"),
    ],
)
def test_reordered_entries_are_found(world: World, a: int, b: int, named: list[int]) -> None:
    """Every swapped row is valid on its own (its signer was registered earlier): only the
    stored Merkle nodes and the signed checkpoints can tell. The first problem names the
    level-1 node over the lower moved row; every moved row that has a stored level-1 node is
    named (entry 10 has none in a tree of 11: only the checkpoint covers it)."""
    swap(world, a, b)
    lines = assert_detected(world, node_mismatch(named[0]), log_index=named[0])
    for first in named[1:]:
        assert node_mismatch(first) in lines
    signed = 7 if min(a, b) < 7 else 11
    assert checkpoint_mismatch(signed) in lines


# -- checkpoints --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [7, 11])
def test_forged_checkpoint_is_found(world: World, size: int) -> None:
    """The note is replaced by one signed under the same origin by another Ed25519 key."""
    forged_root = hashlib.sha256(b"a root the log never had").digest()
    note = sign_checkpoint(
        Checkpoint(origin=ORIGIN, tree_size=size, root_hash=forged_root), Signer.generate()
    )
    sql(
        world,
        "UPDATE checkpoint SET note = :note, root_hash = :root WHERE tree_size = :size",
        note=note,
        root=forged_root,
        size=size,
    )
    assert_detected(
        world,
        f"checkpoint at tree size {size} is not signed by the log key "
        f"{world.ledger.root.log_key.keyid}",
        log_index=None,
    )


@pytest.mark.parametrize("size", [7, 11])
def test_a_false_registry_digest_signed_by_the_operator_is_found(world: World, size: int) -> None:
    """The operator (who holds the log key) signs a checkpoint whose registry digest leaves
    out a registration: the tree is right, the registry it vouches for is not."""
    (row,) = query(world, "SELECT note FROM checkpoint WHERE tree_size = :s", s=size)
    signed = parse_checkpoint_body(row[0].rpartition("\n\n")[0] + "\n")
    assert signed.registry is not None
    entries = query(
        world,
        "SELECT log_index, leaf_hash FROM log_entry WHERE kind = 'participant' "
        "AND log_index < :s ORDER BY log_index",
        s=size,
    )
    false = registry_digest([(index, bytes(leaf)) for index, leaf in entries[1:]])
    note = sign_checkpoint(replace(signed, registry=false), world.home.signer(LOG_KEY))
    sql(world, "UPDATE checkpoint SET note = :note WHERE tree_size = :s", note=note, s=size)
    assert_detected(
        world,
        f"checkpoint at tree size {size}: the registry digest it signs does not match the "
        "registry entries below it (the signed note proves a false registry state)",
        log_index=None,
    )


def test_checkpoint_root_column_edit_is_found(world: World) -> None:
    sql(
        world,
        "UPDATE checkpoint SET root_hash = :root WHERE tree_size = 11",
        root=hashlib.sha256(b"another root").digest(),
    )
    assert_detected(
        world, "checkpoint row at tree size 11 does not match its signed note", log_index=None
    )


def test_deleted_checkpoints_are_found(world: World) -> None:
    sql(world, "DELETE FROM checkpoint")
    assert_detected(world, uncovered(0, 10), log_index=0)


def test_deleted_latest_checkpoint_is_found(world: World) -> None:
    sql(world, "DELETE FROM checkpoint WHERE tree_size = 11")
    assert_detected(world, uncovered(7, 10), log_index=7)


# -- --json on a tampered ledger -----------------------------------------------------------


def test_json_lists_every_problem_with_its_log_index(world: World) -> None:
    rewrite_entry(world, EDITED, tamper(envelope_at(world, EDITED), more_output))
    result = verify(world, "--json")
    assert result.exit_code == EXIT_INTEGRITY
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert (report["tree_size"], report["entries"], report["checkpoints"]) == (11, 11, 2)
    problems: list[dict[str, Any]] = report["problems"]
    assert all(set(p) == {"log_index", "message"} for p in problems)
    at_edit = [p["message"] for p in problems if p["log_index"] == EDITED]
    assert at_edit[0].startswith(f"log index {EDITED}: signature: ")
    assert node_mismatch(EDITED) in at_edit
    assert checkpoint_mismatch(11) in [p["message"] for p in problems]


# -- the next honest submit must not sign what an attacker slipped in ---------------------


def test_inserted_row_is_not_signed_by_the_next_submit(world: World, tmp_path: Path) -> None:
    """A row signed by a key nobody registered, with the tree rebuilt around it: the next
    honest submit appends its own record but refuses to sign a checkpoint over the forgery."""
    intruder = key_for("intruder")
    forged = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-X", "rare_earth_ore", 999)]),
        intruder,
    )
    insert_entry(world, 11, forged)
    rebuild_tree(world)
    honest = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-H", "rare_earth_ore", 1)]),
        World.lynas,
    )
    path = tmp_path / "honest.json"
    path.write_bytes(honest)
    result = CliRunner().invoke(bloc, ["--home", str(world.home.path), "submit", str(path)])
    assert result.exit_code == 3
    assert result.stdout.startswith(f"{path}: accepted at log index 12 (extraction ")
    assert result.stderr == (
        "bloc: error: refusing to sign a checkpoint: log index 11: signature: "
        f"envelope.signatures[0].keyid {intruder.keyid} is not a registered participant key "
        "(run 'bloc verify')\n"
    )
    assert query(world, "SELECT max(tree_size) FROM checkpoint") == [(11,)]
    assert_detected(
        world,
        f"log index 11: signature: envelope.signatures[0].keyid {intruder.keyid} is not a "
        "registered participant key",
        log_index=11,
    )


# -- the derived index is trusted by admission: edits to it are integrity failures ----------


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        pytest.param(
            "UPDATE facility SET operator = 'org:mallory' WHERE id = 'fac:lynas-mt-weld'",
            "index table facility: row fac:lynas-mt-weld differs from what the log says",
            id="facility-handed-to-another-operator",
        ),
        pytest.param(
            "UPDATE participant_key SET compromised_since = NULL",
            None,
            id="no-op-on-unrevoked-keys",
        ),
        pytest.param(
            "UPDATE participant_key SET valid_until = '2030-01-01T00:00:00.000000Z'",
            "index table participant_key: row {lynas} differs from what the log says",
            id="key-window-changed",
        ),
        pytest.param(
            "DELETE FROM lot WHERE id = 'lot:lynas/ORE-1'",
            "index table lot: row lot:lynas/ORE-1 is missing",
            id="lot-deleted",
        ),
        pytest.param(
            "INSERT INTO lot (id, material, mass_g, facility, created_index, created_on, "
            "remaining_g, holder) VALUES ('lot:lynas/GHOST', 'ndpr_oxide', 1000, "
            "'fac:lynas-kuantan', 8, '2026-03-02', 1000, 'fac:lynas-kuantan')",
            "index table lot: row lot:lynas/GHOST was added",
            id="ghost-lot-added",
        ),
        pytest.param(
            "UPDATE shipment SET received_index = NULL",
            "index table shipment: row ship:lynas/S-1 differs from what the log says",
            id="receipt-forgotten",
        ),
    ],
)
def test_edited_index_tables_are_found(world: World, statement: str, expected: str | None) -> None:
    sql(world, statement)
    if expected is None:
        assert verify(world).exit_code == 0
        return
    first_key = min(World.lynas.keyid, World.shinetsu.keyid, World.mallory.keyid)
    message = expected.format(lynas=first_key)
    assert_detected(
        world, f"{message} (the derived index was edited outside the ledger)", log_index=None
    )


def submit_honest(world: World, tmp_path: Path) -> Result:
    honest = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-H", "rare_earth_ore", 1)]),
        World.lynas,
    )
    path = tmp_path / "honest.json"
    path.write_bytes(honest)
    return CliRunner().invoke(bloc, ["--home", str(world.home.path), "submit", str(path)])


def test_key_row_added_to_the_index_does_not_get_a_forgery_signed(
    world: World, tmp_path: Path
) -> None:
    """The attacker registers their own key for org:lynas straight into participant_key and
    appends a record signed with it: the checkpoint signer replays the registry from the
    signed log, not from the index, and refuses."""
    intruder = key_for("intruder")
    sql(
        world,
        "INSERT INTO participant_key (keyid, participant, public_key, valid_from, log_index) "
        "VALUES (:k, 'org:lynas', :p, '2026-01-01T00:00:00.000000Z', 0)",
        k=intruder.keyid,
        p=intruder.public_key.raw,
    )
    forged = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-X", "rare_earth_ore", 999)]),
        intruder,
    )
    insert_entry(world, 11, forged)
    rebuild_tree(world)
    result = submit_honest(world, tmp_path)
    assert result.exit_code == 3
    assert result.stderr == (
        "bloc: error: refusing to sign a checkpoint: log index 11: signature: "
        f"envelope.signatures[0].keyid {intruder.keyid} is not a registered participant key "
        "(run 'bloc verify')\n"
    )
    assert query(world, "SELECT max(tree_size) FROM checkpoint") == [(11,)]


def test_rejected_record_slipped_in_is_not_signed(world: World, tmp_path: Path) -> None:
    """A properly signed record that admission rejects (a lot in another namespace),
    appended with plain SQL: the next submit refuses to sign over it."""
    wrong = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:shinetsu/X-1", "rare_earth_ore", 1)]),
        World.lynas,
    )
    insert_entry(world, 11, wrong)
    rebuild_tree(world)
    result = submit_honest(world, tmp_path)
    assert result.exit_code == 3
    assert result.stderr == (
        "bloc: error: refusing to sign a checkpoint: log index 11: identity: "
        "extraction.lots[0].id lot:shinetsu/X-1 is not in the namespace of its signer "
        "org:lynas (run 'bloc verify')\n"
    )


@pytest.mark.parametrize(
    ("statement", "expected", "first"),
    [
        pytest.param(
            "DELETE FROM merkle_node WHERE level = 1 AND idx = 1",
            "log indexes 2..3: the stored Merkle node (level 1) is missing",
            2,
            id="node-deleted",
        ),
        pytest.param(
            "UPDATE merkle_node SET hash = :zero WHERE level = 2 AND idx = 0",
            "log indexes 0..3: the stored Merkle node (level 2) does not match the entries "
            "(entries reordered or replaced)",
            0,
            id="node-zeroed",
        ),
        pytest.param(
            "INSERT INTO merkle_node (level, idx, hash) VALUES (3, 7, :five)",
            "log indexes 56..63: the stored Merkle node (level 3) is not part of the tree",
            56,
            id="node-added",
        ),
        pytest.param(
            "INSERT INTO merkle_node (level, idx, hash) VALUES (9, 0, :zero)",
            "log indexes 0..511: the stored Merkle node (level 9) is not part of the tree",
            0,
            id="node-added-above-the-tree",
        ),
    ],
)
def test_tampered_merkle_nodes_are_found(
    world: World, statement: str, expected: str, first: int
) -> None:
    sql(world, statement, zero=bytes(32), five=bytes(5))
    assert_detected(world, expected, log_index=first)


def test_proofs_refuse_a_tree_that_no_longer_matches_its_checkpoint(world: World) -> None:
    sql(world, "UPDATE merkle_node SET hash = :zero WHERE level = 2 AND idx = 0", zero=bytes(32))
    for args in (["log", "prove", "4"], ["log", "consistency", "7", "11"]):
        result = CliRunner().invoke(bloc, ["--home", str(world.home.path), *args])
        assert result.exit_code == 3, result.output
        assert result.stderr.startswith("bloc: error: the stored tree does not match the "), (
            result.stderr
        )


@pytest.mark.parametrize(
    ("column", "value"),
    [("kind", "facility"), ("signer", "org:mallory"), ("issued_at", "2026-01-01T00:00:00.000000Z")],
)
def test_edited_entry_columns_are_found(world: World, column: str, value: str) -> None:
    sql(world, f"UPDATE log_entry SET {column} = :v WHERE log_index = 8", v=value)
    assert_detected(
        world,
        f"log index 8: the stored {column} column does not match the record",
        log_index=8,
    )


# -- columns of the wrong type (issue 13: exit 3 naming the row, never a TypeError) ----------

WRONG_TYPES_SQLITE = [
    (
        "UPDATE log_entry SET envelope = CAST(envelope AS TEXT) WHERE log_index = 5",
        "log index 5: the envelope is stored as text, not bytes (the database was edited)",
    ),
    (
        "UPDATE log_entry SET envelope = 12345 WHERE log_index = 5",
        "log index 5: the envelope is stored as an integer, not bytes (the database was edited)",
    ),
    (
        "UPDATE merkle_node SET hash = hex(hash) WHERE level = 1 AND idx = 2",
        "Merkle node (level 1, index 2): the hash is stored as text, not bytes (the database "
        "was edited)",
    ),
    (
        "UPDATE log_entry SET log_index = '5x' WHERE log_index = 5",
        "log index '5x' is stored as text, not an integer (the database was edited)",
    ),
    (
        "UPDATE log_entry SET log_index = 5.5 WHERE log_index = 5",
        "log index 5.5 is stored as a real number, not an integer (the database was edited)",
    ),
    (
        "UPDATE tree_head SET tree_size = 'eleven'",
        "the tree head's tree_size is stored as text, not an integer (the database was edited)",
    ),
]


WRONG_TYPES_POSTGRES = [
    (
        "ALTER TABLE log_entry ALTER COLUMN envelope TYPE text USING encode(envelope, 'escape')",
        "log index 0: the envelope is stored as text, not bytes (the database was edited)",
    ),
    (
        "ALTER TABLE merkle_node ALTER COLUMN hash TYPE text USING encode(hash, 'hex')",
        "Merkle node (level 1, index 0): the hash is stored as text, not bytes (the database "
        "was edited)",
    ),
    (
        "ALTER TABLE log_entry ALTER COLUMN log_index TYPE numeric",
        "log index 0 is stored as Decimal, not an integer (the database was edited)",
    ),
]


@pytest.mark.parametrize(
    ("db_url", "statement", "message"),
    [
        *(
            pytest.param("sqlite", *case, id=f"sqlite-{i}")
            for i, case in enumerate(WRONG_TYPES_SQLITE)
        ),
        *(
            pytest.param("postgresql", *case, id=f"postgresql-{i}", marks=pytest.mark.postgres)
            for i, case in enumerate(WRONG_TYPES_POSTGRES)
        ),
    ],
    indirect=["db_url"],
)
def test_a_column_of_the_wrong_type_is_exit_3_naming_the_row(
    world: World, statement: str, message: str
) -> None:
    """SQLite keeps any value in any column; on PostgreSQL the column is altered."""
    sql(world, statement)
    world.ledger.store.dispose()
    result = verify(world)
    assert result.exit_code == EXIT_INTEGRITY, result.output
    assert result.stderr == f"bloc: error: {message}\n"
