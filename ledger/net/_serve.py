"""``bloc serve``: the application on uvicorn, one process or several (ADR 0030).

The socket is bound here, before uvicorn starts, so that ``--listen 127.0.0.1:0`` picks a
free port that can be printed, and so that several worker processes share it. One process
serves a SQLite ledger; several need PostgreSQL, whose row lock on the tree head serialises
their commits. uvicorn handles SIGTERM and SIGINT: it stops accepting, lets in-flight
requests finish (the group commit drains before the process ends) and exits 0.

Each request is logged as one JSON line on standard error (:class:`AccessLog`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.supervisors import Multiprocess

from ledger.errors import ConfigError
from ledger.net._app import create_app
from ledger.net._limits import Limits
from ledger.service.home import LOG_PASSPHRASE_VARIABLE, find_home

HOME_VARIABLE = "BLOC_SERVE_HOME"
LIMITS_VARIABLE = "BLOC_SERVE_LIMITS"
DEFAULT_LISTEN = "127.0.0.1:8750"


def utc_now() -> datetime:
    """The server's clock."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ConfigError(f"--listen {text!r} is not HOST:PORT (e.g. {DEFAULT_LISTEN})")
        return cls(host.strip("[]"), int(port))


class AccessLog:
    """ASGI middleware: one JSON line per request on standard error."""

    def __init__(self, app: ASGIApp, write: Callable[[str], Any] | None = None) -> None:
        self.app = app
        self.write = write or _stderr_line

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 0}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client") or ("", 0)
            self.write(
                json.dumps(
                    {
                        "time": utc_now().isoformat(timespec="milliseconds"),
                        "client": client[0],
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status["code"],
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                )
            )


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


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


class _Server(uvicorn.Server):
    """uvicorn's server, announcing itself once it accepts requests."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._announce()


def _drained(signum: int, frame: object) -> None:
    """The signal uvicorn re-raises once it has shut down: nothing left to do."""


def bind(listen: Listen) -> socket.socket:
    """A listening TCP socket on ``listen`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen.host, listen.port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {listen.host}:{listen.port}: {e.strerror}") from e
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


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
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    line = f"listening on http://{shown}:{port}"
    common: dict[str, Any] = {
        "access_log": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": 30,
        "lifespan": "on",
    }
    # uvicorn stops on SIGTERM/SIGINT, then raises the signal again for the handler it
    # found: that handler is ours and does nothing, so a drained server exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _drained)
    limits = limits or Limits()
    if workers == 1:
        app = application(home.path, limits=limits)
        server = _Server(uvicorn.Config(app, **common), lambda: announce(line))
        server.run(sockets=[sock])
        return
    os.environ[HOME_VARIABLE] = str(home.path)
    os.environ[LIMITS_VARIABLE] = json.dumps(dataclasses.asdict(limits))
    config = uvicorn.Config(
        "ledger.net._serve:app_from_environment", factory=True, workers=workers, **common
    )
    announce(line)
    Multiprocess(config, sockets=[sock]).run()
