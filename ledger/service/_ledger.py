"""Use cases over one ledger: submit, publish checkpoints, prove, verify.

This layer owns transactions and takes the current time as a parameter; it never prints.
Each accepted envelope is one transaction (or, with ``atomic``, the whole batch is), and a
signed checkpoint is published after every submit call that grew the log.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ledger import compliance
from ledger import evidence as bundles
from ledger.compliance import policy as policies
from ledger.compliance.policy import Policy
from ledger.core.codec import canonical_json
from ledger.core.signing import KeyId, PublicKey, Signer
from ledger.errors import (
    InputError,
    LedgerError,
    RecordRejected,
    StorageError,
    VerificationError,
)
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from ledger.log.merkle import Frontier, hash_leaf
from ledger.provenance import findings, graph
from ledger.records.admission import (
    Opened,
    Registry,
    admit,
    check_consistency,
    check_signatures,
    check_signed_tail_entry,
    open_envelope,
)
from ledger.records.model import (
    Extraction,
    Facility,
    KeyRevocation,
    LotId,
    Participant,
    Receipt,
    Shipment,
    Transformation,
)
from ledger.records.trust import TrustRoot
from ledger.service import _parallel as parallel
from ledger.store import CheckpointRow, LogEntry, Store, StoredEntry, Transaction, stamp

Progress = Callable[[int], None]
"""Called with the number of items just finished."""

_TREE_CHANGED = (
    "the stored tree does not match the signed checkpoint at tree size {size} (run 'bloc verify')"
)

_REPLAYED = datetime(1970, 1, 1, tzinfo=UTC)
"""appended_at of replayed entries: unsigned metadata, never compared."""


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

    @property
    def accepted(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True, kw_only=True)
class InclusionProof:
    log_index: int
    tree_size: int
    leaf_hash: bytes
    root_hash: bytes
    inclusion_proof: tuple[bytes, ...]
    checkpoint: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    consistency_proof: tuple[bytes, ...]


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


class Ledger:
    """One ledger: its store, its trust root, and (for writers) the log's signing key."""

    def __init__(self, store: Store, root: TrustRoot, *, log_signer: Signer | None = None) -> None:
        if log_signer is not None and log_signer.public_key != root.log_key:
            raise InputError("the log key does not match the log key in root.json")
        self.store = store
        self.root = root
        self._log_signer = log_signer

    # -- submission -----------------------------------------------------------------------

    def submit(
        self,
        items: Sequence[bytes],
        *,
        now: datetime,
        atomic: bool = False,
        progress: Progress | None = None,
    ) -> list[SubmitResult]:
        """Admit and append each envelope; publish a checkpoint if the log grew.

        Without ``atomic`` every valid envelope is kept whatever happens to the others; with
        it, one rejection keeps the whole batch out (and the others are reported as not
        stored). Storage failures raise; rejections are results. A batch of
        :data:`~ledger.service._parallel.PARALLEL_FROM` envelopes or more is opened by worker
        processes, which import the calling script again: guard its entry point with
        ``if __name__ == "__main__":``.

        Raises:
            CheckpointRefused: the entries were appended but the stored log no longer
                matches what was signed, so no checkpoint covers them (``.results`` says
                what became of each envelope).
        """
        keys: Mapping[KeyId, PublicKey] = {}
        if len(items) >= parallel.PARALLEL_FROM:
            with self.store.reader() as tx:
                keys = {**self.root.registrar_keys(), **tx.signing_keys()}
        opened: Iterator[Opened | SubmitResult] = (
            SubmitResult(position=position, error=str(item))
            if isinstance(item, RecordRejected)
            else item
            for position, item in enumerate(parallel.open_many(items, keys))
        )
        if atomic:
            # The first chunks open before the append lock is taken, so that starting the
            # workers does not hold up other submitters.
            head = list(itertools.islice(opened, _PREFETCH))
            results = self._submit_atomic(itertools.chain(head, opened), now=now, progress=progress)
        else:
            results = []
            for position, item in enumerate(opened):
                failed = results and results[-1].storage_failure
                results.append(
                    self._not_judged(position, item, "an earlier envelope hit a database error")
                    if failed
                    else self._submit_one(position, item, now=now, progress=progress)
                )
        if any(r.log_index is not None and not r.duplicate for r in results):
            try:
                self.publish_checkpoint(now=now)
            except VerificationError as e:
                raise CheckpointRefused(str(e), results) from e
            except StorageError as e:
                raise SubmitInterrupted(f"no checkpoint was published: {e}", results) from e
        failure = next((r for r in results if r.storage_failure), None)
        if failure is not None:
            raise SubmitInterrupted(str(failure.error), results)
        return results

    @staticmethod
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

    def _admit_append(
        self, tx: Transaction, position: int, item: Opened, now: datetime
    ) -> SubmitResult:
        existing = tx.find_leaf(item.leaf_hash)
        if existing is None:
            admit(item, tx, now=now)
        return SubmitResult(
            position=position,
            kind=item.record.kind,
            record_id=item.record_id,
            log_index=existing if existing is not None else tx.append(item, appended_at=now),
            duplicate=existing is not None,
        )

    def _submit_one(
        self,
        position: int,
        item: Opened | SubmitResult,
        *,
        now: datetime,
        progress: Progress | None,
    ) -> SubmitResult:
        try:
            if isinstance(item, SubmitResult):
                return item
            try:
                with self.store.writer(registrars=self.root.registrar_keys()) as tx:
                    return self._admit_append(tx, position, item, now)
            except RecordRejected as e:
                return SubmitResult(
                    position=position, error=str(e), kind=item.record.kind, record_id=item.record_id
                )
            except StorageError as e:
                return self._not_judged(position, item, str(e))
        finally:
            if progress is not None:
                progress(1)

    def _submit_atomic(
        self, opened: Iterable[Opened | SubmitResult], *, now: datetime, progress: Progress | None
    ) -> list[SubmitResult]:
        """One transaction for the batch; chunks are admitted as the workers open them."""
        results: list[SubmitResult] = []
        start = 0
        try:
            with self.store.writer(registrars=self.root.registrar_keys()) as tx:
                start = tx.tree_size
                for position, item in _prefetched(tx, opened):
                    if isinstance(item, SubmitResult):
                        results.append(item)
                    else:
                        try:
                            results.append(self._admit_append(tx, position, item, now))
                        except RecordRejected as e:
                            results.append(
                                SubmitResult(
                                    position=position,
                                    error=str(e),
                                    kind=item.record.kind,
                                    record_id=item.record_id,
                                )
                            )
                    if progress is not None:
                        progress(1)
                if any(not r.accepted for r in results):
                    raise _BatchRejectedError
                if self._log_signer is not None and tx.tree_size > start:
                    # Signed under the same lock as the appends, so the fresh entries need
                    # no re-check; a refusal leaves it to publish_checkpoint to report.
                    with contextlib.suppress(VerificationError):
                        self._publish(tx, self._log_signer, now=now, fresh_from=start)
        except _BatchRejectedError:
            first = next(r.position for r in results if not r.accepted)
            # Rolled back: only duplicates of entries logged before this batch still stand.
            return [
                r
                if not r.accepted
                or (r.duplicate and r.log_index is not None and r.log_index < start)
                else SubmitResult(
                    position=r.position,
                    kind=r.kind,
                    record_id=r.record_id,
                    error=f"not stored: the batch is atomic and envelope {first + 1} was rejected",
                )
                for r in results
            ]
        return results

    # -- checkpoints and proofs -----------------------------------------------------------

    def publish_checkpoint(self, *, now: datetime) -> str:
        """Sign and store a checkpoint of the current tree unless one exists; return its note."""
        if self._log_signer is None:
            raise InputError("publishing a checkpoint needs the log key")
        with self.store.writer(registrars=self.root.registrar_keys()) as tx:
            return self._publish(tx, self._log_signer, now=now)

    def _publish(
        self, tx: Transaction, signer: Signer, *, now: datetime, fresh_from: int | None = None
    ) -> str:
        existing = tx.checkpoint(tx.tree_size)
        if existing is not None:
            return existing.note
        self._check_unsigned_tail(tx, fresh_from=fresh_from)
        checkpoint = Checkpoint(
            origin=self.root.origin, tree_size=tx.tree_size, root_hash=tx.root_hash()
        )
        note = sign_checkpoint(checkpoint, signer)
        tx.add_checkpoint(
            tree_size=checkpoint.tree_size,
            root_hash=checkpoint.root_hash,
            note=note,
            created_at=now,
        )
        return note

    def _check_unsigned_tail(self, tx: Transaction, *, fresh_from: int | None = None) -> None:
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

        Raises:
            VerificationError: naming the entry or checkpoint that does not hold.
        """
        refuse = "refusing to sign a checkpoint"
        latest = tx.latest_checkpoint()
        start, signed_root = 0, merkle.EMPTY_ROOT
        if latest is not None:
            signed = verify_checkpoint(latest.note, origin=self.root.origin, key=self.root.log_key)
            start, signed_root = signed.tree_size, signed.root_hash
            if start > tx.tree_size or merkle.root_hash(tx.get_node, start) != signed_root:
                raise VerificationError(
                    f"{refuse}: the stored tree no longer matches the checkpoint at tree size "
                    f"{start} (run 'bloc verify')"
                )
        first_fresh = tx.tree_size if fresh_from is None else fresh_from
        registry = Registry(self.root.registrar_keys())
        for registration in tx.registry_entries(before=start) if start < first_fresh else ():
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
                    f"{refuse}: log index {registration.log_index}: registry entry is not the "
                    f"one the checkpoint at tree size {start} signed ({e}) (run 'bloc verify')"
                ) from e
            registry.apply(opened.record)
        frontier = Frontier.from_getter(tx.get_node, start)
        for entry in tx.entries(start=start, stop=first_fresh):
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
                    f"{refuse}: log index {entry.log_index}: {e} (run 'bloc verify')"
                ) from e
            registry.apply(opened.record)
            frontier, _ = frontier.append(entry.leaf_hash)
        for index, leaf_hash in tx.leaf_hashes(start=max(start, first_fresh)):
            # Appended by this transaction from the bytes it hashed: the stored leaf hashes
            # must carry the tree from the signed size to the head.
            if index != frontier.size:
                raise VerificationError(f"{refuse}: log index {frontier.size} is missing")
            frontier, _ = frontier.append(leaf_hash)
        if frontier.size != tx.tree_size or frontier.root() != tx.root_hash():
            raise VerificationError(
                f"{refuse}: the tree head does not match the entries (run 'bloc verify')"
            )

    def latest_checkpoint(self) -> tuple[Checkpoint, str]:
        """The newest stored checkpoint, verified against the trust root.

        Raises:
            InputError: no checkpoint has been published yet.
            VerificationError: the stored checkpoint does not verify.
        """
        with self.store.reader() as tx:
            row = tx.latest_checkpoint()
        if row is None:
            raise InputError("the log has no checkpoint yet (submit something first)")
        checkpoint = verify_checkpoint(row.note, origin=self.root.origin, key=self.root.log_key)
        return checkpoint, row.note

    def prove_inclusion(self, log_index: int, *, tree_size: int | None = None) -> InclusionProof:
        """An inclusion proof of ``log_index`` in the tree of ``tree_size`` (default: latest
        checkpoint), checked before it is returned."""
        with self.store.reader() as tx:
            size = self._proof_size(tx, tree_size)
            if not 0 <= log_index < size:
                raise InputError(f"log index {log_index} is not in a tree of size {size}")
            leaf_hash = tx.get_node(0, log_index)
            proof = merkle.inclusion_proof(tx.get_node, log_index, size)
            root_hash = merkle.root_hash(tx.get_node, size)
            row = tx.checkpoint(size)
        self._check_signed_root(row, size, root_hash)
        try:
            merkle.verify_inclusion(
                index=log_index, size=size, leaf_hash=leaf_hash, proof=proof, root_hash=root_hash
            )
        except merkle.ProofError as e:
            raise VerificationError(_TREE_CHANGED.format(size=size)) from e
        return InclusionProof(
            log_index=log_index,
            tree_size=size,
            leaf_hash=leaf_hash,
            root_hash=root_hash,
            inclusion_proof=tuple(proof),
            checkpoint=row.note if row else None,
        )

    def prove_consistency(self, old_size: int, new_size: int) -> ConsistencyProof:
        """A consistency proof between two tree sizes, checked before it is returned."""
        with self.store.reader() as tx:
            if not 0 <= old_size <= new_size <= tx.tree_size:
                raise InputError(
                    f"sizes must satisfy 0 <= old ({old_size}) <= new ({new_size}) <= "
                    f"tree size ({tx.tree_size})"
                )
            proof = merkle.consistency_proof(tx.get_node, old_size, new_size)
            old_root = merkle.root_hash(tx.get_node, old_size)
            new_root = merkle.root_hash(tx.get_node, new_size)
            self._check_signed_root(tx.checkpoint(old_size), old_size, old_root)
            self._check_signed_root(tx.checkpoint(new_size), new_size, new_root)
        try:
            merkle.verify_consistency(
                old_size=old_size,
                new_size=new_size,
                old_root=old_root,
                new_root=new_root,
                proof=proof,
            )
        except merkle.ProofError as e:
            raise VerificationError(_TREE_CHANGED.format(size=new_size)) from e
        return ConsistencyProof(
            old_size=old_size,
            new_size=new_size,
            old_root=old_root,
            new_root=new_root,
            consistency_proof=tuple(proof),
        )

    def _check_signed_root(self, row: CheckpointRow | None, size: int, root_hash: bytes) -> None:
        """A proof is only served for a tree that still matches its signed checkpoint."""
        if row is None:
            return
        signed = verify_checkpoint(row.note, origin=self.root.origin, key=self.root.log_key)
        if signed.tree_size != size or signed.root_hash != root_hash:
            raise VerificationError(_TREE_CHANGED.format(size=size))

    @staticmethod
    def _proof_size(tx: Transaction, tree_size: int | None) -> int:
        if tree_size is None:
            row = tx.latest_checkpoint()
            return row.tree_size if row else tx.tree_size
        if not 0 < tree_size <= tx.tree_size:
            raise InputError(f"tree size {tree_size} is not between 1 and {tx.tree_size}")
        return tree_size

    def key_owner(self, keyid: KeyId) -> str | None:
        """The participant a key is registered to, if any."""
        with self.store.reader() as tx:
            state = tx.key(keyid)
        return state.participant if state else None

    # -- provenance -----------------------------------------------------------------------

    def trace(self, lot: str, *, downstream: bool = False) -> graph.Graph:
        """The provenance graph of ``lot`` (upstream, or downstream).

        Raises:
            InputError: no such lot.
        """
        with self.store.reader() as tx:
            try:
                return graph.build(tx, LotId(lot), downstream=downstream)
            except KeyError as e:
                raise InputError(f"lot {lot} does not exist") from e

    def findings(self, *, as_of: date, lot: str | None = None) -> list[findings.Finding]:
        """Stored findings plus shipments not received as of ``as_of``; with ``lot``, those
        about the lot or anything upstream of it (what its verdict depends on)."""
        with self.store.reader() as tx:
            shipments = tx.shipment_records()
            if lot is None:
                stored = tx.stored_findings()
                upstream: set[str] | None = None
            else:
                try:
                    lots = set(graph.build(tx, LotId(lot)).nodes)
                except KeyError as e:
                    raise InputError(f"lot {lot} does not exist") from e
                stored = tx.stored_findings(lots=[LotId(n) for n in lots])
                upstream = lots
        late = findings.not_received(shipments, as_of=as_of)
        if upstream is not None:
            late = [f for f in late if _carries(shipments, f.subject, upstream)]
        return sorted([*stored, *late], key=lambda f: (f.log_index, f.code))

    def check(self, lot: str, *, policy: Policy, as_of: date) -> compliance.Verdict:
        """The verdict on one lot: reads only its upstream.

        Raises:
            InputError: no such lot.
        """
        with self.store.reader() as tx:
            return _judge(tx, lot, policy=policy, as_of=as_of)

    def check_all(
        self, *, policy: Policy, as_of: date, end_use: str | None = None
    ) -> list[compliance.Verdict]:
        """Verdicts on every lot (or every lot shipped with ``end_use``): one linear pass per
        material rule over the whole ledger, not one traversal per lot."""
        with self.store.reader() as tx:
            # With an end use, only what its shipments' verdicts read: those lots and
            # everything upstream of them.
            everything = graph.build_all(
                tx, None if end_use is None else tx.upstream_of_shipped(end_use)
            )
            facilities, unknown = _facts(tx, everything)
        targets = sorted(
            node
            for node, data in everything.nodes(data=True)
            if data["kind"] == "lot"
            and (end_use is None or any(h["end_use"] == end_use for h in data.get("hops", [])))
        )
        rule_shares: dict[str, compliance.RuleShares] = {}
        return [
            compliance.judge(
                lot,
                everything,
                policy=policy,
                as_of=as_of,
                facilities=facilities,
                unknown_grams=unknown,
                rule_shares=rule_shares,
            )
            for lot in targets
        ]

    # -- evidence -------------------------------------------------------------------------

    def evidence(
        self, lot: str, *, policy: Policy, as_of: date, since: str | None = None
    ) -> bundles.Bundle:
        """An evidence bundle for ``lot`` against the latest signed checkpoint.

        ``since`` is a checkpoint note the reader kept: the bundle then carries a
        consistency proof from it. The bundle's verdict is recomputed from the bundle
        alone, as ``bloc verify-bundle`` will, and must equal the ledger's.

        Raises:
            InputError: no such lot, or it was logged after the latest checkpoint.
            VerificationError: the stored tree no longer matches its signed checkpoint,
                the kept checkpoint is not a prefix of the log, or the bundle would not
                reproduce the ledger's verdict.
        """
        checkpoint, note = self.latest_checkpoint()
        size = checkpoint.tree_size
        with self.store.reader() as tx:
            try:
                upstream = graph.build(tx, LotId(lot))
            except KeyError as e:
                raise InputError(f"lot {lot} does not exist") from e
            if upstream.nodes[lot]["log_index"] >= size:
                raise InputError(
                    f"lot {lot} was logged after the latest checkpoint (tree size {size})"
                )
            lots = [LotId(n) for n, d in upstream.nodes(data=True) if d["kind"] == "lot"]
            about = [e for e in tx.entries_at(tx.records_about(lots)) if e.log_index < size]
            chosen = [*about, *self._registrations(tx, about, size)]
            root_hash = merkle.root_hash(tx.get_node, size)
            self._check_signed_root(tx.checkpoint(size), size, root_hash)
            if root_hash != checkpoint.root_hash:
                raise VerificationError(_TREE_CHANGED.format(size=size))
            ordered = sorted(chosen, key=lambda e: e.log_index)
            # Every proof's nodes fetched together: one read per node would cost a query each.
            nodes = tx.get_nodes(
                node
                for entry in ordered
                for node in merkle.inclusion_proof_nodes(entry.log_index, size)
            )

            def node(level: int, index: int) -> bytes:
                return nodes.get((level, index)) or tx.get_node(level, index)

            entries = tuple(
                bundles.Entry(
                    log_index=entry.log_index,
                    envelope=entry.envelope,
                    proof=tuple(merkle.inclusion_proof(node, entry.log_index, size)),
                )
                for entry in ordered
            )
            consistency = None if since is None else self._consistency(tx, since, size)
            live = _judge(tx, lot, policy=policy, as_of=as_of) if tx.tree_size == size else None
        opened = tuple((entry.log_index, open_envelope(entry.envelope)) for entry in entries)
        verdict = replay_verdict(lot, opened, self.root, policy=policy, as_of=as_of)
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

    @staticmethod
    def _registrations(tx: Transaction, about: Sequence[LogEntry], size: int) -> list[LogEntry]:
        """The registry entries that vouch for ``about``: every registration of each
        facility the records name and of each participant that signed them or operates
        such a facility, and every revocation of those participants' keys."""
        facilities: set[str] = set()
        participants: set[str] = set()
        for entry in about:
            opened = open_envelope(entry.envelope)
            participants.add(opened.record.signer)
            for sig in opened.envelope.signatures:
                state = tx.key(sig.keyid)
                if state is not None:
                    participants.add(state.participant)
            facilities.update(_facilities_named(opened))
        registry = [
            (entry, open_envelope(entry.envelope)) for entry in tx.registry_entries(before=size)
        ]
        for _, opened in registry:
            if isinstance(opened.record, Facility) and opened.record.id in facilities:
                participants.add(opened.record.operator)
        chosen: list[LogEntry] = []
        for entry, opened in registry:
            match opened.record:
                case Facility(id=facility) if facility in facilities:
                    chosen.append(entry)
                case Participant(id=participant) if participant in participants:
                    chosen.append(entry)
                case KeyRevocation(participant=participant) if participant in participants:
                    chosen.append(entry)
                case _:
                    pass
        return chosen

    def _consistency(self, tx: Transaction, since: str, size: int) -> bundles.Consistency:
        old = verify_checkpoint(since, origin=self.root.origin, key=self.root.log_key)
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

    def reindex(self, *, progress: Progress | None = None) -> int:
        """Rebuild every derived table from the log, in one transaction; returns the entries.

        The log is the source of truth: run ``bloc verify`` first if it may have been
        tampered with (reindex trusts the entries it replays).
        """
        count = 0
        with self.store.writer(registrars=self.root.registrar_keys()) as tx:
            tx.clear_index()
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

    # -- verification ---------------------------------------------------------------------

    def verify(self, *, progress: Progress | None = None) -> VerifyReport:
        """Recompute every leaf, signature, node and root; check every checkpoint.

        Large logs are opened by worker processes, as in :meth:`submit`.

        Problems are collected, not raised: the report names each offending log index.
        """
        report = VerifyReport()
        with self.store.reader() as tx, Store.scratch() as scratch:
            report.tree_size = tx.tree_size
            checkpoints = self._verify_checkpoints(tx, report)
            with scratch.writer(registrars=self.root.registrar_keys()) as replay:
                frontier = self._verify_entries(tx, report, checkpoints, progress, replay)
            self._verify_head(tx, report, frontier, checkpoints)
            if report.clean:
                with scratch.reader() as rebuilt:
                    self._verify_index(tx, rebuilt, report)
        # The first line a user reads should be the earliest entry that is wrong: a root
        # mismatch only says "somewhere before here", a node or leaf says exactly where.
        report.problems.sort(
            key=lambda p: (p.log_index is not None, p.rank >= 3, p.log_index or 0, p.rank)
        )
        return report

    def _verify_checkpoints(self, tx: Transaction, report: VerifyReport) -> dict[int, bytes]:
        roots: dict[int, bytes] = {}
        for row in tx.checkpoints():
            report.checkpoints += 1
            try:
                checkpoint = verify_checkpoint(
                    row.note, origin=self.root.origin, key=self.root.log_key
                )
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
            roots[checkpoint.tree_size] = checkpoint.root_hash
        return roots

    def _verify_entries(
        self,
        tx: Transaction,
        report: VerifyReport,
        checkpoints: dict[int, bytes],
        progress: Progress | None,
        replay: Transaction,
    ) -> Frontier:
        registry = Registry(self.root.registrar_keys())
        frontier = Frontier.empty()
        problems = report.problems
        vouched = 0  # entries before this index match a signed checkpoint
        nodes = _StoredNodes(tx)
        for entry, item in self._opened_entries(tx, replay):
            index = frontier.size
            report.entries += 1
            if entry.log_index != index:
                missing = (
                    f"log index {index} is missing"
                    if entry.log_index > index
                    else f"log index {entry.log_index} appears twice"
                )
                problems.append(
                    Problem(log_index=index, message=f"{missing} (entry deleted or moved)")
                )
                return frontier  # nodes and the head cannot be judged past a gap
            leaf = hash_leaf(entry.envelope)
            if leaf != entry.leaf_hash:
                problems.append(
                    Problem(
                        log_index=index,
                        message=f"log index {index}: envelope bytes do not match the stored "
                        "leaf hash (entry edited)",
                    )
                )
            opened = self._verify_record(entry, item, index, registry, problems)
            if opened is not None:
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
                    replay.append(opened, appended_at=_REPLAYED)
            frontier, completed = frontier.append(leaf)
            for level, idx, digest in completed:
                # Entries beyond the tree head are the head check's business, not the nodes'.
                if level > 0 and (idx + 1) << level <= tx.tree_size:
                    nodes.check(level, idx, digest, problems)
            expected = checkpoints.get(frontier.size)
            if expected is not None and expected == frontier.root():
                vouched = frontier.size
            elif expected is not None:
                problems.append(
                    Problem(
                        log_index=vouched,
                        rank=3,
                        message=f"checkpoint at tree size {frontier.size}: the signed root hash "
                        f"does not match entries {vouched}..{index} (one of them was edited, "
                        "inserted, removed or reordered)",
                    )
                )
            if progress is not None:
                progress(1)
        nodes.finish(problems)
        return frontier

    def _opened_entries(
        self, tx: Transaction, replay: Transaction
    ) -> Iterator[tuple[StoredEntry, Opened | RecordRejected]]:
        """Every entry with its envelope opened (or why it cannot be), in log order.

        Worker processes open blocks of entries and check their signatures against the keys
        the index holds (ledger.service._parallel; the registry replay still decides who may sign),
        and the replay loads in a few queries what checking each chunk will read.
        """
        keys = {**self.root.registrar_keys(), **tx.signing_keys()}
        entries = tx.entries()
        while block := list(itertools.islice(entries, _REPLAY_BLOCK)):
            envelopes = [entry.envelope for entry in block]
            with contextlib.closing(parallel.open_many(envelopes, keys)) as outcomes:
                for start in range(0, len(block), _PREFETCH):
                    chunk = block[start : start + _PREFETCH]
                    items = list(itertools.islice(outcomes, len(chunk)))
                    replay.prefetch(
                        [item for item in items if isinstance(item, Opened)], duplicates=False
                    )
                    yield from zip(chunk, items, strict=True)

    @staticmethod
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
            check_signatures(opened.envelope, opened.record, registry, verified=opened.verified)
        except LedgerError as e:
            problems.append(Problem(log_index=index, message=f"log index {index}: {e}"))
            return None
        registry.apply(opened.record)
        return opened

    @staticmethod
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

    @staticmethod
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


