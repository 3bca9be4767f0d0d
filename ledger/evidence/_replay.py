"""Offline replay of an evidence bundle: is it what the log signed, and is it complete?

:func:`check_bundle` is the offline half of ``bloc verify-bundle`` and is pure. In order:

1. the checkpoint is signed by the log key of ``root.json``, for its origin, and cosigned
   by the quorum of the witnesses ``root.json`` names (ADR 0037);
2. entries are in strictly increasing log order, inside the checkpoint's tree;
3. each envelope opens (shape, payload schema), its signatures verify against the
   registrations earlier in the bundle (registrations: against a registrar key of
   ``root.json``), with validity windows, rotations and revocations as the log applied
   them, and its signer may act for the facility it names;
4. each entry's inclusion proof leads to the checkpoint's root hash;
5. the upstream is complete: the lot, and every lot a transformation in its upstream
   consumed, was created by an entry of the bundle; every shipment a receipt names and
   every facility a record names is in it; and the registry is complete: the bundle's
   registry entries give the registry digest the checkpoint signs (ADR 0038), so no
   participant, facility or key revocation below its tree size was left out;
6. the policy document matches its digest.

Recomputing the verdict needs the provenance index, so the service layer replays the checked
entries into a scratch store (``ledger.service.verify_bundle``).

What a bundle still cannot prove is the absence of *other supply-chain* records about an
upstream lot (a second consumption, say) than the ones included: a Merkle inclusion proof
shows a record is in the log, never that a record is not. The registry is the exception,
because each checkpoint commits to all of it. ADR 0010, ADR 0038.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.compliance.policy import Policy, parse_policy
from ledger.core.codec import canonical_json, format_timestamp
from ledger.errors import InputError, RecordRejected, VerificationError
from ledger.evidence._document import Bundle, Entry, policy_digest
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, verify_checkpoint
from ledger.log.proofs import require_consistency, require_inclusion
from ledger.log.registry import registry_digest
from ledger.records.admission import Opened, Registry, check_signed_tail_entry, open_envelope
from ledger.records.envelope import parse_envelope
from ledger.records.model import (
    REGISTRY_KINDS,
    Extraction,
    Facility,
    KeyRevocation,
    LotId,
    Receipt,
    Shipment,
    Transformation,
)
from ledger.records.trust import TrustRoot


@dataclass(frozen=True, slots=True, kw_only=True)
class Checked:
    """What :func:`check_bundle` established."""

    checkpoint: Checkpoint
    entries: tuple[tuple[int, Opened], ...]
    policy: Policy
    consistency: tuple[int, int] | None
    """(old size, new size) when a kept checkpoint was shown to be a prefix."""


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
    try:
        root.require_quorum(bundle.checkpoint, size=checkpoint.tree_size)
    except VerificationError as e:
        raise VerificationError(f"the bundle's checkpoint is refused: {e}") from e
    policy = _policy(bundle, expected_policy)
    opened = _entries(bundle, root, checkpoint)
    _complete(bundle.lot, opened)
    _complete_registry(bundle, opened, checkpoint)
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
    items = [_opened(entry) for entry in bundle.entries]
    revoked = _revocations(bundle.entries, items)
    opened: list[tuple[int, Opened]] = []
    previous = -1
    for position, (entry, item) in enumerate(zip(bundle.entries, items, strict=True)):
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
        checked = _checked_entry(entry, item, where, registry, checkpoint, revoked)
        registry.apply(checked.record)
        opened.append((index, checked))
    return tuple(opened)


def _opened(entry: Entry) -> Opened | RecordRejected:
    """The entry's envelope opened, or why it does not open (each is opened once)."""
    try:
        return open_envelope(entry.envelope)
    except RecordRejected as e:
        return e


