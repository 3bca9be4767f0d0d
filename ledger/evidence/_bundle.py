"""Evidence bundles: a lot's provenance as one self-contained, offline-checkable document.

A bundle (``schemas/evidence.schema.json``) holds the envelopes of every record about the
lot's upstream — the records that created each upstream lot, and every record that consumed,
shipped or received one of them — and the registrations (participants, facilities, key
revocations) of everyone who signed them or operates a facility they name; each entry with
an RFC 6962 inclusion proof against one signed checkpoint. It also holds the policy document
that was applied (with its digest), the as-of date, and the verdict.

:func:`check_bundle` is the offline half of ``bloc verify-bundle`` and is pure. In order:

1. the checkpoint is signed by the log key of ``root.json``, for its origin;
2. entries are in strictly increasing log order, inside the checkpoint's tree;
3. each envelope opens (shape, payload schema), its signatures verify against the
   registrations earlier in the bundle (registrations: against a registrar key of
   ``root.json``), with validity windows, rotations and revocations as the log applied
   them, and its signer may act for the facility it names;
4. each entry's inclusion proof leads to the checkpoint's root hash;
5. the upstream is complete: the lot, and every lot a transformation in its upstream
   consumed, was created by an entry of the bundle; every shipment a receipt names and
   every facility a record names is in it;
6. the policy document matches its digest.

Recomputing the verdict needs the provenance index, so the service layer replays the checked
entries into a scratch store (``ledger.service.verify_bundle``).

What a bundle cannot prove is absence: that the log holds no *other* record about an
upstream lot (a second consumption, a later revocation) than the ones included. A Merkle
inclusion proof shows a record is in the log, never that a record is not. ADR 0010.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.compliance.policy import Policy, parse_policy
from ledger.core import schema
from ledger.core.codec import canonical_json, format_timestamp, parse_json
from ledger.errors import InputError, RecordRejected, VerificationError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, verify_checkpoint
from ledger.records.admission import Opened, Registry, check_signed_tail_entry, open_envelope
from ledger.records.model import (
    Extraction,
    Facility,
    KeyRevocation,
    LotId,
    Receipt,
    Shipment,
    Transformation,
)
from ledger.records.trust import TrustRoot

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """What :func:`check_bundle` established."""

    checkpoint: Checkpoint
    entries: tuple[tuple[int, Opened], ...]
    policy: Policy
    consistency: tuple[int, int] | None
    """(old size, new size) when a kept checkpoint was shown to be a prefix."""


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
                log_index=item["log_index"],
                envelope=canonical_json(item["envelope"]),
                proof=tuple(bytes.fromhex(h) for h in item["inclusion_proof"]),
            )
            for item in doc["entries"]
        ),
        policy=doc["policy"]["document"],
        policy_digest=doc["policy"]["digest"],
        verdict=doc["verdict"],
        consistency=(
            Consistency(
                old_size=consistency["old_size"],
                old_root=bytes.fromhex(consistency["old_root"]),
                proof=tuple(bytes.fromhex(h) for h in consistency["proof"]),
            )
            if consistency is not None
            else None
        ),
    )


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


def check_bundle(
    bundle: Bundle,
    root: TrustRoot,
    *,
    since: str | None = None,
    expected_policy: Policy | None = None,
) -> Checked:
    """Steps 1–6 of the module docstring; ``since`` is a signed checkpoint note the reader
    kept, which the bundle's checkpoint must extend; ``expected_policy`` is the policy the
    reader accepts (the bundle's must be exactly it).

    Raises:
        VerificationError: the first problem, naming the log index and record.
    """
    checkpoint = _checkpoint(bundle.checkpoint, root, "the bundle's checkpoint")
    policy = _policy(bundle, expected_policy)
    opened = _entries(bundle, root, checkpoint)
    _complete(bundle.lot, opened)
    grew = None if since is None else _grew(bundle, root, checkpoint, since)
    return Checked(checkpoint=checkpoint, entries=opened, policy=policy, consistency=grew)


def _checkpoint(note: str, root: TrustRoot, what: str) -> Checkpoint:
    try:
        return verify_checkpoint(note, origin=root.origin, key=root.log_key)
    except VerificationError as e:
        raise VerificationError(f"{what}: {e} (root.json log key {root.log_key.keyid})") from e


def _entries(
    bundle: Bundle, root: TrustRoot, checkpoint: Checkpoint
) -> tuple[tuple[int, Opened], ...]:
    registry = Registry(root.registrar_keys())
    revoked = _revocations(bundle)
    opened: list[tuple[int, Opened]] = []
    previous = -1
    for position, entry in enumerate(bundle.entries):
        index = entry.log_index
        where = f"entries[{position}] (log index {index})"
        if index <= previous:
            raise VerificationError(
                f"{where}: entries are not in strictly increasing log order (after {previous})"
            )
        if index >= checkpoint.tree_size:
            raise VerificationError(
                f"{where}: beyond the checkpoint's tree size {checkpoint.tree_size}"
            )
        previous = index
        try:
            item = open_envelope(entry.envelope)
        except RecordRejected as e:
            raise VerificationError(f"{where}: {e}") from e
        what = f"{where}, {item.record.kind} {item.record_id}"
        try:
            check_signed_tail_entry(item, registry)
        except RecordRejected as e:
            raise VerificationError(f"{what}: {e}") from e
        try:
            merkle.verify_inclusion(
                index=index,
                size=checkpoint.tree_size,
                leaf_hash=item.leaf_hash,
                proof=entry.proof,
                root_hash=checkpoint.root_hash,
            )
        except merkle.ProofError as e:
            raise VerificationError(
                f"{what}: inclusion proof does not verify against the checkpoint (tree size "
                f"{checkpoint.tree_size}): {e} — the record or its proof was altered, swapped "
                "or taken from another log" + _stolen_key_hint(item, revoked)
            ) from e
        registry.apply(item.record)
        opened.append((index, item))
    return tuple(opened)


def _revocations(bundle: Bundle) -> dict[str, tuple[int, KeyRevocation]]:
    """The bundle's key revocations by key id (the ones that open; the others fail later)."""
    found: dict[str, tuple[int, KeyRevocation]] = {}
    for entry in bundle.entries:
        try:
            record = open_envelope(entry.envelope).record
        except RecordRejected:
            continue
        if isinstance(record, KeyRevocation):
            found.setdefault(record.keyid, (entry.log_index, record))
    return found


def _stolen_key_hint(item: Opened, revoked: Mapping[str, tuple[int, KeyRevocation]]) -> str:
    for sig in item.envelope.signatures:
        if sig.keyid in revoked:
            index, revocation = revoked[sig.keyid]
            return (
                f"; it is signed by key {sig.keyid}, which log index {index} revokes "
                f"(compromised since {format_timestamp(revocation.compromised_since)}): "
                "re-signed with a stolen key?"
            )
    return ""


def _complete(lot: LotId, entries: Sequence[tuple[int, Opened]]) -> None:
    """Every lot upstream of ``lot`` has its creating record; every receipt its shipment;
    every named facility its registration."""
    created: dict[LotId, tuple[int, Transformation | Extraction]] = {}
    shipments: set[str] = set()
    facilities: set[str] = set()
    for index, item in entries:
        record = item.record
        match record:
            case Extraction():
                created.update((new.id, (index, record)) for new in record.lots)
            case Transformation():
                created.update((new.id, (index, record)) for new in record.outputs)
            case Shipment():
                shipments.add(record.id)
                if record.to_facility not in facilities:
                    raise VerificationError(
                        f"incomplete: log index {index} ships {record.id} to "
                        f"{record.to_facility}, whose registration is not in the bundle"
                    )
            case Receipt():
                if record.shipment not in shipments:
                    raise VerificationError(
                        f"incomplete: log index {index} receives {record.shipment}, whose "
                        "shipment record is not in the bundle before it"
                    )
            case Facility():
                facilities.add(record.id)
            case _:
                pass
    if lot not in created:
        raise VerificationError(f"incomplete: no record in the bundle creates {lot}")
    todo, seen = [lot], {lot}
    while todo:
        index, record = created[todo.pop()]
        if not isinstance(record, Transformation):
            continue
        for amount in record.inputs:
            if amount.lot in seen:
                continue
            if amount.lot not in created:
                raise VerificationError(
                    f"incomplete: {amount.lot}, consumed by the {record.stage} at log index "
                    f"{index}, has no creating record in the bundle (upstream record missing)"
                )
            seen.add(amount.lot)
            todo.append(amount.lot)


def _policy(bundle: Bundle, expected: Policy | None) -> Policy:
    digest = policy_digest(bundle.policy)
    if digest != bundle.policy_digest:
        raise VerificationError(
            f"the policy document's digest is {digest}, the bundle names {bundle.policy_digest} "
            "(policy altered)"
        )
    if expected is not None and digest != expected.digest:
        raise VerificationError(
            f"the bundle was judged under policy {bundle.policy.get('name')!r} with digest "
            f"{digest}, not the {expected.name} you accept (digest {expected.digest}): a "
            "substituted or other version of the policy"
        )
    try:
        return parse_policy(canonical_json(bundle.policy))
    except InputError as e:
        raise VerificationError(f"the bundle's policy is not valid: {e}") from e


def _grew(bundle: Bundle, root: TrustRoot, checkpoint: Checkpoint, since: str) -> tuple[int, int]:
    old = _checkpoint(since, root, "the kept checkpoint")
    if old.tree_size > checkpoint.tree_size:
        raise VerificationError(
            f"the kept checkpoint (tree size {old.tree_size}) is newer than the bundle's "
            f"({checkpoint.tree_size}): ask for a bundle made after it"
        )
    if old.tree_size == 0:
        if old.root_hash != merkle.EMPTY_ROOT:
            raise VerificationError("the kept checkpoint has tree size 0 but a root hash")
        return 0, checkpoint.tree_size
    if old.tree_size == checkpoint.tree_size:
        if old.root_hash != checkpoint.root_hash:
            raise VerificationError(
                f"the kept checkpoint and the bundle's both have tree size {old.tree_size} "
                "but different root hashes: the log was rewritten (a fork)"
            )
        return old.tree_size, checkpoint.tree_size
    proof = bundle.consistency
    if proof is None or proof.old_size != old.tree_size:
        raise VerificationError(
            f"the bundle carries no consistency proof from tree size {old.tree_size} (make it "
            "with 'bloc evidence ... --since' and the kept checkpoint)"
        )
    if proof.old_root != old.root_hash:
        raise VerificationError(
            f"the bundle's consistency proof starts from another root hash at tree size "
            f"{old.tree_size} than the kept checkpoint's: the log was rewritten (a fork)"
        )
    try:
        merkle.verify_consistency(
            old_size=old.tree_size,
            new_size=checkpoint.tree_size,
            old_root=old.root_hash,
            new_root=checkpoint.root_hash,
            proof=proof.proof,
        )
    except merkle.ProofError as e:
        raise VerificationError(
            f"the log did not only grow from tree size {old.tree_size} to "
            f"{checkpoint.tree_size}: consistency proof fails ({e})"
        ) from e
    return old.tree_size, checkpoint.tree_size
