"""A remote home: the same commands against a server, trusting nothing it says (ADR 0032).

The home pins ``root.json`` and keeps the newest checkpoint it verified
(``checkpoint.kept``). Every checkpoint the server hands over is checked before it is
used or kept: its signature against the pinned log key, then, against the kept one, that
the log only grew — a smaller tree is a rollback, the same size with another root or a
failed consistency proof is a fork (exit 3, naming both sizes). The consistency proof is
built here from the public hash tiles, so no key is needed to check the log.

Verdicts are not taken from the server either: ``check`` fetches the lot's evidence bundle,
verifies it offline (signatures, inclusion proofs, completeness) and recomputes the verdict
with the same checker a local home runs, over a checkpoint checked as above.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from ledger import compliance
from ledger.compliance import policy as policies
from ledger.compliance.policy import Policy
from ledger.core.files import read_bounded
from ledger.errors import ConfigError, VerificationError
from ledger.log import merkle, tiles
from ledger.log.checkpoint import MAX_NOTE_BYTES, Checkpoint, verify_checkpoint
from ledger.log.proofs import require_extends
from ledger.net._client import Client
from ledger.provenance import graph
from ledger.records.trust import TrustRoot
from ledger.service import BundleReport, Ledger, SubmitResult, verify_bundle
from ledger.service.home import Home, connect_home, read_signer
from ledger.store import Store


def _utc_now() -> datetime:
    return datetime.now(UTC)


TRACE_POLICY = "dfars-252.225-7052"
"""The policy of the bundle a participant's ``trace`` fetches (any built-in would do: the
upstream does not depend on it)."""

REPLICA_FILE = "replica.db"
"""An auditor's copy of the log in a remote home."""


