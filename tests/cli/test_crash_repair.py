"""Crash repair (issue 13): a crash between an append and its checkpoint leaves a tail no
checkpoint covers. Resubmitting the same file (all duplicates) or ``bloc log publish``
signs one, and ``bloc verify`` is clean again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ledger.errors import InputError
from ledger.service import Ledger

from helpers import NOW, World, bloc_executable, envelope_bytes, extraction


def bloc(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bloc_executable(), "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


def crashed_append(world: World, tmp_path: Path) -> Path:
    """Append one record as a writer that dies before signing: its entry is stored, no
    checkpoint covers it."""
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/CRASH-1", "rare_earth_ore", 10)])
    envelope = envelope_bytes(record, world.lynas)
    without_key = Ledger(world.ledger.store, world.home.root())
    with pytest.raises(InputError, match="needs the log key"):
        without_key.submit([envelope], now=NOW)
    assert world.ledger.store.tree_size() == 12
    path = tmp_path / "crash.json"
    path.write_bytes(envelope)
    return path


def test_resubmitting_the_same_file_publishes_the_missing_checkpoint(
    world: World, tmp_path: Path
) -> None:
    path = crashed_append(world, tmp_path)
    assert bloc(world.home.path, "verify").returncode == 3
    again = bloc(world.home.path, "submit", str(path))
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{path}: already in the log at index 11\n"
    assert world.ledger.latest_checkpoint()[0].tree_size == 12
    assert bloc(world.home.path, "verify").returncode == 0


def test_log_publish_signs_a_checkpoint_over_an_uncovered_tail(
    world: World, tmp_path: Path
) -> None:
    crashed_append(world, tmp_path)
    published = bloc(world.home.path, "log", "publish")
    assert published.returncode == 0, published.stderr
    assert published.stdout.splitlines()[1] == "12"
    assert bloc(world.home.path, "verify").returncode == 0
    again = bloc(world.home.path, "log", "publish")
    assert again.stdout == published.stdout  # nothing new to sign: the same checkpoint
