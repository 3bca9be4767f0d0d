"""A database knows which ledger it is (issue 12; ADR 0027): it records its log origin and
the SHA-256 of its home's root.json when created, and any other home that opens it is
refused before anything is read or written (exit 2, one line naming both ledgers).

The attack modelled: a home of one's own whose bloc.toml points at another ledger's
database (once 320 foreign records went in before the checkpoint failed, and the real
ledger could sign no more checkpoints)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from click.testing import CliRunner, Result
from scenarios import DFARS, WINDOW_A
from sqlalchemy import text

from ledger.cli.main import bloc
from ledger.core.signing import Signer
from ledger.records.trust import TrustRoot
from ledger.service.home import Home, init_home
from ledger.store import LedgerIdentity, Store, sqlite_files

from helpers import World, write_jsonl

LOT = "lot:lynas/NDPR-1"


def run(home: Home, *args: str) -> Result:
    return CliRunner().invoke(bloc, ["--home", str(home.path), *args])


def _point_at(home: Home, db_url: str) -> Home:
    """Make ``home``'s bloc.toml name ``db_url`` (what the intruder edits)."""
    config = home.path / "bloc.toml"
    config.write_text(
        f"db = {json.dumps(db_url)}\norigin = {json.dumps(home.origin)}\n", encoding="utf-8"
    )
    return Home(path=home.path, db_url=db_url, origin=home.origin)


def _snapshot(world: World) -> tuple[object, ...]:
    """Everything a foreign home could have changed: tree size and head, every row count,
    the meta rows, and (SQLite) the database file's bytes."""
    world.ledger.store.dispose()
    with world.ledger.store.engine.connect() as connection:
        meta = sorted(connection.execute(text("SELECT key, value FROM meta")).all())
    files = [p.read_bytes() for p in sqlite_files(world.home.db_url)[:1]]
    snapshot = (world.state(), meta, files)
    world.ledger.store.dispose()
    return snapshot


def _one_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("bloc: error: database "), line
    return line


def _intruder_commands(tmp_path: Path, world: World) -> list[list[str]]:
    envelopes = write_jsonl(tmp_path / "foreign.jsonl", world.chain()[:1])
    return [
        ["submit", str(envelopes)],
        ["trace", LOT],
        ["check", LOT, "--policy", DFARS, "--as-of", WINDOW_A],
        ["verify"],
        ["reindex"],
        ["log", "checkpoint"],
    ]


def _digest(home: Home) -> str:
    return hashlib.sha256(home.root_path.read_bytes()).hexdigest()


def test_a_home_pointed_at_another_ledgers_database_is_refused_and_changes_nothing(
    world: World, tmp_path: Path
) -> None:
    intruder = _point_at(
        init_home(tmp_path / "intruder", origin="test.bloc/intruder"), world.home.db_url
    )
    before = _snapshot(world)
    for command in _intruder_commands(tmp_path, world):
        assert _one_error(run(intruder, *command)).endswith(
            f"belongs to ledger test.bloc/ledger (root {_digest(world.home)[:16]}), "
            f"not this home's test.bloc/intruder (root {_digest(intruder)[:16]})"
        ), command
    assert _snapshot(world) == before
    # The real ledger still signs checkpoints.
    assert (
        run(
            world.home, "submit", str(write_jsonl(tmp_path / "again.jsonl", world.chain()))
        ).exit_code
        == 0
    )
    assert run(world.home, "verify").exit_code == 0


def test_a_home_with_the_same_origin_but_another_root_json_is_refused(
    world: World, tmp_path: Path
) -> None:
    # Same origin, own keys: an impostor copying the origin string is still another ledger.
    twin = _point_at(init_home(tmp_path / "twin", origin="test.bloc/ledger"), world.home.db_url)
    before = _snapshot(world)
    for command in _intruder_commands(tmp_path, world):
        line = _one_error(run(twin, *command))
        assert line.endswith(
            f"belongs to ledger test.bloc/ledger (root {_digest(world.home)[:16]}), "
            f"not this home's test.bloc/ledger (root {_digest(twin)[:16]})"
        ), command
    assert _snapshot(world) == before


