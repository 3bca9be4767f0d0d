"""``bloc log consistency --kept FILE`` (issue 13): a checkpoint kept from earlier against
the current one. The operator restores yesterday's database (a rollback), then appends other
records in place of the lost ones (a fork at the same size, and at a larger one): each is
exit 3 with one line naming both tree sizes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import World, bloc_executable, envelope_bytes, extraction


def bloc(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bloc_executable(), "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


def ore(world: World, tag: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{tag}.json"
    record = extraction("lynas", "lynas-mt-weld", [(f"lot:lynas/{tag}", "rare_earth_ore", 10)])
    path.write_bytes(envelope_bytes(record, world.lynas))
    return path


def keep(world: World, path: Path) -> Path:
    done = bloc(world.home.path, "log", "checkpoint")
    assert done.returncode == 0, done.stderr
    path.write_text(done.stdout)
    return path


def test_a_log_that_only_grew_extends_the_kept_checkpoint(world: World, tmp_path: Path) -> None:
    kept = keep(world, tmp_path / "kept-11")
    assert bloc(world.home.path, "submit", str(ore(world, "A", tmp_path))).returncode == 0
    done = bloc(world.home.path, "log", "consistency", "--kept", str(kept))
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"ok: the current checkpoint (tree size 12) extends the checkpoint kept in {kept} "
        "(tree size 11)\n"
    )
    same = bloc(world.home.path, "log", "consistency", "--kept", str(kept), "--json")
    assert same.stdout == '{"ok": true, "kept_size": 11, "tree_size": 12}\n'


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_rollback_and_forks_are_exit_3(world: World, tmp_path: Path) -> None:
    database = Path(world.home.db_url.removeprefix("sqlite:///"))
    world.ledger.store.dispose()
    yesterday = tmp_path / "yesterday.db"
    shutil.copy(database, yesterday)
    assert bloc(world.home.path, "submit", str(ore(world, "A", tmp_path))).returncode == 0
    kept = keep(world, tmp_path / "kept-12")

    def restore() -> None:
        world.ledger.store.dispose()
        for journal in ("-wal", "-shm"):
            Path(f"{database}{journal}").unlink(missing_ok=True)
        shutil.copy(yesterday, database)

    restore()
    rolled = bloc(world.home.path, "log", "consistency", "--kept", str(kept))
    assert rolled.returncode == 3
    assert rolled.stderr == (
        "bloc: error: rollback: the current checkpoint has tree size 11, smaller than tree "
        f"size 12 of the checkpoint kept in {kept}\n"
    )
    assert bloc(world.home.path, "submit", str(ore(world, "B", tmp_path))).returncode == 0
    forked = bloc(world.home.path, "log", "consistency", "--kept", str(kept))
    assert forked.returncode == 3
    assert forked.stderr.startswith("bloc: error: fork: the current checkpoint at tree size 12")
    assert bloc(world.home.path, "submit", str(ore(world, "C", tmp_path))).returncode == 0
    grown = bloc(world.home.path, "log", "consistency", "--kept", str(kept))
    assert grown.returncode == 3
    assert grown.stderr.startswith(
        "bloc: error: fork: the current tree of size 13 does not extend tree size 12 of the "
        "checkpoint kept in"
    )
    assert len(grown.stderr.splitlines()) == 1


def test_a_checkpoint_of_another_ledger_is_refused(world: World, tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("example.org/other\n1\nAAAA\n\n— example.org/other AAAA\n")
    done = bloc(world.home.path, "log", "consistency", "--kept", str(other))
    assert done.returncode == 3
    assert done.stderr.startswith(f"bloc: error: {other} is not a checkpoint of this ledger")


@pytest.mark.parametrize(
    "args",
    [["log", "consistency"], ["log", "consistency", "1", "2", "--kept", "root.json"]],
    ids=["nothing", "both"],
)
def test_consistency_wants_sizes_or_a_kept_checkpoint(world: World, args: list[str]) -> None:
    done = bloc(world.home.path, *[a.replace("root.json", str(world.home.root_path)) for a in args])
    assert done.returncode == 2
    assert "give" in done.stderr
