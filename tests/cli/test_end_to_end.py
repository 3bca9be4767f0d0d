"""The installed ``bloc`` command, run as a user would: subprocesses in a temporary directory.

The main flow goes init → keys → register → sign → submit → verify → checkpoint → prove on
both backends and checks the proof here, against the checkpoint's root. The other tests
check how homes are found, what is refused (exit 2, one line on stderr, never a traceback)
and that keys are written safely.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger.log.checkpoint import verify_checkpoint
from ledger.log.merkle import hash_leaf, verify_inclusion
from ledger.records.trust import TrustRoot

from helpers import bloc_executable

pytestmark = pytest.mark.slow  # every test spawns the installed command

EXIT_USAGE = 2
VALID_FROM = "2020-01-01T00:00:00Z"


def base_env(**extra: str) -> dict[str, str]:
    """The environment without BLOC_HOME (the tests set it only when they mean to)."""
    env = {k: v for k, v in os.environ.items() if k != "BLOC_HOME"}
    env.update(extra)
    return env


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [bloc_executable(), *map(str, args)],
        cwd=cwd,
        env=env if env is not None else base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def ok(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = run(*args, cwd=cwd, env=env)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}"
    return proc.stdout


def refused(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, code: int = EXIT_USAGE
) -> str:
    """Run a command that must fail with ``code`` and one ``bloc: error:`` line on stderr."""
    proc = run(*args, cwd=cwd, env=env)
    assert proc.returncode == code, f"exit {proc.returncode}: {proc.stdout}{proc.stderr}"
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("bloc: error: "), lines[0]
    return lines[0]


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    return path


def registrations(public: dict[str, str]) -> list[dict[str, Any]]:
    """A participant owning ``public`` and its mine; signer and issued_at left to register."""
    return [
        {
            "kind": "participant",
            "schema_version": 1,
            "id": "org:lynas",
            "name": "Lynas Rare Earths Ltd",
            "country": "AU",
            "roles": ["miner", "processor"],
            "control": [
                {"holder": "Shareholders", "country": "AU", "percent": 100, "government": False}
            ],
            "keys": [
                {
                    "keyid": public["keyid"],
                    "public_key": public["public_key"],
                    "valid_from": VALID_FROM,
                }
            ],
        },
        {
            "kind": "facility",
            "schema_version": 1,
            "id": "fac:lynas-mt-weld",
            "operator": "org:lynas",
            "name": "Mount Weld",
            "country": "AU",
            "stages": ["mining", "beneficiation"],
        },
    ]


def extraction_record(signer: str = "org:lynas", lot: str = "lot:lynas/ORE-1") -> dict[str, Any]:
    """An extraction without issued_at: ``bloc sign`` fills it."""
    return {
        "kind": "extraction",
        "schema_version": 1,
        "signer": signer,
        "facility": "fac:lynas-mt-weld",
        "extracted_on": "2020-01-30",
        "source": "mined",
        "lots": [{"id": lot, "material": "rare_earth_concentrate", "mass_kg": 25000.5}],
    }


def payload_of(envelope: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return decoded


def make_registered_home(work: Path, *db: str) -> Path:
    """bloc init H, a key for lynas, lynas and its mine registered; returns H."""
    home = work / "home"
    ok("init", home, *db, cwd=work)
    public = json.loads(ok("--home", home, "keys", "generate", "lynas", "--json", cwd=work))
    assert set(public) == {"keyid", "public_key"}
    write_json(work / "lynas-public.json", public)
    reg = work / "reg.jsonl"
    reg.write_text("".join(json.dumps(r) + "\n" for r in registrations(public)), encoding="utf-8")
    out = ok("--home", home, "register", "reg.jsonl", cwd=work).splitlines()
    assert len(out) == 2
    assert out[0].startswith("reg.jsonl:1: accepted at log index 0 (participant ")
    assert out[1].startswith("reg.jsonl:2: accepted at log index 1 (facility ")
    return home


# -- the main flow, on both backends ----------------------------------------------------------


def test_init_register_sign_submit_verify_prove(tmp_path: Path, db_url: str) -> None:
    # SQLite: the home's default database; PostgreSQL: given with --db.
    db = [] if db_url.startswith("sqlite") else ["--db", db_url]
    home = make_registered_home(tmp_path, *db)
    assert (home / "bloc.toml").is_file()
    assert (home / "root.json").is_file()

    write_json(tmp_path / "rec.json", extraction_record())
    assert ok(
        "--home",
        home,
        "sign",
        "rec.json",
        "--key",
        home / "keys" / "lynas.pem",
        "-o",
        "env.json",
        cwd=tmp_path,
    ).startswith("wrote env.json: 1 envelope signed with key ")
    env_bytes = (tmp_path / "env.json").read_bytes()
    envelope = json.loads(env_bytes)
    assert envelope["payloadType"] == "application/vnd.bloc.record+json"
    signed = payload_of(envelope)
    assert signed["issued_at"].endswith("Z")
    assert {k: v for k, v in signed.items() if k != "issued_at"} == {
        **extraction_record(),
        "lots": [
            {"id": "lot:lynas/ORE-1", "material": "rare_earth_concentrate", "mass_kg": 25000.5}
        ],
    }

    out = ok("--home", home, "submit", "env.json", cwd=tmp_path)
    assert out.startswith("env.json: accepted at log index 2 (extraction ")
    again = ok("--home", home, "submit", "env.json", cwd=tmp_path)
    assert again == "env.json: already in the log at index 2\n"

    assert ok("--home", home, "verify", cwd=tmp_path) == (
        "ok: 3 entries, 2 checkpoints, every signature, leaf, node and root verified\n"
    )

    checkpoint = json.loads(ok("--home", home, "log", "checkpoint", "--json", cwd=tmp_path))
    assert checkpoint["tree_size"] == 3
    root = TrustRoot.from_bytes((home / "root.json").read_bytes())
    signed_checkpoint = verify_checkpoint(
        checkpoint["note"], origin=checkpoint["origin"], key=root.log_key
    )
    assert signed_checkpoint.origin == root.origin
    assert signed_checkpoint.root_hash.hex() == checkpoint["root_hash"]

    proof = json.loads(ok("--home", home, "log", "prove", "2", "--json", cwd=tmp_path))
    assert (proof["log_index"], proof["tree_size"]) == (2, 3)
    assert proof["checkpoint"] == checkpoint["note"]
    leaf = bytes.fromhex(proof["leaf_hash"])
    assert leaf == hash_leaf(env_bytes.rstrip(b"\n")), "the leaf is the envelope as signed"
    verify_inclusion(
        index=2,
        size=checkpoint["tree_size"],
        leaf_hash=leaf,
        proof=[bytes.fromhex(h) for h in proof["inclusion_proof"]],
        root_hash=signed_checkpoint.root_hash,
    )


# -- a home for the other tests -------------------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory holding ``home`` (SQLite) with lynas and its mine registered."""
    directory = tmp_path_factory.mktemp("e2e")
    make_registered_home(directory)
    return directory


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An empty directory that is not a ledger home."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


