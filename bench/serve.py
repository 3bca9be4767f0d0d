"""The ``serve`` measurement (issue 12): records/s and acknowledgement latency through
``POST /v1/records`` of a real ``bloc serve`` process.

One run of a :class:`Load` starts ``bloc --home H serve --listen 127.0.0.1:0 [--workers N]``
on a new home (an empty database), takes the URL from the first line it prints, then:

1. posts the corpus's leading registrations, untimed (``application/jsonl``, at most 1,000
   per request);
2. times ``clients`` threads, each with an ``httpx.Client`` of its own, each sending one
   causally closed stream of the corpus (:meth:`bench.corpus.Corpus.streams`) in log order,
   ``per_request`` records per request (one: ``application/json``; more:
   ``application/jsonl``), a request only after the answer to the one before; a request's
   latency is the time from sending it to having its whole answer;
3. posts the trailing key revocations, untimed;
4. stops the server with SIGTERM and requires exit status 0.

Every answer must be 200 with every record ``accepted``: anything else is a
:class:`~bench.measure.BenchError`, since a rejected record means the measurement is wrong.
"""

from __future__ import annotations

import contextlib
import os
import resource
import select
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from bench.corpus import Streams
from bench.measure import BenchError, bloc_executable

START_SECONDS = 120.0
STOP_SECONDS = 60.0
REQUEST_SECONDS = 600.0
UNTIMED_BATCH = 1000
"""Records per request for the untimed registrations and revocations (the server's most)."""
ANNOUNCEMENT = "listening on "


@dataclass(frozen=True, slots=True)
class Load:
    """One way of loading the server: ``clients`` concurrent clients, ``per_request``
    records per request, ``workers`` server processes."""

    key: str
    """The figure's key in the results; ``_p50`` and ``_p99`` are its latencies."""
    clients: int
    per_request: int
    workers: int = 1

    @property
    def keys(self) -> tuple[str, str, str]:
        return (self.key, f"{self.key}_p50", f"{self.key}_p99")

    def describe(self) -> str:
        records = "1 record" if self.per_request == 1 else f"{self.per_request} records"
        workers = f", `--workers {self.workers}`" if self.workers > 1 else ""
        return f"`bloc serve`{workers}, {self.clients} clients × {records} per request"


LOADS: tuple[Load, ...] = (
    Load("serve_single", 32, 1),
    Load("serve_batch", 4, 500),
    Load("serve2_single", 32, 1, workers=2),
    Load("serve2_batch", 4, 500, workers=2),
)
"""Every load; those with several workers run on PostgreSQL only."""

LARGEST = 100_000
"""The largest corpus the loads are measured on: every run sends the whole corpus, and one
record per request runs at about 200 records/s (a million records: hours per load)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one timed phase measured."""

    records: int
    seconds: float
    latencies_ms: list[float]
    finished: list[float]
    """Seconds from the start until each client had its last answer, in order."""
    answered: list[tuple[float, int]]
    """Every answer: seconds from the start, and the records it acknowledged."""
    server_cpu: float | None
    """CPU seconds of the server's processes in the timed phase (None: /proc unreadable)."""
    client_cpu: float
    """CPU seconds of this process (the clients) in the timed phase."""

    @property
    def rate(self) -> float:
        return self.records / self.seconds

    @property
    def busy_rate(self) -> float:
        """Records/s acknowledged while every client was still sending (until the first
        one had its last answer): the rate at full concurrency."""
        until = self.finished[0]
        done = sum(records for at, records in self.answered if at <= until)
        return done / until if until > 0 else 0.0


# -- the server process ----------------------------------------------------------------------


@dataclass(slots=True)
class Server:
    """A running ``bloc serve``: its URL, its process and its standard error (a file)."""

    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def tail(self) -> str:
        """The last line of standard error that is not an access-log line."""
        self.log.flush()
        self.log.seek(0)
        lines = [line.strip() for line in self.log.read().decode("utf-8", "replace").splitlines()]
        lines = [line for line in lines if line and not line.startswith('{"time"')]
        return lines[-1] if lines else "(nothing on stderr)"


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "BLOC_HOME"}


