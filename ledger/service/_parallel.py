"""Opening many envelopes on every core (ADR 0013).

:func:`open_many` does steps 1–2 of admission (:func:`~ledger.records.admission.open_envelope`) and
the cryptographic half of step 3 (:func:`~ledger.records.envelope.verified_keyids`) for a batch. A
large batch is cut into chunks that worker processes open while the caller admits the
chunks before: parsing and validation hold the interpreter lock, so threads would take
turns, and a thread waiting to re-enter the interpreter after each signature check stalls
behind the admitting one. Small batches, and machines with one core, are opened inline.

Workers start from a fresh interpreter (``forkserver``), never as forks of the caller: a
fork would share the caller's database connections and locks. They die with the caller,
however it dies (``kill -9`` included): each watches the caller's process and exits when it
is gone; the fork server exits when its pipe from the caller closes, and the resource
tracker when nobody holds its pipe any more.
"""

from __future__ import annotations

import atexit
import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from ledger.core.signing import KeyId, PublicKey
from ledger.errors import RecordRejected
from ledger.records.admission import Opened, open_envelope
from ledger.records.envelope import verified_keyids
from ledger.records.model import Participant

PARALLEL_FROM = 4096
"""Batches at least this large are opened by worker processes (starting them costs ~1 s)."""

CHUNK = 512
"""Envelopes per task sent to a worker."""

_WINDOW = 2
"""Chunks in flight per worker."""

Outcome = Opened | RecordRejected
"""An opened envelope, or why it cannot be opened."""

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def open_many(
    items: Sequence[bytes],
    keys: Mapping[KeyId, PublicKey],
    *,
    parallel_from: int | None = None,
) -> Generator[Outcome, None, None]:
    """Each of ``items`` opened, in order, with the signatures ``keys`` can check already
    checked (``Opened.verified``); admission still decides whether those keys may sign.

    Yields as chunks complete, so the caller works on one chunk while later ones open. A
    key that a participant record in the batch declares is used for the chunks sent after
    that record was opened (the first chunk is opened before any other is sent);
    signatures nobody could check here are admission's to check. Batches smaller than
    ``parallel_from`` (default :data:`PARALLEL_FROM`) are opened inline; so is the rest of
    a batch when no worker can be had or one dies.
    """
    threshold = PARALLEL_FROM if parallel_from is None else parallel_from
    workers = usable_cores()
    if not items or len(items) < threshold or workers < 2:
        for data in items:
            yield _open(data, keys)
        return
    yield from _open_in_workers(items, keys, workers)


def _open_in_workers(
    items: Sequence[bytes], keys: Mapping[KeyId, PublicKey], workers: int
) -> Generator[Outcome, None, None]:
    """:func:`open_many` across ``workers`` processes, a window of chunks in flight; the
    rest of the batch opened inline when no worker can be had or one dies."""
    batch = _Batch(items, keys)
    done = 0
    failed = False
    try:
        batch.open_first()
        pool = _shared_pool(workers)
        batch.fill(pool, _WINDOW * workers)
        while batch.line:
            if batch.steal():
                continue
            chunk = batch.take()
            batch.fill(pool, _WINDOW * workers)
            for item in chunk:
                yield item
                done += 1
    except (BrokenProcessPool, OSError, RuntimeError):
        # No process to be had, or a worker died (killed, out of memory).
        _discard_pool()
        failed = True
    finally:
        batch.cancel()
    if failed:
        learned = {**keys, **{keyid: PublicKey(raw=raw) for keyid, raw in batch.known.items()}}
        for data in items[done:]:
            yield _open(data, learned)


class _Batch:
    """The chunks of one batch, in order, each opened here or by a worker.

    The caller never waits idle for a worker: while the oldest chunk in flight is not back
    (the workers start in about a second, or are behind), the next chunk not yet sent is
    opened here and takes its place in line (:meth:`steal`).
    """

    def __init__(self, items: Sequence[bytes], keys: Mapping[KeyId, PublicKey]) -> None:
        self.items = items
        self.known = {keyid: key.raw for keyid, key in keys.items()}
        self.starts = iter(range(0, len(items), CHUNK))
        self.line: deque[Future[list[Outcome]] | list[Outcome]] = deque()

    def _here(self, start: int) -> list[Outcome]:
        return _open_chunk(list(self.items[start : start + CHUNK]), dict(self.known))

    def open_first(self) -> None:
        """The first chunk, opened here before any is sent: registrations lead a batch, and
        the keys they declare then reach every later chunk."""
        first = self._here(next(self.starts))
        self.known.update(_declared_keys(first))
        self.line.append(first)

    def fill(self, pool: ProcessPoolExecutor, window: int) -> None:
        """Send chunks until ``window`` are in flight."""
        in_flight = sum(isinstance(item, Future) for item in self.line)
        for start in itertools.islice(self.starts, max(0, window - in_flight)):
            chunk = list(self.items[start : start + CHUNK])
            self.line.append(pool.submit(_open_chunk, chunk, dict(self.known)))

    def steal(self) -> bool:
        """Open the next unsent chunk here if the oldest in flight is not back yet."""
        head = self.line[0]
        if not isinstance(head, Future) or head.done():
            return False
        start = next(self.starts, None)
        if start is None:
            return False
        self.line.append(self._here(start))
        return True

    def take(self) -> list[Outcome]:
        """The oldest chunk, opened (waiting for its worker if need be)."""
        head = self.line.popleft()
        chunk = head if isinstance(head, list) else head.result()
        self.known.update(_declared_keys(chunk))
        return chunk

    def cancel(self) -> None:
        for item in self.line:
            if isinstance(item, Future):
                item.cancel()


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _declared_keys(chunk: Sequence[Outcome]) -> dict[KeyId, bytes]:
    return {
        grant.keyid: grant.public_key.raw
        for item in chunk
        if isinstance(item, Opened) and isinstance(item.record, Participant)
        for grant in item.record.keys
    }


def _open(data: bytes, keys: Mapping[KeyId, PublicKey]) -> Outcome:
    try:
        opened = open_envelope(data)
    except RecordRejected as e:
        return e
    return replace(opened, verified=verified_keyids(opened.envelope, keys))


def _open_chunk(chunk: list[bytes], raw: dict[KeyId, bytes]) -> list[Outcome]:
    """The worker's task (module level, so it pickles)."""
    keys = {keyid: PublicKey(raw=key) for keyid, key in raw.items()}
    return [_open(data, keys) for data in chunk]


def _shared_pool(workers: int) -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            # Nothing is imported in the fork server itself: it runs from the caller's
            # working directory with its own sys.path, where a checkout's ``ledger`` would
            # shadow the installed one. Each worker imports with the caller's sys.path.
            context.set_forkserver_preload([])
            _pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_die_with,
                initargs=(os.getpid(),),
            )
            atexit.register(_discard_pool)
        return _pool


_WATCH_SECONDS = 0.5


def _die_with(caller: int) -> None:
    """Worker start-up: exit as soon as the process that made the pool no longer exists (a
    worker's parent is the fork server, so the kernel's parent-death signal would not do)."""

    def watch() -> None:
        while True:
            time.sleep(_WATCH_SECONDS)
            if not _alive(caller):
                os._exit(1)

    threading.Thread(target=watch, name="watch-caller", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - the pid was reused by another user
        return False
    return True


def _discard_pool() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
