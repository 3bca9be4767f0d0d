"""Keys at rest (issue 13): the registrar and log keys may be encrypted at ``bloc init``, and
the log key may live outside the home (``log_key`` in ``bloc.toml``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger.cli.main import bloc
from ledger.service.home import read_signer

from helpers import participant

SECRETS = {"REGISTRAR_SECRET": "correct horse", "LOG_SECRET": "battery staple"}


def run(home: Path, *args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(
        bloc,
        ["--home", str(home), *[str(a) for a in args]],
        env={"BLOC_LOG_PASSPHRASE": None, **SECRETS, **(env or {})},
    )


@pytest.fixture
def locked(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    made = run(
        home,
        "init",
        home,
        "--passphrase-env",
        "REGISTRAR_SECRET",
        "--log-passphrase-env",
        "LOG_SECRET",
    )
    assert made.exit_code == 0, made.output
    return home


def registration(tmp_path: Path) -> Path:
    path = tmp_path / "lynas.json"
    path.write_text(json.dumps(participant("lynas")))
    return path


def test_init_encrypts_both_keys(locked: Path) -> None:
    for name in ("registrar", "log"):
        assert b"ENCRYPTED" in (locked / "keys" / f"{name}.pem").read_bytes()
    read_signer(locked / "keys" / "log.pem", passphrase=b"battery staple")


def test_a_writer_reads_the_log_passphrase_from_the_environment(
    locked: Path, tmp_path: Path
) -> None:
    done = run(
        locked,
        "register",
        registration(tmp_path),
        "--passphrase-env",
        "REGISTRAR_SECRET",
        env={"BLOC_LOG_PASSPHRASE": "battery staple"},
    )
    assert done.exit_code == 0, done.output
    assert "accepted at log index 0" in done.stdout


def test_a_writer_without_the_log_passphrase_is_told_where_to_put_it(
    locked: Path, tmp_path: Path
) -> None:
    done = run(locked, "register", registration(tmp_path), "--passphrase-env", "REGISTRAR_SECRET")
    assert done.exit_code == 2
    assert "is encrypted: set BLOC_LOG_PASSPHRASE" in done.stderr
    assert done.stderr.count("\n") == 1


def test_the_log_key_may_live_outside_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init", home).exit_code == 0
    vault = tmp_path / "vault"
    vault.mkdir(mode=0o700)
    (home / "keys" / "log.pem").rename(vault / "log.pem")
    config = home / "bloc.toml"
    config.write_text(config.read_text() + f"log_key = {json.dumps(str(vault / 'log.pem'))}\n")
    done = run(home, "register", registration(tmp_path))
    assert done.exit_code == 0, done.output
    assert run(home, "verify").exit_code == 0
