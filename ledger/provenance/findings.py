"""Integrity findings: plausibility problems the ledger accepts, records and reports.

Submission rejects what cannot be interpreted (ADR 0003); what can be interpreted but is
implausible — more mass out than in, a lot spent twice, a facility acting on a lot held at
another facility of its operator (a lot another participant holds, or one in transit, is
refused at admission: ADR 0036; ``not-holder`` for those arises only when ``bloc reindex``
rebuilds a log an older bloc admitted), dates out of order, a receipt that does not match
its shipment, a record signed by a key later found compromised, a repack that changes the
material, an output whose material implies a stage nobody is recorded doing — is kept as
evidence and reported here.
Each finding has a stable code, a severity, a one-line message naming the values, the log
indexes that prove it, and the grams of each lot whose origin it leaves unknown (which the
compliance checker reads).

:func:`detect` is pure: it takes the record being appended, its log index, and a read-only
:class:`IndexView` of the ledger *before* the append.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Protocol

from ledger.core import schema
from ledger.core.codec import format_kg, format_timestamp
from ledger.core.signing import KeyId
from ledger.core.vocabulary import vocabulary
from ledger.provenance.graph import Graph
from ledger.records.admission import FacilityState
from ledger.records.model import (
    Extraction,
    Facility,
    FacilityId,
    KeyRevocation,
    LotAmount,
    LotId,
    Receipt,
    Record,
    Shipment,
    ShipmentId,
    Transformation,
)

ERROR = "error"
WARNING = "warning"

MASS_BALANCE = "mass-balance"
OVERDRAWN = "overdrawn"
NOT_HOLDER = "not-holder"
DATE_ORDER = "date-order"
RECEIVED_MASS = "received-mass"
NOT_RECEIVED = "not-received"
REVOKED_KEY = "revoked-key"
MATERIAL_CHANGED = "material-changed"
DECLARED_ORIGIN = "declared-origin"
STAGE_GAP = "stage-gap"
FACILITY_MOVED = "facility-moved"

CODES: Mapping[str, str] = {
    MASS_BALANCE: "outputs exceed inputs plus untraced inputs beyond the stage's tolerance",
    OVERDRAWN: "a lot consumed or shipped beyond its remaining balance",
    NOT_HOLDER: "a facility processed or shipped a lot it does not hold",
    DATE_ORDER: "an event dated before what it depends on",
    RECEIVED_MASS: "a receipt's measured mass differs from the shipped balance beyond tolerance",
    NOT_RECEIVED: "a shipment not received as of a date",
    REVOKED_KEY: "a record signed by a key whose revocation covers its issued_at",
    MATERIAL_CHANGED: "a repack, split or blend whose output is another material",
    DECLARED_ORIGIN: "a declared origin that contradicts the graph: untraced material declared "
    "from one country, whose lot the graph places in another by a stage that confers no origin",
    STAGE_GAP: "an output whose material implies a stage that is not recorded and that its "
    "facility is not registered for",
    FACILITY_MOVED: "a facility re-registered in another country than its registration before",
}

NO_ORIGIN_STAGES = frozenset({"split", "blend", "repack"})
"""Handling stages: they confer no origin and may not change what the material is."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LotState:
    id: LotId
    material: str
    mass_g: int
    remaining_g: int
    facility: FacilityId
    holder: FacilityId | None
    in_transit: ShipmentId | None
    created_index: int
    created_on: date


@dataclass(frozen=True, slots=True, kw_only=True)
class ShippedLot:
    lot: LotId
    shipped_g: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentRecord:
    id: ShipmentId
    from_facility: FacilityId
    to_facility: FacilityId
    shipped_on: date
    created_index: int
    received_index: int | None
    lots: tuple[ShippedLot, ...]


