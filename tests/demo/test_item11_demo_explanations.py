"""Issue 11 item 11 in ``bloc demo`` (ADR 0024): the Narva magnet plant sits in Estonia, a
bloc member, and is 30% held by a Chinese state group; bloc-2026(2) (the foreign-entity-of-
concern test, 42 U.S.C. 18741(a)(5)) makes that stake the cause. The summary and
report.html must name control as the cause, and a Chinese separation as a covered country."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from helpers import bloc_executable

NARVA_WHY = (
    "its operator, org:narva, was held 30% by covered governments on 2025-04-22 "
    "(China Rare Earth Holdings (state-owned), the government of CN, 30%): bloc-2026(2) "
    "counts 25% or more as control, wherever the facility is"
)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    where = tmp_path_factory.mktemp("demo-why")
    environment = {k: v for k, v in os.environ.items() if k != "BLOC_HOME"}
    result = subprocess.run(
        [bloc_executable(), "demo", "story"],
        cwd=where,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return where / "story", result.stdout


def test_demo_summary_names_control_as_the_cause_of_the_narva_failure(
    story: tuple[Path, str],
) -> None:
    _, out = story
    narva = re.search(
        r"^  FAIL +lot:narva/MAG-N2504-A \(ndfeb_magnet\): .*\n +path: 123 sintering EE\n"
        r" +why: (.*)$",
        out,
        re.MULTILINE,
    )
    assert narva is not None, out
    assert narva.group(1) == NARVA_WHY


def test_demo_summary_names_the_covered_country_of_the_relabelled_oxide(
    story: tuple[Path, str],
) -> None:
    """DFARS window B, 252.225-7052(b)(3); membership tested on the delivery date."""
    _, out = story
    relabelled = re.search(
        r"^  FAIL +lot:echizen/MAG-E2602X .*\n +path: 201 separation CN .*\n +why: (.*)$",
        out,
        re.MULTILINE,
    )
    assert relabelled is not None, out
    assert relabelled.group(1) == (
        "CN is a covered country: it is in the policy's 'covered' set on 2027-02-01, "
        "the delivery date"
    )


def test_demo_report_names_control_as_the_cause(story: tuple[Path, str]) -> None:
    directory, _ = story
    page = (directory / "report.html").read_text()
    section = re.search(
        r'<section class="bloc-verdict fail" data-lot="lot:narva/MAG-N2504-A">(.*?)</section>',
        page,
        re.DOTALL,
    )
    assert section is not None
    assert (
        f'<div class="bloc-why">log 123, sintering at fac:narva-plant (EE) — why: {NARVA_WHY}</div>'
    ) in section.group(1)
