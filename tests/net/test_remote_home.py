"""Remote homes (ADR 0032): ``bloc connect``, then the same commands against a real server,
with the same output and exit codes as against the ledger's own home; and a remote home
that has seen tree size N refuses a server rolled back below N or forked at N.

The client side does not depend on the server's database: the remote-home cases run on
SQLite, and the ones that carry data end to end (submit, check, evidence, the auditor's
replica) on PostgreSQL too; the server itself is tested on both in test_server_*."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from served import Served, served

from ledger.service.home import write_signer

from helpers import SQLITE_ONLY, World, bloc_executable, envelope_bytes, extraction, participant

NDPR = "lot:lynas/NDPR-1"
CHECK = ["check", NDPR, "--policy", "dfars-252.225-7052", "--as-of", "2026-06-01"]


def bloc(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bloc_executable(), "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def server(world: World) -> Iterator[Served]:
    with served(world.home.path) as running:
        yield running


@pytest.fixture
def remote(world: World, server: Served, tmp_path: Path) -> Path:
    key = tmp_path / "lynas.pem"
    write_signer(key, world.lynas)
    home = tmp_path / "remote"
    done = bloc(
        tmp_path,
        "connect",
        server.url,
        str(home),
        "--root",
        str(world.home.root_path),
        "--key",
        str(key),
    )
    assert done.returncode == 0, done.stderr
    assert "verified   checkpoint at tree size 11" in done.stdout
    return home


def new_ore(world: World, n: int, tmp_path: Path) -> Path:
    path = tmp_path / f"ore-{n}.json"
    path.write_bytes(
        envelope_bytes(
            extraction("lynas", "lynas-mt-weld", [(f"lot:lynas/R-{n}", "rare_earth_ore", 10)]),
            world.lynas,
        )
    )
    return path


def test_an_importer_submits_from_a_remote_home(world: World, remote: Path, tmp_path: Path) -> None:
    record = new_ore(world, 1, tmp_path)
    done = bloc(remote, "submit", str(record))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{record}: accepted at log index 11 (extraction ")
    again = bloc(remote, "submit", str(record))
    assert again.stdout == f"{record}: already in the log at index 11\n"
    kept = bloc(remote, "log", "checkpoint")
    assert kept.returncode == 0
    assert kept.stdout.splitlines()[1] == "12"


@SQLITE_ONLY
def test_a_rejected_remote_submission_exits_5_with_the_local_reason(
    world: World, remote: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "taken.json"
    taken.write_bytes(
        envelope_bytes(
            extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 10)]),
            world.lynas,
        )
    )
    remote_run = bloc(remote, "submit", str(taken))
    local_run = bloc(world.home.path, "submit", str(taken))
    assert remote_run.returncode == local_run.returncode == 5
    assert remote_run.stdout == local_run.stdout
    assert remote_run.stderr == local_run.stderr


def test_check_and_evidence_from_a_remote_home_match_the_local_home(
    world: World, remote: Path, tmp_path: Path
) -> None:
    remote_run = bloc(remote, *CHECK)
    local_run = bloc(world.home.path, *CHECK)
    assert (remote_run.returncode, remote_run.stdout) == (local_run.returncode, local_run.stdout)
    bundle = tmp_path / "bundle.json"
    made = bloc(remote, "evidence", NDPR, "--policy", "dfars-252.225-7052", "-o", str(bundle))
    assert made.returncode == 0, made.stderr
    checked = bloc(tmp_path, "verify-bundle", str(bundle), "--root", str(world.home.root_path))
    assert checked.returncode == 0, checked.stderr


@SQLITE_ONLY
def test_a_remote_home_without_a_key_cannot_read(
    world: World, server: Served, tmp_path: Path
) -> None:
    home = tmp_path / "keyless"
    done = bloc(tmp_path, "connect", server.url, str(home), "--root", str(world.home.root_path))
    assert done.returncode == 0, done.stderr
    refused = bloc(home, *CHECK)
    assert refused.returncode == 2
    assert "give the home a key" in refused.stderr


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_rolled_back_or_forked_server_is_refused_with_exit_3(
    world: World, tmp_path: Path
) -> None:
    """The operator restores yesterday's database (tree size 11) after the remote home saw
    size 12: rollback. Then it appends another record instead: size 12 with another root,
    a fork. Both are exit 3 with one line naming both sizes."""
    database = Path(world.home.db_url.removeprefix("sqlite:///"))
    yesterday = tmp_path / "yesterday.db"
    world.ledger.store.dispose()  # the last connection closing folds the WAL into the file
    shutil.copy(database, yesterday)
    key = tmp_path / "lynas.pem"
    write_signer(key, world.lynas)
    home = tmp_path / "remote"
    with served(world.home.path) as server:
        root = str(world.home.root_path)
        assert bloc(tmp_path, "connect", server.url, str(home), "--root", root).returncode == 0
        assert bloc(home, "submit", str(new_ore(world, 1, tmp_path))).returncode == 0
    world.ledger.store.dispose()
    for journal in ("-wal", "-shm"):
        Path(f"{database}{journal}").unlink(missing_ok=True)
    shutil.copy(yesterday, database)
    with served(world.home.path) as server:
        (home / "bloc.toml").write_text(
            (home / "bloc.toml")
            .read_text()
            .replace((home / "bloc.toml").read_text().split('"')[1], server.url)
        )
        rolled = bloc(home, "log", "checkpoint")
        assert rolled.returncode == 3, rolled.stderr
        assert "rollback" in rolled.stderr
        assert "tree size 11" in rolled.stderr
        assert "tree size 12" in rolled.stderr
        other = bloc(world.home.path, "submit", str(new_ore(world, 2, tmp_path)))
        assert other.returncode == 0, other.stderr
        forked = bloc(home, "log", "checkpoint")
        assert forked.returncode == 3, forked.stderr
        assert "fork" in forked.stderr
        assert "tree size 12" in forked.stderr
        assert len(forked.stderr.strip().splitlines()) == 1


@pytest.fixture
def auditor(world: World, server: Served, tmp_path: Path) -> Path:
    """A remote home with the registrar's key: it may read every record."""
    key = tmp_path / "registrar.pem"
    write_signer(key, world.registrar)
    home = tmp_path / "auditor"
    root = str(world.home.root_path)
    done = bloc(tmp_path, "connect", server.url, str(home), "--root", root, "--key", str(key))
    assert done.returncode == 0, done.stderr
    return home


