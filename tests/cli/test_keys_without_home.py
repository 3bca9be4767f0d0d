"""``bloc keys generate NAME --out DIR``: a participant makes its key with no ledger home.

Issue 12: an importer makes its key on its own machine and sends only the public key to the
registrar; before, ``bloc keys generate`` outside a home failed with "no ledger home", and
participant keys landed in the operator's ``keys/`` beside ``registrar.pem``.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ledger.cli.main import bloc
from ledger.core.signing import Signer, keyid_for
from ledger.service import home as home_module
from ledger.service.home import read_signer

from helpers import extraction, facility

NO_HOME_ENV: dict[str, str | None] = {"BLOC_HOME": None}


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The importer's own machine: a working directory with no ledger home anywhere."""
    path = tmp_path / "importer-machine"
    path.mkdir()
    monkeypatch.chdir(path)
    monkeypatch.delenv("BLOC_HOME", raising=False)
    return path


def bloc_run(*args: str | Path, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(bloc, [str(a) for a in args], env={**NO_HOME_ENV, **(env or {})})


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(directory.rglob("*"))
    }


def refused_with_one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("bloc: error: ")
    assert "Traceback" not in result.stderr
    return result.stderr


# -- the key pair, written with no home -------------------------------------------------------


def test_generate_with_out_needs_no_home_and_writes_the_pair(machine: Path) -> None:
    result = bloc_run("keys", "generate", "lynas", "--out", "keys-of-lynas")
    assert result.exit_code == 0, result.output
    private, public = (
        machine / "keys-of-lynas" / "lynas.pem",
        machine / "keys-of-lynas" / "lynas.pub.json",
    )
    assert sorted(p.name for p in (machine / "keys-of-lynas").iterdir()) == [
        "lynas.pem",
        "lynas.pub.json",
    ]
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    signer = read_signer(private)
    entry = json.loads(public.read_text(encoding="utf-8"))
    # Exactly the key's half of a participant record's keys[] entry; valid_from is the
    # registrar's to decide.
    assert entry == {"keyid": signer.keyid, "public_key": signer.public_key.to_base64()}
    assert keyid_for(signer.public_key.raw) == entry["keyid"]
    assert "PRIVATE" not in public.read_text(encoding="utf-8")
    assert result.stdout.splitlines() == [
        f"wrote {Path('keys-of-lynas') / 'lynas.pem'}",
        f"wrote {Path('keys-of-lynas') / 'lynas.pub.json'} (send it to the registrar)",
        f"keyid       {signer.keyid}",
        f"public_key  {signer.public_key.to_base64()}",
    ]


