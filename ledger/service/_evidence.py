"""Evidence bundles in the service: build one from the ledger, and verify one with
``root.json`` alone (recomputing its verdict in a scratch store).

The bundle document and its offline checks are :mod:`ledger.evidence`; this module adds what
needs a store: choosing the records, proving them against the latest checkpoint, and
replaying a bundle's entries into a scratch index to judge the lot again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ledger import compliance, render
from ledger import evidence as bundles
from ledger.compliance import policy as policies
from ledger.compliance.policy import Policy
from ledger.core.codec import canonical_json
from ledger.errors import InputError, VerificationError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, verify_checkpoint
from ledger.provenance import graph
from ledger.records.admission import Opened, open_envelope
from ledger.records.model import (
    REGISTRY_KINDS,
    LotId,
)
from ledger.records.trust import TrustRoot
from ledger.service._checkpoints import TREE_CHANGED, check_signed_root, latest_checkpoint
from ledger.service._queries import judge, provenance
from ledger.store import Store, StoredEntry, Transaction


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleReport:
    """What ``bloc verify-bundle`` established."""

    checkpoint: Checkpoint
    entries: int
    registry: int
    """How many of the entries are the registry (participants, facilities, revocations)."""
    cosigned: tuple[str, ...]
    """The witnesses of ``root.json`` whose cosignature on the checkpoint verified."""
    verdict: compliance.Verdict
    policy: Policy
    consistency: tuple[int, int] | None
    policy_pinned: bool
    """True when the policy was checked against one the reader accepts (a built-in or
    ``--policy``); False when the bundle's own, unnamed-elsewhere policy was used."""
    upstream: graph.Graph
    """The lot's upstream as the bundle's records give it (what ``bloc trace`` shows)."""


def build_bundle(
    store: Store, root: TrustRoot, lot: str, *, policy: Policy, as_of: date, since: str | None
) -> bundles.Bundle:
    """:meth:`ledger.service.Ledger.evidence`."""
    checkpoint, note = latest_checkpoint(store, root)
    size = checkpoint.tree_size
    with store.reader() as tx:
        upstream = provenance(tx, lot)
        if upstream.nodes[lot]["log_index"] >= size:
            raise InputError(f"lot {lot} was logged after the latest checkpoint (tree size {size})")
        lots = [LotId(n) for n, d in upstream.nodes(data=True) if d["kind"] == "lot"]
        about = [e for e in tx.entries_at(tx.records_about(lots)) if e.log_index < size]
        chosen = [*about, *_registrations(tx, size)]
        root_hash = merkle.root_hash(tx.get_node, size)
        check_signed_root(root, tx.checkpoint(size), size, root_hash)
        if root_hash != checkpoint.root_hash:
            raise VerificationError(TREE_CHANGED.format(size=size))
        entries = _proved(tx, sorted(chosen, key=lambda e: e.log_index), size)
        consistency = None if since is None else _consistency(tx, root, since, size)
        live = judge(tx, lot, policy=policy, as_of=as_of) if tx.tree_size == size else None
    opened = tuple((entry.log_index, open_envelope(entry.envelope)) for entry in entries)
    verdict = replay_verdict(lot, opened, root, policy=policy, as_of=as_of)
    document = bundles.exact(compliance.verdict_document(verdict))
    if live is not None and bundles.exact(compliance.verdict_document(live)) != document:
        raise VerificationError(  # pragma: no cover - a bug in choosing the records
            f"the bundle for {lot} would not reproduce the ledger's verdict "
            f"({live.verdict}; the bundle gives {verdict.verdict})"
        )
    return bundles.Bundle(
        lot=LotId(lot),
        as_of=as_of,
        checkpoint=note,
        entries=entries,
        policy=policy.document,
        policy_digest=bundles.policy_digest(policy.document),
        verdict=document,
        consistency=consistency,
    )


def _proved(
    tx: Transaction, ordered: Sequence[StoredEntry], size: int
) -> tuple[bundles.Entry, ...]:
    """``ordered`` as bundle entries, each with its inclusion proof in the tree of ``size``."""
    # Every proof's nodes fetched together: one read per node would cost a query each.
    nodes = tx.get_nodes(
        node for entry in ordered for node in merkle.inclusion_proof_nodes(entry.log_index, size)
    )

    def node(level: int, index: int) -> bytes:
        return nodes.get((level, index)) or tx.get_node(level, index)

    return tuple(
        bundles.Entry(
            log_index=entry.log_index,
            envelope=entry.envelope,
            proof=tuple(merkle.inclusion_proof(node, entry.log_index, size)),
        )
        for entry in ordered
    )