REPLICA_COMMANDS = (
    ["trace", NDPR],
    ["trace", "lot:lynas/ORE-1", "--down", "--format", "json"],
    ["check", "--all", "--policy", "dfars-252.225-7052", "--as-of", "2026-06-01"],
    ["findings", "--as-of", "2026-06-01", "--json"],
    ["log", "prove", "3", "--json"],
    ["graph", NDPR, "--format", "dot"],
)


def test_an_auditors_replica_answers_like_the_ledgers_own_home(world: World, auditor: Path) -> None:
    for command in REPLICA_COMMANDS:
        remote_run = bloc(auditor, *command)
        local_run = bloc(world.home.path, *command)
        assert remote_run.stderr == local_run.stderr, command
        assert (remote_run.returncode, remote_run.stdout) == (
            local_run.returncode,
            local_run.stdout,
        ), command


@SQLITE_ONLY
def test_an_auditors_replica_verifies_and_follows_the_log(
    world: World, auditor: Path, tmp_path: Path
) -> None:
    first = bloc(auditor, "verify")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("ok: 11 entries, 1 checkpoint,")
    assert bloc(world.home.path, "submit", str(new_ore(world, 5, tmp_path))).returncode == 0
    second = bloc(auditor, "verify")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("ok: 12 entries, 2 checkpoints,")


@SQLITE_ONLY
@pytest.mark.parametrize("fmt", ["tree", "json", "dot"])
def test_a_participant_traces_its_lot_from_a_verified_bundle(
    world: World, remote: Path, fmt: str
) -> None:
    remote_run = bloc(remote, "trace", NDPR, "--format", fmt)
    local_run = bloc(world.home.path, "trace", NDPR, "--format", fmt)
    assert (remote_run.returncode, remote_run.stdout) == (0, local_run.stdout)


@SQLITE_ONLY
def test_a_participant_cannot_replicate_the_whole_ledger(remote: Path) -> None:
    refused = bloc(remote, "trace", NDPR, "--down")
    assert refused.returncode == 2
    assert "org:lynas may not read every record" in refused.stderr


@SQLITE_ONLY
def test_the_registrar_registers_from_a_remote_home(
    world: World, auditor: Path, tmp_path: Path
) -> None:
    record = tmp_path / "newco.json"
    record.write_text(json.dumps(participant("newco", country="JP")))
    done = bloc(auditor, "register", str(record))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{record}: accepted at log index 11 (participant ")


@SQLITE_ONLY
def test_a_participant_key_cannot_register_from_a_remote_home(remote: Path, tmp_path: Path) -> None:
    record = tmp_path / "newco.json"
    record.write_text(json.dumps(participant("newco", country="JP")))
    done = bloc(remote, "register", str(record))
    assert done.returncode == 5
    assert "is not a registrar key of root.json" in done.stdout