def test_generate_with_out_json_names_both_files(machine: Path) -> None:
    result = bloc_run("keys", "generate", "lynas", "--out", machine / "k", "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    signer = read_signer(machine / "k" / "lynas.pem")
    assert printed == {
        "keyid": signer.keyid,
        "public_key": signer.public_key.to_base64(),
        "private_key_file": str(machine / "k" / "lynas.pem"),
        "public_key_file": str(machine / "k" / "lynas.pub.json"),
    }


def test_generate_with_out_encrypts_with_a_passphrase(machine: Path) -> None:
    result = bloc_run(
        "keys", "generate", "lynas", "--out", "k", "--passphrase-env", "LYNAS_PASS",
        env={"LYNAS_PASS": "correct horse"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"wrote {Path('k') / 'lynas.pem'} (encrypted)"
    pem = machine / "k" / "lynas.pem"
    assert b"ENCRYPTED PRIVATE KEY" in pem.read_bytes()
    signer = read_signer(pem, passphrase=b"correct horse")
    assert json.loads((machine / "k" / "lynas.pub.json").read_text())["keyid"] == signer.keyid


def test_generate_with_out_inside_a_home_leaves_the_operators_keys_alone(
    machine: Path,
) -> None:
    init = bloc_run("init", machine / "home")
    assert init.exit_code == 0, init.output
    before = tree(machine / "home" / "keys")
    result = bloc_run(
        "--home", machine / "home", "keys", "generate", "lynas", "--out", machine / "mine"
    )
    assert result.exit_code == 0, result.output
    assert tree(machine / "home" / "keys") == before
    assert (machine / "mine" / "lynas.pem").is_file()


def test_generate_without_out_still_writes_into_the_home(machine: Path) -> None:
    assert bloc_run("init", machine / "home").exit_code == 0
    result = bloc_run("--home", machine / "home", "keys", "generate", "lynas", "--json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"keyid", "public_key"}
    assert stat.S_IMODE((machine / "home" / "keys" / "lynas.pem").stat().st_mode) == 0o600


def test_generate_without_out_and_without_a_home_still_says_no_home(machine: Path) -> None:
    line = refused_with_one_line(bloc_run("keys", "generate", "lynas"))
    assert line.startswith("bloc: error: no ledger home at ")
    assert tree(machine) == {}


# -- bad input: one line, exit 2, nothing written ---------------------------------------------


@pytest.mark.parametrize("existing", ["lynas.pem", "lynas.pub.json"])
def test_an_existing_key_file_is_never_overwritten(machine: Path, existing: str) -> None:
    out = machine / "k"
    out.mkdir()
    (out / existing).write_bytes(b"the importer's real key\n")
    before = tree(out)
    line = refused_with_one_line(bloc_run("keys", "generate", "lynas", "--out", out))
    assert line == f"bloc: error: {out / existing} exists; refusing to overwrite it\n"
    assert tree(out) == before


def test_a_second_generate_into_the_same_dir_keeps_the_first_key(machine: Path) -> None:
    assert bloc_run("keys", "generate", "lynas", "--out", "k").exit_code == 0
    before = tree(machine / "k")
    refused_with_one_line(bloc_run("keys", "generate", "lynas", "--out", "k"))
    assert tree(machine / "k") == before


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "nl\n", "x" * 65], ids=repr)
def test_a_bad_key_name_is_refused_before_anything_is_written(machine: Path, name: str) -> None:
    line = refused_with_one_line(bloc_run("keys", "generate", name, "--out", "k"))
    assert line == (
        f"bloc: error: key name {name!r} must be letters, digits, '.', '_' or '-' (at most 64)\n"
    )
    assert tree(machine.parent) == {"importer-machine": b"<dir>"}


def test_out_naming_a_file_is_refused(machine: Path) -> None:
    (machine / "afile").write_text("x")
    line = refused_with_one_line(bloc_run("keys", "generate", "lynas", "--out", "afile"))
    assert line == "bloc: error: cannot write keys into afile: not a directory\n"
    assert tree(machine) == {"afile": b"x"}


def test_out_under_a_missing_directory_is_refused(machine: Path) -> None:
    line = refused_with_one_line(bloc_run("keys", "generate", "lynas", "--out", "no/such"))
    assert line == "bloc: error: cannot create no/such: No such file or directory\n"
    assert tree(machine) == {}


def failing_open(victim: str, real: Callable[..., int] = os.open) -> Callable[..., int]:
    """``os.open`` that refuses to create files named ``victim`` (an unwritable DIR as root)."""

    def fake(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        if Path(path).name == victim:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, flags, mode, *args, **kwargs)

    return fake


@pytest.mark.parametrize("victim", ["lynas.pem", "lynas.pub.json"])
def test_an_unwritable_dir_is_one_line_and_leaves_nothing(
    machine: Path, monkeypatch: pytest.MonkeyPatch, victim: str
) -> None:
    # Tests may run as root, where chmod cannot make a directory unwritable: the refusal is
    # modelled at os.open, which is what a read-only directory makes fail.
    monkeypatch.setattr(home_module.os, "open", failing_open(victim))
    line = refused_with_one_line(bloc_run("keys", "generate", "lynas", "--out", "k"))
    assert line == f"bloc: error: cannot create {Path('k') / victim}: Permission denied\n"
    assert tree(machine) == {}, "the half-written pair and the new directory are removed"


def test_an_unwritable_existing_dir_keeps_its_contents(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (machine / "k").mkdir()
    (machine / "k" / "other.pem").write_text("keep me")
    monkeypatch.setattr(home_module.os, "open", failing_open("lynas.pub.json"))
    refused_with_one_line(bloc_run("keys", "generate", "lynas", "--out", "k"))
    assert tree(machine) == {"k": b"<dir>", "k/other.pem": b"keep me"}


# -- end to end: made on the importer's machine, registered by the registrar, accepted ---------


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def participant_from(public_entry: dict[str, str]) -> dict[str, Any]:
    """The registrar's participant record around the public key it was sent."""
    return {
        "kind": "participant",
        "schema_version": 1,
        "id": "org:lynas",
        "name": "Lynas Rare Earths Ltd",
        "country": "AU",
        "roles": ["miner"],
        "control": [
            {"holder": "Shareholders", "country": "AU", "percent": 100, "government": False}
        ],
        "keys": [public_entry | {"valid_from": "2026-01-01T00:00:00Z"}],
    }


@pytest.mark.parametrize("passphrase", [None, "s3cret pass"], ids=["plain", "encrypted"])
def test_key_made_without_a_home_signs_records_the_registrars_home_accepts(
    tmp_path: Path, machine: Path, db_url: str, passphrase: str | None
) -> None:
    # 1. On the importer's machine, with no home anywhere.
    env = {"LYNAS_PASS": passphrase} if passphrase else {}
    pass_args = ["--passphrase-env", "LYNAS_PASS"] if passphrase else []
    made = bloc_run("keys", "generate", "lynas", "--out", "lynas-keys", *pass_args, env=env)
    assert made.exit_code == 0, made.output
    pem = machine / "lynas-keys" / "lynas.pem"

    # 2. Only lynas.pub.json travels to the registrar's machine.
    office = tmp_path / "registrar-office"
    office.mkdir()
    sent = office / "lynas.pub.json"
    sent.write_bytes((machine / "lynas-keys" / "lynas.pub.json").read_bytes())
    home = office / "home"
    init = bloc_run("init", home, "--db", db_url, "--origin", "test.bloc/keys")
    assert init.exit_code == 0, init.output
    operator_keys = tree(home / "keys")
    reg = write_jsonl(
        office / "reg.jsonl",
        [
            participant_from(json.loads(sent.read_text(encoding="utf-8"))),
            {k: v for k, v in facility("lynas-mt-weld", "lynas", ["mining"]).items()
             if k not in ("signer", "issued_at")},
        ],
    )  # fmt: skip
    registered = bloc_run("--home", home, "register", reg)
    assert registered.exit_code == 0, registered.output
    assert f"{reg}:1: accepted at log index 0 (participant " in registered.stdout
    assert tree(home / "keys") == operator_keys, "no participant key in the operator's keys/"

    # 3. Back on the importer's machine: sign with the key that never left it.
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 7)])
    del record["issued_at"]
    (machine / "ore.json").write_text(json.dumps(record), encoding="utf-8")
    signed = bloc_run("sign", "ore.json", "--key", pem, "-o", "ore.dsse.json", *pass_args, env=env)
    assert signed.exit_code == 0, signed.output

    # 4. The signed envelope is submitted to the registrar's home and accepted.
    envelope = office / "ore.dsse.json"
    envelope.write_bytes((machine / "ore.dsse.json").read_bytes())
    submitted = bloc_run("--home", home, "submit", envelope)
    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout.startswith(f"{envelope}: accepted at log index 2 (extraction ")
    verified = bloc_run("--home", home, "verify")
    assert verified.exit_code == 0, verified.output


