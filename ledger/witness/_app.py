"""The witness's HTTP interface: ``POST /add-checkpoint`` as C2SP ``tlog-witness`` says."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from ledger.log.witnessing import ADD_CHECKPOINT_PATH, MAX_REQUEST_BYTES, SIZE_CONTENT_TYPE
from ledger.witness._witness import Refusal, Witness

_TEXT = "text/plain; charset=utf-8"


def create_app(witness: Witness) -> FastAPI:
    """The ASGI application of ``witness`` (no OpenAPI pages: the protocol is C2SP's)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post(ADD_CHECKPOINT_PATH)
    async def add_checkpoint(request: Request) -> Response:
        body = await _read_capped(request)
        if body is None:
            return Response("request too large\n", status_code=413, headers={"content-type": _TEXT})
        try:
            # The check and the fsync of the new state block: off the event loop.
            lines = await run_in_threadpool(witness.add_checkpoint, body)
        except Refusal as e:
            return _refused(e)
        return Response(lines, status_code=200, headers={"content-type": _TEXT})

    return app


async def _read_capped(request: Request) -> bytes | None:
    """The request body, or ``None`` once it grows past the largest valid request."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_REQUEST_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(refusal: Refusal) -> Response:
    if refusal.status == 409 and refusal.size is not None:
        return Response(
            f"{refusal.size}\n", status_code=409, headers={"content-type": SIZE_CONTENT_TYPE}
        )
    return Response(f"{refusal}\n", status_code=refusal.status, headers={"content-type": _TEXT})