class RemoteLedger:
    """The operations a remote home offers, with the local :class:`~ledger.service.Ledger`'s
    results."""

    def __init__(
        self,
        home: Home,
        *,
        passphrase: bytes | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if home.remote is None:
            raise ConfigError(f"{home.path} is not a remote home")
        self.home = home
        self.root: TrustRoot = home.root()
        signer = read_signer(home.reader_key, passphrase=passphrase) if home.reader_key else None
        self.client = Client(home.remote, signer=signer)
        self.clock = clock
        self.uncovered = 0
        self.checkpoint_problem: VerificationError | None = None
        """Why the checkpoint after the last :meth:`submit` was refused (its records are
        stored; the caller reports them, then this)."""
        """Records the last :meth:`submit` stored that no checkpoint readers accept covers
        yet (the server's witnesses have not cosigned one, ADR 0037)."""

    # -- checkpoints -----------------------------------------------------------------------

    def latest_checkpoint(self) -> tuple[Checkpoint, str]:
        """The server's newest checkpoint, verified (the log's signature and, when root.json
        names witnesses, their quorum) and shown to extend the kept one; it becomes the
        kept one.

        Raises:
            VerificationError: a bad signature, too few witnesses, a rollback or a fork.
        """
        note = self.client.checkpoint()
        checkpoint = self._verified(note, "the server's checkpoint")
        try:
            self.root.require_quorum(note, size=checkpoint.tree_size)
        except VerificationError as e:
            raise VerificationError(f"the server's checkpoint is refused: {e}") from e
        self._extends_kept(checkpoint)
        self._keep(note)
        return checkpoint, note

    def _verified(self, note: str, what: str) -> Checkpoint:
        try:
            return verify_checkpoint(note, origin=self.root.origin, key=self.root.log_key)
        except VerificationError as e:
            raise VerificationError(f"{what} does not verify against root.json: {e}") from e

    def kept(self) -> Checkpoint | None:
        path = self.home.kept_path
        if not path.exists():
            return None
        data = read_bounded(path, limit=MAX_NOTE_BYTES, what="kept checkpoint")
        return self._verified(data.decode("utf-8", errors="replace"), f"{path}")

    def _extends_kept(self, new: Checkpoint) -> None:
        old = self.kept()
        if old is not None:
            self.require_extends(old, new, kept="the checkpoint this home verified before")

    def require_extends(self, old: Checkpoint, new: Checkpoint, *, kept: str) -> None:
        """``new`` extends ``old``, proved from the server's public hash tiles.

        Raises:
            VerificationError: a rollback or a fork, naming both tree sizes.
        """
        nodes = tiles.node_getter(self.client.hash_tile, new.tree_size)
        require_extends(old, new, lambda a, b: merkle.consistency_proof(nodes, a, b), kept=kept)

    def _keep(self, note: str) -> None:
        """Replace the kept checkpoint whole (a temporary file, then a rename)."""
        target = self.home.kept_path
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".checkpoint.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(note)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    # -- the replica -----------------------------------------------------------------------

    def replica(self) -> Ledger:
        """The home's copy of the whole log, brought up to the server's newest checkpoint
        (verified, and extending the kept one) one entry bundle at a time, every entry
        admitted again here. Reading every entry needs an auditor's or the registrar's key.

        Raises:
            VerificationError: the server's log is not what its checkpoints sign.
        """
        checkpoint, note = self.latest_checkpoint()
        ledger = Ledger(self._replica_store(), self.root)
        size = ledger.store.tree_size()
        if size > checkpoint.tree_size:
            raise VerificationError(
                f"rollback: the server's checkpoint has tree size {checkpoint.tree_size}, "
                f"smaller than the {size} entries this home's replica holds"
            )
        while size < checkpoint.tree_size:
            tile = size // tiles.TILE_WIDTH
            width = tiles.tile_width_at(0, tile, checkpoint.tree_size)
            entries = self.client.entry_bundle(tile, width)[size - tile * tiles.TILE_WIDTH :]
            last = size + len(entries) == checkpoint.tree_size
            ledger.extend_replica(
                entries,
                first_index=size,
                checkpoint=(checkpoint, note) if last else None,
                now=self.clock(),
            )
            size += len(entries)
        return ledger

    def _replica_store(self) -> Store:
        url = f"sqlite:///{self.home.path / REPLICA_FILE}"
        if (self.home.path / REPLICA_FILE).exists():
            return Store.open(url, identity=self.home.identity())
        return Store.create(url, identity=self.home.identity())

    # -- writes ----------------------------------------------------------------------------

    def submit(self, envelopes: Sequence[bytes]) -> list[SubmitResult]:
        """Submit in requests of at most 1,000 records; then check the new checkpoint."""
        results: list[SubmitResult] = []
        for start in range(0, len(envelopes), 1000):
            answers = self.client.submit(envelopes[start : start + 1000])
            results.extend(_result(start + n, answer) for n, answer in enumerate(answers))
        if any(r.accepted for r in results):
            try:
                checkpoint, _ = self.latest_checkpoint()
            except VerificationError as e:  # the records are stored: report them first
                self.checkpoint_problem = e
                return results
            self.uncovered = sum(
                r.accepted and r.log_index is not None and r.log_index >= checkpoint.tree_size
                for r in results
            )
        return results

    # -- verdicts --------------------------------------------------------------------------

    def evidence_bytes(
        self, lot: str, *, policy: Policy, as_of: date
    ) -> tuple[bytes, BundleReport]:
        """The lot's evidence bundle from the server, verified here, over a checkpoint
        checked against the kept one."""
        self.latest_checkpoint()
        data = self.client.read_bytes(
            f"/v1/lots/{lot}/evidence", policy=policy.name, as_of=as_of.isoformat()
        )
        report = verify_bundle(data, self.root, expected_policy=policy)
        self._extends_kept(report.checkpoint)
        return data, report

    def trace(self, lot: str, *, as_of: date) -> graph.Graph:
        """The lot's upstream from its verified evidence bundle (any participant who may
        read the lot may trace it; downstream needs the replica)."""
        _, report = self.evidence_bytes(lot, policy=policies.load(TRACE_POLICY), as_of=as_of)
        return report.upstream

    def check(self, lot: str, *, policy: Policy, as_of: date) -> compliance.Verdict:
        """The verdict recomputed here from the lot's verified evidence bundle."""
        _, report = self.evidence_bytes(lot, policy=policy, as_of=as_of)
        return report.verdict


def _result(position: int, answer: dict[str, object]) -> SubmitResult:
    status = answer.get("status")
    leaf = answer.get("leaf_hash")
    index = answer.get("log_index")
    warnings = answer.get("warnings") or []
    return SubmitResult(
        position=position,
        log_index=index if isinstance(index, int) else None,
        duplicate=status == "duplicate",
        error=str(answer.get("reason", "rejected")) if status == "rejected" else None,
        kind=str(answer["kind"]) if "kind" in answer else None,
        record_id=str(answer["record_id"]) if "record_id" in answer else None,
        leaf_hash=bytes.fromhex(leaf) if isinstance(leaf, str) else None,
        warnings=tuple(str(w) for w in warnings) if isinstance(warnings, list) else (),
    )


def connect(url: str, path: Path, *, root: bytes, key: Path | None) -> tuple[RemoteLedger, str]:
    """Make a remote home at ``path`` for the server at ``url`` and keep its first
    checkpoint, verified against ``root``; returns the remote and that checkpoint's note.
    The home is removed again if the server cannot be reached or does not verify."""
    home = connect_home(path, url=url, root=root, key=key)
    try:
        remote = RemoteLedger(home)
        _, note = remote.latest_checkpoint()
    except BaseException:
        for name in ("bloc.toml", "root.json", "checkpoint.kept"):
            (home.path / name).unlink(missing_ok=True)
        raise
    return remote, note