def test_a_key_the_registrar_was_not_sent_is_rejected(machine: Path, tmp_path: Path) -> None:
    """The check that makes the flow above meaningful: another key of the same name fails."""
    assert bloc_run("keys", "generate", "lynas", "--out", "first").exit_code == 0
    assert bloc_run("keys", "generate", "lynas", "--out", "second").exit_code == 0
    home = tmp_path / "home"
    assert bloc_run("init", home).exit_code == 0
    sent = json.loads((machine / "first" / "lynas.pub.json").read_text())
    reg = write_jsonl(
        tmp_path / "reg.jsonl",
        [
            participant_from(sent),
            {k: v for k, v in facility("lynas-mt-weld", "lynas", ["mining"]).items()
             if k not in ("signer", "issued_at")},
        ],
    )  # fmt: skip
    assert bloc_run("--home", home, "register", reg).exit_code == 0
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 7)])
    del record["issued_at"]
    (machine / "ore.json").write_text(json.dumps(record))
    other: Signer = read_signer(machine / "second" / "lynas.pem")
    assert other.keyid != sent["keyid"]
    signed = bloc_run("sign", "ore.json", "--key", "second/lynas.pem", "-o", "ore.dsse.json")
    assert signed.exit_code == 0, signed.output
    submitted = bloc_run("--home", home, "submit", machine / "ore.dsse.json")
    assert submitted.exit_code == 5
    assert ": rejected: " in submitted.stdout


# -- keys and homes at rest (issue 13) --------------------------------------------------------


def test_a_key_others_may_read_is_refused_with_how_to_fix_it(machine: Path) -> None:
    assert bloc_run("keys", "generate", "lynas", "--out", machine).exit_code == 0
    key = machine / "lynas.pem"
    key.chmod(0o644)
    record = machine / "ore.json"
    record.write_text(
        json.dumps(extraction("lynas", "lynas-mt-weld", [("lot:lynas/X", "rare_earth_ore", 1)]))
    )
    message = refused_with_one_line(bloc_run("sign", record, "--key", key))
    assert message == (
        f"bloc: error: key {key} is open to other users (mode 644): run 'chmod 600 {key}'\n"
    )
    key.chmod(0o600)
    assert bloc_run("sign", record, "--key", key).exit_code == 0


def test_a_new_home_is_private_whatever_the_umask(machine: Path) -> None:
    old = os.umask(0o022)
    try:
        assert bloc_run("init", machine / "home").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((machine / "home").stat().st_mode) == 0o700
