"""Issue 15, the everyday experience: options with a fixed vocabulary refuse other words,
an audit gate that judged nothing says so, and ``-o`` never overwrites silently.

Each test is named after the mistake a user made when trying the tool.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from ledger.cli.main import bloc
from ledger.records.admission import open_envelope
from ledger.service.home import write_signer

from helpers import World, envelope_bytes, extraction, write_jsonl

DFARS = "dfars-252.225-7052"


def run(world: World, *args: str | Path) -> Result:
    return CliRunner().invoke(bloc, ["--home", str(world.home.path), *map(str, args)])


def one_error_line(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


# -- fixed vocabularies -----------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["defence", "Defense-use", "military"])
def test_a_misspelt_end_use_is_refused_not_judged_as_nothing(world: World, spelling: str) -> None:
    """'--end-use defence' used to judge 0 lots and exit 0: an audit gate passed having
    checked nothing."""
    result = run(world, "check", "--all", "--end-use", spelling, "--policy", DFARS, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"'{spelling}' is not one of 'defense', 'commercial'" in result.stderr


def test_the_end_use_is_matched_whatever_its_case(world: World) -> None:
    lower = run(world, "check", "--all", "--end-use", "defense", "--policy", DFARS)
    upper = run(world, "check", "--all", "--end-use", "DEFENSE", "--policy", DFARS)
    assert (upper.exit_code, upper.stdout) == (lower.exit_code, lower.stdout)


def test_judging_nothing_under_all_warns_on_stderr(world: World) -> None:
    """The clean chain ships only for defense: 0 commercial lots judged is worth a warning,
    also with --json (where stdout stays empty: one verdict per line, and there are none)."""
    for extra in ([], ["--json"]):
        result = run(world, "check", "--all", "--end-use", "commercial", "--policy", DFARS, *extra)
        assert result.exit_code == 0
        assert result.stderr == (
            "bloc: warning: no lots shipped for commercial use: nothing was judged\n"
        )
    text = run(world, "check", "--all", "--end-use", "commercial", "--policy", DFARS).stdout
    assert text.startswith("0 lots shipped for commercial use under ")
    judged = run(world, "check", "--all", "--end-use", "defense", "--policy", DFARS)
    assert judged.stderr == ""
    assert judged.stdout.startswith("1 lot shipped for defense use under ")


@pytest.mark.parametrize("value", ["2027-1-01", "01/02/2027", "2027-02-30", "tomorrow"])
def test_a_date_not_written_yyyy_mm_dd_is_refused_with_the_format(world: World, value: str) -> None:
    result = run(world, "check", "lot:lynas/NDPR-1", "--policy", DFARS, "--as-of", value)
    assert result.exit_code == 2
    assert f"'{value}' is not a date written YYYY-MM-DD (e.g. 2027-02-01)" in result.stderr


def test_help_names_the_date_format_not_a_strftime_pattern() -> None:
    for command in ("check", "evidence", "graph", "findings"):
        helped = CliRunner().invoke(bloc, [command, "--help"]).output
        assert "--as-of YYYY-MM-DD" in helped, command
        assert "%Y" not in helped, command


# -- outputs ----------------------------------------------------------------------------------


@pytest.fixture
def record_and_key(world: World, tmp_path: Path) -> tuple[Path, Path]:
    record = tmp_path / "rec.json"
    record.write_text(
        json.dumps(extraction("lynas", "lynas-mt-weld", [("lot:lynas/Z", "rare_earth_ore", 1)]))
    )
    key = tmp_path / "lynas.pem"
    write_signer(key, world.lynas)
    return record, key


def test_sign_into_a_file_says_what_it_wrote(
    world: World, record_and_key: tuple[Path, Path], tmp_path: Path
) -> None:
    """'sign -o' used to print nothing on success."""
    record, key = record_and_key
    out = tmp_path / "env.jsonl"
    result = run(world, "sign", record, "--key", key, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"wrote {out}: 1 envelope signed with key {world.lynas.keyid} (org:lynas)\n"
    )
    assert json.loads(out.read_bytes())["payloadType"] == "application/vnd.bloc.record+json"


def test_sign_refuses_to_overwrite_a_file_without_force(
    world: World, record_and_key: tuple[Path, Path], tmp_path: Path
) -> None:
    record, key = record_and_key
    out = tmp_path / "precious.jsonl"
    out.write_bytes(b"an envelope signed yesterday\n")
    line = one_error_line(run(world, "sign", record, "--key", key, "-o", out))
    assert line == f"bloc: error: {out} exists: give --force to replace it, or another -o file\n"
    assert out.read_bytes() == b"an envelope signed yesterday\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".precious")]
    forced = run(world, "sign", record, "--key", key, "-o", out, "--force")
    assert forced.exit_code == 0, forced.output
    assert json.loads(out.read_bytes())["signatures"][0]["keyid"] == world.lynas.keyid


@pytest.mark.parametrize(
    "command",
    [
        ["evidence", "lot:lynas/NDPR-1", "--policy", DFARS, "--as-of", "2027-02-01"],
        ["graph", "lot:lynas/NDPR-1"],
    ],
    ids=["evidence", "graph"],
)
def test_outputs_are_never_overwritten_silently(
    world: World, tmp_path: Path, command: list[str]
) -> None:
    out = tmp_path / ("out.json" if command[0] == "evidence" else "out.svg")
    out.write_bytes(b"kept")
    one_error_line(run(world, *command, "-o", out))
    assert out.read_bytes() == b"kept"
    assert run(world, *command, "-o", out, "--force").exit_code in (0, 1)
    assert out.read_bytes() != b"kept"


def test_a_symlink_in_the_way_is_an_existing_output(world: World, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.svg"
    target.write_bytes(b"kept")
    link = tmp_path / "out.svg"
    link.symlink_to(target)
    one_error_line(run(world, "graph", "lot:lynas/NDPR-1", "-o", link))
    assert target.read_bytes() == b"kept"


# -- submit --------------------------------------------------------------------------------


def test_submitting_an_unsigned_record_says_to_sign_it_first(world: World, tmp_path: Path) -> None:
    """'envelope: envelope: missing required field payloadType' told the user nothing."""
    record = tmp_path / "rec.json"
    record.write_text(
        json.dumps(extraction("lynas", "lynas-mt-weld", [("lot:lynas/Z", "rare_earth_ore", 1)]))
    )
    before = world.state()
    result = run(world, "submit", record)
    assert result.exit_code == 5
    assert result.stdout == (
        f"{record}: rejected: envelope: this is an unsigned 'extraction' record, not a DSSE "
        "envelope: sign it first with 'bloc sign FILE --key KEY.pem' (registry records: "
        "'bloc register')\n"
    )
    assert world.state() == before


def test_submit_json_says_what_became_of_each_record_and_where_it_came_from(
    world: World, tmp_path: Path
) -> None:
    """One object per record, the shape the server answers: status, log index, leaf hash,
    source (file:line) and, for a rejection, the reason."""
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/J-1", "rare_earth_ore", 1)]), world.lynas
    )
    path = write_jsonl(tmp_path / "batch.jsonl", [good, b"[1, 2]", good])
    result = run(world, "submit", path, "--json")
    assert result.exit_code == 5
    first, bad, again = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["status"], bad["status"], again["status"]) == (
        "accepted",
        "rejected",
        "duplicate",
    )
    assert [d["source"] for d in (first, bad, again)] == [f"{path}:{n}" for n in (1, 2, 3)]
    assert first["log_index"] == again["log_index"]
    assert first["leaf_hash"] == again["leaf_hash"] == open_envelope(good).leaf_hash.hex()
    assert bad["reason"] == (
        "envelope is a JSON array: write one envelope per line (JSON Lines) instead"
    )
    assert "log_index" not in bad


def test_a_pretty_printed_record_with_a_trailing_comma_is_reported_where_it_is(
    world: World, tmp_path: Path
) -> None:
    """It used to be split into lines and reported at 'pretty-bad.json:1 ... line 1 column 2'."""
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/Z", "rare_earth_ore", 1)])
    pretty = json.dumps(record, indent=2)
    broken = pretty[: pretty.rindex("\n}")] + ",\n}"  # a trailing comma before the last brace
    path = tmp_path / "pretty-bad.json"
    path.write_text(broken)
    last = broken.count("\n") + 1
    key = tmp_path / "lynas.pem"
    write_signer(key, world.lynas)
    line = one_error_line(run(world, "sign", path, "--key", key))
    assert line.startswith(f"bloc: error: {path}: record is not valid JSON: ")
    # Where the decoder stops: the comma (newer Pythons) or the brace after it.
    reported = re.search(r" at line (\d+) column \d+$", line.rstrip("\n"))
    assert reported is not None, line
    assert int(reported.group(1)) in (last - 1, last), line


def test_json_lines_with_one_corrupt_line_still_reads_the_others(
    world: World, tmp_path: Path
) -> None:
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/J-2", "rare_earth_ore", 1)]), world.lynas
    )
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b'{"payloadType": \n' + good + b"\n")
    result = run(world, "submit", path, "--json")
    assert [json.loads(line)["status"] for line in result.stdout.splitlines()] == [
        "rejected",
        "accepted",
    ]


def test_a_lot_id_without_its_prefix_is_told_the_form_of_lot_ids(world: World) -> None:
    line = one_error_line(run(world, "trace", "NDPR-1"))
    assert line == (
        "bloc: error: lot NDPR-1 does not exist: lot ids begin with 'lot:' and their owner, "
        "as in lot:OWNER/NDPR-1 ('bloc lots' lists them)\n"
    )
    # A lot id of the right form that the ledger does not hold needs no lecture:
    assert one_error_line(run(world, "trace", "lot:lynas/NOPE")) == (
        "bloc: error: lot lot:lynas/NOPE does not exist\n"
    )


# -- commands a user reaches for ----------------------------------------------------------------


def test_lots_lists_every_lot_with_its_holder_and_the_index_that_made_it(world: World) -> None:
    result = run(world, "lots")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "lot:lynas/NDPR-1  ndpr_oxide  5,199.8 of 5,200.5 kg  at fac:shinetsu-takefu  "
        "(log index 8, 2026-03-02)",
        "lot:lynas/ORE-1  rare_earth_concentrate  0 of 25,000 kg  at fac:lynas-mt-weld  "
        "(log index 7, 2026-01-30)",
        "2 lots",
    ]
    assert result.stderr == ""


def test_lots_filters_and_json(world: World) -> None:
    as_json = [json.loads(line) for line in run(world, "lots", "--json").stdout.splitlines()]
    assert [d["id"] for d in as_json] == ["lot:lynas/NDPR-1", "lot:lynas/ORE-1"]
    assert as_json[0] == {
        "id": "lot:lynas/NDPR-1",
        "material": "ndpr_oxide",
        "mass_g": 5_200_500,
        "remaining_g": 5_199_800,
        "facility": "fac:lynas-kuantan",
        "holder": "fac:shinetsu-takefu",
        "in_transit": None,
        "created_index": 8,
        "created_on": "2026-03-02",
    }
    ids = {
        args: [
            json.loads(line)["id"]
            for line in run(world, "lots", "--json", *args).stdout.splitlines()
        ]
        for args in (
            ("--material", "ndpr_oxide"),
            ("--holder", "fac:lynas-mt-weld"),
            ("--owner", "org:lynas"),
            ("--owner", "lyn"),  # a prefix of an owner is not that owner
            ("--in-transit",),
            ("--limit", "1"),
        )
    }
    assert ids == {
        ("--material", "ndpr_oxide"): ["lot:lynas/NDPR-1"],
        ("--holder", "fac:lynas-mt-weld"): ["lot:lynas/ORE-1"],
        ("--owner", "org:lynas"): ["lot:lynas/NDPR-1", "lot:lynas/ORE-1"],
        ("--owner", "lyn"): [],
        ("--in-transit",): [],
        ("--limit", "1"): ["lot:lynas/NDPR-1"],
    }


def test_participants_and_facilities_list_the_registry_with_filters(world: World) -> None:
    people = run(world, "participants")
    assert people.exit_code == 0
    assert [line.split()[0] for line in people.stdout.splitlines()] == [
        "org:lynas",
        "org:mallory",
        "org:shinetsu",
        "3",
    ]
    (jp,) = [
        json.loads(x)
        for x in run(world, "participants", "--country", "jp", "--json").stdout.splitlines()
    ]
    assert (jp["id"], jp["country"], jp["keys"]) == ("org:shinetsu", "JP", 1)
    places = run(world, "facilities", "--stage", "separation", "--json")
    assert [json.loads(x)["id"] for x in places.stdout.splitlines()] == [
        "fac:lynas-kuantan",
        "fac:mallory-works",
    ]
    mine = run(world, "facilities", "--operator", "org:lynas")
    assert mine.stdout.splitlines()[-1] == "2 facilities"
    assert [line.split()[0] for line in mine.stdout.splitlines()[:-1]] == [
        "fac:lynas-kuantan",
        "fac:lynas-mt-weld",
    ]
    assert run(world, "facilities", "--country", "FR").stdout == "0 facilities\n"


def test_log_show_decodes_the_record_at_an_index(world: World) -> None:
    result = run(world, "log", "show", "7", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["log_index"] == 7
    assert shown["kind"] == "extraction"
    assert shown["record"]["lots"][0]["id"] == "lot:lynas/ORE-1"
    assert shown["signatures"] == [{"keyid": world.lynas.keyid, "owner": "org:lynas"}]
    assert shown["leaf_hash"] == world.log[7].leaf_hash.hex()
    text = run(world, "log", "show", "0").stdout
    assert text.startswith("log index 0: participant ")
    assert "(the registrar (root.json))" in text


def test_log_show_beyond_the_log_is_one_line(world: World) -> None:
    line = one_error_line(run(world, "log", "show", "999"))
    assert line == "bloc: error: log index 999 is beyond the log (tree size 11)\n"


def test_keys_list_and_show_give_a_public_key_back(world: World) -> None:
    assert run(world, "keys", "generate", "lynas-2").exit_code == 0
    listed = run(world, "keys", "list").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["log", "lynas-2", "registrar"]
    assert listed[1].endswith("not registered")
    assert listed[2].endswith("the registrar (root.json)")
    assert listed[0].endswith("the log (root.json)")
    shown = json.loads(run(world, "keys", "show", "registrar", "--json").stdout)
    assert shown["keyid"] == world.registrar.keyid
    assert shown["public_key"] == world.registrar.public_key.to_base64()
    assert shown["encrypted"] is False
    missing = one_error_line(run(world, "keys", "show", "nobody"))
    assert missing.startswith("bloc: error: no key 'nobody' in ")


def test_keys_list_marks_an_encrypted_key_and_show_needs_its_passphrase(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET", "correct horse")
    assert run(world, "keys", "generate", "vault", "--passphrase-env", "SECRET").exit_code == 0
    listed = run(world, "keys", "list").stdout.splitlines()
    assert "vault            (encrypted)" in listed
    refused = one_error_line(run(world, "keys", "show", "vault"))
    assert "--passphrase-env" in refused
    shown = run(world, "keys", "show", "vault", "--passphrase-env", "SECRET", "--json")
    assert json.loads(shown.stdout)["encrypted"] is True


# -- bloc report --------------------------------------------------------------------------------


def test_report_writes_the_audit_page_for_any_ledger(world: World, tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    result = run(world, "report", "--as-of", "2027-02-01", "--end-use", "defense", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out}: 1 lot (dfars-252.225-7052: ")
    page = out.read_text()
    assert "<h2>Every judged lot</h2>" in page
    assert "lot:lynas/NDPR-1" in page
    assert "dfars-252.225-7052" in page
    assert "bloc-2026" in page
    assert "Integrity findings" in page


def test_report_json_summarises_what_the_page_shows(world: World, tmp_path: Path) -> None:
    out = tmp_path / "audit.html"
    result = run(world, "report", "--policy", DFARS, "--as-of", "2027-02-01", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["output"] == str(out)
    assert list(summary["policies"]) == [DFARS]
    assert summary["lots"] == 2
    assert sum(summary["policies"][DFARS].values()) == 2
    assert summary["findings"] == 1  # the separation of a lot held elsewhere (not-holder)


def test_report_refuses_to_overwrite_and_names_its_default_file(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.html").write_text("last quarter's audit")
    line = one_error_line(run(world, "report"))
    assert line.startswith("bloc: error: report.html exists: give --force")
    assert (tmp_path / "report.html").read_text() == "last quarter's audit"


# -- --json everywhere --------------------------------------------------------------------------

SERVERS = {"serve", "witness serve"}
"""Commands that run until stopped and print a 'listening on' line, not a result."""


def leaf_commands() -> list[tuple[str, click.Command]]:
    context = click.Context(bloc)
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, [*path, name])
        else:
            found.append((" ".join(path), command))

    walk(bloc, [])
    return found


def test_every_command_that_prints_a_result_takes_json() -> None:
    """The README promises --json: 'trace', 'evidence', 'graph', 'policy show', 'sign' and
    'demo' had none."""
    without = {
        name
        for name, command in leaf_commands()
        if not any("--json" in p.opts for p in command.params)
    }
    assert without == SERVERS


@pytest.mark.parametrize(
    "args",
    [
        ["trace", "lot:lynas/NDPR-1", "--json"],
        ["policy", "show", DFARS, "--json"],
        [
            "graph",
            "lot:lynas/NDPR-1",
            "--policy",
            DFARS,
            "--as-of",
            "2027-02-01",
            "-o",
            "{out}.svg",
            "--json",
        ],
        [
            "evidence",
            "lot:lynas/NDPR-1",
            "--policy",
            DFARS,
            "--as-of",
            "2027-02-01",
            "-o",
            "{out}.json",
            "--json",
        ],
        ["reindex", "--json"],
        ["keys", "list", "--json"],
        ["log", "publish", "--json"],
    ],
    ids=lambda a: "-".join(x for x in a[:2] if not x.startswith("lot:")),
)
def test_json_output_is_one_document_per_line(
    world: World, tmp_path: Path, args: list[str]
) -> None:
    result = run(world, *[a.format(out=tmp_path / "out") for a in args])
    assert result.exit_code in (0, 1), result.output
    lines = result.stdout.splitlines()
    assert lines, "prints something"
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_trace_json_is_format_json_and_refuses_another_format(world: World) -> None:
    as_json = run(world, "trace", "lot:lynas/NDPR-1", "--json")
    as_format = run(world, "trace", "lot:lynas/NDPR-1", "--format", "json")
    assert as_json.stdout == as_format.stdout
    both = run(world, "trace", "lot:lynas/NDPR-1", "--json", "--format", "dot")
    assert both.exit_code == 2
    assert "--json and --format dot ask for different outputs" in both.stderr


def test_sign_json_says_what_it_wrote(
    world: World, record_and_key: tuple[Path, Path], tmp_path: Path
) -> None:
    record, key = record_and_key
    out = tmp_path / "env.jsonl"
    result = run(world, "sign", record, "--key", key, "-o", out, "--json")
    assert json.loads(result.stdout) == {
        "output": str(out),
        "envelopes": 1,
        "keyid": world.lynas.keyid,
        "owner": "org:lynas",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["lots", "--material", "ndpr_oxid"],
            "'ndpr_oxid' is not a material in the vocabulary (did you mean 'ndpr_oxide'?)",
        ),
        (
            ["facilities", "--stage", "seperation"],
            "'seperation' is not a stage in the vocabulary (did you mean 'separation'?)",
        ),
    ],
    ids=["material", "stage"],
)
def test_a_misspelt_filter_is_refused_not_answered_with_nothing(
    world: World, args: list[str], message: str
) -> None:
    result = run(world, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_filters_of_the_vocabulary_ignore_case(world: World) -> None:
    assert run(world, "lots", "--material", "NdPr_Oxide").stdout.startswith("lot:lynas/NDPR-1")
    assert run(world, "facilities", "--stage", "SEPARATION").stdout.startswith("fac:lynas-kuantan")


def test_force_replaces_a_symlink_rather_than_writing_through_it(
    world: World, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere.svg"
    target.write_bytes(b"kept")
    link = tmp_path / "out.svg"
    link.symlink_to(target)
    assert run(world, "graph", "lot:lynas/NDPR-1", "-o", link, "--force").exit_code == 0
    assert target.read_bytes() == b"kept"
    assert not link.is_symlink()
    assert link.read_bytes().startswith(b"<svg")


def test_report_refuses_two_policies_of_one_name_before_judging(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "audit.html"
    line = one_error_line(run(world, "report", "--policy", DFARS, "--policy", DFARS, "-o", out))
    assert "a policy named dfars-252.225-7052 is given twice" in line
    assert not out.exists()


def test_keys_list_shows_a_bad_key_file_and_still_lists_the_others(world: World) -> None:
    bad = world.home.path / "keys" / "leaky.pem"
    bad.write_bytes((world.home.path / "keys" / "registrar.pem").read_bytes())
    bad.chmod(0o644)
    listed = run(world, "keys", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["leaky", "log", "registrar"]
    assert "open to other users" in lines[0]
    assert "chmod 600" in lines[0]


def test_a_home_above_that_anybody_may_change_is_not_used(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As git refuses a repository another user owns: a bloc.toml found upward that anybody
    could have written may point at any database, so it is refused, and named."""
    below = world.home.path / "inbox"
    below.mkdir()
    monkeypatch.chdir(below)
    monkeypatch.delenv("BLOC_HOME", raising=False)
    assert CliRunner().invoke(bloc, ["lots"]).exit_code == 0  # found upward, and it is ours
    config = world.home.path / "bloc.toml"
    config.chmod(0o666)
    line = one_error_line(CliRunner().invoke(bloc, ["lots"]))
    assert line.startswith(f"bloc: error: {config} was found looking upward but is not yours")
    assert "--home" in line


