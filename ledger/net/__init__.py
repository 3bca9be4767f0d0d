"""The ledger over HTTP: the server (``bloc serve``) and its client (remote homes).

:func:`create_app` is the ASGI application (FastAPI) over one :class:`~ledger.service.Ledger`;
:func:`serve` runs it on uvicorn. :class:`Witnessing` asks the witnesses
of ``root.json`` to cosign each new checkpoint (ADR 0037). Writes are pooled into group commits
(:mod:`._committer`); reads are signed (RFC 9421) and authorised per lot (:mod:`._auth`).
ADR 0030 and 0031.
"""

from ledger.net._app import create_app
from ledger.net._limits import DEFAULT_BURST, DEFAULT_RATE, Limits
from ledger.net._remote import RemoteLedger, connect
from ledger.net._serve import DEFAULT_LISTEN, Listen, serve
from ledger.net._witnessing import (
    WitnessConflict,
    Witnessed,
    Witnessing,
    WitnessRefused,
    WitnessUnavailable,
    collect_once,
    request_cosignature,
)

__all__ = [
    "DEFAULT_BURST",
    "DEFAULT_LISTEN",
    "DEFAULT_RATE",
    "Limits",
    "Listen",
    "RemoteLedger",
    "WitnessConflict",
    "WitnessRefused",
    "WitnessUnavailable",
    "Witnessed",
    "Witnessing",
    "collect_once",
    "connect",
    "create_app",
    "request_cosignature",
    "serve",
]