def test_a_copy_of_the_ledgers_own_home_opens_it(world: World, tmp_path: Path) -> None:
    """The legitimate case: the same root.json (a backup or a second operator machine)."""
    copy = tmp_path / "copy"
    shutil.copytree(world.home.path, copy)
    home = _point_at(
        Home(path=copy, db_url=world.home.db_url, origin="test.bloc/ledger"), world.home.db_url
    )
    for command in (["trace", LOT], ["verify"], ["reindex"], ["log", "checkpoint"]):
        result = run(home, *command)
        assert result.exit_code == 0, (command, result.output)


def test_a_root_json_edited_after_init_is_refused(world: World) -> None:
    """Rewriting root.json in place (new registrar, same origin) does not re-key the ledger."""
    recorded = _digest(world.home)
    root = world.ledger.root
    forged = TrustRoot(
        origin=root.origin, registrars=(Signer.generate().public_key,), log_key=root.log_key
    )
    world.home.root_path.write_text(json.dumps(forged.to_dict(), indent=2) + "\n")
    line = _one_error(run(world.home, "trace", LOT))
    assert f"belongs to ledger test.bloc/ledger (root {recorded[:16]})" in line


def test_scratch_replays_need_no_identity() -> None:
    with Store.scratch() as store:
        assert store.identity() is None
        with store.reader() as tx:
            assert tx.tree_size == 0


# -- databases created before they recorded their ledger (ADR 0027) -------------------------


def _forget_identity(world: World) -> None:
    world.ledger.store.dispose()
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM meta WHERE key IN ('log_origin', 'root_sha256')"))
    world.ledger.store.dispose()


LEGACY = (
    "records no ledger identity (created by an older bloc): run 'bloc reindex' from its own "
    "home to check its log against that home's root.json and record it"
)


def test_a_legacy_database_is_refused_until_reindexed_from_its_own_home(world: World) -> None:
    before = run(world.home, "trace", LOT).stdout
    _forget_identity(world)
    for command in (["trace", LOT], ["verify"], ["log", "checkpoint"]):
        assert _one_error(run(world.home, *command)).endswith(LEGACY), command
    rebound = run(world.home, "reindex")
    assert rebound.exit_code == 0, rebound.output
    assert Store.open(world.home.db_url).identity() == world.home.identity()
    assert run(world.home, "verify").exit_code == 0
    assert run(world.home, "trace", LOT).stdout == before


def test_a_legacy_database_is_not_bound_by_the_first_foreign_home_to_reindex_it(
    world: World, tmp_path: Path
) -> None:
    _forget_identity(world)
    before = _snapshot(world)
    for origin in ("test.bloc/intruder", "test.bloc/ledger"):
        intruder = _point_at(
            init_home(tmp_path / origin.replace("/", "_"), origin=origin), world.home.db_url
        )
        assert _one_error(
            run(intruder, "submit", str(write_jsonl(tmp_path / "x.jsonl", world.chain()[:1])))
        ).endswith(LEGACY)
        line = _one_error(run(intruder, "reindex"))
        assert (
            "records no ledger identity and its log does not verify under this home's root.json"
            in line
        )
        assert line.endswith("run 'bloc reindex' from the home that created it")
    assert _snapshot(world) == before
    # Its own home still binds it afterwards.
    assert run(world.home, "reindex").exit_code == 0
    assert run(world.home, "verify").exit_code == 0


def test_a_legacy_database_with_an_old_index_is_bound_and_rebuilt_in_one_reindex(
    world: World,
) -> None:
    _forget_identity(world)
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE event DROP COLUMN origin"))
        connection.execute(text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))
    world.ledger.store.dispose()
    assert _one_error(run(world.home, "trace", LOT)).endswith(LEGACY)
    assert run(world.home, "reindex").exit_code == 0
    assert run(world.home, "verify").exit_code == 0


def test_an_empty_legacy_database_binds_to_no_one(empty_world: World) -> None:
    """No signed checkpoint: nothing shows whose it is, so reindex refuses to bind it."""
    _forget_identity(empty_world)
    line = _one_error(run(empty_world.home, "reindex"))
    assert line.endswith(
        "records no ledger identity and holds no checkpoint signed by this home's log key, so "
        "nothing shows it is this home's: create it anew with 'bloc init'"
    )


def test_init_records_the_identity(home: Home) -> None:
    store = Store.open(home.db_url)
    try:
        assert store.identity() == LedgerIdentity("test.bloc/ledger", _digest(home))
    finally:
        store.dispose()
