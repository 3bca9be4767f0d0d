"""The shared ledger's HTTP interface (``../shared/DESIGN.md`` §11, ADR 0030, ADR 0031).

Public: ``GET /healthz``, ``GET /checkpoint`` (the signed note), hash tiles ``GET
/tile/<L>/<N>[.p/<W>]`` (C2SP tlog-tiles) and ``GET /openapi.json``. Writes: ``POST
/v1/records`` (records authenticate themselves by their signatures), answered after the
group commit that made them durable. Every other read is signed (RFC 9421) by a registered,
unrevoked key, and sees only what its reader may (:mod:`ledger.service._readers`).

Every answer that is not a success is ``{"error": "<one line>"}`` with a fitting status;
no input yields a 500, and an unexpected failure is logged and answered without its trace.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import compliance
from ledger.compliance import policy as policies
from ledger.errors import InputError, LedgerError, StorageError, VerificationError
from ledger.evidence import to_bytes
from ledger.log import tiles
from ledger.net._auth import Denied, authenticate
from ledger.net._committer import Committer
from ledger.net._limits import Limits, RateLimiter, TooMany, read_body, split_records
from ledger.net._openapi import (
    ENTRY_BUNDLE_PATH,
    HASH_TILE_PATH,
    JSON,
    JSONL,
    SUBMIT_ANSWER,
    refusals,
    without_validation_422,
)
from ledger.net._witnessing import Witnessing
from ledger.provenance.graph import RENDERERS
from ledger.service import Ledger
from ledger.service._readers import Reader, may_read_lot
from ledger.serving import report_line

log = logging.getLogger("bloc.server")

IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache-Control of a full tile: its bytes never change (tlog-tiles)."""
FRESH = "no-cache"

DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""A calendar date in a query (ISO 8601, RFC 3339 ``full-date``)."""

SIGNED = (400, 401, 404, 429, 503)
"""What a signed read may answer besides its success."""
GATED = (*SIGNED, 403)
"""What a signed read that depends on who signed it may answer besides its success."""

HashTilePath = Annotated[
    str,
    Path(
        description="<L>/<N>[.p/<W>] (C2SP tlog-tiles); any other path is 404",
        examples=["0/x001/234", "1/000.p/7"],
        json_schema_extra={"pattern": HASH_TILE_PATH},
    ),
]
EntryBundlePath = Annotated[
    str,
    Path(
        description="<N>[.p/<W>] (C2SP tlog-tiles); any other path is 404",
        examples=["x001/234", "000.p/11"],
        json_schema_extra={"pattern": ENTRY_BUNDLE_PATH},
    ),
]
LotId = Annotated[
    str,
    Path(
        description="A lot id, lot:<org>/<local> (one path segment or more)",
        examples=["lot:acme/17"],
    ),
]


@dataclass(slots=True)
class Problem(Exception):
    """An answer that is not a success: an HTTP status and one line."""

    status: int
    message: str
    headers: dict[str, str] | None = None


class _Service(FastAPI):
    """FastAPI, whose OpenAPI description says what this service answers: a request that
    does not parse is a 400 with one line, never FastAPI's 422 with an error list."""

    def openapi(self) -> dict[str, Any]:
        return without_validation_422(super().openapi())