# -- finding the home ---------------------------------------------------------------------


def test_bloc_home_variable_names_the_home(work: Path, elsewhere: Path) -> None:
    env = base_env(BLOC_HOME=str(work / "home"))
    assert ok("verify", cwd=elsewhere, env=env).startswith("ok: 2 entries, 1 checkpoint,")
    checkpoint = json.loads(ok("log", "checkpoint", "--json", cwd=elsewhere, env=env))
    assert checkpoint["tree_size"] == 2


def test_home_option_wins_over_the_variable(work: Path, elsewhere: Path) -> None:
    env = base_env(BLOC_HOME=str(elsewhere))
    assert ok("--home", work / "home", "verify", cwd=elsewhere, env=env).startswith("ok: ")


def test_current_directory_is_the_last_resort(work: Path) -> None:
    assert ok("verify", cwd=work / "home").startswith("ok: ")


def test_a_subdirectory_of_the_home_finds_it_upward(work: Path) -> None:
    """As git finds its repository: the nearest bloc.toml from the current directory up."""
    deep = work / "home" / "inbox" / "2026"
    deep.mkdir(parents=True, exist_ok=True)
    assert ok("verify", cwd=deep).startswith("ok: 2 entries,")


def test_the_nearest_home_upward_wins_over_one_further_up(tmp_path: Path) -> None:
    """A home made inside another home's directory is the one its subdirectories find."""
    outer = tmp_path / "outer"
    ok("init", outer, cwd=tmp_path)
    (outer / "team").mkdir()
    make_registered_home(outer / "team")  # outer/team/home holds 2 entries
    below_inner = outer / "team" / "home" / "sub"
    below_inner.mkdir()
    assert ok("verify", cwd=below_inner).startswith("ok: 2 entries,")
    below_outer = outer / "sub"
    below_outer.mkdir()
    assert ok("verify", cwd=below_outer).startswith("ok: 0 entries,")


