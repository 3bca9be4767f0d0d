"""Running an ASGI application on uvicorn from a socket bound beforehand, shared by
``bloc serve`` (:mod:`ledger.net`) and ``bloc witness serve`` (:mod:`ledger.witness`).

The socket is bound here, before uvicorn starts, so that ``--listen 127.0.0.1:0`` picks a
free port that can be printed (``listening on http://HOST:PORT``) once the server accepts
requests, and so that several worker processes can share it. uvicorn handles SIGTERM and
SIGINT: it stops accepting, lets in-flight requests finish and the process exits 0.
Each request is logged as one JSON line on standard error (:class:`AccessLog`).
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.errors import ConfigError

UVICORN_SETTINGS: dict[str, Any] = {
    "access_log": False,
    "log_level": "warning",
    "timeout_graceful_shutdown": 30,
    "lifespan": "on",
}
"""The uvicorn settings every server here runs with."""


def utc_now() -> datetime:
    """The server's clock."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        """``HOST:PORT`` (an IPv6 host may be in brackets).

        Raises:
            ConfigError: ``text`` is not HOST:PORT with a port up to 65535.
        """
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ConfigError(f"--listen {text!r} is not HOST:PORT (e.g. 127.0.0.1:8750)")
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


def report_line(fields: dict[str, object]) -> None:
    """One JSON line on standard error beside the access log: an event worth an operator's
    attention (a witness that did not cosign, say), stamped with the time."""
    _stderr_line(json.dumps({"time": utc_now().isoformat(timespec="milliseconds"), **fields}))


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class AnnouncingServer(uvicorn.Server):
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


def exit_zero_when_drained() -> None:
    """uvicorn stops on SIGTERM/SIGINT, then raises the signal again for the handler it
    found: that handler is this one and does nothing, so a drained server exits 0."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _drained)


def bind(listen: Listen) -> socket.socket:
    """A listening TCP socket on ``listen`` (port 0: a free one).

    Raises:
        ConfigError: the address cannot be bound (in use, not local).
    """
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


def listening_line(sock: socket.socket) -> str:
    """``listening on http://HOST:PORT`` for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"listening on http://{shown}:{port}"


def run_one_process(app: ASGIApp, sock: socket.socket, announce: Callable[[str], None]) -> None:
    """Serve ``app`` on ``sock`` in this process until SIGTERM or SIGINT (then return).
    ``announce`` gets ``listening on http://HOST:PORT`` once requests are accepted."""
    line = listening_line(sock)
    exit_zero_when_drained()
    server = AnnouncingServer(uvicorn.Config(app, **UVICORN_SETTINGS), lambda: announce(line))
    server.run(sockets=[sock])
