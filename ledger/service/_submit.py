"""Submission: admit and append envelopes — in groups of at most :data:`COMMIT_GROUP`, one
transaction and one checkpoint each (group commit), or in one transaction for an atomic
batch — then publish a checkpoint over what was appended if none was signed with it.

Rejections are results (:class:`SubmitResult`); storage failures and a refused checkpoint
raise, carrying the results so far.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.core.signing import KeyId, PublicKey, Signer
from ledger.errors import RecordRejected, StorageError, VerificationError
from ledger.provenance import findings
from ledger.records.admission import Opened, admit
from ledger.records.model import Extraction, Transformation
from ledger.records.trust import TrustRoot
from ledger.service import _parallel as parallel
from ledger.service._checkpoints import publish, publish_checkpoint
from ledger.service._common import PREFETCH, Progress
from ledger.store import Store, Transaction

COMMIT_GROUP = PREFETCH
"""Envelopes per group commit at most: large enough to amortise the commit and its
checkpoint, small enough that other writers wait a fraction of a second (ADR 0039)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitResult:
    """What became of one submitted envelope."""

    position: int
    log_index: int | None = None
    duplicate: bool = False
    error: str | None = None
    kind: str | None = None
    record_id: str | None = None
    storage_failure: bool = False
    """True when the envelope was not judged at all because the database failed."""
    leaf_hash: bytes | None = None
    """The RFC 6962 leaf hash of the logged envelope (accepted or duplicate)."""
    warnings: tuple[str, ...] = ()
    """Findings the accepted record raised that its submitter should act on now (a
    ``stage-gap``: ADR 0022), as ``<code>: <message>`` lines."""

    @property
    def accepted(self) -> bool:
        return self.error is None

    @property
    def status(self) -> str:
        """``accepted``, ``duplicate`` or ``rejected``."""
        if self.error is not None:
            return "rejected"
        return "duplicate" if self.duplicate else "accepted"

    def document(self) -> dict[str, object]:
        """One record's result as the server answers it (and ``submit --json`` prints it)."""
        body: dict[str, object] = {"status": self.status}
        if self.error is not None:
            body["reason"] = self.error
        else:
            body["log_index"] = self.log_index
            body["leaf_hash"] = self.leaf_hash.hex() if self.leaf_hash else None
        if self.record_id is not None:
            body["record_id"] = self.record_id
        if self.kind is not None:
            body["kind"] = self.kind
        if self.warnings:
            body["warnings"] = list(self.warnings)
        return body


class CheckpointRefused(VerificationError):
    """Envelopes were appended, but the log refused to sign a checkpoint over them."""

    def __init__(self, message: str, results: list[SubmitResult]) -> None:
        super().__init__(message)
        self.results = results


class SubmitInterrupted(StorageError):
    """The database failed during a submit call; ``results`` says what was stored."""

    def __init__(self, message: str, results: list[SubmitResult]) -> None:
        super().__init__(message)
        self.results = results


class _BatchRejectedError(Exception):
    """Internal: ends an atomic batch's transaction so that it rolls back."""


def submit(
    store: Store,
    root: TrustRoot,
    items: Sequence[bytes],
    *,
    log_signer: Signer | None,
    now: datetime,
    atomic: bool,
    progress: Progress | None,
) -> list[SubmitResult]:
    """:meth:`ledger.service.Ledger.submit`: admit and append each envelope, then publish a
    checkpoint if the log grew."""
    keys: Mapping[KeyId, PublicKey] = {}
    if len(items) >= parallel.PARALLEL_FROM:
        with store.reader() as tx:
            keys = {**root.registrar_keys(), **tx.signing_keys()}
    opened: Iterator[Opened | SubmitResult] = (
        SubmitResult(position=position, error=str(item))
        if isinstance(item, RecordRejected)
        else item
        for position, item in enumerate(parallel.open_many(items, keys))
    )
    if atomic:
        # The first chunks open before the append lock is taken, so that starting the
        # workers does not hold up other submitters.
        head = list(itertools.islice(opened, PREFETCH))
        results, signed = _submit_together(
            store,
            root,
            itertools.chain(head, opened),
            log_signer=log_signer,
            now=now,
            progress=progress,
            all_or_nothing=True,
        )
    else:
        results, signed = _submit_in_groups(
            store, root, opened, log_signer=log_signer, now=now, progress=progress
        )
    grew = any(r.log_index is not None and not r.duplicate for r in results)
    # Also after a write that added nothing: a crash between an append and its checkpoint
    # left a tail no checkpoint covers, and any write with the log key repairs it.
    if not signed and (grew or (log_signer is not None and _uncovered_tail(store))):
        try:
            publish_checkpoint(store, root, log_signer, now=now)
        except VerificationError as e:
            raise CheckpointRefused(str(e), results) from e
        except StorageError as e:
            raise SubmitInterrupted(f"no checkpoint was published: {e}", results) from e
    failure = next((r for r in results if r.storage_failure), None)
    if failure is not None:
        raise SubmitInterrupted(str(failure.error), results)
    return results


def _uncovered_tail(store: Store) -> bool:
    """Entries no checkpoint covers (a writer died between its append and its checkpoint)."""
    with store.reader() as tx:
        return tx.tree_size > 0 and tx.checkpoint(tx.tree_size) is None


