"""The README's worked example, as `docs/quickstart.sh` runs it, still reaches the verdicts the
README prints (a change to admission or the checker that breaks the example fails here), and a
competitor cannot spoil the magnet it ends with (issue 13, ADR 0036)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    """(the quickstart's directory, what the script printed, the environment to run bloc)."""
    tmp_path = tmp_path_factory.mktemp("quickstart")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("BLOC_HOME", None)
    done = subprocess.run(
        ["bash", str(REPO / "docs" / "quickstart.sh"), str(tmp_path / "qs")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stdout + done.stderr
    return tmp_path / "qs", done.stdout, {**env, "BLOC_HOME": str(tmp_path / "qs" / "home")}


def bloc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bloc", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.slow
def test_quickstart_reaches_the_verdicts_the_readme_shows(
    quickstart: tuple[Path, str, dict[str, str]],
) -> None:
    _, out, _ = quickstart
    for verdict in (
        "lot:shinetsu/MAGNET-77: PASS under dfars-252.225-7052 as of 2026-11-15",
        "lot:shinetsu/MAGNET-77: INCONCLUSIVE under dfars-252.225-7052 as of 2027-02-01",
        "lot:shinetsu/MAGNET-77: FAIL under bloc-2026 as of 2026-11-15",
    ):
        assert verdict in out
    assert out.rstrip().splitlines()[-1].startswith("ok: 15 entries, 4 checkpoints")


@pytest.mark.slow
def test_a_competitor_cannot_spoil_the_quickstart_magnet(
    quickstart: tuple[Path, str, dict[str, str]],
) -> None:
    """The attack of issue 13: Lynas ships Shin-Etsu's magnet from its own plant. It used to
    be accepted with a ``not-holder`` finding that turned the magnet's PASS INCONCLUSIVE."""
    qs, _, env = quickstart
    grief = {
        "kind": "shipment",
        "schema_version": 1,
        "signer": "org:lynas",
        "id": "ship:lynas/GRIEF-1",
        "from_facility": "fac:lynas-kuantan",
        "to_facility": "fac:lynas-mt-weld",
        "shipped_on": "2026-05-01",
        "lots": ["lot:shinetsu/MAGNET-77"],
    }
    (qs / "grief.json").write_text(json.dumps(grief))
    signed = bloc(
        env, "sign", str(qs / "grief.json"), "--key", str(qs / "lynas" / "lynas.pem"),
        "-o", str(qs / "grief.dsse.json"),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    submitted = bloc(env, "submit", str(qs / "grief.dsse.json"))
    assert submitted.returncode == 5, submitted.stdout + submitted.stderr
    assert (
        f"{qs / 'grief.dsse.json'}: rejected: authority: shipment.lots[0] lot:shinetsu/MAGNET-77 "
        "is held by org:shinetsu at fac:shinetsu-takefu, not by org:lynas"
    ) in submitted.stdout
    check = bloc(
        env, "check", "lot:shinetsu/MAGNET-77", "--policy", "dfars-252.225-7052",
        "--as-of", "2026-11-15",
    )  # fmt: skip
    assert "lot:shinetsu/MAGNET-77: PASS under dfars-252.225-7052 as of 2026-11-15" in check.stdout
    assert bloc(env, "findings").stdout == "no findings\n"
    assert bloc(env, "verify").stdout.startswith("ok: 15 entries")
