"""The client of a shared ledger (httpx): submit records, fetch checkpoints and tiles, and
make signed reads (RFC 9421) with a participant's or the registrar's key.

Answers that are not successes become :class:`RemoteError` with the server's one line and
the exit code the same failure has locally: 5 for rejected records, 3 for a failed
verification, 2 for anything the caller must fix (a missing key, an unknown lot, a refused
read), and 2 with "server unreachable" when there is no answer at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from ledger.core import message_signatures as signatures
from ledger.core.signing import Signer
from ledger.errors import ConfigError
from ledger.log import tiles

TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class RemoteError(ConfigError):
    """The server refused or failed a request: its status and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Client:
    """One server, one optional reader key."""

    url: str
    signer: Signer | None = None
    clock: Callable[[], float] = time.time
    transport: httpx.BaseTransport | None = None
    _http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"{self.url!r} is not an http(s) URL of a bloc server")
        self._http = httpx.Client(timeout=TIMEOUT, transport=self.transport)

    def close(self) -> None:
        self._http.close()

    # -- requests --------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        signed: bool = False,
    ) -> httpx.Response:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        target = f"{self.url}{path}" + (f"?{query}" if query else "")
        all_headers = dict(headers or {})
        if signed:
            all_headers.update(self._signature(method, target))
        try:
            response = self._http.request(method, target, content=content, headers=all_headers)
        except httpx.HTTPError as e:
            raise RemoteError(0, f"server unreachable at {self.url}: {e}") from e
        return response

    def _signature(self, method: str, target: str) -> dict[str, str]:
        if self.signer is None:
            raise ConfigError(
                "this read is signed: give the home a key ('bloc connect URL --key PEM')"
            )
        parts = urlsplit(target)
        return signatures.sign_request(
            method=method,
            authority=parts.netloc.lower(),
            path=parts.path,
            query=parts.query,
            headers={},
            signer=self.signer,
            created=int(self.clock()),
            scheme=parts.scheme,
        )

    def _ok(self, response: httpx.Response) -> httpx.Response:
        if response.status_code < 400:
            return response
        raise RemoteError(response.status_code, _reason(response))

    # -- the interface ---------------------------------------------------------------------

    def checkpoint(self) -> str:
        """The server's newest checkpoint note (not yet verified: the caller does that)."""
        return self._ok(self._send("GET", "/checkpoint")).text

    def submit(self, envelopes: Sequence[bytes]) -> list[dict[str, Any]]:
        """One result document per envelope, in order (see ``SubmitResult.document``)."""
        if len(envelopes) == 1:
            body, kind = envelopes[0], "application/json"
        else:
            body, kind = b"\n".join(e.strip() for e in envelopes) + b"\n", "application/jsonl"
        response = self._send("POST", "/v1/records", content=body, headers={"Content-Type": kind})
        if response.status_code not in (200, 422):
            raise RemoteError(response.status_code, _reason(response))
        results = response.json()
        if not isinstance(results, list) or len(results) != len(envelopes):
            raise RemoteError(response.status_code, "the server's answer has the wrong shape")
        return results

    def hash_tile(self, level: int, index: int, width: int) -> list[bytes]:
        path = "/tile/" + tiles.tile_path(level, index, width)
        data = self._ok(self._send("GET", path)).content
        return tiles.decode_hash_tile(data, width)

    def entry_bundle(self, index: int, width: int) -> list[bytes]:
        path = "/tile/" + tiles.entries_path(index, width)
        data = self._ok(self._send("GET", path, signed=True)).content
        return tiles.decode_entry_bundle(data, width=width)

    def read_json(self, path: str, **params: Any) -> Any:
        """A signed read of a JSON endpoint."""
        response = self._ok(self._send("GET", path, params=params, signed=True))
        try:
            return response.json()
        except ValueError as e:
            raise RemoteError(response.status_code, f"{path}: the answer is not JSON") from e

    def read_bytes(self, path: str, **params: Any) -> bytes:
        """A signed read of an endpoint answering bytes (an evidence bundle)."""
        return self._ok(self._send("GET", path, params=params, signed=True)).content


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return f"server: {body['error']} (HTTP {response.status_code})"
    return f"server answered HTTP {response.status_code}"