def _first_line(process: subprocess.Popen[bytes], seconds: float) -> str | None:
    """The first line ``process`` prints, or None if it ends or is silent for ``seconds``."""
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    buffer = b""
    while b"\n" not in buffer:
        left = deadline - time.monotonic()
        if left <= 0 or process.poll() is not None:
            return None
        ready, _, _ = select.select([process.stdout], [], [], left)
        if ready:
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                return None
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode("utf-8", "replace")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the server's process group (its workers too), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def start(home: Path, *, workers: int) -> Server:
    """``bloc --home HOME serve --listen 127.0.0.1:0 [--workers N]``, once it accepts requests.

    Raises:
        BenchError: it did not announce itself within :data:`START_SECONDS`.
    """
    command = [bloc_executable(), "--home", str(home), "serve", "--listen", "127.0.0.1:0"]
    if workers > 1:
        command += ["--workers", str(workers)]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        env=_environment(),
        start_new_session=True,  # a process group of its own: a kill reaches every worker
    )
    line = _first_line(process, START_SECONDS)
    server = Server(url="", process=process, log=log)
    if line is None or not line.startswith(ANNOUNCEMENT + "http://127.0.0.1:"):
        _kill(process)
        why = server.tail()
        _close(server)
        raise BenchError(f"bloc serve did not start ({line or 'no announcement'}): {why}")
    server.url = line.removeprefix(ANNOUNCEMENT)
    return server


def _close(server: Server) -> None:
    if server.process.stdout is not None:
        server.process.stdout.close()
    server.log.close()


def stop(server: Server) -> None:
    """SIGTERM, then wait for the server to drain and end.

    Raises:
        BenchError: it did not end within :data:`STOP_SECONDS`, or its exit status is not 0.
    """
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        _kill(server.process)
        why = server.tail()
        _close(server)
        raise BenchError(
            f"bloc serve did not stop within {STOP_SECONDS:g} s of SIGTERM: {why}"
        ) from None
    why = server.tail() if code != 0 else ""
    _close(server)
    if code != 0:
        raise BenchError(f"bloc serve exited {code} on SIGTERM (not 0): {why}")


@contextmanager
def serving(home: Path, *, workers: int) -> Iterator[Server]:
    """A server for the block; stopped with SIGTERM after it (killed if the block fails).

    Raises:
        BenchError: as :func:`start` and :func:`stop`.
    """
    server = start(home, workers=workers)
    try:
        yield server
    except BaseException:
        _kill(server.process)
        _close(server)
        raise
    stop(server)


# -- CPU use ---------------------------------------------------------------------------------


def _ticks(pid: int) -> int:
    """User + system clock ticks of process ``pid`` so far (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree_cpu(pid: int) -> float | None:
    """CPU seconds used so far by process ``pid`` and its live descendants; None where
    ``/proc`` cannot tell (not Linux)."""
    if not Path(f"/proc/{pid}/stat").exists():
        return None
    pending, ticks = [pid], 0
    while pending:
        current = pending.pop()
        ticks += _ticks(current)
        pending += _children(current)
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds used so far by this process (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the clients -----------------------------------------------------------------------------


def _reason(response: httpx.Response) -> str:
    """Why a request was not a success, in one line."""
    try:
        answer: Any = response.json()
    except ValueError:
        return response.text.strip()[:200] or "(empty body)"
    if isinstance(answer, dict):
        return str(answer.get("error", answer))[:200]
    if isinstance(answer, list):
        bad: dict[str, Any] = next((r for r in answer if r.get("status") != "accepted"), {})
        return f"{bad.get('status')}: {bad.get('reason')}"[:200]
    return str(answer)[:200]


def post(client: httpx.Client, url: str, envelopes: Sequence[bytes]) -> None:
    """``POST URL/v1/records`` of ``envelopes``; returns once the answer is read whole.

    Raises:
        BenchError: the answer is not 200 with every record accepted.
    """
    single = len(envelopes) == 1
    response = client.post(
        f"{url}/v1/records",
        content=envelopes[0] if single else b"\n".join(envelopes),
        headers={"Content-Type": "application/json" if single else "application/jsonl"},
    )
    if response.status_code != 200:
        raise BenchError(f"POST /v1/records answered {response.status_code}: {_reason(response)}")
    results = response.json()
    if len(results) != len(envelopes):
        raise BenchError(f"{len(results)} results for {len(envelopes)} records")
    if any(r.get("status") != "accepted" for r in results):
        raise BenchError(f"a record was not accepted: {_reason(response)}")


def requests(envelopes: Sequence[bytes], per_request: int) -> list[list[bytes]]:
    """``envelopes`` cut into requests of at most ``per_request``, in order."""
    return [list(envelopes[i : i + per_request]) for i in range(0, len(envelopes), per_request)]


def untimed(url: str, envelopes: Sequence[bytes]) -> None:
    """Post ``envelopes`` in order, :data:`UNTIMED_BATCH` per request, one after another."""
    with httpx.Client(timeout=REQUEST_SECONDS, trust_env=False) as client:
        for batch in requests(envelopes, UNTIMED_BATCH):
            post(client, url, batch)


@dataclass(slots=True)
class _Client:
    """One client's requests, and what it measured."""

    requests: list[list[bytes]]
    latencies_ms: list[float] = field(default_factory=list)
    answered: list[tuple[float, int]] = field(default_factory=list)
    """When each answer came (``perf_counter``), and the records it acknowledged."""
    finished: float = 0.0
    error: Exception | None = None


