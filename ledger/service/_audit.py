"""Audit of the whole ledger: ``bloc verify`` (recompute everything, collect problems) and
``bloc reindex`` (rebuild the derived tables from the log).

Verification trusts nothing stored: every leaf, signature, Merkle node, tree head and
checkpoint is recomputed from the entries, the registry is replayed from the log, and the
derived index tables must equal what a replay into a scratch store gives. Problems are
collected as values (:class:`Problem`), each naming the log index it is about.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from ledger.errors import ConfigError, LedgerError, RecordRejected, VerificationError
from ledger.log.checkpoint import verify_checkpoint
from ledger.log.merkle import Frontier, hash_leaf
from ledger.log.registry import EMPTY_REGISTRY, extend_registry
from ledger.records.admission import (
    Opened,
    Registry,
    check_consistency,
    check_event_date,
    check_signatures,
    open_envelope,
)
from ledger.records.model import REGISTRY_KINDS
from ledger.records.trust import TrustRoot
from ledger.service import _parallel as parallel
from ledger.service._common import PREFETCH, Progress
from ledger.store import Store, StoredEntry, Transaction, stamp

_REPLAY_BLOCK = 32_768
"""Entries ``bloc verify`` hands to the workers at a time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One integrity failure ``bloc verify`` found."""

    log_index: int | None
    message: str
    rank: int = 0
    """Which of several problems at one index explains it best (lower first): 0 the entry
    itself (bytes, signature), 1 the Merkle tree over it, 2 its place among the entries,
    3 only a bound on where the change is (a signed root that no longer matches)."""


@dataclass(slots=True, kw_only=True)
class VerifyReport:
    tree_size: int = 0
    entries: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def reindex(store: Store, root: TrustRoot, *, progress: Progress | None) -> int:
    """:meth:`ledger.service.Ledger.reindex`: rebuild every derived table from the log.

    A database created before databases recorded their ledger (ADR 0027) is first checked
    against ``root``: its log must verify (every checkpoint signed by this root's log key,
    every record admitted under its registrars) and hold at least one such checkpoint;
    only then is it bound to this home, in the reindex's transaction.
    """
    if store.unbound is not None:
        _check_before_binding(store, root)
    count = 0
    with store.reindexing(registrars=root.registrar_keys()) as tx:
        for entry in tx.entries():
            try:
                opened = open_envelope(entry.envelope)
            except RecordRejected as e:
                raise VerificationError(
                    f"log index {entry.log_index} cannot be replayed: {e} (run 'bloc verify')"
                ) from e
            tx.index_entry(opened, entry.log_index)
            count += 1
            if progress is not None:
                progress(1)
    return count


def _check_before_binding(store: Store, root: TrustRoot) -> None:
    with store.auditing():
        report = verify(store, root, progress=None, index=False)
    where = store.label()
    if report.problems:
        raise ConfigError(
            f"{where} records no ledger identity and its log does not verify under this "
            f"home's root.json ({report.problems[0].message}): run 'bloc reindex' from the "
            "home that created it"
        )
    if report.checkpoints == 0:
        raise ConfigError(
            f"{where} records no ledger identity and holds no checkpoint signed by this "
            "home's log key, so nothing shows it is this home's: create it anew with 'bloc init'"
        )


def verify(
    store: Store, root: TrustRoot, *, progress: Progress | None, index: bool = True
) -> VerifyReport:
    """:meth:`ledger.service.Ledger.verify`: recompute everything, collect the problems
    (without ``index``, the log only: the derived tables are left unread)."""
    report = VerifyReport()
    with store.reader() as tx, Store.scratch() as scratch:
        report.tree_size = tx.tree_size
        signed = _verify_checkpoints(tx, root, report)
        with scratch.writer(registrars=root.registrar_keys()) as replay:
            frontier = _verify_entries(tx, root, report, signed, progress, replay)
        _verify_head(tx, report, frontier, signed.roots)
        if report.clean and index:
            with scratch.reader() as rebuilt:
                _verify_index(tx, rebuilt, report)
    # The first line a user reads should be the earliest entry that is wrong: a root
    # mismatch only says "somewhere before here", a node or leaf says exactly where.
    report.problems.sort(
        key=lambda p: (p.log_index is not None, p.rank >= 3, p.log_index or 0, p.rank)
    )
    return report


def _verify_checkpoints(tx: Transaction, root: TrustRoot, report: VerifyReport) -> _Signed:
    """The root hash and registry digest each verified checkpoint signs, by tree size."""
    signed = _Signed()
    for row in tx.checkpoints():
        report.checkpoints += 1
        try:
            checkpoint = verify_checkpoint(row.note, origin=root.origin, key=root.log_key)
        except VerificationError as e:
            report.problems.append(Problem(log_index=None, message=str(e)))
            continue
        if checkpoint.tree_size != row.tree_size or checkpoint.root_hash != row.root_hash:
            report.problems.append(
                Problem(
                    log_index=None,
                    message=f"checkpoint row at tree size {row.tree_size} does not match "
                    "its signed note",
                )
            )
            continue
        signed.roots[checkpoint.tree_size] = checkpoint.root_hash
        if checkpoint.registry is not None:
            signed.registries[checkpoint.tree_size] = checkpoint.registry
        _verify_cosignatures(root, row.note, checkpoint.tree_size, report)
    return signed


def _verify_cosignatures(root: TrustRoot, note: str, size: int, report: VerifyReport) -> None:
    """A stored cosignature by a witness of ``root`` must verify (one that does not was
    forged or damaged after the witness signed)."""
    try:
        root.cosigned_by(note)
    except VerificationError as e:
        report.problems.append(
            Problem(log_index=None, message=f"checkpoint at tree size {size}: {e}")
        )


@dataclass(slots=True)
class _Signed:
    """What the verified checkpoints sign, by tree size, and the registry digest of the
    entries replayed so far (ADR 0038)."""

    roots: dict[int, bytes] = field(default_factory=dict)
    registries: dict[int, bytes] = field(default_factory=dict)
    digest: bytes = EMPTY_REGISTRY

    def registry_entry(self, index: int, leaf: bytes, item: Opened | RecordRejected) -> None:
        """Take in the entry at ``index`` (its kind from its reopened envelope, never the
        stored column)."""
        if isinstance(item, Opened) and item.record.kind in REGISTRY_KINDS:
            self.digest = extend_registry(self.digest, [(index, leaf)])

    def check_registry(self, size: int, problems: list[Problem]) -> None:
        """At a checkpoint whose signed root the entries reproduce: its signed registry
        digest must be theirs too. (Where the root differs, the entries were changed and
        that is the problem reported, not the registry.)"""
        expected = self.registries.get(size)
        if expected is not None and expected != self.digest:
            problems.append(
                Problem(
                    log_index=None,
                    message=f"checkpoint at tree size {size}: the registry digest it signs "
                    "does not match the registry entries below it (the signed note proves a "
                    "false registry state)",
                )
            )


def _verify_entries(
    tx: Transaction,
    root: TrustRoot,
    report: VerifyReport,
    signed: _Signed,
    progress: Progress | None,
    replay: Transaction,
) -> Frontier:
    registry = Registry(root.registrar_keys())
    frontier = Frontier.empty()
    problems = report.problems
    vouched = 0  # entries before this index match a signed checkpoint
    nodes = _StoredNodes(tx)
    for entry, item in _opened_entries(tx, root, replay):
        index = frontier.size
        report.entries += 1
        if entry.log_index != index:
            missing = (
                f"log index {index} is missing"
                if entry.log_index > index
                else f"log index {entry.log_index} appears twice"
            )
            problems.append(Problem(log_index=index, message=f"{missing} (entry deleted or moved)"))
            return frontier  # nodes and the head cannot be judged past a gap
        leaf = hash_leaf(entry.envelope)
        _verify_entry(entry, item, leaf, registry, replay, problems)
        signed.registry_entry(index, leaf, item)
        frontier, completed = frontier.append(leaf)
        for level, idx, digest in completed:
            # Entries beyond the tree head are the head check's business, not the nodes'.
            if level > 0 and (idx + 1) << level <= tx.tree_size:
                nodes.check(level, idx, digest, problems)
        vouched = _vouched(signed.roots, frontier, vouched, problems)
        if vouched == frontier.size:
            signed.check_registry(frontier.size, problems)
        if progress is not None:
            progress(1)
    nodes.finish(problems)
    return frontier


def _verify_entry(
    entry: StoredEntry,
    item: Opened | RecordRejected,
    leaf: bytes,
    registry: Registry,
    replay: Transaction,
    problems: list[Problem],
) -> None:
    """The entry's own checks: its leaf hash, its record, and its place after the entries
    before it (replayed into ``replay``)."""
    index = entry.log_index
    if leaf != entry.leaf_hash:
        problems.append(
            Problem(
                log_index=index,
                message=f"log index {index}: envelope bytes do not match the stored "
                "leaf hash (entry edited)",
            )
        )
    opened = _verify_record(entry, item, index, registry, problems)
    if opened is None:
        return
    try:
        check_consistency(opened, replay)
    except RecordRejected as e:
        problems.append(
            Problem(
                log_index=index,
                rank=2,
                message=f"log index {index}: out of order or inconsistent with the "
                f"entries before it: {e}",
            )
        )
    else:
        replay.replay_entry(opened, index)


def _vouched(
    checkpoints: dict[int, bytes], frontier: Frontier, vouched: int, problems: list[Problem]
) -> int:
    """Where the entries matching a signed checkpoint end, once ``frontier`` grew by one:
    moved up to its size when a checkpoint at that size signs its root; a problem (bounded
    by the last vouched index) when the checkpoint there signs another root."""
    expected = checkpoints.get(frontier.size)
    if expected is None:
        return vouched
    if expected == frontier.root():
        return frontier.size
    problems.append(
        Problem(
            log_index=vouched,
            rank=3,
            message=f"checkpoint at tree size {frontier.size}: the signed root hash "
            f"does not match entries {vouched}..{frontier.size - 1} (one of them was edited, "
            "inserted, removed or reordered)",
        )
    )
    return vouched


def _opened_entries(
    tx: Transaction, root: TrustRoot, replay: Transaction
) -> Iterator[tuple[StoredEntry, Opened | RecordRejected]]:
    """Every entry with its envelope opened (or why it cannot be), in log order.

    Worker processes open blocks of entries and check their signatures against the keys
    the index holds (ledger.service._parallel; the registry replay still decides who may
    sign), and the replay loads in a few queries what checking each chunk will read.
    """
    keys = {**root.registrar_keys(), **tx.signing_keys()}
    entries = tx.entries()
    while block := list(itertools.islice(entries, _REPLAY_BLOCK)):
        envelopes = [entry.envelope for entry in block]
        with contextlib.closing(parallel.open_many(envelopes, keys)) as outcomes:
            for start in range(0, len(block), PREFETCH):
                chunk = block[start : start + PREFETCH]
                items = list(itertools.islice(outcomes, len(chunk)))
                replay.prefetch(
                    [item for item in items if isinstance(item, Opened)], duplicates=False
                )
                yield from zip(chunk, items, strict=True)


def _verify_record(
    entry: StoredEntry,
    item: Opened | RecordRejected,
    index: int,
    registry: Registry,
    problems: list[Problem],
) -> Opened | None:
    """The entry's opened envelope, checked against the entry's columns and signatures;
    ``None`` (and a problem) if it fails."""
    try:
        if isinstance(item, RecordRejected):
            raise item
        opened = item
        if opened.canonical != entry.envelope:
            raise VerificationError("stored envelope is not in canonical form")
        if opened.record_id != entry.record_id:
            raise VerificationError("stored record id does not match the payload")
        record = opened.record
        for column, value in (
            ("kind", record.kind),
            ("signer", record.signer),
            ("issued_at", stamp(record.issued_at)),
        ):
            if getattr(entry, column) != value:
                raise VerificationError(f"the stored {column} column does not match the record")
        check_event_date(record)
        check_signatures(opened.envelope, opened.record, registry, verified=opened.verified)
    except LedgerError as e:
        problems.append(Problem(log_index=index, message=f"log index {index}: {e}"))
        return None
    registry.apply(opened.record)
    return opened


def _verify_index(tx: Transaction, rebuilt: Transaction, report: VerifyReport) -> None:
    """The derived index tables must hold exactly what a replay of the log gives.

    Admission trusts these tables (who operates a facility, which lots exist), so an
    edit to them is as serious as an edit to the log.
    """
    for table, key, what in tx.index_differences(rebuilt):
        report.problems.append(
            Problem(
                log_index=None,
                message=f"index table {table}: row {key} {what} (the derived index was "
                "edited outside the ledger)",
            )
        )


def _verify_head(
    tx: Transaction, report: VerifyReport, frontier: Frontier, checkpoints: dict[int, bytes]
) -> None:
    if report.problems:
        return
    count, _top = tx.entry_count()
    if frontier.size != tx.tree_size or count != tx.tree_size:
        report.problems.append(
            Problem(
                log_index=min(frontier.size, tx.tree_size),
                message=f"the log holds {count} entries but its tree head says {tx.tree_size} "
                "(entries inserted or deleted)",
            )
        )
        return
    if frontier.root() != tx.root_hash():
        report.problems.append(
            Problem(log_index=None, message="the tree head's root does not match the entries")
        )
    signed = max(checkpoints, default=0)
    beyond = [size for size in checkpoints if size > frontier.size]
    if beyond:
        report.problems.append(
            Problem(
                log_index=frontier.size,
                message=f"checkpoint at tree size {max(beyond)} covers entries the log no "
                f"longer holds (it has {frontier.size}: entries deleted)",
            )
        )
    elif signed < frontier.size:
        report.problems.append(
            Problem(
                log_index=signed,
                message=f"log indexes {signed}..{frontier.size - 1} are not covered by a "
                "signed checkpoint (entries inserted, or a submit was interrupted: the next "
                "submit publishes one)",
            )
        )


class _StoredNodes:
    """The stored Merkle nodes, one cursor per level, checked against recomputed ones.

    Recomputed nodes arrive level by level in index order (as a frontier completes them),
    so each level's stored nodes are read once, in order: missing, extra, malformed and
    wrong nodes are all found in one pass over the log.
    """

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self._cursors: dict[int, Iterator[tuple[int, bytes]]] = {}
        self._current: dict[int, tuple[int, bytes] | None] = {}
        self._wrong: set[tuple[int, int]] = set()

    def _advance(self, level: int) -> tuple[int, bytes] | None:
        if level not in self._cursors:
            self._cursors[level] = self._tx.nodes_at(level)
        self._current[level] = next(self._cursors[level], None)
        return self._current[level]

    def _peek(self, level: int) -> tuple[int, bytes] | None:
        return self._current[level] if level in self._current else self._advance(level)

    def check(self, level: int, idx: int, digest: bytes, problems: list[Problem]) -> None:
        stored = self._peek(level)
        while stored is not None and stored[0] < idx:
            problems.append(_node_problem(level, stored[0], "is not part of the tree"))
            stored = self._advance(level)
        if stored is None or stored[0] > idx:
            problems.append(_node_problem(level, idx, "is missing"))
            return
        if stored[1] != digest:
            self._wrong.add((level, idx))
            # Report the lowest wrong node only: its ancestors are wrong because it is.
            if not {(level - 1, 2 * idx), (level - 1, 2 * idx + 1)} & self._wrong:
                problems.append(
                    _node_problem(
                        level, idx, "does not match the entries (entries reordered or replaced)"
                    )
                )
        self._advance(level)

    def finish(self, problems: list[Problem]) -> None:
        """Report stored nodes no entry accounts for (on levels seen, and on higher ones)."""
        for level in sorted(self._current):
            stored = self._current[level]
            while stored is not None:
                problems.append(_node_problem(level, stored[0], "is not part of the tree"))
                stored = self._advance(level)
        top = max(self._current, default=0)
        for level, idx in self._tx.node_levels_above(top):
            problems.append(_node_problem(level, idx, "is not part of the tree"))


def _node_problem(level: int, idx: int, what: str) -> Problem:
    first = idx << level
    return Problem(
        log_index=first,
        rank=1,
        message=f"log indexes {first}..{first + (1 << level) - 1}: the stored Merkle node "
        f"(level {level}) {what}",
    )
