"""Timing helpers: the ``bloc`` command as a child process (wall time and peak memory of
that one process), percentiles, and PostgreSQL databases made and dropped per run."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url


class BenchError(Exception):
    """A measurement could not be taken; the message is one line for RESULTS.md."""


def bloc_executable() -> str:
    """The installed ``bloc`` next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "bloc"
    if beside.is_file():
        return str(beside)
    found = shutil.which("bloc")
    if not found:
        raise BenchError("the bloc command is not installed (pip install -e .)")
    return found


IMPORT_PACKAGES = ("sqlalchemy", "sqlmodel", "networkx", "psycopg", "jsonschema_rs", "click")
"""The third-party packages whose import time the start-up figures name."""


def import_profile(module: str) -> tuple[float, dict[str, float]]:
    """Seconds to import ``module`` in a fresh interpreter (``python -X importtime``), and
    the cumulative seconds of each of :data:`IMPORT_PACKAGES` it imports, run from a
    directory without a checkout (whose ``ledger/`` would shadow the installed package).

    Raises:
        BenchError: the import failed.
    """
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            cwd=scratch,
            env=_environment(),
            timeout=120,
        )
    if done.returncode != 0:
        raise BenchError(f"import {module} failed: {done.stderr.strip()[-300:]}")
    total = 0.0
    packages: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        seconds, name = int(cumulative) / 1e6, name.strip()
        if name == module:
            total = seconds
        elif name in IMPORT_PACKAGES and name not in packages:
            packages[name] = seconds
    return total, packages


@dataclass(frozen=True, slots=True)
class Process:
    """One finished ``bloc`` process."""

    seconds: float
    max_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "BLOC_HOME"}


_LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as report:
    report.write(f"{seconds!r} {usage.ru_maxrss}")
code = os.waitstatus_to_exitcode(status)
if code < 0:
    os.kill(os.getpid(), -code)
sys.exit(code)
"""
"""Runs one command and reports its wall time and peak RSS. The harness does not spawn
``bloc`` itself: Linux counts the parent's resident memory into a spawned child's peak
(the high-water mark of the address space it had until exec), and the harness holds the
whole corpus. The launcher is small, so the command's own peak is what ``wait4`` gives."""


def run_bloc(
    args: Sequence[str],
    *,
    ok: Sequence[int] = (0,),
    timeout: float | None = None,
    cwd: Path | None = None,
) -> Process:
    """Run ``bloc ARGS``; its wall time (start-up included) and its own peak RSS.

    The command runs under a small launcher (:data:`_LAUNCHER`), which times it and reaps
    it with ``wait4``: the resource use of that process alone, not the harness's.

    Raises:
        BenchError: the exit code is not in ``ok``, or the timeout passed.
    """
    command = [bloc_executable(), *args]
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        report = Path(scratch) / "report"
        process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(report), *command],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=cwd,
            env=_environment(),
            start_new_session=True,
        )
        killed = threading.Event()

        def kill() -> None:
            killed.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer is not None:
            timer.start()
        try:
            process.wait()
        finally:
            if timer is not None:
                timer.cancel()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        measured = report.read_text().split() if report.exists() else []
    shown = " ".join(["bloc", *args[:3]])
    if killed.is_set():
        raise BenchError(f"{shown} … did not finish within {timeout:g} s")
    if process.returncode not in ok:
        last = next(
            (line for line in reversed(stderr.splitlines()) if line.strip()),
            stdout.strip().splitlines()[-1] if stdout.strip() else "",
        )
        raise BenchError(f"{shown} … exited {process.returncode}: {last.strip()}")
    if len(measured) != 2:
        raise BenchError(f"{shown} … left no measurement (the launcher failed)")
    return Process(
        seconds=float(measured[0]),
        max_rss_bytes=int(measured[1]) * 1024,  # KiB on Linux
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
    )


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of at least one value."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


class Postgres:
    """Databases on one PostgreSQL server, made for a run and dropped after it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[str] = []

    @staticmethod
    def conninfo(url: str) -> str:
        """A libpq URI for psycopg from a SQLAlchemy URL."""
        return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.conninfo(self.url), autocommit=True, connect_timeout=5)

    def problem(self) -> str | None:
        """Why the server cannot be used, or ``None``."""
        try:
            with self._admin() as connection:
                connection.execute("SELECT 1")
        except Exception as e:
            return f"PostgreSQL not reachable at {make_url(self.url).render_as_string()}: " + (
                str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            )
        return None

    def version(self) -> str:
        with self._admin() as connection:
            row = connection.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def create(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        name = f"blocbench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        if name not in self.made:
            return
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.remove(name)

    def drop_all(self) -> None:
        for name in list(self.made):
            try:
                with self._admin() as connection:
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except Exception as e:  # a leftover database is not worth failing the run
                print(f"bench: could not drop database {name}: {e}", file=sys.stderr)
            self.made.remove(name)
