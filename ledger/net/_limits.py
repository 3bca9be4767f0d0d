"""What one request may cost (ADR 0030): body size, records per request, time to send the
body, and requests per second per address and per key.

Limits answer with the status a client can act on: 413 for a body or batch that is too
large, 408 for a body that does not arrive in time, 415 for a media type the server does not
take, 429 with ``Retry-After`` for a client that sends too fast.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import ClientDisconnect, Request

JSON = "application/json"
JSONL = "application/jsonl"


DEFAULT_RATE = 2000.0
DEFAULT_BURST = 4000


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_body_bytes: int = 4 << 20
    max_records: int = 1000
    body_seconds: float = 30.0
    rate_per_second: float = DEFAULT_RATE
    """Requests per second per address and per key, sustained."""
    burst: int = DEFAULT_BURST
    """Requests a client may make at once before the rate applies."""


class TooMany(Exception):
    """A request over a limit: its HTTP status and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Request, limits: Limits) -> bytes:
    """The whole body, or :class:`TooMany` as soon as it is too large or too slow."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise TooMany(413, f"request body is larger than {limits.max_body_bytes} bytes")
    try:
        return await asyncio.wait_for(_collect(request, limits), timeout=limits.body_seconds)
    except TimeoutError as e:
        raise TooMany(408, f"request body did not arrive within {limits.body_seconds:g} s") from e
    except ClientDisconnect as e:
        raise TooMany(400, "the client went away before sending the whole body") from e


async def _collect(request: Request, limits: Limits) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.max_body_bytes:
            raise TooMany(413, f"request body is larger than {limits.max_body_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def split_records(media_type: str, body: bytes, limits: Limits) -> list[bytes]:
    """The envelopes of a body: the whole body for ``application/json``, one per non-blank
    line for ``application/jsonl``."""
    if media_type == JSON:
        if not body.strip():
            raise TooMany(400, "the request body is empty: send one envelope")
        return [body]
    if media_type != JSONL:
        raise TooMany(415, f"send {JSON} (one envelope) or {JSONL} (one per line)")
    lines = [line.rstrip(b"\r") for line in body.split(b"\n") if line.strip()]
    if not lines:
        raise TooMany(400, "the request body is empty: send one envelope per line")
    if len(lines) > limits.max_records:
        raise TooMany(413, f"{len(lines)} records in one request; at most {limits.max_records}")
    return lines


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class RateLimiter:
    """Token buckets per client (an address or a key), in this process."""

    limits: Limits
    clock: Callable[[], datetime]
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def take(self, who: str) -> int | None:
        """Spend one request of ``who``'s; ``None`` if it may go on, else the seconds it
        should wait (for ``Retry-After``)."""
        now = self.clock().timestamp()
        rate, burst = self.limits.rate_per_second, float(self.limits.burst)
        bucket = self._buckets.get(who) or _Bucket(tokens=burst, at=now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        self._buckets[who] = bucket
        if len(self._buckets) > 100_000:
            self._buckets.clear()  # bounded memory; forgetting only ever lets a client go on
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / rate))
