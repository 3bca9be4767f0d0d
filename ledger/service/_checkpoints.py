"""Signed checkpoints: publish one over the current tree, read the latest, and refuse to
vouch for a tree that no longer matches what was signed.

Before signing, :func:`publish` re-checks the unsigned tail of the log from the log itself
(see :func:`check_unsigned_tail`), never from the derived index tables.
"""

from __future__ import annotations

from datetime import datetime

from ledger.core.signing import Signer
from ledger.errors import InputError, LedgerError, VerificationError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, sign_checkpoint, split_note, verify_checkpoint
from ledger.log.cosignature import with_cosignatures
from ledger.log.merkle import Frontier, hash_leaf
from ledger.log.registry import extend_registry, registry_digest
from ledger.records.admission import Registry, check_signed_tail_entry, open_envelope
from ledger.records.model import REGISTRY_KINDS
from ledger.records.trust import TrustRoot
from ledger.store import CheckpointRow, Store, Transaction

TREE_CHANGED = (
    "the stored tree does not match the signed checkpoint at tree size {size} (run 'bloc verify')"
)

_REFUSE = "refusing to sign a checkpoint"


def publish_checkpoint(
    store: Store, root: TrustRoot, log_signer: Signer | None, *, now: datetime
) -> str:
    """Sign and store a checkpoint of the current tree unless one exists; return its note.

    Raises:
        InputError: there is no log key to sign with.
        VerificationError: the stored log no longer matches what was signed.
    """
    if log_signer is None:
        raise InputError("publishing a checkpoint needs the log key")
    with store.writer(registrars=root.registrar_keys()) as tx:
        return publish(tx, root, log_signer, now=now)


def publish(
    tx: Transaction,
    root: TrustRoot,
    signer: Signer,
    *,
    now: datetime,
    fresh_from: int | None = None,
) -> str:
    """Inside ``tx``: the checkpoint note of the current tree, signed and stored if new."""
    existing = tx.checkpoint(tx.tree_size)
    if existing is not None:
        return existing.note
    tail_registry = check_unsigned_tail(tx, root, fresh_from=fresh_from)
    checkpoint = Checkpoint(
        origin=root.origin,
        tree_size=tx.tree_size,
        root_hash=tx.root_hash(),
        registry=_registry_digest(tx, root, tail_registry),
    )
    note = sign_checkpoint(checkpoint, signer)
    tx.add_checkpoint(
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        note=note,
        created_at=now,
    )
    return note


def _registry_digest(
    tx: Transaction, root: TrustRoot, tail_registry: list[tuple[int, bytes]]
) -> bytes:
    """The registry digest at the current tree size (ADR 0038): the latest checkpoint's,
    extended by the registry entries of the unsigned tail, whose kinds were read from the
    envelopes themselves (:func:`check_unsigned_tail`), never from the editable ``kind``
    column. A latest checkpoint without a digest (an older bloc's) is extended from the
    registry entries below it by their stored kind: ``bloc verify`` re-checks that once."""
    latest = tx.latest_checkpoint()
    previous = None
    if latest is not None:
        previous = verify_checkpoint(latest.note, origin=root.origin, key=root.log_key)
    if previous is None:
        base = registry_digest([])
    elif previous.registry is None:
        base = registry_digest(tx.registry_leaves(start=0, stop=previous.tree_size))
    else:
        base = previous.registry
    return extend_registry(base, tail_registry)


def latest_checkpoint(store: Store, root: TrustRoot) -> tuple[Checkpoint, str]:
    """The newest stored checkpoint a reader of ``root`` accepts: signed by the log key and,
    when ``root`` names witnesses, cosigned by ``witness_quorum`` of them (ADR 0037).

    Newer checkpoints the witnesses have not (yet) cosigned are not shown to readers: the
    records they add are not provable until the witnesses agree.

    Raises:
        InputError: no checkpoint has been published yet.
        VerificationError: a stored checkpoint does not verify, or none is cosigned by the
            quorum (naming the witnesses missing from the newest).
    """
    with store.reader() as tx:
        return accepted_checkpoint(tx, root)


def accepted_checkpoint(tx: Transaction, root: TrustRoot) -> tuple[Checkpoint, str]:
    """:func:`latest_checkpoint` inside ``tx``."""
    newest = tx.latest_checkpoint()
    if newest is None:
        raise InputError("the log has no checkpoint yet (submit something first)")
    checkpoint = verify_checkpoint(newest.note, origin=root.origin, key=root.log_key)
    if _witnessed(root, newest.note):
        return checkpoint, newest.note
    below = newest.tree_size
    while rows := tx.recent_checkpoints(limit=_PAGE, below=below):
        for row in rows:
            if _witnessed(root, row.note):
                return verify_checkpoint(row.note, origin=root.origin, key=root.log_key), row.note
        below = rows[-1].tree_size
    root.require_quorum(newest.note, size=checkpoint.tree_size)
    raise AssertionError("unreachable: the newest checkpoint lacks the quorum")


