"""Use cases over one ledger: submit, publish checkpoints, prove, query, build evidence, audit.

This layer owns transactions and takes the current time as a parameter; it never prints.
Each accepted envelope is one transaction (or, with ``atomic``, the whole batch is), and a
signed checkpoint is published after every submit call that grew the log.

:class:`Ledger` is the public face; each job lives in its own module and takes the store,
the trust root and values: :mod:`._submit`, :mod:`._checkpoints`, :mod:`._proofs`,
:mod:`._queries`, :mod:`._evidence` and :mod:`._audit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from ledger import compliance
from ledger import evidence as bundles
from ledger.compliance.policy import Policy
from ledger.core.signing import KeyId, Signer
from ledger.errors import InputError
from ledger.log import tiles
from ledger.log.checkpoint import Checkpoint
from ledger.provenance import findings, graph
from ledger.records.trust import TrustRoot
from ledger.service import (
    _audit,
    _checkpoints,
    _evidence,
    _proofs,
    _queries,
    _replica,
    _submit,
    _tiles,
)
from ledger.service._audit import VerifyReport
from ledger.service._common import Progress, Steps
from ledger.service._proofs import ConsistencyProof, InclusionProof
from ledger.service._submit import SubmitResult
from ledger.store import (
    FacilityListing,
    LotFilter,
    LotListing,
    ParticipantListing,
    Store,
    StoredEntry,
)


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

        Without ``atomic`` every valid envelope is kept whatever happens to the others: each
        is judged on its own, and the accepted ones are committed in groups of at most
        ``COMMIT_GROUP`` envelopes, one transaction and one checkpoint (signed under the same
        lock) per group (ADR 0039); a result says "accepted" only once its group is
        committed. With ``atomic``, one rejection keeps the whole batch out (and the others
        are reported as not stored), and the batch is one transaction.
        Storage failures raise; rejections are results. A batch of
        :data:`~ledger.service._parallel.PARALLEL_FROM` envelopes or more is opened by worker
        processes, which import the calling script again: guard its entry point with
        ``if __name__ == "__main__":``.

        Raises:
            CheckpointRefused: the entries were appended but the stored log no longer
                matches what was signed, so no checkpoint covers them (``.results`` says
                what became of each envelope).
            SubmitInterrupted: the database failed (``.results`` says what was stored).
        """
        return _submit.submit(
            self.store,
            self.root,
            items,
            log_signer=self._log_signer,
            now=now,
            atomic=atomic,
            progress=progress,
        )

    # -- checkpoints and proofs -----------------------------------------------------------

    def publish_checkpoint(self, *, now: datetime) -> str:
        """Sign and store a checkpoint of the current tree unless one exists; return its note.

        Raises:
            InputError: this ledger was opened without the log key.
            VerificationError: the stored log no longer matches what was signed.
        """
        return _checkpoints.publish_checkpoint(self.store, self.root, self._log_signer, now=now)

    def latest_checkpoint(self) -> tuple[Checkpoint, str]:
        """The newest checkpoint readers accept: verified against the trust root and, when
        it names witnesses, cosigned by their quorum (ADR 0037).

        Raises:
            InputError: no checkpoint has been published yet.
            VerificationError: a stored checkpoint does not verify, or none has the quorum.
        """
        return _checkpoints.latest_checkpoint(self.store, self.root)

    def newest_checkpoint(self) -> tuple[Checkpoint, str]:
        """The newest checkpoint the log signed, cosigned or not (what witnesses are asked
        to cosign)."""
        return _checkpoints.newest_checkpoint(self.store, self.root)

    def last_cosigned_sizes(self) -> dict[str, int]:
        """Witness name → the tree size of the newest recent checkpoint it cosigned: the
        size to ask it from (it answers 409 with its own when that is stale)."""
        return _checkpoints.last_cosigned_sizes(self.store, self.root)

    def add_cosignatures(self, tree_size: int, lines: str) -> str:
        """Store witnesses' cosignature lines on the checkpoint at ``tree_size``; return the
        note with them. Only lines by witnesses in ``root.json`` that verify are accepted.

        Raises:
            InputError: no checkpoint at ``tree_size``.
            VerificationError: a line is not a valid cosignature by a witness of this log.
        """
        return _checkpoints.add_cosignatures(self.store, self.root, tree_size, lines)

    def prove_inclusion(self, log_index: int, *, tree_size: int | None = None) -> InclusionProof:
        """An inclusion proof of ``log_index`` in the tree of ``tree_size`` (default: latest
        checkpoint), checked before it is returned."""
        return _proofs.prove_inclusion(self.store, self.root, log_index, tree_size=tree_size)

    def prove_consistency(self, old_size: int, new_size: int) -> ConsistencyProof:
        """A consistency proof between two tree sizes, checked before it is returned."""
        return _proofs.prove_consistency(self.store, self.root, old_size, new_size)

    def hash_tile(self, ref: tiles.TileRef) -> bytes | None:
        """The C2SP hash tile ``ref`` of the published tree, or ``None`` if it has none."""
        return _tiles.hash_tile(self.store, ref)

    def entry_bundle(self, ref: tiles.TileRef) -> bytes | None:
        """The C2SP entry bundle ``ref`` of the published tree, or ``None`` if it has none."""
        return _tiles.entry_bundle(self.store, ref)

    def extend_replica(
        self,
        envelopes: Sequence[bytes],
        *,
        first_index: int,
        checkpoint: tuple[Checkpoint, str] | None,
        now: datetime,
    ) -> None:
        """Append entries fetched from a server at the indexes it gave them, admitted again
        here; with ``checkpoint``, prove it by the replica's own tree and store it
        (:mod:`._replica`)."""
        _replica.extend(
            self.store,
            self.root,
            envelopes,
            first_index=first_index,
            checkpoint=checkpoint,
            now=now,
        )

    def key_owner(self, keyid: KeyId) -> str | None:
        """The participant a key is registered to, if any."""
        return _queries.key_owner(self.store, keyid)

    def key_holder(self, keyid: KeyId) -> str | None:
        """Whose key ``keyid`` is, in words: the registrar's or the log's (root.json), or a
        registered participant's id; ``None`` for a key the ledger does not know."""
        if keyid in self.root.registrar_keys():
            return "the registrar (root.json)"
        if keyid == self.root.log_key.keyid:
            return "the log (root.json)"
        return self.key_owner(keyid)

    # -- provenance -----------------------------------------------------------------------

    def trace(self, lot: str, *, downstream: bool = False) -> graph.Graph:
        """The provenance graph of ``lot`` (upstream, or downstream).

        Raises:
            InputError: no such lot.
        """
        with self.store.reader() as tx:
            return _queries.provenance(tx, lot, downstream=downstream)

    def entry(self, log_index: int) -> StoredEntry:
        """The stored entry at ``log_index``.

        Raises:
            InputError: the log is not that long.
        """
        with self.store.reader() as tx:
            size = tx.tree_size
            if log_index >= size:
                raise InputError(f"log index {log_index} is beyond the log (tree size {size})")
            (found,) = tx.entries_at([log_index])
            return found

    def lots(self, where: LotFilter) -> list[LotListing]:
        """The lots ``where`` selects, by id."""
        with self.store.reader() as tx:
            return tx.list_lots(where)

    def participants(
        self, *, country: str | None = None, role: str | None = None
    ) -> list[ParticipantListing]:
        """The registered participants (their latest registration), by id."""
        with self.store.reader() as tx:
            return tx.list_participants(country=country, role=role)

    def facilities(
        self, *, country: str | None = None, operator: str | None = None, stage: str | None = None
    ) -> list[FacilityListing]:
        """The registered facilities (their latest registration), by id."""
        with self.store.reader() as tx:
            return tx.list_facilities(country=country, operator=operator, stage=stage)

    def findings(self, *, as_of: date, lot: str | None = None) -> list[findings.Finding]:
        """Stored findings plus shipments not received as of ``as_of``; with ``lot``, those
        about the lot or anything upstream of it (what its verdict depends on)."""
        return _queries.findings(self.store, as_of=as_of, lot=lot)

    def check(self, lot: str, *, policy: Policy, as_of: date) -> compliance.Verdict:
        """The verdict on one lot: reads only its upstream.

        Raises:
            InputError: no such lot.
        """
        with self.store.reader() as tx:
            return _queries.judge(tx, lot, policy=policy, as_of=as_of)

    def check_all(
        self,
        *,
        policy: Policy,
        as_of: date,
        end_use: str | None = None,
        steps: Steps | None = None,
    ) -> list[compliance.Verdict]:
        """Verdicts on every lot (or every lot shipped with ``end_use``): one linear pass per
        material rule over the whole ledger, not one traversal per lot. ``steps`` is told
        (lots judged, lots to judge) after each lot."""
        return _queries.check_all(
            self.store, policy=policy, as_of=as_of, end_use=end_use, steps=steps
        )

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
        return _evidence.build_bundle(
            self.store, self.root, lot, policy=policy, as_of=as_of, since=since
        )

    # -- audit ----------------------------------------------------------------------------

    def reindex(self, *, progress: Progress | None = None) -> int:
        """Rebuild every derived table from the log, in one transaction; returns the entries.

        The log is the source of truth: run ``bloc verify`` first if it may have been
        tampered with (reindex trusts the entries it replays).
        """
        return _audit.reindex(self.store, self.root, progress=progress)

    def verify(self, *, progress: Progress | None = None) -> VerifyReport:
        """Recompute every leaf, signature, node and root; check every checkpoint.

        Large logs are opened by worker processes, as in :meth:`submit`.

        Problems are collected, not raised: the report names each offending log index.
        """
        return _audit.verify(self.store, self.root, progress=progress)
