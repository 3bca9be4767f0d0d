"""``bloc serve``: the application on uvicorn, one process or several (ADR 0030).

The socket is bound before uvicorn starts (:mod:`ledger.serving`, shared with ``bloc witness
serve``), so that ``--listen 127.0.0.1:0`` picks a free port that can be printed, and so that
several worker processes share it. One process serves a SQLite ledger; several need
PostgreSQL, whose row lock on the tree head serialises their commits. uvicorn handles SIGTERM
and SIGINT: it stops accepting, lets in-flight requests finish (the group commit drains
before the process ends) and exits 0. Each request is logged as one JSON line on standard
error (:class:`~ledger.serving.AccessLog`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from ledger.errors import ConfigError
from ledger.net._app import create_app
from ledger.net._limits import Limits
from ledger.service.home import LOG_PASSPHRASE_VARIABLE, find_home
from ledger.serving import (
    UVICORN_SETTINGS,
    AccessLog,
    Listen,
    bind,
    exit_zero_when_drained,
    listening_line,
    run_one_process,
    utc_now,
)

HOME_VARIABLE = "BLOC_SERVE_HOME"
LIMITS_VARIABLE = "BLOC_SERVE_LIMITS"
DEFAULT_LISTEN = "127.0.0.1:8750"

__all__ = ["DEFAULT_LISTEN", "Listen", "app_from_environment", "application", "serve"]


def application(home_path: Path, *, limits: Limits | None = None) -> FastAPI:
    """The application over the ledger of the home at ``home_path`` (opened as a writer)."""
    home = find_home(home_path, None, home_path)
    passphrase = os.environ.get(LOG_PASSPHRASE_VARIABLE)
    ledger = home.ledger(log_passphrase=passphrase.encode("utf-8") if passphrase else None)
    app = create_app(ledger, clock=utc_now, limits=limits)
    app.add_middleware(AccessLog)
    return app


def app_from_environment() -> FastAPI:
    """The factory each worker process calls (``BLOC_SERVE_HOME`` names the home,
    ``BLOC_SERVE_LIMITS`` holds the limits as JSON)."""
    limits = Limits(**json.loads(os.environ.get(LIMITS_VARIABLE, "{}")))
    return application(Path(os.environ[HOME_VARIABLE]), limits=limits)


def serve(
    home_path: Path,
    *,
    listen: Listen,
    workers: int,
    announce: Callable[[str], None],
    limits: Limits | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT. ``announce`` gets ``listening on http://HOST:PORT``.

    Raises:
        ConfigError: the home cannot be served as asked (several workers on SQLite, a port
            in use, a broken home).
    """
    home = find_home(home_path, None, home_path)
    if workers > 1 and not home.db_url.startswith("postgresql"):
        raise ConfigError(
            f"--workers {workers} needs a PostgreSQL ledger; this home's is SQLite (one process)"
        )
    sock = bind(listen)
    limits = limits or Limits()
    if workers == 1:
        run_one_process(application(home.path, limits=limits), sock, announce)
        return
    exit_zero_when_drained()
    os.environ[HOME_VARIABLE] = str(home.path)
    os.environ[LIMITS_VARIABLE] = json.dumps(dataclasses.asdict(limits))
    config = uvicorn.Config(
        "ledger.net._serve:app_from_environment",
        factory=True,
        workers=workers,
        **UVICORN_SETTINGS,
    )
    announce(listening_line(sock))
    Multiprocess(config, sockets=[sock]).run()