def _checked_entry(
    entry: Entry,
    opened: Opened | RecordRejected,
    where: str,
    registry: Registry,
    checkpoint: Checkpoint,
    revoked: Mapping[str, tuple[int, KeyRevocation]],
) -> Opened:
    """Steps 3 and 4 for one entry: it opens, its signatures hold, its proof leads to the
    checkpoint."""
    if isinstance(opened, RecordRejected):
        raise VerificationError(f"{where}: {opened}") from opened
    item = opened
    what = f"{where}, {item.record.kind} {item.record_id}"
    try:
        check_signed_tail_entry(item, registry)
    except RecordRejected as e:
        raise VerificationError(f"{what}: {e}") from e
    require_inclusion(
        index=entry.log_index,
        size=checkpoint.tree_size,
        leaf_hash=item.leaf_hash,
        proof=entry.proof,
        root_hash=checkpoint.root_hash,
        failure=lambda e: (
            f"{what}: inclusion proof does not verify against the checkpoint (tree size "
            f"{checkpoint.tree_size}): {e} — the record or its proof was altered, swapped "
            "or taken from another log" + _stolen_key_hint(item, revoked)
        ),
    )
    return item


def registry_entries(bundle: Bundle) -> int:
    """How many of the bundle's entries are registry entries, by the kind each payload names:
    a count to show for a bundle just built, not a check (:func:`check_bundle` opens and
    verifies every entry)."""
    count = 0
    for entry in bundle.entries:
        try:
            payload = json.loads(parse_envelope(entry.envelope).payload)
        except (InputError, ValueError):
            continue
        kind = payload.get("kind") if isinstance(payload, dict) else None
        count += isinstance(kind, str) and kind in REGISTRY_KINDS
    return count


def _complete_registry(
    bundle: Bundle, opened: Sequence[tuple[int, Opened]], checkpoint: Checkpoint
) -> None:
    """Step 5's registry half: the bundle's registry entries are all of the log's below the
    checkpoint's tree size, as its signed registry digest says."""
    if checkpoint.registry is None:
        raise VerificationError(
            f"the bundle's checkpoint (tree size {checkpoint.tree_size}) commits to no "
            "registry state (made by an older bloc): the bundle cannot show that no key "
            "revocation was left out; ask for a bundle over a newer checkpoint"
        )
    leaves = [
        (index, item.leaf_hash) for index, item in opened if item.record.kind in REGISTRY_KINDS
    ]
    if registry_digest(leaves) != checkpoint.registry:
        raise VerificationError(
            f"the bundle's {len(leaves)} registry entries are not the log's registry at tree "
            f"size {checkpoint.tree_size} (its registry digest differs): a participant, "
            "facility or key revocation was left out of the bundle or added to it"
        )


def _revocations(
    entries: Sequence[Entry], items: Sequence[Opened | RecordRejected]
) -> dict[str, tuple[int, KeyRevocation]]:
    """The bundle's key revocations by key id (the ones that open; the others fail later)."""
    found: dict[str, tuple[int, KeyRevocation]] = {}
    for entry, item in zip(entries, items, strict=True):
        if isinstance(item, Opened) and isinstance(item.record, KeyRevocation):
            found.setdefault(item.record.keyid, (entry.log_index, item.record))
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
            case Shipment() | Receipt() | Facility():
                _referenced(index, record, shipments, facilities)
            case _:
                pass
    if lot not in created:
        raise VerificationError(f"incomplete: no record in the bundle creates {lot}")
    _upstream_created(lot, created)


def _referenced(
    index: int, record: Shipment | Receipt | Facility, shipments: set[str], facilities: set[str]
) -> None:
    """A shipment's destination and a receipt's shipment come earlier in the bundle; note
    what ``record`` adds for the records after it."""
    match record:
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


def _upstream_created(
    lot: LotId, created: Mapping[LotId, tuple[int, Transformation | Extraction]]
) -> None:
    """Every lot a transformation upstream of ``lot`` consumed has its creating record."""
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
    require_consistency(
        old_size=old.tree_size,
        new_size=checkpoint.tree_size,
        old_root=old.root_hash,
        new_root=checkpoint.root_hash,
        proof=proof.proof,
        failure=lambda e: (
            f"the log did not only grow from tree size {old.tree_size} to "
            f"{checkpoint.tree_size}: consistency proof fails ({e})"
        ),
    )
    return old.tree_size, checkpoint.tree_size
