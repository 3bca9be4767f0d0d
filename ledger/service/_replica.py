"""A replica: entries fetched from a server, admitted again here, under a checkpoint checked
by the caller (ADR 0032).

An auditor's remote home keeps a local copy of the log, extended one entry bundle at a time.
Each entry goes through the same admission as a submission (the server must not have logged
what this home would refuse), at exactly the log index the server gave it, and the tree it
builds must hash to the server's signed root before that checkpoint is stored: a replica
never holds a checkpoint its own entries do not prove.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ledger.errors import RecordRejected, VerificationError
from ledger.log.checkpoint import Checkpoint
from ledger.records.admission import Opened, admit, open_envelope
from ledger.records.trust import TrustRoot
from ledger.store import Store


def extend(
    store: Store,
    root: TrustRoot,
    envelopes: Sequence[bytes],
    *,
    first_index: int,
    checkpoint: tuple[Checkpoint, str] | None,
    now: datetime,
) -> None:
    """Append ``envelopes`` at ``first_index`` on; with ``checkpoint`` (a verified one and its
    note), the log must then be exactly that tree, and the checkpoint is stored. All or
    nothing.

    Raises:
        VerificationError: an entry does not open or is not admissible where the server put
            it, or the entries do not hash to the checkpoint's root.
    """
    opened = [_opened(envelope, first_index + n) for n, envelope in enumerate(envelopes)]
    with store.writer(registrars=root.registrar_keys()) as tx:
        if tx.tree_size != first_index:
            raise VerificationError(
                f"the replica holds {tx.tree_size} entries, not the {first_index} expected"
            )
        tx.prefetch(opened)
        for index, item in enumerate(opened, first_index):
            try:
                admit(item, tx, now=now)
            except RecordRejected as e:
                raise VerificationError(
                    f"log index {index}: the server logged a record this home refuses: {e}"
                ) from e
            tx.append(item, appended_at=now)
        if checkpoint is not None:
            signed, note = checkpoint
            if tx.tree_size != signed.tree_size or tx.root_hash() != signed.root_hash:
                raise VerificationError(
                    f"the entries the server served do not hash to its checkpoint at tree "
                    f"size {signed.tree_size}"
                )
            if tx.checkpoint(signed.tree_size) is None:
                tx.add_checkpoint(
                    tree_size=signed.tree_size,
                    root_hash=signed.root_hash,
                    note=note,
                    created_at=now,
                )


def _opened(envelope: bytes, index: int) -> Opened:
    try:
        return open_envelope(envelope)
    except RecordRejected as e:
        raise VerificationError(f"log index {index}: the server's entry does not open: {e}") from e