class IndexView(Protocol):
    """The provenance index as it stands before the append being checked."""

    def lot_state(self, lot: LotId) -> LotState | None: ...

    def shipment_record(self, shipment: ShipmentId) -> ShipmentRecord | None: ...

    def lots_created_by(self, log_index: int) -> Sequence[LotState]: ...

    def signed_by(self, keyid: KeyId) -> Sequence[tuple[int, datetime]]:
        """(log index, issued_at) of every entry the key signed."""
        ...

    def facility(self, facility: FacilityId) -> FacilityState | None:
        """The facility as registered before the append (its stages)."""
        ...

    def facility_registered(self, facility: FacilityId) -> tuple[int, str] | None:
        """(log index, country) of the facility's latest registration, if it has one."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    code: str
    severity: str
    message: str
    log_index: int
    evidence: tuple[int, ...]
    subject: str | None = None
    effects: Mapping[LotId, int] = field(default_factory=dict)
    """Lot → grams of it whose origin this finding leaves unknown."""

    def document(self) -> dict[str, object]:
        """What ``bloc findings --json`` prints (one object per line) and the server
        answers."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "log_index": self.log_index,
            "evidence": list(self.evidence),
            "subject": self.subject,
            "unknown_g": dict(self.effects),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerances:
    mass_gain_default: Decimal
    mass_gain: Mapping[str, Decimal]
    received_mass: Decimal

    def gain(self, stage: str) -> Decimal:
        return self.mass_gain.get(stage, self.mass_gain_default)


@cache
def tolerances() -> Tolerances:
    """The shipped tolerances (``schemas/integrity.json``)."""
    data = schema.read_document("integrity.json")
    schema.validate(data, "integrity.schema.json", what="integrity")
    return Tolerances(
        mass_gain_default=Decimal(data["mass_gain"]["default"]),
        mass_gain={k: Decimal(v) for k, v in data["mass_gain"]["stages"].items()},
        received_mass=Decimal(data["received_mass"]["tolerance"]),
    )


def _whereabouts(state: LotState) -> str:
    return f"in transit on {state.in_transit}" if state.in_transit else f"held by {state.holder}"


def _share(total: int, part: int, whole: int) -> int:
    """``total`` split in proportion ``part / whole``, in whole grams."""
    return total * part // whole if whole else 0


def detect(record: Record, log_index: int, view: IndexView) -> list[Finding]:
    """Every finding the append of ``record`` at ``log_index`` proves."""
    match record:
        case Transformation():
            return _transformation(record, log_index, view)
        case Shipment():
            return _shipment(record, log_index, view)
        case Receipt():
            return _receipt(record, log_index, view)
        case KeyRevocation():
            return _revocation(record, log_index, view)
        case Facility():
            return _moved(record, log_index, view)
        case Extraction():
            return stage_gaps(record, log_index, view)
        case _:
            return []


def _transformation(record: Transformation, index: int, view: IndexView) -> list[Finding]:
    found: list[Finding] = []
    out_total = sum(lot.grams for lot in record.outputs)
    outputs = {lot.id: lot.grams for lot in record.outputs}
    in_total = sum(a.grams for a in record.inputs) + sum(u.grams for u in record.untraced_inputs)

    def spread(grams: int) -> dict[LotId, int]:
        """Output grams of unknown origin when ``grams`` of the outputs are unexplained."""
        return {lot: _share(grams, g, out_total) for lot, g in outputs.items() if grams}

    def spread_input(grams: int) -> dict[LotId, int]:
        """Output grams of unknown origin when ``grams`` of the inputs are in doubt."""
        return {lot: _share(g, grams, in_total) for lot, g in outputs.items() if grams}

    traced = 0
    materials: set[str] = set()
    for amount in record.inputs:
        state = view.lot_state(amount.lot)
        if state is None:  # admission guarantees it exists
            continue
        traced += amount.grams
        materials.add(state.material)
        found.extend(_input_findings(record, index, amount, state, spread_input))
    untraced = sum(u.grams for u in record.untraced_inputs)
    materials.update(u.material for u in record.untraced_inputs)
    tolerance = tolerances().gain(record.stage)
    if Decimal(out_total) > Decimal(in_total) * (1 + tolerance):
        excess = out_total - in_total
        percent = Decimal(excess) * 100 / Decimal(in_total) if in_total else Decimal(100)
        found.append(
            Finding(
                code=MASS_BALANCE,
                severity=ERROR,
                message=f"{record.stage} at log index {index}: outputs {format_kg(out_total)} "
                f"exceed inputs {format_kg(traced)} plus untraced {format_kg(untraced)} by "
                f"{format_kg(excess)} ({percent:.2f}%, tolerance {tolerance * 100:.2f}%)",
                log_index=index,
                evidence=(index,),
                subject=record.outputs[0].id,
                effects=spread(excess),
            )
        )
    found.extend(stage_gaps(record, index, view))
    if record.stage in NO_ORIGIN_STAGES:
        changed = sorted({lot.material for lot in record.outputs} - materials)
        if changed:
            found.append(
                Finding(
                    code=MATERIAL_CHANGED,
                    severity=ERROR,
                    message=f"{record.stage} at log index {index} turned "
                    f"{', '.join(sorted(materials))} into {', '.join(changed)}",
                    log_index=index,
                    evidence=(index,),
                    subject=record.outputs[0].id,
                    effects={
                        lot.id: lot.grams for lot in record.outputs if lot.material in changed
                    },
                )
            )
    return found


