"""Issue 11: ``bloc demo`` keeps its story and adds one failure that shows under today's
window: magnets sintered in China, repacked under a new lot id by the Mexican trader and
delivered for defense with a Mexican certificate of origin.

Expected from the clause: sintering is one of the "subsequent phases of production" of an
NdFeB magnet that window A already restricts (252.225-7052(b)(2)(i)(A), through
2026-12-31), and a repack confers no origin, so the relabelled lot fails today (2026-12-06)
and in window B; bloc-2026 fails it too (China is outside the bloc).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger import demo
from ledger.cli.main import bloc
from ledger.compliance.policy import load
from ledger.service import Ledger
from ledger.service.home import REGISTRAR_KEY, Home

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
DFARS = load("dfars-252.225-7052")
BLOC = load("bloc-2026")
TODAY = date(2026, 12, 6)
RELABELLED = "lot:pacifico/PAC-MAG-2610"
STORY_BEFORE = 320
"""How many records the story had before this chapter: they keep their log indexes."""


@pytest.fixture
def story_ledger(home: Home) -> Iterator[Ledger]:
    ledger = home.ledger()
    try:
        plan = demo.story()
        results = ledger.submit(
            list(demo.envelopes(plan, home.signer(REGISTRAR_KEY))), now=NOW, atomic=True
        )
        assert all(r.accepted for r in results), next(r.error for r in results if not r.accepted)
        yield ledger
    finally:
        ledger.store.dispose()


def test_chinese_sintered_magnets_relabelled_in_mexico_fail_today(story_ledger: Ledger) -> None:
    verdict = story_ledger.check(RELABELLED, policy=DFARS, as_of=TODAY)
    assert verdict.verdict == "fail"
    assert verdict.window == "A"
    assert verdict.paragraph == "252.225-7052(b)(2)(i)(A)"
    assert verdict.non_compliant == 1.0
    steps = verdict.paths[0].steps
    # The powder's declared Chinese origin offends too (item 5), so the path starts there.
    assert [(s.stage, s.country) for s in steps] == [
        ("untraced", "CN"),
        ("sintering", "CN"),
        ("repack", "MX"),
    ]
    # Appended after every other event: the earlier story keeps its log indexes.
    assert steps[0].log_index >= STORY_BEFORE
    assert {n.id for n in verdict.exceptions} == {
        "nonavailability-or-waiver",
        "use-outside-us",
        "below-sat",
    }
    for policy in (DFARS, BLOC):
        assert story_ledger.check(RELABELLED, policy=policy, as_of=date(2027, 2, 1)).verdict == (
            "fail"
        )


def test_story_before_the_new_chapter_is_unchanged() -> None:
    plan = demo.story()
    assert len(plan.items) == STORY_BEFORE + 6
    new = [item.record for item in plan.items[STORY_BEFORE:]]
    assert [r["kind"] for r in new] == [
        "transformation",
        "shipment",
        "receipt",
        "transformation",
        "shipment",
        "receipt",
    ]
    assert new[0]["facility"] == "fac:ningbo-works"
    assert new[0]["stage"] == "sintering"
    assert new[4]["end_use"] == "defense"
    assert new[4]["lots"] == [RELABELLED]
    stamps = [item.record["issued_at"] for item in plan.items]
    assert max(stamps[:STORY_BEFORE]) <= min(stamps[STORY_BEFORE:])


def test_bloc_demo_lists_the_relabelled_failure_and_check_shows_it_today(tmp_path: Path) -> None:
    runner = CliRunner()
    built = runner.invoke(bloc, ["demo", str(tmp_path / "d")])
    assert built.exit_code == 0, built.output
    assert re.search(
        rf"^  FAIL +{re.escape(RELABELLED)} \(ndfeb_magnet\): non-compliant mass",
        built.output,
        re.MULTILINE,
    )
    assert re.search(r"path: \d+ untraced CN → \d+ sintering CN → \d+ repack MX", built.output)
    today = runner.invoke(
        bloc,
        [
            *("--home", str(tmp_path / "d"), "check", RELABELLED),
            *("--policy", DFARS.name, "--as-of", TODAY.isoformat(), "--json"),
        ],
    )
    assert today.exit_code == 1
    document = json.loads(today.stdout)
    assert (document["verdict"], document["window"]) == ("fail", "A")
