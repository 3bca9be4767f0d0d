"""What the service's OpenAPI description says that FastAPI cannot infer from the routes.

Every answer that is not a success is ``{"error": "<one line>"}``; :func:`refusals` documents
the statuses an operation may answer that way, with ``Retry-After`` where the app sets it.
:data:`SUBMIT_ANSWER` is the shape of a write's answer (ADR 0030), and the tile path patterns
are the C2SP tlog-tiles spellings :func:`ledger.log.tiles.parse_tile_path` accepts (a path
that matches may still name a tile beyond the published tree: 404).

:func:`without_validation_422` removes the answer FastAPI documents by default for a request
that does not parse (422 with its own error list): this service answers 400 and one line.
"""

from __future__ import annotations

from typing import Any

JSON = "application/json"
JSONL = "application/jsonl"

ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What went wrong, one line"}},
    "additionalProperties": False,
}

SUBMIT_ANSWER: dict[str, Any] = {
    "type": "array",
    "description": "One result per record, in the order sent",
    "items": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"enum": ["accepted", "duplicate", "rejected"]},
            "log_index": {"type": "integer", "minimum": 0},
            "leaf_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "reason": {"type": "string", "description": "Why it was rejected, one line"},
            "record_id": {"type": "string"},
            "kind": {"type": "string"},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    },
}

_LEVEL = r"(?:[0-9]|[1-5][0-9]|6[0-3])"
_INDEX = r"(?:x(?:00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})/(?:x[0-9]{3}/){0,5})?[0-9]{3}"
_WIDTH = r"(?:[1-9][0-9]?|1[0-9]{2}|2[0-4][0-9]|25[0-5])"
HASH_TILE_PATH = rf"^{_LEVEL}/{_INDEX}(?:\.p/{_WIDTH})?$"
"""``<L>/<N>[.p/<W>]`` after ``/tile/``: level 0 to 63, index in x-prefixed 3-digit groups."""
ENTRY_BUNDLE_PATH = rf"^{_INDEX}(?:\.p/{_WIDTH})?$"
"""``<N>[.p/<W>]`` after ``/tile/entries/``."""

_RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
    }
}

_WHY: dict[int, str] = {
    400: "The request does not parse: a malformed parameter or body, or an unknown policy",
    401: "The read is not signed (RFC 9421, label 'bloc') by a registered, unrevoked key",
    403: "The signer may not read this",
    404: "No such thing in the published log",
    408: "The body did not arrive in time",
    413: "The body, or the number of records in it, is over the limit",
    415: f"The body is neither {JSON} (one envelope) nor {JSONL} (one per line)",
    429: "Too many requests from this address or key",
    503: "Storage is unavailable",
}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for ``statuses``, each answered ``{"error": "<one line>"}``."""
    return {status: _refusal(status) for status in statuses}


def _refusal(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _WHY[status],
        "content": {JSON: {"schema": ERROR}},
    }
    if status in (429, 503):
        answer["headers"] = _RETRY_AFTER
    return answer


def without_validation_422(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` without FastAPI's default 422 answers and their schemas (in place)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422", {})
            schema = answer.get("content", {}).get(JSON, {}).get("schema", {})
            if schema.get("$ref", "").endswith("/HTTPValidationError"):
                del operation["responses"]["422"]
    schemas = document.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    if "components" in document and not schemas:
        document["components"].pop("schemas", None)
        if not document["components"]:
            del document["components"]
    return document