_PREFETCH = 2048
"""Envelopes whose rows are loaded together before they are admitted or replayed."""


def _prefetched(
    tx: Transaction, items: Iterable[Opened | SubmitResult]
) -> Iterator[tuple[int, Opened | SubmitResult]]:
    """``items`` with their positions, each chunk's rows loaded into ``tx`` before it is
    admitted (a few queries per chunk instead of several per envelope)."""
    position = 0
    remaining = iter(items)
    while chunk := list(itertools.islice(remaining, _PREFETCH)):
        tx.prefetch([item for item in chunk if isinstance(item, Opened)])
        for item in chunk:
            yield position, item
            position += 1


_REPLAY_BLOCK = 32_768
"""Entries ``bloc verify`` hands to the workers at a time."""


def _node_problem(level: int, idx: int, what: str) -> Problem:
    first = idx << level
    return Problem(
        log_index=first,
        rank=1,
        message=f"log indexes {first}..{first + (1 << level) - 1}: the stored Merkle node "
        f"(level {level}) {what}",
    )


def _carries(
    shipments: Sequence[findings.ShipmentRecord], shipment: str | None, lots: set[str]
) -> bool:
    return any(s.id == shipment and any(line.lot in lots for line in s.lots) for s in shipments)


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleReport:
    """What ``bloc verify-bundle`` established."""

    checkpoint: Checkpoint
    entries: int
    verdict: compliance.Verdict
    policy: Policy
    consistency: tuple[int, int] | None
    policy_pinned: bool
    """True when the policy was checked against one the reader accepts (a built-in or
    ``--policy``); False when the bundle's own, unnamed-elsewhere policy was used."""


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
    verdict = replay_verdict(
        bundle.lot, checked.entries, root, policy=checked.policy, as_of=bundle.as_of
    )
    recomputed = bundles.exact(compliance.verdict_document(verdict))
    if canonical_json(recomputed) != canonical_json(bundle.verdict):
        claimed = bundle.verdict.get("verdict")
        said = claimed if claimed in compliance.EXIT_CODES else repr(claimed)[:40]
        raise VerificationError(
            f"the bundle's recorded verdict ({said}) does not follow from its records, "
            f"which give {verdict.verdict} (compliant {verdict.compliant:.2%}, non-compliant "
            f"{verdict.non_compliant:.2%}, unknown {verdict.unknown:.2%})"
            + _first_difference(dict(bundle.verdict), recomputed)
        )
    return BundleReport(
        checkpoint=checked.checkpoint,
        entries=len(checked.entries),
        verdict=verdict,
        policy=checked.policy,
        consistency=checked.consistency,
        policy_pinned=expected_policy is not None,
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
    with Store.scratch(partial=True) as scratch:
        with scratch.writer(registrars=root.registrar_keys()) as tx:
            for index, opened in entries:
                tx.replay_entry(opened, index)
        with scratch.reader() as tx:
            return _judge(tx, lot, policy=policy, as_of=as_of)


def _judge(tx: Transaction, lot: str, *, policy: Policy, as_of: date) -> compliance.Verdict:
    try:
        upstream = graph.build(tx, LotId(lot))
    except KeyError as e:
        raise InputError(f"lot {lot} does not exist") from e
    facilities, unknown = _facts(tx, upstream)
    return compliance.judge(
        lot, upstream, policy=policy, as_of=as_of, facilities=facilities, unknown_grams=unknown
    )


def _facts(
    tx: Transaction, provenance: graph.Graph
) -> tuple[dict[str, compliance.FacilityFacts], dict[str, int]]:
    lots = [LotId(n) for n, d in provenance.nodes(data=True) if d["kind"] == "lot"]
    facilities = {provenance.nodes[n]["facility"] for n in lots}
    unknown = {str(lot): grams for lot, grams in tx.unknown_grams(lots).items()}
    return tx.facility_facts(facilities), unknown


def _facilities_named(opened: Opened) -> set[str]:
    match opened.record:
        case Extraction(facility=facility) | Transformation(facility=facility):
            return {facility}
        case Receipt(facility=facility):
            return {facility}
        case Shipment(from_facility=origin, to_facility=destination):
            return {origin, destination}
        case _:
            return set()


def _first_difference(claimed: dict[str, object], recomputed: dict[str, object]) -> str:
    for name in sorted(set(claimed) | set(recomputed)):
        if canonical_json(claimed.get(name)) != canonical_json(recomputed.get(name)):
            return f"; first difference in {name!r}"
    return ""  # pragma: no cover - the documents differ somewhere