def create_app(
    ledger: Ledger, *, clock: Callable[[], datetime], limits: Limits | None = None
) -> FastAPI:
    """The ASGI application over ``ledger`` (opened as a writer: it signs checkpoints)."""
    limits = limits or Limits()
    witnessing = Witnessing(ledger) if ledger.root.witnesses else None
    ask = None if witnessing is None else partial(_ask_witnesses, witnessing)
    committer = Committer(ledger, clock, after_commit=ask)
    rates = RateLimiter(limits, clock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if ask is not None:  # a checkpoint left uncosigned by a crash or an outage
            await run_in_threadpool(ask)
        committer.start()
        try:
            yield
        finally:
            await committer.close()
            if witnessing is not None:
                witnessing.close()

    app = _Service(
        title="Bloc Ledger",
        version="1",
        summary="A shared, tamper-evident ledger of critical-minerals provenance.",
        lifespan=lifespan,
    )
    _errors(app)
    _reads(app, ledger, rates, clock)  # before _public: /tile/entries/ is not a hash tile
    _public(app, ledger)
    _writes(app, committer, rates, limits)
    return app


def _ask_witnesses(witnessing: Witnessing) -> None:
    """Ask the witnesses; a checkpoint they do not cosign is reported on standard error
    (readers keep the last witnessed one), never turned into a failed write."""
    try:
        witnessed = witnessing.collect()
    except Exception as e:  # the commit is done: a witnessing failure never fails it
        report_line({"event": "witnessing", "error": f"{type(e).__name__}: {e}"})
        return
    if witnessed is not None and (witnessed.failures or not witnessed.met):
        report_line({"event": "witnessing", "met": witnessed.met, "message": witnessed.describe()})


# -- errors ----------------------------------------------------------------------------------


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(_: Request, error: Problem) -> JSONResponse:
        return _error(error.status, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        # Starlette's own headers stay: a 405 names the allowed methods in Allow (RFC 9110).
        headers = dict(error.headers) if error.headers else None
        return _error(error.status_code, str(error.detail), headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, "internal error: the server logged it")


def _ledger_problem(error: LedgerError) -> Problem:
    if isinstance(error, StorageError):
        return Problem(503, f"storage unavailable: {error}", {"Retry-After": "1"})
    if isinstance(error, VerificationError):
        return Problem(500, f"the ledger failed its own check: {error}")
    if isinstance(error, InputError) and "does not exist" in str(error):
        return Problem(404, str(error))
    return Problem(400, str(error))


# -- public ----------------------------------------------------------------------------------


def _public(app: FastAPI, ledger: Ledger) -> None:
    @app.get("/healthz", summary="Liveness", responses=refusals(503))
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "tree_size": await _call(ledger.store.tree_size)}

    @app.get(
        "/checkpoint",
        summary="The newest checkpoint, a C2SP signed note",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **refusals(404, 503),
        },
    )
    async def checkpoint() -> Response:
        try:
            _, note = await run_in_threadpool(ledger.latest_checkpoint)
        except InputError as e:
            raise Problem(404, str(e)) from e
        except LedgerError as e:
            raise _ledger_problem(e) from e
        return Response(
            note, media_type="text/plain; charset=utf-8", headers={"Cache-Control": FRESH}
        )

    @app.get(
        "/tile/{path:path}",
        summary="A hash tile (C2SP tlog-tiles); entry bundles are under /tile/entries/",
        response_class=Response,
        responses={
            200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}},
            **refusals(404, 503),
        },
    )
    async def tile(path: HashTilePath) -> Response:
        try:
            ref = tiles.parse_tile_path(path)
        except InputError as e:
            raise Problem(404, f"no such tile: {e}") from e
        if ref.level is None:
            raise Problem(404, "no such tile")
        return _tile_response(await _call(ledger.hash_tile, ref), ref)


def _tile_response(data: bytes | None, ref: tiles.TileRef) -> Response:
    if data is None:
        raise Problem(404, "no such tile in the published tree")
    full = ref.width == tiles.TILE_WIDTH
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Cache-Control": IMMUTABLE if full else FRESH},
    )


# -- writes ----------------------------------------------------------------------------------


def _writes(app: FastAPI, committer: Committer, rates: RateLimiter, limits: Limits) -> None:
    @app.post(
        "/v1/records",
        summary="Submit signed records (application/json: one; application/jsonl: many)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    JSON: {
                        "schema": {
                            "type": "object",
                            "description": "One DSSE envelope (envelope.schema.json)",
                        }
                    },
                    JSONL: {
                        "schema": {
                            "type": "string",
                            "description": "DSSE envelopes, one JSON object per line",
                        }
                    },
                },
            }
        },
        responses={
            200: {
                "description": "Every record was accepted (or was already in the log)",
                "content": {JSON: {"schema": SUBMIT_ANSWER}},
            },
            422: {
                "description": "At least one record was rejected; the others were judged alone",
                "content": {JSON: {"schema": SUBMIT_ANSWER}},
            },
            **refusals(400, 408, 413, 415, 429, 503),
        },
    )
    async def records(request: Request) -> JSONResponse:
        _rate(rates, f"address:{_address(request)}")
        body = await _body(request, limits)
        envelopes = _envelopes(request, body, limits)
        try:
            results = await committer.submit(envelopes)
        except LedgerError as e:
            raise _ledger_problem(e) from e
        answer = [r.document() for r in results]
        status = 200 if all(r.accepted for r in results) else 422
        return JSONResponse(answer, status_code=status)