def test_the_report_draws_each_lot_with_its_worst_verdict_fails_first() -> None:
    """Under two policies a lot inconclusive under the first and failed under the second is
    drawn failed, and every failed lot comes before any inconclusive one."""
    from datetime import date

    from ledger.cli.report import worst
    from ledger.compliance import Verdict
    from ledger.render import PolicyRun

    def verdict(lot: str, outcome: str, policy: str) -> Verdict:
        return Verdict(
            lot=lot,
            material="ndfeb_magnet",
            policy=policy,
            as_of=date(2027, 2, 1),
            verdict=outcome,
            compliant=0.0,
            non_compliant=0.0,
            unknown=0.0,
            window=None,
            rule=None,
            paragraph=None,
            citation=None,
        )

    def run_of(policy: str, *outcomes: str) -> PolicyRun:
        verdicts = [verdict(f"lot:x/{n}", o, policy) for n, o in enumerate(outcomes, 1)]
        return PolicyRun(policy=policy, as_of=date(2027, 2, 1), verdicts=verdicts)

    first = run_of("a", "inconclusive", "pass", "inconclusive")
    second = run_of("b", "fail", "fail", "inconclusive")
    drawn = [(v.lot, v.verdict.value, v.policy) for v in worst([first, second])]
    assert drawn == [
        ("lot:x/1", "fail", "b"),
        ("lot:x/2", "fail", "b"),
        ("lot:x/3", "inconclusive", "a"),
    ]