def stage_gaps(record: Transformation | Extraction, index: int, view: IndexView) -> list[Finding]:
    """Stages an output's material implies that neither its inputs' materials carry nor
    its facility is registered for: nobody is recorded doing them (ADR 0022).

    The checker reads the same gaps, rule by rule, as unknown mass where a rule restricts
    the stage; this finding tells the submitter at the door, and leaves no grams unknown
    itself (the rule decides whether the stage matters). Mirrors the checker: only inputs
    of the output's own family carry its chain (iron melted into NdFeB alloy was never
    separated, scrap has no history to miss), a mine does ``mining`` and the other stages
    its material implies that it is registered for, and scrap collection has no chain.
    (The checker also forgives a gap in a wholly recycled input's chain; the finding still
    names it.) Repacks, splits and blends that change the material are ``material-changed``
    instead.
    """
    state = view.facility(record.facility)
    if state is None:  # admission guarantees it exists
        return []
    missing: dict[LotId, tuple[str, frozenset[str]]] = {}
    if isinstance(record, Extraction):
        if record.source != "mined":
            return []
        for lot in record.lots:
            gap = _extraction_gap(lot.material, state)
            if gap:
                missing[lot.id] = (f"extracted {lot.material} {lot.id}", gap)
    elif record.stage not in NO_ORIGIN_STAGES:
        sources = [
            (f"{state_of.material} {amount.lot}", state_of.material)
            for amount in record.inputs
            if (state_of := view.lot_state(amount.lot)) is not None
        ] + [(f"untraced {u.material}", u.material) for u in record.untraced_inputs]
        for new in record.outputs:
            found = _transformation_gap(new.material, record.stage, sources, state)
            if found is not None:
                missing[new.id] = (f"made {new.material} {new.id} from {found[0]}", found[1])
    return [
        _stage_gap(record, index, lot, what, gap, state) for lot, (what, gap) in missing.items()
    ]


def _extraction_gap(material: str, state: FacilityState) -> frozenset[str]:
    # A mine does mining and every stage the material implies that its site is registered
    # for (refining cobalt metal, beneficiating a concentrate), as the checker counts it
    # (ADR 0017).
    done = {"mining"} | state.stages
    return frozenset(vocabulary().materials[material].implies - done)


def _transformation_gap(
    material: str, stage: str, sources: Sequence[tuple[str, str]], state: FacilityState
) -> tuple[str, frozenset[str]] | None:
    """The inputs whose chain to ``material`` has a gap here, and the stages missing."""
    materials = vocabulary().materials
    made = materials[material]
    names: list[str] = []
    missing: set[str] = set()
    for name, source in sources:
        if materials[source].family != made.family:
            continue
        gap = made.implies - materials[source].implies - {stage} - state.stages
        if gap:
            names.append(name)
            missing |= gap
    return (", ".join(names), frozenset(missing)) if missing else None


def _stage_gap(
    record: Transformation | Extraction,
    index: int,
    lot: LotId,
    what: str,
    gap: frozenset[str],
    state: FacilityState,
) -> Finding:
    names = ", ".join(sorted(gap))
    return Finding(
        code=STAGE_GAP,
        severity=WARNING,
        message=f"{record.stage} at log index {index} {what} without {names} on record: "
        f"record the {names} where it was done, or register {state.id} for it (registered "
        f"for {', '.join(sorted(state.stages))})",
        log_index=index,
        evidence=(index,),
        subject=lot,
    )


