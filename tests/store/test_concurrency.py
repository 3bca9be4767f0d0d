"""Concurrent writers in several processes: log indexes stay gap-free and unique (ADR 0006).

Four ``bloc submit`` processes, started at once against the same home, each submit 500
pre-signed extraction envelopes. On both backends the log must end up with exactly the
registrations plus 2,000 entries, indexes contiguous with no duplicates, each process's
group committed as one run, and ``bloc verify`` clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.records.authoring import prepare_record, seal
from ledger.service import COMMIT_GROUP
from ledger.service.home import REGISTRAR_KEY, Home

from helpers import (
    bloc_executable,
    envelope_bytes,
    extraction,
    facility,
    key_for,
    participant,
    to_json,
    write_jsonl,
)

PROCESSES = 4
PER_PROCESS = 500
SLUGS = [f"miner{n}" for n in range(PROCESSES)]
TIMEOUT_S = 300


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "BLOC_HOME"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def register_miners(home: Home) -> list[int]:
    """Each miner: a participant with its own key and a mine of its own (stage mining)."""
    records = [
        participant(
            slug,
            issued_at="2020-01-02T00:00:00Z",
            valid_from="2020-01-01T00:00:00Z",
        )
        for slug in SLUGS
    ] + [
        facility(f"{slug}-mine", slug, ["mining"], issued_at="2020-01-02T00:05:00Z")
        for slug in SLUGS
    ]
    now = datetime.now(UTC)
    registrar = home.signer(REGISTRAR_KEY)
    envelopes = [
        seal(*prepare_record(to_json(record), now=now), registrar).canonical_bytes()
        for record in records
    ]
    ledger = home.ledger()
    try:
        results = ledger.submit(envelopes, now=now)
    finally:
        ledger.store.dispose()
    assert all(r.accepted for r in results), [r.error for r in results]
    return [r.log_index for r in results if r.log_index is not None]


def signed_batch(directory: Path, slug: str) -> Path:
    """500 extraction envelopes by one miner: distinct lots, issued in the past."""
    envelopes = []
    for n in range(PER_PROCESS):
        record = extraction(
            slug,
            f"{slug}-mine",
            [(f"lot:{slug}/ore-{n:04d}", "rare_earth_ore", n + 1)],
            issued_at=f"2020-02-01T08:{n // 60 % 60:02d}:{n % 60:02d}Z",
        )
        record["extracted_on"] = "2020-01-30"
        envelopes.append(envelope_bytes(record, key_for(slug)))
    return write_jsonl(directory / f"{slug}.jsonl", envelopes)


@pytest.mark.slow
def test_four_processes_submitting_at_once_keep_the_log_gap_free(
    home: Home, tmp_path: Path
) -> None:
    registered = register_miners(home)
    assert registered == list(range(2 * PROCESSES))
    batches = [signed_batch(tmp_path, slug) for slug in SLUGS]
    bloc = bloc_executable()

    started = time.monotonic()
    children = [
        subprocess.Popen(
            [bloc, "--home", str(home.path), "submit", str(batch), "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
            cwd=tmp_path,
        )
        for batch in batches
    ]
    outputs = [child.communicate(timeout=TIMEOUT_S) for child in children]
    elapsed = time.monotonic() - started
    total = PROCESSES * PER_PROCESS
    print(
        f"\n{home.db_url.split(':')[0]}: {total} envelopes by {PROCESSES} processes in "
        f"{elapsed:.1f} s ({total / elapsed:.0f} envelopes/s)"
    )

    per_process: list[list[int]] = []
    for child, (stdout, stderr) in zip(children, outputs, strict=True):
        assert child.returncode == 0, stderr.decode()
        assert stderr == b""
        lines = stdout.decode().splitlines()
        assert len(lines) == PER_PROCESS
        indexes = []
        for line in lines:
            result = json.loads(line)
            assert result["status"] == "accepted", line
            assert set(result) == {
                "source",
                "status",
                "log_index",
                "leaf_hash",
                "record_id",
                "kind",
            }, line
            assert isinstance(result["log_index"], int)
            indexes.append(result["log_index"])
        assert indexes == sorted(set(indexes)), "one process's indexes must increase"
        per_process.append(indexes)

    # Group commit (ADR 0039): 500 envelopes are one group, committed whole while the other
    # writers wait for the lock, so each process's indexes form one contiguous run.
    assert PER_PROCESS <= COMMIT_GROUP
    for indexes in per_process:
        assert indexes == list(range(indexes[0], indexes[0] + PER_PROCESS))
    submitted = sorted(i for indexes in per_process for i in indexes)
    end = len(registered) + total
    assert submitted == list(range(len(registered), end)), "gaps or duplicates"

    store_engine = home.ledger(writer=False).store
    try:
        with store_engine.engine.connect() as connection:
            count, distinct, low, high = connection.execute(
                text(
                    "SELECT count(*), count(DISTINCT log_index), min(log_index), "
                    "max(log_index) FROM log_entry"
                )
            ).one()
            assert (count, distinct, low, high) == (end, end, 0, end - 1)
            assert connection.execute(text("SELECT tree_size FROM tree_head")).scalar_one() == end
            assert connection.execute(text("SELECT count(*) FROM lot")).scalar_one() == total
            assert (
                connection.execute(text("SELECT max(tree_size) FROM checkpoint")).scalar_one()
                == end
            )
    finally:
        store_engine.dispose()

    verify = subprocess.run(
        [bloc, "--home", str(home.path), "verify", "--json"],
        capture_output=True,
        env=child_env(),
        cwd=tmp_path,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()
    report = json.loads(verify.stdout)
    assert report["ok"] is True
    assert (report["tree_size"], report["entries"]) == (end, end)
