"""bloc policy list / show, and --policy with a file: validated, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ledger.cli.main import bloc
from ledger.compliance.policy import builtin_names, load


def test_policy_list_names_the_builtins() -> None:
    result = CliRunner().invoke(bloc, ["policy", "list"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        "bloc-2026",
        "dfars-252.225-7052",
    ]
    assert builtin_names() == ["bloc-2026", "dfars-252.225-7052"]


def test_policy_show_prints_the_document() -> None:
    result = CliRunner().invoke(bloc, ["policy", "show", "dfars-252.225-7052"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["name"] == "dfars-252.225-7052"
    assert [w["id"] for w in document["windows"]] == ["A", "B"]


def test_policy_from_a_file(tmp_path: Path) -> None:
    document = load("dfars-252.225-7052").document
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({**document, "name": "my-dfars"}))
    assert load(str(path)).name == "my-dfars"


def test_unknown_policy_name_is_one_line() -> None:
    result = CliRunner().invoke(bloc, ["policy", "show", "dfars-2099"])
    assert result.exit_code == 2
    assert result.stderr == (
        "bloc: error: no policy 'dfars-2099': built-in policies are bloc-2026, dfars-252.225-7052\n"
    )


def test_invalid_policy_file_names_the_problem(tmp_path: Path) -> None:
    document = dict(load("bloc-2026").document)
    document["combination"] = {"mode": "threshold", "max_non_compliant": 0.05}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(bloc, ["policy", "show", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"bloc: error: policy {path}: policy.combination")
    assert result.stderr.count("\n") == 1


def test_policy_naming_an_unknown_stage(tmp_path: Path) -> None:
    document = json.loads(json.dumps(load("dfars-252.225-7052").document))
    document["windows"][0]["materials"]["ndfeb_magnet"]["restricted_stages"].append("teleport")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(bloc, ["policy", "show", str(path)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"bloc: error: policy {path}: windows[0].materials.ndfeb_magnet names stage "
        "'teleport', which is not in the vocabulary\n"
    )