def _input_findings(
    record: Transformation,
    index: int,
    amount: LotAmount,
    state: LotState,
    spread_input: Callable[[int], dict[LotId, int]],
) -> list[Finding]:
    """What one traced input of a transformation proves: overdrawn, not held, or too late."""
    found: list[Finding] = []
    if amount.grams > state.remaining_g:
        over = amount.grams - max(state.remaining_g, 0)
        found.append(
            Finding(
                code=OVERDRAWN,
                severity=ERROR,
                message=f"{amount.lot}: consumed {format_kg(amount.grams)} at log index "
                f"{index} with only {format_kg(max(state.remaining_g, 0))} of "
                f"{format_kg(state.mass_g)} left",
                log_index=index,
                evidence=(state.created_index, index),
                subject=amount.lot,
                effects=spread_input(over),
            )
        )
    if state.holder != record.facility:
        where = _whereabouts(state)
        found.append(
            Finding(
                code=NOT_HOLDER,
                severity=ERROR,
                message=f"{record.facility} processed {amount.lot} at log index {index}, "
                f"but the lot is {where}",
                log_index=index,
                evidence=(state.created_index, index),
                subject=amount.lot,
                effects=spread_input(amount.grams),
            )
        )
    if record.performed_on < state.created_on:
        found.append(
            Finding(
                code=DATE_ORDER,
                severity=ERROR,
                message=f"transformation at log index {index} performed "
                f"{record.performed_on} before its input {amount.lot} was created "
                f"({state.created_on}, log index {state.created_index})",
                log_index=index,
                evidence=(state.created_index, index),
                subject=amount.lot,
                effects=spread_input(amount.grams),
            )
        )
    return found


def _shipment(record: Shipment, index: int, view: IndexView) -> list[Finding]:
    found: list[Finding] = []
    for lot in record.lots:
        state = view.lot_state(lot)
        if state is None:
            continue
        if state.remaining_g <= 0:
            found.append(
                Finding(
                    code=OVERDRAWN,
                    severity=ERROR,
                    message=f"{lot}: shipped on {record.id} at log index {index} with "
                    f"{format_kg(max(state.remaining_g, 0))} of {format_kg(state.mass_g)} left",
                    log_index=index,
                    evidence=(state.created_index, index),
                    subject=lot,
                )
            )
        if state.holder != record.from_facility:
            where = _whereabouts(state)
            found.append(
                Finding(
                    code=NOT_HOLDER,
                    severity=ERROR,
                    message=f"{record.from_facility} shipped {lot} on {record.id} at log index "
                    f"{index}, but the lot is {where}",
                    log_index=index,
                    evidence=(state.created_index, index),
                    subject=lot,
                    effects={lot: max(state.remaining_g, 0)},
                )
            )
        if record.shipped_on < state.created_on:
            found.append(
                Finding(
                    code=DATE_ORDER,
                    severity=ERROR,
                    message=f"{record.id} at log index {index} shipped {lot} on "
                    f"{record.shipped_on}, before it was created ({state.created_on}, "
                    f"log index {state.created_index})",
                    log_index=index,
                    evidence=(state.created_index, index),
                    subject=lot,
                    effects={lot: max(state.remaining_g, 0)},
                )
            )
    return found


def _receipt(record: Receipt, index: int, view: IndexView) -> list[Finding]:
    shipment = view.shipment_record(record.shipment)
    if shipment is None:
        return []
    found: list[Finding] = []
    received = {amount.lot: amount.grams for amount in record.lots}
    tolerance = tolerances().received_mass
    for shipped in shipment.lots:
        if shipped.lot not in received:
            found.append(
                Finding(
                    code=NOT_RECEIVED,
                    severity=ERROR,
                    message=f"{record.shipment}: {shipped.lot} ({format_kg(shipped.shipped_g)}) is "
                    f"missing from the receipt at log index {index}",
                    log_index=index,
                    evidence=(shipment.created_index, index),
                    subject=shipped.lot,
                )
            )
            continue
        got = received[shipped.lot]
        if abs(Decimal(got - shipped.shipped_g)) > Decimal(shipped.shipped_g) * tolerance:
            found.append(
                Finding(
                    code=RECEIVED_MASS,
                    severity=WARNING if got < shipped.shipped_g else ERROR,
                    message=f"{record.shipment}: {shipped.lot} shipped "
                    f"{format_kg(shipped.shipped_g)}, received {format_kg(got)} at log index "
                    f"{index} (tolerance {tolerance * 100:.2f}%)",
                    log_index=index,
                    evidence=(shipment.created_index, index),
                    subject=shipped.lot,
                    effects={shipped.lot: max(got - shipped.shipped_g, 0)},
                )
            )
    if record.received_on < shipment.shipped_on:
        found.append(
            Finding(
                code=DATE_ORDER,
                severity=ERROR,
                message=f"{record.shipment} received on {record.received_on} (log index {index}), "
                f"before it was shipped on {shipment.shipped_on} (log index "
                f"{shipment.created_index})",
                log_index=index,
                evidence=(shipment.created_index, index),
                subject=record.shipment,
            )
        )
    return found