def _submit_in_groups(
    store: Store,
    root: TrustRoot,
    opened: Iterable[Opened | SubmitResult],
    *,
    log_signer: Signer | None,
    now: datetime,
    progress: Progress | None,
) -> tuple[list[SubmitResult], bool]:
    """Group commit (ADR 0039): each envelope is judged on its own, and the accepted ones of
    up to :data:`COMMIT_GROUP` envelopes are committed in one transaction with a checkpoint
    over them, so other writers wait at most one group. After a database failure the
    group's envelopes and the rest are not judged (nothing of that group is stored). Also
    says whether something was appended and every group that appended was signed in its
    own transaction."""
    results: list[SubmitResult] = []
    signed, appended_any, failed = True, False, False
    remaining = iter(opened)
    while group := list(itertools.islice(remaining, COMMIT_GROUP)):
        first = len(results)
        if failed:
            results.extend(
                _not_judged(first + i, item, "an earlier envelope hit a database error")
                for i, item in enumerate(group)
            )
            continue
        try:
            done, group_signed = _submit_together(
                store,
                root,
                group,
                log_signer=log_signer,
                now=now,
                progress=progress,
                all_or_nothing=False,
                first_position=first,
            )
        except StorageError as e:
            results.extend(_not_judged(first + i, item, str(e)) for i, item in enumerate(group))
            failed = True
            continue
        results.extend(done)
        appended = any(r.log_index is not None and not r.duplicate for r in done)
        signed = signed and (group_signed or not appended)
        appended_any = appended_any or appended
    # Nothing appended: nothing was signed either, and the caller repairs an uncovered
    # tail (a crash between an append and its checkpoint) as after any write.
    return results, signed and appended_any


def _not_judged(position: int, item: Opened | SubmitResult, why: str) -> SubmitResult:
    if isinstance(item, SubmitResult):
        return item
    return SubmitResult(
        position=position,
        kind=item.record.kind,
        record_id=item.record_id,
        error=f"not stored: {why}",
        storage_failure=True,
    )


def _rejected(position: int, item: Opened, error: RecordRejected) -> SubmitResult:
    return SubmitResult(
        position=position, error=str(error), kind=item.record.kind, record_id=item.record_id
    )


def _admit_append(tx: Transaction, position: int, item: Opened, now: datetime) -> SubmitResult:
    existing = tx.find_leaf(item.leaf_hash)
    if existing is not None:
        return SubmitResult(
            position=position,
            kind=item.record.kind,
            record_id=item.record_id,
            log_index=existing,
            duplicate=True,
            leaf_hash=item.leaf_hash,
        )
    admit(item, tx, now=now)
    index = tx.append(item, appended_at=now)
    return SubmitResult(
        position=position,
        kind=item.record.kind,
        record_id=item.record_id,
        log_index=index,
        leaf_hash=item.leaf_hash,
        warnings=_warnings(item, index, tx),
    )


def _warnings(item: Opened, index: int, tx: Transaction) -> tuple[str, ...]:
    """The stage gaps the appended record leaves (what the index stored at ``index``; the
    inputs' materials and the facility's stages did not change by appending it)."""
    record = item.record
    if not isinstance(record, Transformation | Extraction):
        return ()
    return tuple(f"{f.code}: {f.message}" for f in findings.stage_gaps(record, index, tx))


def _submit_together(
    store: Store,
    root: TrustRoot,
    opened: Iterable[Opened | SubmitResult],
    *,
    log_signer: Signer | None,
    now: datetime,
    progress: Progress | None,
    all_or_nothing: bool,
    first_position: int = 0,
) -> tuple[list[SubmitResult], bool]:
    """One transaction for the batch; chunks are admitted as the workers open them. Each
    envelope is judged on its own against the log as the ones before it left it (a
    rejection appends nothing); ``all_or_nothing`` rolls the batch back on any rejection,
    otherwise the accepted ones are committed together (group commit). Also says whether
    the checkpoint over them was signed in the same transaction."""
    results: list[SubmitResult] = []
    start = 0
    try:
        with store.writer(registrars=root.registrar_keys()) as tx:
            start = tx.tree_size
            for position, item in _prefetched(tx, opened, first_position):
                if isinstance(item, SubmitResult):
                    results.append(item)
                else:
                    try:
                        results.append(_admit_append(tx, position, item, now))
                    except RecordRejected as e:
                        results.append(_rejected(position, item, e))
                if progress is not None:
                    progress(1)
            if all_or_nothing and any(not r.accepted for r in results):
                raise _BatchRejectedError
            signed = False
            if log_signer is not None and tx.tree_size > start:
                # Signed under the same lock as the appends, so the fresh entries need
                # no re-check; a refusal leaves it to publish_checkpoint to report.
                with contextlib.suppress(VerificationError):
                    publish(tx, root, log_signer, now=now, fresh_from=start)
                    signed = True
    except _BatchRejectedError:
        return _rolled_back(results, start), False
    return results, signed


def _rolled_back(results: list[SubmitResult], start: int) -> list[SubmitResult]:
    """What an atomic batch that was rolled back reports: only duplicates of entries logged
    before it (below ``start``) still stand."""
    first = next(r.position for r in results if not r.accepted)
    return [
        r
        if not r.accepted or (r.duplicate and r.log_index is not None and r.log_index < start)
        else SubmitResult(
            position=r.position,
            kind=r.kind,
            record_id=r.record_id,
            error=f"not stored: the batch is atomic and envelope {first + 1} was rejected",
        )
        for r in results
    ]


def _prefetched(
    tx: Transaction, items: Iterable[Opened | SubmitResult], first_position: int
) -> Iterator[tuple[int, Opened | SubmitResult]]:
    """``items`` with their positions (from ``first_position``), each chunk's rows loaded
    into ``tx`` before it is admitted (a few queries per chunk instead of several per
    envelope)."""
    position = first_position
    remaining = iter(items)
    while chunk := list(itertools.islice(remaining, PREFETCH)):
        tx.prefetch([item for item in chunk if isinstance(item, Opened)])
        for item in chunk:
            yield position, item
            position += 1
