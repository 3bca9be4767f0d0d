"""Every file a user names is read bounded, and only if it is a regular file (issue 13): a
FIFO with no writer, or a device such as /dev/zero, ends at once with one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger.cli.main import bloc
from ledger.service.home import init_home


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(bloc, [str(a) for a in args], env={"BLOC_HOME": None})


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "no-writer.fifo"
    os.mkfifo(path)
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return init_home(tmp_path / "home").path


def one_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_policy_that_is_not_a_regular_file_is_refused(
    home: Path, fifo: Path, special: str
) -> None:
    path = fifo if special == "fifo" else Path(special)
    result = run("--home", home, "check", "--all", "--policy", path)
    assert one_line(result, 2) == f"bloc: error: cannot read policy {path}: not a regular file\n"


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_records_from_a_special_file_are_refused(home: Path, fifo: Path, special: str) -> None:
    path = fifo if special == "fifo" else Path(special)
    result = run("--home", home, "submit", path)
    assert one_line(result, 2) == f"bloc: error: cannot read {path}: not a regular file\n"


def test_a_signing_key_that_is_a_device_is_refused(tmp_path: Path) -> None:
    record = tmp_path / "r.json"
    record.write_text("{}")
    result = run("sign", record, "--key", "/dev/zero")
    assert "bloc: error:" in one_line(result, 2)


def test_a_bundle_that_is_a_fifo_is_refused(home: Path, fifo: Path) -> None:
    result = run("verify-bundle", fifo, "--root", home / "root.json")
    assert one_line(result, 2) == (
        f"bloc: error: cannot read an evidence bundle {fifo}: not a regular file\n"
    )