def _revocation(record: KeyRevocation, index: int, view: IndexView) -> list[Finding]:
    found: list[Finding] = []
    for signed_index, issued_at in view.signed_by(record.keyid):
        if issued_at < record.compromised_since:
            continue
        effects = {lot.id: lot.mass_g for lot in view.lots_created_by(signed_index)}
        found.append(
            Finding(
                code=REVOKED_KEY,
                severity=ERROR,
                message=f"log index {signed_index} was signed by key {record.keyid} of "
                f"{record.participant} on {format_timestamp(issued_at)}, after it was "
                f"compromised ({format_timestamp(record.compromised_since)}; revoked at log "
                f"index {index})",
                log_index=index,
                evidence=(signed_index, index),
                subject=None,
                effects=effects,
            )
        )
    return found


def _moved(record: Facility, index: int, view: IndexView) -> list[Finding]:
    """A facility does not move: a re-registration in another country is a correction, a
    border change or a relabelling, and worth a look. Stages before it are still judged at
    the country registered then (ADR 0016), so it leaves no mass unknown."""
    before = view.facility_registered(record.id)
    if before is None or before[1] == record.country:
        return []
    previous, country = before
    return [
        Finding(
            code=FACILITY_MOVED,
            severity=WARNING,
            message=f"{record.id} was registered in {country} (log index {previous}) and is "
            f"re-registered in {record.country} from {record.issued_at.date().isoformat()}: its "
            f"stages dated before then are still judged in {country}",
            log_index=index,
            evidence=(previous, index),
            subject=record.id,
        )
    ]


def not_received(
    shipments: Sequence[ShipmentRecord], *, as_of: date, grace_days: int = 0
) -> list[Finding]:
    """Shipments still unreceived as of a date (a query-time finding: it depends on the date)."""
    found: list[Finding] = []
    for shipment in shipments:
        if shipment.received_index is not None:
            continue
        if (as_of - shipment.shipped_on).days <= grace_days:
            continue
        found.append(
            Finding(
                code=NOT_RECEIVED,
                severity=WARNING,
                message=f"{shipment.id} shipped {shipment.shipped_on} from "
                f"{shipment.from_facility} to {shipment.to_facility} (log index "
                f"{shipment.created_index}) was not received as of {as_of}",
                log_index=shipment.created_index,
                evidence=(shipment.created_index,),
                subject=shipment.id,
            )
        )
    return found


def declared_origins(graph: Graph) -> list[Finding]:
    """Declared origins that contradict the graph (a query-time finding: it reads the graph).

    An untraced input declared to come from one country, split, blended or repacked into a
    lot at a facility in another: those stages confer no origin, so the lot's origin is the
    declared one, while the graph shows the lot made where it was handled — an origin
    misdeclaration or a transshipment (ADR 0020). The checker reads the declaration itself
    (a forbidden declared origin fails where the rule looks); this finding only reports.
    """
    found: list[Finding] = []
    for node in sorted(graph.nodes, key=lambda n: (graph.nodes[n]["log_index"], n)):
        data = graph.nodes[node]
        declared = data.get("declared_origin", "")
        if data["kind"] != "untraced" or not declared:
            continue
        for lot in sorted(graph.successors(node)):
            made = graph.nodes[lot]
            if made.get("stage") not in NO_ORIGIN_STAGES or made.get("country") == declared:
                continue
            index = data["log_index"]
            found.append(
                Finding(
                    code=DECLARED_ORIGIN,
                    severity=WARNING,
                    message=f"untraced {data['material']} at log index {index} is declared to "
                    f"come from {declared}, but the graph shows {lot} made by "
                    f"{made.get('stage')} at {made.get('facility')} ({made.get('country')}), "
                    "a stage that confers no origin",
                    log_index=index,
                    evidence=(index,),
                    subject=lot,
                )
            )
    return found
