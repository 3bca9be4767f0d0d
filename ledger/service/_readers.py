"""Who may read what (ADR 0031): the reader behind a key, and the lots it may see.

Supply-chain records are commercially sensitive. A read is made with a key: a registrar key
of ``root.json``, or a participant key the registry holds and that may sign now (registered,
inside its validity, not revoked). The registrar and participants with the role ``auditor``
read everything. Any other participant reads what an evidence bundle for it would hold: a
lot is visible to it when the lot, or a lot made from it downstream, was made at one of its
facilities or shipped to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.core.signing import KeyId, PublicKey
from ledger.errors import InputError
from ledger.provenance import graph
from ledger.records.model import REGISTRAR, FacilityId, LotId, ParticipantId
from ledger.records.trust import TrustRoot
from ledger.store import Store, Transaction

AUDITOR = "auditor"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reader:
    """The party behind a read key."""

    keyid: KeyId
    key: PublicKey
    participant: str
    """A participant id, or ``registrar``."""
    sees_everything: bool


def reader(store: Store, root: TrustRoot, keyid: KeyId, *, now: datetime) -> Reader | None:
    """The reader holding ``keyid`` at ``now``, or ``None`` for an unknown, not yet valid,
    expired or revoked key."""
    registrar = root.registrar_keys().get(keyid)
    if registrar is not None:
        return Reader(keyid=keyid, key=registrar, participant=REGISTRAR, sees_everything=True)
    with store.reader() as tx:
        state = tx.key(keyid)
        if state is None or state.problem_at(now) is not None:
            return None
        roles = tx.participant_roles(state.participant) or ()
    return Reader(
        keyid=keyid,
        key=state.grant.public_key,
        participant=state.participant,
        sees_everything=AUDITOR in roles,
    )


def may_read_lot(store: Store, who: Reader, lot: str) -> bool:
    """Whether ``who`` may read the records about ``lot`` and its upstream.

    Raises:
        InputError: no such lot (said only to readers who may read everything, or after the
            caller has decided to say it).
    """
    if who.sees_everything:
        return True
    with store.reader() as tx:
        try:
            downstream = graph.build(tx, LotId(lot), downstream=True)
        except InputError:
            return False
        return _touches(tx, downstream, ParticipantId(who.participant))


def _touches(tx: Transaction, downstream: graph.Graph, participant: ParticipantId) -> bool:
    """A lot of ``downstream`` was made by ``participant`` (its facility's operator on the
    day), or shipped to a facility it operates."""
    destinations: set[str] = set()
    for _, data in downstream.nodes(data=True):
        if data["kind"] != "lot":
            continue
        if data.get("operator") == participant:
            return True
        destinations.update(hop["to"] for hop in data.get("hops", []))
    for facility in sorted(destinations):
        state = tx.facility(FacilityId(facility))
        if state is not None and state.operator == participant:
            return True
    return False