@pytest.mark.parametrize(
    "command",
    [
        ["verify"],
        ["log", "checkpoint"],
        ["log", "prove", "0"],
        ["keys", "generate", "someone"],
        ["submit", "env.json"],
        ["register", "reg.jsonl"],
    ],
    ids=lambda c: "-".join(c),
)
def test_no_home_anywhere_is_a_usage_error(elsewhere: Path, command: list[str]) -> None:
    line = refused(*command, cwd=elsewhere)
    assert line.startswith("bloc: error: no ledger home"), line
    assert not any(elsewhere.iterdir()), "nothing is written when there is no home"


# -- refusals that protect what exists ------------------------------------------------------


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.startswith("ledger.db")
    }


def test_init_refuses_an_existing_home(work: Path) -> None:
    home = work / "home"
    before = snapshot(home)
    line = refused("init", home, cwd=work)
    assert "already holds a ledger home" in line
    assert snapshot(home) == before
    assert ok("--home", home, "verify", cwd=work).startswith("ok: 2 entries")


def test_keys_are_private_and_never_overwritten(work: Path) -> None:
    home = work / "home"
    pem = home / "keys" / "lynas.pem"
    before = pem.read_bytes()
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    line = refused("--home", home, "keys", "generate", "lynas", cwd=work)
    assert line == f"bloc: error: {pem} exists; refusing to overwrite it"
    assert pem.read_bytes() == before
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600


def test_generated_key_is_printed_public_only(work: Path) -> None:
    home = work / "home"
    out = ok("--home", home, "keys", "generate", "printed", cwd=work)
    pem = home / "keys" / "printed.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert "PRIVATE" not in out
    body = "".join(pem.read_text().splitlines()[1:-1])
    assert body not in out


def test_passphrase_encrypted_key_signs_only_with_its_passphrase(work: Path) -> None:
    home = work / "home"
    secret = base_env(BLOC_TEST_PASS="correct horse battery staple")
    public = json.loads(
        ok(
            "--home",
            home,
            "keys",
            "generate",
            "vault",
            "--passphrase-env",
            "BLOC_TEST_PASS",
            "--json",
            cwd=work,
            env=secret,
        )
    )
    pem = home / "keys" / "vault.pem"
    assert pem.read_text().startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    rec = write_json(work / "vault-rec.json", extraction_record(lot="lot:lynas/VAULT-1"))

    out = ok(
        "--home",
        home,
        "sign",
        rec,
        "--key",
        pem,
        "--passphrase-env",
        "BLOC_TEST_PASS",
        cwd=work,
        env=secret,
    )
    envelope = json.loads(out)
    assert [s["keyid"] for s in envelope["signatures"]] == [public["keyid"]]

    wrong = base_env(BLOC_TEST_PASS="wrong")
    line = refused(
        "--home",
        home,
        "sign",
        rec,
        "--key",
        pem,
        "--passphrase-env",
        "BLOC_TEST_PASS",
        cwd=work,
        env=wrong,
    )
    assert line == f"bloc: error: {pem}: wrong passphrase or not a PEM private key"
    line = refused("--home", home, "sign", rec, "--key", pem, cwd=work)
    assert line.startswith(f"bloc: error: {pem} is encrypted: give its passphrase (")
    assert "--passphrase-env VAR" in line
    line = refused(
        "--home", home, "sign", rec, "--key", pem, "--passphrase-env", "BLOC_TEST_UNSET", cwd=work
    )
    assert line == "bloc: error: environment variable BLOC_TEST_UNSET is not set or empty"


def test_signing_for_someone_else_with_a_registered_key_is_refused(work: Path) -> None:
    home = work / "home"
    rec = write_json(
        work / "other-rec.json", extraction_record(signer="org:other", lot="lot:other/X-1")
    )
    pem = home / "keys" / "lynas.pem"
    line = refused(
        "--home", home, "sign", rec, "--key", pem, "-o", work / "other-env.json", cwd=work
    )
    keyid = json.loads((work / "lynas-public.json").read_text())["keyid"]
    assert line == (
        f"bloc: error: {rec}: key {keyid} is registered to org:lynas, but the record's signer "
        "is org:other"
    )
    assert not (work / "other-env.json").exists()