def _send(url: str, mine: _Client, ready: threading.Barrier, failed: threading.Event) -> None:
    """Send ``mine.requests`` in order once every client is ready; stop at the first
    failure of any client."""
    with httpx.Client(timeout=REQUEST_SECONDS, trust_env=False) as client:
        try:
            ready.wait()
            for envelopes in mine.requests:
                if failed.is_set():
                    return
                sent = time.perf_counter()
                post(client, url, envelopes)
                answered = time.perf_counter()
                mine.latencies_ms.append(1000 * (answered - sent))
                mine.answered.append((answered, len(envelopes)))
            mine.finished = time.perf_counter()
        except Exception as e:
            mine.error = e
            failed.set()
            ready.abort()


def _first_error(clients: Sequence[_Client]) -> Exception | None:
    """The failure to report: a client that failed broke the barrier for the others."""
    errors = [mine.error for mine in clients if mine.error is not None]
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)] or errors
    return real[0] if real else None


def run_clients(server: Server, plans: Sequence[list[list[bytes]]]) -> Outcome:
    """One thread per plan (a client's requests), all started at once; timed until the
    last answer.

    Raises:
        BenchError: a request failed (the first failing client's error), or nothing to send.
    """
    clients = [_Client(requests=plan) for plan in plans if plan]
    if not clients:
        raise BenchError("the corpus has no events to send")
    ready = threading.Barrier(len(clients) + 1, timeout=START_SECONDS)
    failed = threading.Event()
    threads = [
        threading.Thread(target=_send, args=(server.url, mine, ready, failed), daemon=True)
        for mine in clients
    ]
    for thread in threads:
        thread.start()
    server_before, client_before = tree_cpu(server.process.pid), own_cpu()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    server_after, client_after = tree_cpu(server.process.pid), own_cpu()
    error = _first_error(clients)
    if error is not None:
        raise error
    return Outcome(
        records=sum(len(r) for mine in clients for r in mine.requests),
        seconds=seconds,
        latencies_ms=[ms for mine in clients for ms in mine.latencies_ms],
        finished=sorted(mine.finished - started for mine in clients),
        answered=[(at - started, n) for mine in clients for at, n in mine.answered],
        server_cpu=(
            None if server_before is None or server_after is None else server_after - server_before
        ),
        client_cpu=client_after - client_before,
    )


def measure(home: Path, load: Load, envelopes: Sequence[bytes], streams: Streams) -> Outcome:
    """One run of ``load`` on the empty ledger of ``home`` (see the module docstring).

    Raises:
        BenchError: the server did not start or stop cleanly, or a request failed.
    """
    with serving(home, workers=load.workers) as server:
        untimed(server.url, [envelopes[i] for i in streams.leading])
        plans = [
            requests([envelopes[i] for i in stream], load.per_request) for stream in streams.streams
        ]
        outcome = run_clients(server, plans)
        untimed(server.url, [envelopes[i] for i in streams.trailing])
    return outcome


def describe(load: Load, streams: Streams, outcome: Outcome, commits: int | None) -> str:
    """A line for the results: the streams, then what the last run saw (commits, when the
    clients finished, the CPU used)."""
    sizes = sorted(len(s) for s in streams.streams if s) or [0]
    grouping = (
        f"{commits:,} commits ({outcome.records / commits:,.1f} records per commit)"
        if commits
        else "commits unknown"
    )
    cpu = (
        f"the server's processes {outcome.server_cpu:.1f} s "
        f"({1e6 * outcome.server_cpu / outcome.records:,.0f} µs/record; a database server's "
        "own not counted)"
        if outcome.server_cpu is not None
        else "the server's unknown"
    )
    return (
        f"{load.describe()}: {len(streams.leading):,} registrations POSTed first (untimed), "
        f"then {len(sizes)} concurrent streams of {sizes[0]:,}–{sizes[-1]:,} records "
        f"({outcome.records:,} timed), then {len(streams.trailing):,} key revocation(s) "
        f"(untimed). Last run: {grouping}; all {len(sizes)} clients were sending until "
        f"{outcome.finished[0]:.1f} s ({outcome.busy_rate:,.0f} rec/s until then), the last "
        f"finished at {outcome.finished[-1]:.1f} s; CPU in the timed phase: {cpu}, the "
        f"clients (this process) {outcome.client_cpu:.1f} s"
    )
