"""The witness's one decision (C2SP ``tlog-witness`` ``add-checkpoint``), checks in the
order the specification gives them, and the durable update of its state.

Answers: the cosignature line; otherwise a :class:`Refusal` carrying the HTTP status the
specification assigns (400 malformed or old size above the checkpoint's, 403 no trusted log
signature, 404 unknown origin, 409 old size not the witness's or the same size with another
root, 422 a consistency proof that does not verify). Updates for one origin are serialised
by a lock held from the size check until the new state is on disk, so two requests can
never both advance from the same size, and a size once cosigned is never rolled back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ledger.errors import InputError, LedgerError, VerificationError
from ledger.log import merkle
from ledger.log.checkpoint import Checkpoint, parse_checkpoint_body, split_note, verify_checkpoint
from ledger.log.cosignature import cosign
from ledger.log.witnessing import AddCheckpoint, parse_add_checkpoint
from ledger.witness._config import WitnessDir
from ledger.witness._state import NOTHING_YET, Cosigned


class Refusal(LedgerError):
    """An add-checkpoint request the witness does not cosign, with its HTTP status.

    ``size`` is the witness's current size for the origin on a 409 Conflict.
    """

    def __init__(self, status: int, message: str, *, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.size = size


class Witness:
    """A witness over an opened directory; ``clock`` gives POSIX seconds."""

    def __init__(self, directory: WitnessDir, *, clock: Callable[[], int]) -> None:
        self._dir = directory
        self._clock = clock
        self._state = directory.state.load()
        self._locks = {origin: threading.Lock() for origin in directory.config.logs}
        self._save_lock = threading.Lock()

    def add_checkpoint(self, body: bytes) -> str:
        """Check one request body and, if it passes, store the new state durably and
        return the cosignature line.

        Raises:
            Refusal: with the status tlog-witness assigns to the failed check.
            OSError: the new state could not be written (nothing was cosigned).
        """
        request, text, checkpoint = _parse(body)
        key = self._dir.config.logs.get(checkpoint.origin)
        if key is None:
            raise Refusal(404, f"unknown log origin {checkpoint.origin!r}")
        try:
            verify_checkpoint(request.note, origin=checkpoint.origin, key=key.key)
        except VerificationError as e:
            raise Refusal(403, f"no trusted signature: {e}") from e
        if request.old_size > checkpoint.tree_size:
            raise Refusal(
                400, f"old size {request.old_size} exceeds checkpoint size {checkpoint.tree_size}"
            )
        with self._locks[checkpoint.origin]:
            current = self._state.get(checkpoint.origin, NOTHING_YET)
            _check_extends(current, request, checkpoint)
            if current != Cosigned(checkpoint.tree_size, checkpoint.root_hash):
                self._save(checkpoint)
            return cosign(
                text.encode("utf-8"),
                name=self._dir.config.name,
                signer=self._dir.signer,
                timestamp=self._clock(),
            )

    def _save(self, checkpoint: Checkpoint) -> None:
        new = Cosigned(checkpoint.tree_size, checkpoint.root_hash)
        with self._save_lock:
            snapshot = dict(self._state)
            snapshot[checkpoint.origin] = new
            self._dir.state.save(snapshot)
            self._state[checkpoint.origin] = new


def _parse(body: bytes) -> tuple[AddCheckpoint, str, Checkpoint]:
    try:
        request = parse_add_checkpoint(body)
        text, _ = split_note(request.note)
        return request, text, parse_checkpoint_body(text)
    except (InputError, VerificationError) as e:
        raise Refusal(400, f"malformed request: {e}") from e


def _check_extends(current: Cosigned, request: AddCheckpoint, checkpoint: Checkpoint) -> None:
    """409 unless the old size is the witness's; then the proof (422) or, for the same size,
    the root hash (409)."""
    if request.old_size != current.size:
        raise Refusal(
            409,
            f"old size {request.old_size} is not the witness's size {current.size}",
            size=current.size,
        )
    if request.old_size == checkpoint.tree_size and not request.proof:
        if checkpoint.root_hash != current.root_hash:
            raise Refusal(
                409,
                f"checkpoint at size {current.size} has another root than the one cosigned",
                size=current.size,
            )
        return
    try:
        merkle.verify_consistency(
            old_size=current.size,
            new_size=checkpoint.tree_size,
            old_root=current.root_hash,
            new_root=checkpoint.root_hash,
            proof=request.proof,
        )
    except merkle.ProofError as e:
        raise Refusal(422, f"consistency proof does not verify: {e}") from e
