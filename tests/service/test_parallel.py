"""ledger.service._parallel: opening a batch in worker processes gives what opening it inline gives."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from ledger import demo
from ledger.core.signing import Signer
from ledger.errors import RecordRejected
from ledger.records.admission import Opened, open_envelope
from ledger.service import _parallel as parallel

from helpers import World, envelope_bytes, extraction

REGISTRAR = Signer.from_seed(bytes(range(32)))


def _corpus(size: int) -> list[bytes]:
    return list(demo.envelopes(demo.synthetic(size, seed=3), REGISTRAR))


pytestmark = pytest.mark.skipif(
    parallel.usable_cores() < 2, reason="one core: batches are always opened inline"
)


def _by_workers(items: list[bytes], keys: dict) -> list[parallel.Outcome]:  # type: ignore[type-arg]
    opened = list(parallel.open_many(items, keys, parallel_from=1))
    assert parallel._pool is not None  # the workers did open them
    return opened


def test_workers_open_exactly_what_inline_opening_gives() -> None:
    items = _corpus(3000)
    keys = {REGISTRAR.keyid: REGISTRAR.public_key}
    opened = _by_workers(items, keys)
    assert len(opened) == len(items)
    for data, item in zip(items, opened, strict=True):
        assert isinstance(item, Opened)
        assert replace(item, verified=frozenset()) == open_envelope(data)


def test_keys_declared_by_the_batch_check_later_chunks() -> None:
    # The registrations come first; after the first window of chunks, the participants'
    # own keys are known to the workers and their signatures arrive checked.
    items = _corpus(6000)
    opened = _by_workers(items, {REGISTRAR.keyid: REGISTRAR.public_key})
    tail = [item for item in opened[-1000:] if isinstance(item, Opened)]
    assert tail
    assert all(item.verified == {s.keyid for s in item.envelope.signatures} for item in tail)


def test_rejections_keep_their_position_and_message(world: World) -> None:
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/P-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    items = [good] * 700 + [b"{not json"] + [good] * 700 + [b'{"payload": 1}']
    opened = _by_workers(items, {})
    assert isinstance(opened[700], RecordRejected)
    assert str(opened[700]) == (
        "envelope is not valid JSON: Expecting property name enclosed in double "
        "quotes at line 1 column 2"
    )
    assert opened[700].check == "envelope"
    assert isinstance(opened[-1], RecordRejected)
    assert sum(isinstance(item, RecordRejected) for item in opened) == 2


def test_a_forged_signature_is_not_marked_verified(world: World) -> None:
    good = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/P-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    document = json.loads(good)
    sig = base64.b64decode(document["signatures"][0]["sig"])
    document["signatures"][0]["sig"] = base64.b64encode(bytes([sig[0] ^ 1]) + sig[1:]).decode()
    forged = json.dumps(document).encode()
    opened = _by_workers([good, forged] * 600, {world.lynas.keyid: world.lynas.public_key})
    for honest, altered in zip(opened[0::2], opened[1::2], strict=True):
        assert isinstance(honest, Opened)
        assert honest.verified == {world.lynas.keyid}
        assert isinstance(altered, Opened)
        assert altered.verified == frozenset()


def test_small_batches_are_opened_inline_with_the_same_results() -> None:
    items = _corpus(200)
    keys = {REGISTRAR.keyid: REGISTRAR.public_key}
    assert list(parallel.open_many(items, keys)) == _by_workers(items, keys)


def test_workers_killed_mid_batch_leave_the_rest_to_be_opened_here() -> None:
    items = _corpus(3000)
    keys = {REGISTRAR.keyid: REGISTRAR.public_key}
    expected = list(parallel.open_many(items, keys))
    outcomes = parallel.open_many(items, keys, parallel_from=1)
    got = [next(outcomes)]
    assert parallel._pool is not None
    for process in list(parallel._pool._processes.values()):
        process.kill()
    got.extend(outcomes)
    assert [replace(o, verified=frozenset()) for o in got if isinstance(o, Opened)] == [
        replace(o, verified=frozenset()) for o in expected if isinstance(o, Opened)
    ]
    assert len(got) == len(items)
    # The broken pool was let go: the next batch gets fresh workers.
    assert len(list(parallel.open_many(items[:100], keys, parallel_from=1))) == 100
    assert parallel._pool is not None


def test_an_empty_batch_opens_nothing() -> None:
    assert list(parallel.open_many([], {}, parallel_from=0)) == []


def test_workers_import_the_callers_ledger_not_one_in_the_working_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A directory named ``ledger`` where the command runs (a checkout, or planted there)
    # must not be what the workers import.
    planted = tmp_path / "ledger"
    planted.mkdir()
    (planted / "__init__.py").write_text("raise SystemExit('the planted ledger was imported')\n")
    code = (
        "from ledger import demo\n"
        "from ledger.service import _parallel as parallel\n"
        "from ledger.core.signing import Signer\n"
        "if __name__ == '__main__':\n"
        "    registrar = Signer.from_seed(bytes(range(32)))\n"
        "    items = list(demo.envelopes(demo.synthetic(600, seed=3), registrar))\n"
        "    opened = list(parallel.open_many(items, {}, parallel_from=1))\n"
        "    assert parallel._pool is not None\n"
        "    print(len(opened))\n"
    )
    script = tmp_path / "run.py"
    script.write_text(code)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-P", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == str(len(list(demo.synthetic(600, seed=3).items)))


_BUSY_CALLER = """
import sys, time
from ledger.service import _parallel as parallel
pool = parallel._shared_pool(2)
running = [pool.submit(time.sleep, 60) for _ in range(2)]
while len(pool._processes) < 2:
    time.sleep(0.05)
print("ready", flush=True)
time.sleep(120)
"""


def _marked(mark: str) -> set[int]:
    """Processes whose environment carries ``mark`` (the caller and all it started)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if f"BLOC_TEST_MARK={mark}".encode() in handle.read().split(b"\0"):
                    found.add(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the processes")
def test_workers_die_with_a_caller_killed_with_sigkill() -> None:
    """Issue 14: after ``kill -9`` of a large submit, the fork server, the resource tracker
    and the workers stayed attached to init forever."""
    mark = os.urandom(8).hex()
    caller = subprocess.Popen(
        [sys.executable, "-c", _BUSY_CALLER],
        stdout=subprocess.PIPE,
        env={**os.environ, "BLOC_TEST_MARK": mark},
    )
    try:
        assert caller.stdout is not None
        assert caller.stdout.readline() == b"ready\n"
        started = _marked(mark) - {caller.pid}
        assert len(started) >= 3  # the fork server and two workers, at least
        caller.kill()
        caller.wait(30)
        deadline = time.monotonic() + 15
        while _marked(mark) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _marked(mark) == set()
    finally:
        if caller.poll() is None:
            caller.kill()
            caller.wait()