_PAGE = 64


def _witnessed(root: TrustRoot, note: str) -> bool:
    return len(root.cosigned_by(note)) >= root.witness_quorum


def newest_checkpoint(store: Store, root: TrustRoot) -> tuple[Checkpoint, str]:
    """The newest checkpoint the log signed, whether or not witnesses have cosigned it.

    Raises:
        InputError: no checkpoint has been published yet.
        VerificationError: it does not verify under the log key.
    """
    with store.reader() as tx:
        row = tx.latest_checkpoint()
    if row is None:
        raise InputError("the log has no checkpoint yet (submit something first)")
    return verify_checkpoint(row.note, origin=root.origin, key=root.log_key), row.note


def last_cosigned_sizes(store: Store, root: TrustRoot, *, scan: int = 64) -> dict[str, int]:
    """For each witness of ``root``, the tree size of the newest of the last ``scan``
    checkpoints that carries its valid cosignature: where the log believes that witness
    stands (a witness not found is left out)."""
    found: dict[str, int] = {}
    with store.reader() as tx:
        rows = tx.recent_checkpoints(limit=scan)
    for row in rows:
        try:
            cosigned = root.cosigned_by(row.note)
        except VerificationError:
            continue  # a damaged note says nothing about where a witness stands
        for name in cosigned:
            found.setdefault(name, row.tree_size)
        if len(found) == len(root.witnesses):
            break
    return found


def add_cosignatures(store: Store, root: TrustRoot, tree_size: int, lines: str) -> str:
    """Store witness cosignature ``lines`` on the checkpoint at ``tree_size``; return its note.

    Only lines by ``root``'s witnesses that verify on this very note are stored.

    Raises:
        InputError: there is no checkpoint at ``tree_size``.
        VerificationError: a line is malformed, by a witness ``root`` does not name, or
            does not verify.
    """
    with store.writer(registrars=root.registrar_keys()) as tx:
        row = tx.checkpoint(tree_size)
        if row is None:
            raise InputError(f"the log has no checkpoint at tree size {tree_size}")
        note = with_cosignatures(row.note, lines)
        named = {w.name for w in root.witnesses}
        _, added = split_note("-\n\n" + lines)
        strangers = sorted({name for name, _ in added} - named)
        if strangers:
            raise VerificationError(f"cosignature by {strangers[0]!r}, not a witness in root.json")
        cosigned = root.cosigned_by(note)
        if any(name not in cosigned for name, _ in added):
            raise VerificationError("a witness's cosignature does not carry its key id")
        verify_checkpoint(note, origin=root.origin, key=root.log_key)
        if note != row.note:
            tx.set_checkpoint_note(tree_size, note)
        return note


def check_signed_root(
    root: TrustRoot, row: CheckpointRow | None, size: int, root_hash: bytes
) -> None:
    """A proof is only served for a tree that still matches its signed checkpoint.

    Raises:
        VerificationError: ``row``'s note does not verify, or signs another tree.
    """
    if row is None:
        return
    signed = verify_checkpoint(row.note, origin=root.origin, key=root.log_key)
    if signed.tree_size != size or signed.root_hash != root_hash:
        raise VerificationError(TREE_CHANGED.format(size=size))