async def _body(request: Request, limits: Limits) -> bytes:
    try:
        return await read_body(request, limits)
    except TooMany as e:
        raise Problem(e.status, str(e)) from e


def _envelopes(request: Request, body: bytes, limits: Limits) -> list[bytes]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        return split_records(kind, body, limits)
    except TooMany as e:
        raise Problem(e.status, str(e)) from e


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _rate(rates: RateLimiter, who: str) -> None:
    wait = rates.take(who)
    if wait is not None:
        raise Problem(429, f"too many requests from {who}", {"Retry-After": str(wait)})


# -- signed reads ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Gate:
    """Who is reading (the request's signature), and whether they may read a lot."""

    ledger: Ledger
    rates: RateLimiter
    clock: Callable[[], datetime]

    async def signed(self, request: Request) -> Reader:
        _rate(self.rates, f"address:{_address(request)}")
        try:
            who = await authenticate(request, self.ledger, self.clock)
        except Denied as e:
            raise Problem(e.status, str(e)) from e
        _rate(self.rates, f"key:{who.keyid}")
        return who

    async def lot(self, request: Request, lot: str) -> Reader:
        who = await self.signed(request)
        if not await run_in_threadpool(may_read_lot, self.ledger.store, who, lot):
            # The same answer whether the lot exists or not: no probing for lot ids.
            raise Problem(403, f"{who.participant} may not read {lot}")
        return who


def _reads(app: FastAPI, ledger: Ledger, rates: RateLimiter, clock: Callable[[], datetime]) -> None:
    gate = _Gate(ledger, rates, clock)
    _log_reads(app, ledger, gate)
    _lot_reads(app, ledger, gate)


def _log_reads(app: FastAPI, ledger: Ledger, gate: _Gate) -> None:
    @app.get(
        "/tile/entries/{path:path}",
        summary="An entry bundle (C2SP tlog-tiles): auditors only",
        response_class=Response,
        responses={
            200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}},
            **refusals(*GATED),
        },
    )
    async def entries(path: EntryBundlePath, request: Request) -> Response:
        who = await gate.signed(request)
        if not who.sees_everything:
            raise Problem(403, f"{who.participant} may not read every record")
        try:
            ref = tiles.parse_tile_path(f"entries/{path}")
        except InputError as e:
            raise Problem(404, f"no such tile: {e}") from e
        return _tile_response(await _call(ledger.entry_bundle, ref), ref)

    @app.get(
        "/v1/findings",
        summary="What 'bloc findings --json' prints, as a list",
        responses=refusals(*GATED),
    )
    async def findings(
        request: Request,
        lot: Annotated[str | None, Query(description="Only about this lot's upstream")] = None,
        as_of: Annotated[str | None, _date_query("Default: today")] = None,
    ) -> list[dict[str, object]]:
        who = await gate.signed(request)
        if lot is None and not who.sees_everything:
            raise Problem(403, f"{who.participant} may read findings about its own lots only")
        if lot is not None:
            await gate.lot(request, lot)
        day = _day(as_of, gate.clock)
        found = await _call(ledger.findings, as_of=day, lot=lot)
        return [f.document() for f in found]

    @app.get(
        "/v1/proofs/inclusion",
        summary="What 'bloc log prove INDEX --json' prints",
        responses=refusals(*SIGNED),
    )
    async def inclusion(
        request: Request,
        index: Annotated[int, Query(ge=0)],
        tree_size: Annotated[int | None, Query(ge=1)] = None,
    ) -> dict[str, object]:
        await gate.signed(request)
        proof = await _call(ledger.prove_inclusion, index, tree_size=tree_size)
        return proof.document()  # type: ignore[no-any-return]

    @app.get(
        "/v1/proofs/consistency",
        summary="What 'bloc log consistency OLD NEW --json' prints",
        responses=refusals(*SIGNED),
    )
    async def consistency(
        request: Request,
        old: Annotated[int, Query(ge=0)],
        new: Annotated[int, Query(ge=0)],
    ) -> dict[str, object]:
        await gate.signed(request)
        proof = await _call(ledger.prove_consistency, old, new)
        return proof.document()  # type: ignore[no-any-return]


