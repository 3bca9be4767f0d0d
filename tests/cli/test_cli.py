"""The command line through click's CliRunner: output shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click
import pytest
from click.testing import CliRunner, Result

from ledger.cli.main import bloc
from ledger.errors import InputError, StorageError, VerificationError
from ledger.records.admission import open_envelope
from ledger.service import Ledger

from helpers import World, envelope_bytes, extraction, write_jsonl


def run(world: World, *args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(bloc, ["--home", str(world.home.path), *args], input=stdin)


def test_submit_reads_standard_input(world: World) -> None:
    env = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-7", "rare_earth_ore", 7)]),
        world.lynas,
    )
    result = run(world, "submit", "-", "--json", stdin=env)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer == {
        "source": "<stdin>",
        "status": "accepted",
        "log_index": 11,
        "leaf_hash": answer["leaf_hash"],
        "record_id": answer["record_id"],
        "kind": "extraction",
    }
    assert bytes.fromhex(answer["leaf_hash"]) == open_envelope(env).leaf_hash


def test_submit_mixed_batch_prints_one_line_each_and_exits_5(world: World, tmp_path: Path) -> None:
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-7", "rare_earth_ore", 7)]),
        world.lynas,
    )
    path = write_jsonl(tmp_path / "batch.jsonl", [good, b'{"payloadType": 1}', good])
    result = run(world, "submit", str(path), "--json")
    assert result.exit_code == 5
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["source"], d["status"], d.get("log_index")) for d in lines] == [
        (f"{path}:1", "accepted", 11),
        (f"{path}:2", "rejected", None),
        (f"{path}:3", "duplicate", 11),
    ]
    # Every problem of the envelope at once, not one per attempt:
    assert lines[1]["reason"] == (
        "envelope: missing required fields 'payload', 'signatures'; also envelope.payloadType "
        '1 is not one of "application/vnd.bloc.record+json"'
    )
    assert lines[0]["record_id"] == lines[2]["record_id"]
    assert lines[0]["leaf_hash"] == lines[2]["leaf_hash"]
    assert "1 of 3 envelopes rejected" in result.stderr


def test_pretty_printed_envelope_is_one_document(world: World, tmp_path: Path) -> None:
    env = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-8", "rare_earth_ore", 8)]),
        world.lynas,
    )
    path = tmp_path / "env.json"
    path.write_text(json.dumps(json.loads(env), indent=2))
    result = run(world, "submit", str(path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{path}: accepted at log index 11 (extraction ")


def test_log_commands_json_shapes(world: World) -> None:
    checkpoint = json.loads(run(world, "log", "checkpoint", "--json").output)
    assert set(checkpoint) == {"origin", "tree_size", "root_hash", "cosigned_by", "note"}
    assert checkpoint["cosigned_by"] == []  # this ledger names no witnesses
    assert checkpoint["tree_size"] == 11
    proof = json.loads(run(world, "log", "prove", "4", "--json").output)
    assert proof["root_hash"] == checkpoint["root_hash"]
    assert proof["checkpoint"] == checkpoint["note"]
    older = json.loads(run(world, "log", "prove", "4", "--size", "7", "--json").output)
    assert older["tree_size"] == 7
    assert older["root_hash"] != checkpoint["root_hash"]
    consistency = json.loads(run(world, "log", "consistency", "7", "11", "--json").output)
    assert consistency["old_root"] == older["root_hash"]
    assert consistency["new_root"] == checkpoint["root_hash"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["log", "prove", "11"], "bloc: error: log index 11 is not in a tree of size 11\n"),
        (
            ["log", "prove", "0", "--size", "12"],
            "bloc: error: tree size 12 is not between 1 and 11\n",
        ),
        (
            ["log", "consistency", "9", "7"],
            "bloc: error: sizes must satisfy 0 <= old (9) <= new (7) <= tree size (11)\n",
        ),
    ],
    ids=["index-beyond-tree", "size-beyond-tree", "old-larger-than-new"],
)
def test_log_command_bad_arguments_exit_2(world: World, args: list[str], message: str) -> None:
    result = run(world, *args)
    assert result.exit_code == 2
    assert result.stderr == message


def test_missing_file_is_one_line_exit_2(world: World, tmp_path: Path) -> None:
    result = run(world, "submit", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"bloc: error: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory\n"
    )


def test_storage_failure_is_one_line_and_debug_shows_traceback(world: World) -> None:
    config = world.home.path / "bloc.toml"
    config.write_text(
        'db = "postgresql+psycopg://nobody@127.0.0.1:1/none"\norigin = "test.bloc/ledger"\n'
    )
    result = run(world, "verify")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "bloc: error: cannot open database postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    debug = CliRunner().invoke(bloc, ["--home", str(world.home.path), "--debug", "verify"])
    assert "Traceback" in debug.stderr


def test_unknown_setting_in_config_is_refused(world: World) -> None:
    config = world.home.path / "bloc.toml"
    config.write_text(config.read_text() + 'colour = "red"\n')
    result = run(world, "verify")
    assert result.exit_code == 2
    assert result.stderr == f"bloc: error: {config}: unknown setting 'colour'\n"


def test_register_refuses_event_records(world: World, tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(
        json.dumps(
            extraction("lynas", "lynas-mt-weld", [("lot:lynas/X", "rare_earth_ore", 1)])
        ).encode()
    )
    before = world.state()
    result = run(world, "register", str(path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"bloc: error: {path}: extraction records are not registrations; sign and submit them instead\n"
    )
    assert world.state() == before


def test_no_progress_bar_when_piped(world: World, tmp_path: Path) -> None:
    envelopes = [
        envelope_bytes(
            extraction("lynas", "lynas-mt-weld", [(f"lot:lynas/P-{i}", "rare_earth_ore", 1)]),
            world.lynas,
        )
        for i in range(120)
    ]
    result = run(world, "submit", str(write_jsonl(tmp_path / "many.jsonl", envelopes)), "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 120


def test_corrupt_first_line_does_not_hide_the_rest(world: World, tmp_path: Path) -> None:
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-7", "rare_earth_ore", 7)]),
        world.lynas,
    )
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b'{"payloadType": \n' + good + b"\n")
    result = run(world, "submit", str(path), "--json")
    assert result.exit_code == 5
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["source"] == f"{path}:1"
    assert lines[0]["reason"].startswith("envelope is not valid JSON")
    assert (lines[1]["source"], lines[1]["status"], lines[1]["log_index"]) == (
        f"{path}:2",
        "accepted",
        11,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["keys", "generate", "nl\n"],
            "bloc: error: key name 'nl\\n' must be letters, digits, '.', '_' or '-' (at most 64)\n",
        ),
        (["sign", "{missing}", "--key", "{key}", "-o", "/nonexistent-dir/out.json"], None),
    ],
    ids=["key-name-with-newline", "sign-into-missing-directory"],
)
def test_environment_mistakes_are_one_line(
    world: World, tmp_path: Path, args: list[str], message: str | None
) -> None:
    record = tmp_path / "rec.json"
    record.write_text(
        json.dumps(extraction("lynas", "lynas-mt-weld", [("lot:lynas/Z", "rare_earth_ore", 1)]))
    )
    key = world.home.path / "keys" / "registrar.pem"
    args = [a.format(missing=record, key=key) for a in args]
    result = run(world, *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "internal error" not in result.stderr
    if message is not None:
        assert result.stderr == message
    else:
        assert result.stderr.startswith("bloc: error: cannot write /nonexistent-dir/out.json: ")


def test_init_inside_a_file_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = CliRunner().invoke(bloc, ["init", str(afile / "home")])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"bloc: error: cannot create a ledger home in {afile / 'home'}: "
    )
    assert afile.read_text() == "x"


BUG_LINE = "please report; --debug shows the traceback"


def failing_with(error: Exception) -> Callable[..., NoReturn]:
    """A stand-in for a library call that raises ``error`` (a bug, or an expected error)."""

    def fail(*_args: object, **_kwargs: object) -> NoReturn:
        raise error

    return fail


def test_a_bug_inside_a_command_exits_70_with_one_line_and_no_traceback(
    empty_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Ledger, "verify", failing_with(RuntimeError("boom\n  second line")))
    result = run(empty_world, "verify")
    assert result.exit_code == 70
    assert result.stderr == f"bloc: internal error: RuntimeError: boom ({BUG_LINE})\n"
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_bug_under_debug_shows_the_traceback_and_still_exits_70(
    empty_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Ledger, "verify", failing_with(RuntimeError("boom")))
    result = CliRunner().invoke(bloc, ["--home", str(empty_world.home.path), "--debug", "verify"])
    assert result.exit_code == 70
    assert result.stderr.startswith("Traceback")
    assert result.stderr.endswith(f"bloc: internal error: RuntimeError: boom ({BUG_LINE})\n")


def test_a_bug_without_a_message_is_named_by_its_type(
    empty_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Ledger, "verify", failing_with(KeyError()))
    result = run(empty_world, "verify")
    assert result.exit_code == 70
    assert result.stderr == f"bloc: internal error: KeyError ({BUG_LINE})\n"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InputError("lot lot:x/1 does not exist"), 2),
        (StorageError("cannot open database"), 2),
        (VerificationError("log index 3: signature does not verify"), 3),
    ],
    ids=["bad-input", "storage-failure", "verification-failure"],
)
def test_expected_errors_from_the_same_place_are_not_reported_as_bugs(
    empty_world: World, monkeypatch: pytest.MonkeyPatch, error: Exception, code: int
) -> None:
    monkeypatch.setattr(Ledger, "verify", failing_with(error))
    result = run(empty_world, "verify")
    assert result.exit_code == code
    assert result.stderr == f"bloc: error: {error}\n"


# -- start-up (issue 14): what each command imports, never how long it takes ---------------


def test_the_help_summaries_are_the_commands_own() -> None:
    from ledger.cli.main import COMMANDS, BlocGroup

    group = BlocGroup()
    ctx = click.Context(group)
    for name, (_, _, summary) in COMMANDS.items():
        command = group.get_command(ctx, name)
        assert command is not None, name
        assert command.get_short_help_str(limit=400) == summary, name


HEAVY = {"sqlalchemy", "sqlmodel", "fastapi", "uvicorn", "httpx", "networkx", "jsonschema"}


def imported_by(*args: str, cwd: Path) -> set[str]:
    """The top-level modules (and ledger's packages) a ``bloc`` process imports, run from
    ``cwd`` (never a checkout, whose ``ledger/`` would shadow the installed package)."""
    script = (
        "import sys\nfrom ledger.cli.main import main\nsys.argv = ['bloc', *sys.argv[1:]]\nmain()"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            names.add(module if module.startswith("ledger.") else module.split(".")[0])
    return names


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_import_no_library_machinery(args: list[str], tmp_path: Path) -> None:
    imported = imported_by(*args, cwd=tmp_path)
    assert "click" in imported
    assert not imported & HEAVY
    assert not {m for m in imported if m.startswith(("ledger.service", "ledger.store"))}


def test_a_local_check_does_not_import_the_http_stack(world: World, tmp_path: Path) -> None:
    imported = imported_by(
        "--home", str(world.home.path), "check", "lot:lynas/NDPR-1", "--policy",
        "dfars-252.225-7052", "--as-of", "2026-06-01", cwd=tmp_path,
    )  # fmt: skip
    assert "ledger.compliance" in imported  # the command did run
    assert not imported & {"fastapi", "uvicorn", "httpx", "starlette"}
    # The reference validator only explains rejections; valid input never loads it.
    assert "jsonschema_rs" in imported
    assert "jsonschema" not in imported