def check_unsigned_tail(
    tx: Transaction, root: TrustRoot, *, fresh_from: int | None = None
) -> list[tuple[int, bytes]]:
    """Before signing, re-check what the new checkpoint would vouch for.

    Nothing here trusts the index tables, which anyone with database access can edit:

    1. the stored tree must reproduce the latest signed root;
    2. the registry is replayed from the registry entries of the signed tree, each
       proved included in that signed root;
    3. every entry after it must hash to its leaf, and pass the checks that need no
       index: signatures (as that registry allows), authority, namespaces.

    Otherwise the log refuses to sign; ``bloc verify`` then names the problem. The
    cost is the registry entries (O(log n) reads each) plus the unsigned tail.
    Entries from ``fresh_from`` on were admitted in this very transaction, under its
    lock, so only their leaf hashes are re-checked (and the registry is not replayed
    when nothing older is unsigned).

    Returns (log index, leaf hash) of the registry entries in the unsigned tail, for the
    registry digest: kinds from the reopened envelopes, or for fresh entries from the rows
    this transaction wrote.

    Raises:
        VerificationError: naming the entry or checkpoint that does not hold.
    """
    start, signed_root, frontier = _signed_prefix(tx, root)
    first_fresh = tx.tree_size if fresh_from is None else fresh_from
    registry = Registry(root.registrar_keys())
    if start < first_fresh:
        _replay_signed_registry(tx, registry, start, signed_root)
    tail_registry: list[tuple[int, bytes]] = []
    frontier = _check_unsigned_entries(
        tx, registry, frontier, start=start, stop=first_fresh, registry_leaves=tail_registry
    )
    tail_registry += tx.registry_leaves(start=max(start, first_fresh), stop=tx.tree_size)
    for index, leaf_hash in tx.leaf_hashes(start=max(start, first_fresh)):
        # Appended by this transaction from the bytes it hashed: the stored leaf hashes
        # must carry the tree from the signed size to the head.
        if index != frontier.size:
            raise VerificationError(f"{_REFUSE}: log index {frontier.size} is missing")
        frontier, _ = frontier.append(leaf_hash)
    if frontier.size != tx.tree_size or frontier.root() != tx.root_hash():
        raise VerificationError(
            f"{_REFUSE}: the tree head does not match the entries (run 'bloc verify')"
        )
    return tail_registry


def _signed_prefix(tx: Transaction, root: TrustRoot) -> tuple[int, bytes, Frontier]:
    """Step 1: the size and root hash of the latest checkpoint, which the stored tree must
    still reproduce, and the frontier of that tree (its nodes read in one query)."""
    latest = tx.latest_checkpoint()
    if latest is None:
        return 0, merkle.EMPTY_ROOT, Frontier.empty()
    signed = verify_checkpoint(latest.note, origin=root.origin, key=root.log_key)
    start, signed_root = signed.tree_size, signed.root_hash
    changed = VerificationError(
        f"{_REFUSE}: the stored tree no longer matches the checkpoint at tree size "
        f"{start} (run 'bloc verify')"
    )
    if start > tx.tree_size:
        raise changed
    wanted = Frontier.node_positions(start)
    found = tx.get_nodes(wanted)
    if len(found) != len(wanted):
        raise changed
    frontier = Frontier.from_getter(lambda level, index: found[level, index], start)
    if frontier.root() != signed_root:
        raise changed
    return start, signed_root, frontier


def _replay_signed_registry(
    tx: Transaction, registry: Registry, start: int, signed_root: bytes
) -> None:
    """Step 2: ``registry`` gets the registry entries of the signed tree, each proved
    included in its signed root."""
    for registration in tx.registry_entries(before=start):
        leaf = hash_leaf(registration.envelope)
        try:
            proof = merkle.inclusion_proof(tx.get_node, registration.log_index, start)
            merkle.verify_inclusion(
                index=registration.log_index,
                size=start,
                leaf_hash=leaf,
                proof=proof,
                root_hash=signed_root,
            )
            opened = open_envelope(registration.envelope)
        except (ValueError, LedgerError) as e:
            raise VerificationError(
                f"{_REFUSE}: log index {registration.log_index}: registry entry is not the "
                f"one the checkpoint at tree size {start} signed ({e}) (run 'bloc verify')"
            ) from e
        registry.apply(opened.record)


def _check_unsigned_entries(
    tx: Transaction,
    registry: Registry,
    frontier: Frontier,
    *,
    start: int,
    stop: int,
    registry_leaves: list[tuple[int, bytes]],
) -> Frontier:
    """Step 3 for the entries from ``start`` (the signed size) up to ``stop``; returns the
    frontier grown over them."""
    for entry in tx.entries(start=start, stop=stop):
        try:
            if entry.log_index != frontier.size:
                raise VerificationError(f"log index {frontier.size} is missing")
            if hash_leaf(entry.envelope) != entry.leaf_hash:
                raise VerificationError("envelope bytes do not match the stored leaf hash")
            opened = open_envelope(entry.envelope)
            if opened.canonical != entry.envelope:
                raise VerificationError("stored envelope is not in canonical form")
            check_signed_tail_entry(opened, registry)
        except LedgerError as e:
            raise VerificationError(
                f"{_REFUSE}: log index {entry.log_index}: {e} (run 'bloc verify')"
            ) from e
        registry.apply(opened.record)
        if opened.record.kind in REGISTRY_KINDS:
            registry_leaves.append((entry.log_index, entry.leaf_hash))
        frontier, _ = frontier.append(entry.leaf_hash)
    return frontier
