"""The README's worked example, as `docs/quickstart.sh` runs it, still reaches the verdicts the
README prints (a change to admission or the checker that breaks the example fails here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quickstart_reaches_the_verdicts_the_readme_shows(tmp_path: Path) -> None:
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
    out = done.stdout
    assert "Traceback" not in out + done.stderr
    for verdict in (
        "lot:shinetsu/MAGNET-77: PASS under dfars-252.225-7052 as of 2026-11-15",
        "lot:shinetsu/MAGNET-77: INCONCLUSIVE under dfars-252.225-7052 as of 2027-02-01",
        "lot:shinetsu/MAGNET-77: FAIL under bloc-2026 as of 2026-11-15",
    ):
        assert verdict in out
    assert out.rstrip().splitlines()[-1].startswith("ok: 15 entries, 4 checkpoints")
