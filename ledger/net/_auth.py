"""Signed reads (ADR 0031): who is asking, from the request's RFC 9421 signature.

A read carries ``Signature-Input``/``Signature`` under the label ``bloc``, covering the
method, authority, path and query, with ``created`` inside a short window and ``keyid`` the
bloc key id of a registrar key of ``root.json`` or of a participant key the registry holds
and that may sign now. Anything else is 401 with one line; whether the reader may see what
it asked for is the endpoint's question (403).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ledger.core import message_signatures as signatures
from ledger.core.signing import KeyId, PublicKey
from ledger.service import Ledger
from ledger.service._readers import Reader, reader

WINDOW_SECONDS = 300
"""How old a request's ``created`` may be (and so how long a captured one replays)."""


class Denied(Exception):
    """A request that is not authenticated (401) or not allowed (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def authenticate(request: Request, ledger: Ledger, clock: Callable[[], datetime]) -> Reader:
    """The reader who signed ``request``.

    Raises:
        Denied: 401, the request is unsigned, badly signed, stale, or signed by a key that
            is unknown, not yet valid, expired or revoked.
    """
    if "signature-input" not in request.headers:
        raise Denied(401, "this read must be signed (RFC 9421, label 'bloc'): use a bloc client")
    return await run_in_threadpool(_verify, request, ledger, clock())


def _verify(request: Request, ledger: Ledger, now: datetime) -> Reader:
    found: dict[KeyId, Reader] = {}

    def key_for(keyid: KeyId) -> PublicKey | None:
        who = reader(ledger.store, ledger.root, keyid, now=now)
        if who is None:
            return None
        found[keyid] = who
        return who.key

    try:
        keyid = signatures.verify_request(
            method=request.method,
            authority=request.headers.get("host", ""),
            path=request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
            query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=request.headers,
            body=None,
            key_for=key_for,
            now=int(now.timestamp()),
            window=WINDOW_SECONDS,
            scheme=request.url.scheme,
        )
    except signatures.SignatureRejected as e:
        raise Denied(401, str(e)) from e
    return found[keyid]