def _registrations(tx: Transaction, size: int) -> list[StoredEntry]:
    """Every registry entry below ``size``: the whole key registry the checkpoint's registry
    digest commits to (ADR 0038), so a reader can see that no revocation was left out."""
    return list(tx.registry_entries(before=size))


def _consistency(tx: Transaction, root: TrustRoot, since: str, size: int) -> bundles.Consistency:
    old = verify_checkpoint(since, origin=root.origin, key=root.log_key)
    if old.tree_size > size:
        raise InputError(
            f"the kept checkpoint (tree size {old.tree_size}) is newer than the latest "
            f"checkpoint ({size})"
        )
    if merkle.root_hash(tx.get_node, old.tree_size) != old.root_hash:
        raise VerificationError(
            f"the log's tree at size {old.tree_size} does not match the kept checkpoint: "
            "the log was rewritten (a fork)"
        )
    return bundles.Consistency(
        old_size=old.tree_size,
        old_root=old.root_hash,
        proof=tuple(merkle.consistency_proof(tx.get_node, old.tree_size, size)),
    )


def verify_bundle(
    data: bytes,
    root: TrustRoot,
    *,
    since: str | None = None,
    expected_policy: Policy | None = None,
) -> BundleReport:
    """Check an evidence bundle with ``root.json`` alone, and recompute its verdict.

    ``expected_policy`` is the policy the reader accepts; without it, a bundle whose policy
    carries a built-in name must be exactly this version's built-in of that name.

    Raises:
        VerificationError: the file is not a bundle; the first problem found (see
            :mod:`ledger.evidence`); or the verdict the bundle records does not follow from
            its records.
    """
    try:
        bundle = bundles.parse_bundle(data)
    except InputError as e:
        raise VerificationError(f"not a valid evidence bundle: {e}") from e
    name = str(bundle.policy.get("name"))
    if expected_policy is None and name in policies.builtin_names():
        expected_policy = policies.load(name)
    checked = bundles.check_bundle(bundle, root, since=since, expected_policy=expected_policy)
    verdict, upstream = _replayed(
        bundle.lot, checked.entries, root, policy=checked.policy, as_of=bundle.as_of
    )
    recomputed = bundles.exact(compliance.verdict_document(verdict))
    if canonical_json(recomputed) != canonical_json(bundle.verdict):
        claimed = bundle.verdict.get("verdict")
        said = claimed if claimed in compliance.EXIT_CODES else repr(claimed)[:40]
        raise VerificationError(
            f"the bundle's recorded verdict ({said}) does not follow from its records, "
            f"which give {verdict.verdict} ({render.shares(verdict)})"
            + _first_difference(dict(bundle.verdict), recomputed)
        )
    return BundleReport(
        checkpoint=checked.checkpoint,
        entries=len(checked.entries),
        registry=sum(item.record.kind in REGISTRY_KINDS for _, item in checked.entries),
        cosigned=root.cosigned_by(bundle.checkpoint),
        verdict=verdict,
        policy=checked.policy,
        consistency=checked.consistency,
        policy_pinned=expected_policy is not None,
        upstream=upstream,
    )


def replay_verdict(
    lot: str,
    entries: Sequence[tuple[int, Opened]],
    root: TrustRoot,
    *,
    policy: Policy,
    as_of: date,
) -> compliance.Verdict:
    """The verdict on ``lot`` from these entries alone, replayed into a scratch index."""
    return _replayed(lot, entries, root, policy=policy, as_of=as_of)[0]


def _replayed(
    lot: str,
    entries: Sequence[tuple[int, Opened]],
    root: TrustRoot,
    *,
    policy: Policy,
    as_of: date,
) -> tuple[compliance.Verdict, graph.Graph]:
    """The verdict on ``lot`` and its upstream graph, from these entries alone."""
    with Store.scratch(partial=True) as scratch:
        with scratch.writer(registrars=root.registrar_keys()) as tx:
            for index, opened in entries:
                tx.replay_entry(opened, index)
        with scratch.reader() as tx:
            return judge(tx, lot, policy=policy, as_of=as_of), provenance(tx, lot)


def _first_difference(claimed: dict[str, object], recomputed: dict[str, object]) -> str:
    for name in sorted(set(claimed) | set(recomputed)):
        if canonical_json(claimed.get(name)) != canonical_json(recomputed.get(name)):
            return f"; first difference in {name!r}"
    return ""  # pragma: no cover - the documents differ somewhere