def _lot_reads(app: FastAPI, ledger: Ledger, gate: _Gate) -> None:
    @app.get(
        "/v1/lots/{lot:path}/verdict",
        summary="What 'bloc check LOT --json' prints",
        responses=refusals(*GATED),
    )
    async def verdict(
        lot: LotId,
        request: Request,
        policy: Annotated[str, _policy_query()],
        as_of: Annotated[str | None, _date_query("Delivery date (default: today)")] = None,
    ) -> dict[str, Any]:
        await gate.lot(request, lot)
        chosen = _policy(policy)
        day = _day(as_of, gate.clock)
        return compliance.verdict_document(await _call(ledger.check, lot, policy=chosen, as_of=day))

    @app.get(
        "/v1/lots/{lot:path}/evidence",
        summary="What 'bloc evidence LOT' writes",
        response_class=Response,
        responses={200: {"content": {JSON: {"schema": {"type": "object"}}}}, **refusals(*GATED)},
    )
    async def evidence(
        lot: LotId,
        request: Request,
        policy: Annotated[str, _policy_query()],
        as_of: Annotated[str | None, _date_query("Delivery date (default: today)")] = None,
    ) -> Response:
        await gate.lot(request, lot)
        chosen = _policy(policy)
        day = _day(as_of, gate.clock)
        bundle = await _call(ledger.evidence, lot, policy=chosen, as_of=day)
        return Response(to_bytes(bundle), media_type="application/json")

    @app.get(
        "/v1/lots/{lot:path}",
        summary="What 'bloc trace LOT --format json' prints",
        response_class=Response,
        responses={200: {"content": {JSON: {"schema": {"type": "object"}}}}, **refusals(*GATED)},
    )
    async def trace(
        lot: LotId,
        request: Request,
        down: Annotated[bool, Query(description="Downstream instead of upstream")] = False,
    ) -> Response:
        await gate.lot(request, lot)
        graph = await _call(ledger.trace, lot, downstream=down)
        return Response(RENDERERS["json"](graph), media_type="application/json")


def _date_query(description: str) -> Any:
    """A ``YYYY-MM-DD`` query parameter: exactly a calendar date, not whatever pydantic
    would take for one (a Unix timestamp, a datetime at midnight)."""
    return Query(description=description, pattern=DAY, json_schema_extra={"format": "date"})


def _day(as_of: str | None, clock: Callable[[], datetime]) -> date:
    """The date ``as_of`` names (already ``YYYY-MM-DD``), today when it is absent."""
    if as_of is None:
        return clock().date()
    try:
        return date.fromisoformat(as_of)
    except ValueError as e:
        raise Problem(400, f"query.as_of: {as_of} is not a calendar date") from e


def _policy_query() -> Any:
    """A policy query parameter, documented as the built-in names; :func:`_policy` checks
    it, and its 400 names them."""
    return Query(
        description="A built-in policy name",
        json_schema_extra={"enum": policies.builtin_names()},
    )


def _policy(name: str) -> policies.Policy:
    """A built-in policy: the server reads no files a client names."""
    if name not in policies.builtin_names():
        known = ", ".join(policies.builtin_names())
        raise Problem(400, f"unknown policy {name!r} (built in: {known})")
    return policies.load(name)


async def _call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` in a worker thread (the database blocks), its ledger
    errors turned into answers."""
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except LedgerError as e:
        raise _ledger_problem(e) from e
