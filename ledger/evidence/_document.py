"""The evidence bundle document: a lot's provenance as one self-contained file, built and parsed.

A bundle (``schemas/evidence.schema.json``) holds the envelopes of every record about the
lot's upstream — the records that created each upstream lot, and every record that consumed,
shipped or received one of them — and the registrations (participants, facilities, key
revocations) of everyone who signed them or operates a facility they name; each entry with
an RFC 6962 inclusion proof against one signed checkpoint. It also holds the policy document
that was applied (with its digest), the as-of date, and the verdict.

This module writes and reads that document; checking it offline is
:mod:`ledger.evidence._replay`. Parsing checks the shape only (schema, size bounds), never a
signature or a proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.core import schema
from ledger.core.codec import canonical_json, parse_json
from ledger.errors import InputError
from ledger.records.model import LotId

FORMAT = "bloc-evidence/1"
MAX_BUNDLE_BYTES = 32 * 1024 * 1024
"""About 10,000 records; a lot with 500 upstream records makes about 1.5 MB."""

MAX_NODES = {"policy": 50_000, "envelope": 64, "verdict": 50_000}
"""JSON values (objects, arrays, scalars) a part of a bundle may hold: re-serialising a
policy padded with millions of numbers would otherwise cost minutes before it is refused."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    log_index: int
    envelope: bytes
    """The envelope's canonical bytes: the log's leaf is their RFC 6962 leaf hash."""
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Consistency:
    """A consistency proof from an older tree the reader kept to the bundle's checkpoint."""

    old_size: int
    old_root: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundle:
    lot: LotId
    as_of: date
    checkpoint: str
    """The signed checkpoint note every proof leads to."""
    entries: tuple[Entry, ...]
    policy: Mapping[str, Any]
    """The policy document applied."""
    policy_digest: str
    verdict: Mapping[str, Any]
    """The verdict as :func:`ledger.compliance.verdict_document` writes it, through
    :func:`exact`."""
    consistency: Consistency | None = None


def exact(value: Any) -> Any:
    """``value`` with binary floats (a verdict's shares) as the decimals their shortest
    repr spells: canonical JSON writes no floats, and a parsed bundle holds decimals."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [exact(item) for item in value]
    return value


def policy_digest(document: Mapping[str, Any]) -> str:
    """What a bundle names a policy by: SHA-256 of its canonical JSON."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def to_document(bundle: Bundle) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": FORMAT,
        "lot": bundle.lot,
        "as_of": bundle.as_of.isoformat(),
        "policy": {
            "name": bundle.policy["name"],
            "digest": bundle.policy_digest,
            "document": bundle.policy,
        },
        "checkpoint": bundle.checkpoint,
        "entries": [
            {
                "log_index": entry.log_index,
                "envelope": parse_json(entry.envelope, max_bytes=MAX_BUNDLE_BYTES),
                "inclusion_proof": [digest.hex() for digest in entry.proof],
            }
            for entry in bundle.entries
        ],
        "verdict": bundle.verdict,
    }
    if bundle.consistency is not None:
        document["consistency"] = {
            "old_size": bundle.consistency.old_size,
            "old_root": bundle.consistency.old_root.hex(),
            "proof": [digest.hex() for digest in bundle.consistency.proof],
        }
    return document


def to_bytes(bundle: Bundle) -> bytes:
    """The bundle file: canonical JSON, so the same ledger state gives the same bytes."""
    return canonical_json(to_document(bundle)) + b"\n"


def parse_bundle(data: bytes) -> Bundle:
    """Parse and schema-check a bundle file.

    Raises:
        InputError: malformed JSON, too large, or not a bundle (naming the field).
    """
    doc = parse_json(data, max_bytes=MAX_BUNDLE_BYTES, what="evidence bundle")
    schema.validate(doc, "evidence.schema.json", what="bundle")
    _bounded(doc["policy"]["document"], MAX_NODES["policy"], "bundle.policy.document")
    _bounded(doc["verdict"], MAX_NODES["verdict"], "bundle.verdict")
    for i, item in enumerate(doc["entries"]):
        _bounded(item["envelope"], MAX_NODES["envelope"], f"bundle.entries[{i}].envelope")
    if doc["policy"]["name"] != doc["policy"]["document"].get("name"):
        raise InputError(
            f"bundle.policy.name {doc['policy']['name']!r} is not the name in the policy "
            "document it carries"
        )
    consistency = doc.get("consistency")
    return Bundle(
        lot=LotId(doc["lot"]),
        as_of=date.fromisoformat(doc["as_of"]),
        checkpoint=doc["checkpoint"],
        entries=tuple(
            Entry(
                log_index=_integer(item["log_index"], f"bundle.entries[{i}].log_index"),
                envelope=canonical_json(item["envelope"]),
                proof=tuple(bytes.fromhex(h) for h in item["inclusion_proof"]),
            )
            for i, item in enumerate(doc["entries"])
        ),
        policy=doc["policy"]["document"],
        policy_digest=doc["policy"]["digest"],
        verdict=doc["verdict"],
        consistency=(
            Consistency(
                old_size=_integer(consistency["old_size"], "bundle.consistency.old_size"),
                old_root=bytes.fromhex(consistency["old_root"]),
                proof=tuple(bytes.fromhex(h) for h in consistency["proof"]),
            )
            if consistency is not None
            else None
        ),
    )


def _integer(value: object, what: str) -> int:
    """A JSON integer written as one: JSON Schema accepts ``5.0`` and ``5e0`` as integers, a
    bundle must not (the numbers it proves things about are exact log positions)."""
    if type(value) is not int:
        raise InputError(f"{what} {value} is not written as an integer")
    return value


def _bounded(value: Any, limit: int, what: str) -> None:
    """Refuse ``value`` when it holds more than ``limit`` JSON values (counting stops there)."""
    count, todo = 0, [value]
    while todo:
        item = todo.pop()
        count += 1
        if count > limit:
            raise InputError(f"{what} holds more than {limit:,} JSON values")
        if isinstance(item, Mapping):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
