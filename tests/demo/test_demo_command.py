"""``bloc demo`` end to end (issue 4): the story ledger, its summary, report.html, the
next-steps hint, and evidence bundles from it that verify offline."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from ledger import evidence
from ledger.compliance import verdict_document
from ledger.compliance.policy import load
from ledger.errors import VerificationError
from ledger.records.admission import open_envelope
from ledger.service import verify_bundle
from ledger.service.home import find_home

from helpers import bloc_executable


def run(args: list[str], cwd: Path) -> Any:
    environment = {k: v for k, v in os.environ.items() if k != "BLOC_HOME"}
    return subprocess.run(
        [bloc_executable(), *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    where = tmp_path_factory.mktemp("demo")
    result = run(["demo", "story"], where)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return where / "story", result.stdout


def test_demo_prints_the_summary_failures_and_next_steps(story: tuple[Path, str]) -> None:
    _, out = story
    assert re.search(r"building a ledger of \d{3} signed records", out)
    assert re.search(r"\d+ lots shipped for defense use, judged as of 2027-02-01", out)
    for policy in ("dfars-252.225-7052", "bloc-2026"):
        assert re.search(rf"^  {policy} +\d+ +\d+ +\d+ +\d+ +[1-9]\d*$", out, re.MULTILINE)
        assert f"under {policy}:" in out
    assert re.search(r"^  FAIL +lot:\S+ \(ndfeb_magnet\): non-compliant mass", out, re.MULTILINE)
    assert re.search(r"path: \d+ separation CN → \d+ repack MX", out)
    assert "Try next:" in out
    assert "verify-bundle" in out


def test_demo_report_shows_every_failing_lot_with_its_picture(story: tuple[Path, str]) -> None:
    directory, out = story
    page = (directory / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    failing = set(re.findall(r"^  (?:FAIL|INCONCLUSIVE) +(lot:\S+)", out, re.MULTILINE))
    drawn = set(
        re.findall(r'<section class="bloc-verdict (?:fail|inconclusive)" data-lot="([^"]+)"', page)
    )
    assert failing
    assert failing <= drawn
    svgs = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(svgs) == len(re.findall(r'<section class="bloc-verdict', page))
    for svg in svgs:
        ElementTree.fromstring(svg)  # each picture is well-formed XML
    assert "<script" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.slow
def test_every_defense_lot_of_the_demo_has_a_bundle_that_reproduces_its_verdict(
    story: tuple[Path, str],
) -> None:
    directory, _ = story
    home = find_home(directory, None, directory)
    ledger = home.ledger(writer=False)
    day = date(2027, 2, 1)
    try:
        for name in ("dfars-252.225-7052", "bloc-2026"):
            policy = load(name)
            for live in ledger.check_all(policy=policy, as_of=day, end_use="defense"):
                bundle = ledger.evidence(live.lot, policy=policy, as_of=day)
                report = verify_bundle(evidence.to_bytes(bundle), home.root())
                assert verdict_document(report.verdict) == verdict_document(live), live.lot
    finally:
        ledger.store.dispose()


@pytest.mark.slow
def test_demo_bundles_verify_in_a_directory_with_only_bundle_and_root(
    story: tuple[Path, str], tmp_path: Path
) -> None:
    directory, out = story
    failing = re.search(r"# a failing lot.*\n  bloc --home \S+ trace (\S+)", out)
    assert failing is not None
    lot = failing.group(1)
    made = run(
        [
            *("--home", str(directory), "evidence", lot, "--policy", "dfars-252.225-7052"),
            *("--as-of", "2027-02-01", "-o", str(tmp_path / "lot.bundle.json")),
        ],
        tmp_path,
    )
    assert made.returncode == 0, made.stderr
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / "lot.bundle.json").write_bytes((tmp_path / "lot.bundle.json").read_bytes())
    (offline / "root.json").write_bytes((directory / "root.json").read_bytes())
    result = run(["verify-bundle", "lot.bundle.json", "--root", "root.json"], offline)
    assert result.returncode == 0, result.stderr
    assert f"{lot}: FAIL under dfars-252.225-7052" in result.stdout


def test_a_seller_cannot_hide_the_stolen_key_revocation_of_wha_t2608(
    story: tuple[Path, str],
) -> None:
    """Issue 13's attack: remove the key_revocation entry from the bundle of
    lot:hanbit/WHA-T2608 (INCONCLUSIVE honestly) to make it verify as PASS offline."""
    directory, _ = story
    home = find_home(directory, None, directory)
    ledger = home.ledger(writer=False)
    policy = load("dfars-252.225-7052")
    try:
        bundle = ledger.evidence("lot:hanbit/WHA-T2608", policy=policy, as_of=date(2027, 2, 1))
    finally:
        ledger.store.dispose()
    honest = verify_bundle(evidence.to_bytes(bundle), home.root())
    assert honest.verdict.verdict == "inconclusive"
    kept = tuple(
        e for e in bundle.entries if open_envelope(e.envelope).record.kind != "key_revocation"
    )
    assert len(kept) == len(bundle.entries) - 1
    with pytest.raises(VerificationError, match="registry digest differs"):
        verify_bundle(evidence.to_bytes(replace(bundle, entries=kept)), home.root())


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = run(["demo", "taken"], tmp_path)
    assert result.returncode == 2
    assert result.stderr == "bloc: error: taken is not empty: give a new directory\n"
    assert sorted(p.name for p in (tmp_path / "taken").iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_demo_with_a_size_builds_a_synthetic_ledger(tmp_path: Path) -> None:
    result = run(["demo", "big", "--size", "600", "--seed", "5"], tmp_path)
    assert result.returncode == 0, result.stderr
    count = int(re.search(r"building a ledger of (\d+) signed records", result.stdout).group(1))
    assert 570 <= count <= 630
    assert (tmp_path / "big" / "report.html").exists()
    verified = run(["--home", "big", "verify"], tmp_path)
    assert verified.returncode == 0, verified.stdout


def test_the_readme_picture_is_what_bloc_graph_draws_for_the_demo(
    story: tuple[Path, str], tmp_path: Path
) -> None:
    directory, _ = story
    drawn = tmp_path / "transshipment.svg"
    result = run(
        [
            *("--home", str(directory), "graph", "lot:echizen/MAG-E2602X"),
            *("--policy", "dfars-252.225-7052", "--as-of", "2027-02-01", "-o", str(drawn)),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    committed = Path(__file__).resolve().parents[2] / "docs" / "demo-transshipment.svg"
    assert drawn.read_bytes() == committed.read_bytes(), (
        "docs/demo-transshipment.svg is stale: regenerate it with the command above"
    )
