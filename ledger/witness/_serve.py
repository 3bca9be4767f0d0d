"""``bloc witness serve``: one process on uvicorn, its socket bound and announced by
:mod:`ledger.serving` as ``bloc serve`` does. An exclusive lock on ``witness.lock`` keeps a
second process off the same directory (two processes would each trust their own copy of the
state); the kernel drops it when the process ends, even on ``kill -9``.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.errors import ConfigError
from ledger.serving import AccessLog, Listen, bind, run_one_process
from ledger.witness._app import create_app
from ledger.witness._config import LOCK_FILE, open_witness
from ledger.witness._witness import Witness

DEFAULT_LISTEN = "127.0.0.1:8760"


def posix_now() -> int:
    """The witness's clock, in POSIX seconds."""
    return int(time.time())


def serve(path: Path, *, listen: Listen, announce: Callable[[str], None]) -> None:
    """Serve the witness in ``path`` until SIGTERM or SIGINT. ``announce`` gets
    ``listening on http://HOST:PORT`` once requests are accepted.

    Raises:
        ConfigError: no usable witness in ``path``, another process serves it, or the
            address cannot be bound.
    """
    directory = open_witness(path)
    with _exclusive(path / LOCK_FILE):
        witness = Witness(directory, clock=posix_now)
        app = create_app(witness)
        app.add_middleware(AccessLog)
        run_one_process(app, bind(listen), announce)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise ConfigError(f"cannot open {lock_path}: {e.strerror}") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise ConfigError(f"another process serves the witness ({lock_path} is locked)") from e
        yield
    finally:
        os.close(fd)
