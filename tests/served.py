"""A real server process (``bloc serve``, ``bloc witness serve``) on 127.0.0.1 and an ephemeral
port, for the service and witness tests."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from helpers import bloc_executable

START_SECONDS = 30.0
STOP_SECONDS = 30.0


@dataclass
class Served:
    """A running server: its URL, and what it wrote to stderr once stopped."""

    url: str
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    """The server's stderr (a file: a pipe nobody drains would block it)."""
    stderr: bytes = b""
    exit_code: int | None = None
    lines: list[str] = field(default_factory=list)

    def kill(self) -> None:
        """``kill -9`` of the server and every worker process it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.stop()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server, wait for it to end, and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not self.log.closed:
            self.log.seek(0)
            self.stderr = self.log.read()
            self.log.close()
        self.exit_code = self.process.returncode
        return self.exit_code


def _first_line(process: subprocess.Popen[bytes], what: str) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + START_SECONDS
    buffer = b""
    while b"\n" not in buffer:
        left = deadline - time.monotonic()
        if left <= 0 or process.poll() is not None:
            break
        ready, _, _ = select.select([process.stdout], [], [], left)
        if ready:
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                break
            buffer += chunk
    if b"\n" not in buffer:
        process.kill()
        process.wait()
        raise AssertionError(f"{what} did not start")
    return buffer.split(b"\n", 1)[0].decode()


@contextmanager
def served(home: Path, *extra: str) -> Iterator[Served]:
    """``bloc --home HOME serve --listen 127.0.0.1:0 EXTRA...`` until the block ends."""
    with served_command(["--home", str(home), "serve", "--listen", "127.0.0.1:0", *extra]) as s:
        yield s


@contextmanager
def served_command(arguments: list[str]) -> Iterator[Served]:
    """``bloc ARGUMENTS...`` (a command that prints ``listening on http://127.0.0.1:PORT``
    first) until the block ends."""
    what = "bloc " + " ".join(a for a in arguments if not a.startswith(("/", "-", "127.")))
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Served.stop
    process = subprocess.Popen(
        [bloc_executable(), *arguments],
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,  # its own process group: kill() reaches every worker
    )
    try:
        line = _first_line(process, what)
    except AssertionError:
        log.seek(0)
        raise AssertionError(
            f"{what} did not start: {log.read().decode(errors='replace')}"
        ) from None
    assert line.startswith("listening on http://127.0.0.1:"), line
    server = Served(url=line.removeprefix("listening on "), process=process, log=log)
    try:
        yield server
    finally:
        server.stop()
