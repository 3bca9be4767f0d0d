"""The benchmark harness (issue 5) in quick mode: it runs end to end on a tiny SQLite
ledger and writes a results file with every row. No timing is asserted: figures from a
test machine mean nothing. securesystemslib (the ``bench`` extra) may be absent; its
baseline is then reported as skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FIGURES = (
    "ingest1",
    "ingest1_atomic",
    "serve_single",
    "serve_single_p50",
    "serve_single_p99",
    "serve_batch",
    "serve_batch_p50",
    "serve_batch_p99",
    "verify",
    "trace_p50",
    "trace_p99",
    "check_p50",
    "check_p99",
    "cte_p50",
    "cte_p99",
    "cli_trace_p50",
    "cli_trace_p99",
    "cli_check_p50",
    "cli_check_p99",
    "check_all_s",
    "check_all_mib",
    "evidence_cli",
    "verify_bundle_cli",
    "evidence_lib",
    "verify_bundle_lib",
)
"""Every figure measured on a backend (the 4-submitter ingest and `bloc serve --workers 2`
are PostgreSQL's only)."""

ROWS = (
    "start-up (`bloc --version`)",
    "ingest, 1 submitter (`bloc submit FILE`, what users run)",
    "ingest, 1 submitter (`bloc submit --atomic FILE`)",
    "ingest (1 submitter) ÷ limit",
    "`bloc serve`, 32 clients × 1 record per request",
    "`bloc serve`, 32 single-record clients: ack p50",
    "`bloc serve`, 32 single-record clients: ack p99",
    "`bloc serve`, 4 clients × 500 records per request",
    "`bloc serve`, 4 batch clients: ack p50",
    "`bloc serve`, 4 batch clients: ack p99",
    "`bloc serve` (4 batch clients) ÷ ingest (1 submitter",
    "verify, whole ledger",
    "verify ÷ securesystemslib DSSE verify",
    "trace one lot, p50",
    "trace one lot, p99",
    "check one lot, p50",
    "check one lot, p99",
    "recursive CTE, one lot's upstream, p50",
    "recursive CTE, one lot's upstream, p99",
    "trace ÷ CTE, p50",
    "trace ÷ CTE, p99",
    "`bloc trace LOT --format json`, p50",
    "`bloc trace LOT --format json`, p99",
    "`bloc check LOT … --json`, p50",
    "`bloc check LOT … --json`, p99",
    "`bloc check --all --end-use defense`, wall time",
    "`bloc check --all --end-use defense`, peak memory",
    "`bloc evidence` of the deepest lot",
    "`bloc verify-bundle` of that bundle",
    "evidence build (library",
    "bundle verification (library",
    "limit: open + schema-check",
    "floor, one core: JSON parse + base64 + Ed25519 verify + SHA-256",
    "floor, every core",
    "ingest (1 submitter, `bloc submit FILE`) ÷ floor on every core: the headline",
    "securesystemslib `Envelope.from_dict`",
)


def _has_sslib() -> bool:
    try:
        import securesystemslib.dsse  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.slow
def test_quick_run_writes_every_row(tmp_path: Path) -> None:
    output, raw = tmp_path / "RESULTS.md", tmp_path / "raw.json"
    environment = {k: v for k, v in os.environ.items() if k != "BLOC_HOME"}
    environment["BLOC_BENCH_CACHE"] = str(tmp_path / "cache")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--backends",
            "sqlite",
            "--output",
            str(output),
            "--json",
            str(raw),
        ],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = output.read_text(encoding="utf-8")
    assert "## Machine" in text
    imports = next(line for line in text.splitlines() if "imports of `bloc check`" in line)
    assert "failed" not in imports, imports
    assert "sqlalchemy" in imports, imports  # what bounds the start-up of a local check
    assert "python -m bench --quick" in text
    assert "## 300 records" in text
    assert "evidence lot: `lot:" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    for label in ROWS:
        row = next((r for r in rows if label in r), None)
        assert row is not None, f"no row for {label!r} in {output}"
        assert "failed:" not in row, row
        figures = [c.strip() for c in row.strip("|").split(" | ")[1:]]
        if "securesystemslib" in label and not _has_sslib():
            continue
        assert figures, row
        assert figures[0] not in ("", "—"), row
    assert "ingest, 4 concurrent submitters" not in text  # PostgreSQL only, not run here
    assert not [r for r in rows if "`bloc serve` `--workers 2`" in r]  # likewise
    assert "`bloc serve`, 32 clients × 1 record per request: " in text  # its streams, as a fact

    measured = json.loads(raw.read_text())
    for key in FIGURES:
        cell = measured[f"300/sqlite/{key}"]
        assert cell["note"] is None, (key, cell)
        assert len(cell["values"]) == 1, (key, cell)
    for key in ("limit", "startup", "floor1", "floor_all"):
        cell = measured[f"{0 if key == 'startup' else 300}/none/{key}"]
        assert cell["note"] is None, (key, cell)
        assert cell["values"], (key, cell)
    sslib = measured["300/none/sslib"]
    if _has_sslib():
        assert sslib["note"] is None, sslib
        assert sslib["values"], sslib
    else:
        assert sslib["note"].startswith("skipped: securesystemslib is not installed"), sslib


def test_a_commands_peak_memory_is_its_own_not_the_harnesss() -> None:
    # Linux counts a parent's resident memory into a spawned child's peak RSS; the harness
    # holds a whole corpus, so it measures through a small launcher. Here the test process
    # plays the harness, holding 400 MiB while `bloc --version` runs.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from bench.measure import run_bloc;"
        "held = bytearray(400 * 2**20); held[::4096] = b'x' * len(held[::4096]);"
        "print(run_bloc(['--version']).max_rss_bytes)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, check=True
    )
    assert 0 < int(done.stdout) < 300 * 2**20
