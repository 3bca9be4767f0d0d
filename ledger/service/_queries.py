"""Read-only questions about the ledger: provenance graphs, findings, verdicts, key owners.

Each function reads inside one transaction it is given or opens; none writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from ledger import compliance
from ledger.compliance.policy import Policy
from ledger.core.signing import KeyId
from ledger.provenance import findings as found
from ledger.provenance import graph
from ledger.records.envelope import parse_envelope
from ledger.records.model import LotId, Transformation, decode_record
from ledger.service._common import Steps
from ledger.store import Store, Transaction


def provenance(tx: Transaction, lot: str, *, downstream: bool = False) -> graph.Graph:
    """The provenance graph of ``lot`` (upstream, or downstream).

    Raises:
        InputError: no such lot.
    """
    return graph.build(tx, LotId(lot), downstream=downstream)


def findings(store: Store, *, as_of: date, lot: str | None) -> list[found.Finding]:
    """:meth:`ledger.service.Ledger.findings`."""
    with store.reader() as tx:
        shipments = tx.shipment_records()
        if lot is None:
            stored = tx.stored_findings()
            upstream: set[str] | None = None
            declared = found.declared_origins(graph.build_all(tx))
        else:
            traced = provenance(tx, lot)
            lots = set(traced.nodes)
            stored = tx.stored_findings(lots=[LotId(n) for n in lots])
            upstream = lots
            declared = found.declared_origins(traced)
    late = found.not_received(shipments, as_of=as_of)
    if upstream is not None:
        late = [f for f in late if _carries(shipments, f.subject, upstream)]
    return sorted([*stored, *late, *declared], key=lambda f: (f.log_index, f.code))


def judge(tx: Transaction, lot: str, *, policy: Policy, as_of: date) -> compliance.Verdict:
    """The verdict on ``lot`` from what ``tx`` holds about its upstream.

    Raises:
        InputError: no such lot.
    """
    upstream = provenance(tx, lot)
    facilities, unknown = facts(tx, upstream)
    return compliance.judge(
        lot,
        upstream,
        policy=policy,
        as_of=as_of,
        facilities=facilities,
        unknown_grams=unknown,
        declarations=declarations(tx, upstream, policy),
        explain_upstream=True,
    )


def check_all(
    store: Store,
    *,
    policy: Policy,
    as_of: date,
    end_use: str | None,
    steps: Steps | None = None,
) -> list[compliance.Verdict]:
    """:meth:`ledger.service.Ledger.check_all`."""
    with store.reader() as tx:
        # With an end use, only what its shipments' verdicts read: those lots and
        # everything upstream of them.
        everything = graph.build_all(
            tx, None if end_use is None else tx.upstream_of_shipped(end_use), hops=False
        )
        facilities, unknown = facts(tx, everything)
        declared = declarations(tx, everything, policy)
        shipped = None if end_use is None else tx.shipped_lots(end_use)
    targets = sorted(
        node
        for node, data in everything.nodes(data=True)
        if data["kind"] == "lot" and (shipped is None or node in shipped)
    )
    rule_shares: dict[str, compliance.RuleShares] = {}
    verdicts = []
    for done, lot in enumerate(targets, 1):
        verdicts.append(
            compliance.judge(
                lot,
                everything,
                policy=policy,
                as_of=as_of,
                facilities=facilities,
                unknown_grams=unknown,
                rule_shares=rule_shares,
                declarations=declared,
            )
        )
        if steps is not None:
            steps(done, len(targets))
    return verdicts


def key_owner(store: Store, keyid: KeyId) -> str | None:
    """The participant a key is registered to, if any."""
    with store.reader() as tx:
        state = tx.key(keyid)
    return state.participant if state else None


def facts(
    tx: Transaction, upstream: graph.Graph
) -> tuple[dict[str, compliance.FacilityFacts], dict[str, int]]:
    """What judging the lots of ``upstream`` needs besides the graph: the facts of their
    facilities, and the grams of each lot of unknown origin."""
    lots = [LotId(n) for n, d in upstream.nodes(data=True) if d["kind"] == "lot"]
    facilities = {upstream.nodes[n]["facility"] for n in lots}
    unknown = {str(lot): grams for lot, grams in tx.unknown_grams(lots).items()}
    return tx.facility_facts(facilities), unknown


def declarations(
    tx: Transaction, upstream: graph.Graph, policy: Policy
) -> dict[str, compliance.Declaration]:
    """The ``end_item`` declarations on the records that made the lots of ``upstream``
    that an exception of ``policy`` could reach (components and covered materials), with
    the declaring record (ADR 0025). None when the policy has no declared exceptions."""
    if not policy.declared_exceptions:
        return {}
    materials = {"component"}.union(*(w.materials for w in policy.windows))
    made = {
        data["log_index"]
        for _, data in upstream.nodes(data=True)
        if data["kind"] == "lot"
        and not data["source"]
        and ("*" in materials or data["material"] in materials)
    }
    found: dict[str, compliance.Declaration] = {}
    for entry in tx.entries_at(made):
        payload = parse_envelope(entry.envelope).payload
        if b'"end_item"' not in payload:
            continue  # the common case: no declaration, no need to decode the record
        record = decode_record(payload)
        if not isinstance(record, Transformation):
            continue
        for output in record.outputs:
            if output.end_item is not None:
                found[output.id] = compliance.Declaration(
                    kind=output.end_item.kind,
                    mill_product=output.end_item.mill_product,
                    log_index=entry.log_index,
                    record_id=entry.record_id,
                )
    return found


def _carries(
    shipments: Sequence[found.ShipmentRecord], shipment: str | None, lots: set[str]
) -> bool:
    return any(s.id == shipment and any(line.lot in lots for line in s.lots) for s in shipments)
