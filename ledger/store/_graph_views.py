"""Read views for the provenance graph (:class:`~ledger.provenance.graph.ProvenanceSource`)
and the compliance checker's facility facts.

Batched: one query per step of a walk, by chunks of ids, as plain Core rows (provenance
walks read many rows, and an ORM object per row costs more than the query). Every query
reads through :meth:`Unit.read`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlmodel import col, select

from ledger.compliance import FacilityFacts
from ledger.provenance import graph
from ledger.records.model import Control, LotId
from ledger.store._rows import ControlRow, ParticipantRow
from ledger.store._sql import (
    EVENT,
    FACILITY_REGISTRATION,
    FLOW,
    LOT,
    SHIPMENT,
    SHIPMENT_LOT,
    UNTRACED,
    chunks,
    rows_in,
)
from ledger.store._stamps import unstamp
from ledger.store._unit import Unit

_LOT_ROWS = core_select(
    LOT.c.id,
    LOT.c.material,
    LOT.c.mass_g,
    LOT.c.created_index,
    EVENT.c.facility,
    EVENT.c.stage,
    EVENT.c.happened_on,
    EVENT.c.source,
    EVENT.c.origin,
).join(EVENT, EVENT.c.log_index == LOT.c.created_index)
"""Lots with their creating event (:meth:`GraphReads._lot_infos` reads these columns)."""

_HOP_ROWS = core_select(
    SHIPMENT_LOT.c.lot,
    SHIPMENT.c.id,
    SHIPMENT.c.from_facility,
    SHIPMENT.c.to_facility,
    SHIPMENT.c.shipped_on,
    SHIPMENT.c.created_index,
    SHIPMENT.c.received_index,
    SHIPMENT.c.end_use,
).join(SHIPMENT, SHIPMENT.c.id == SHIPMENT_LOT.c.shipment)

_OUTPUT_GRAMS = core_select(LOT.c.created_index, func.sum(LOT.c.mass_g)).group_by(
    LOT.c.created_index
)

_REGISTRATION_ROWS = core_select(
    FACILITY_REGISTRATION.c.facility,
    FACILITY_REGISTRATION.c.log_index,
    FACILITY_REGISTRATION.c.effective_from,
    FACILITY_REGISTRATION.c.operator,
    FACILITY_REGISTRATION.c.country,
    FACILITY_REGISTRATION.c.stages,
)
"""Every registration of a facility, dated (:meth:`GraphReads._registrations`)."""

_FLOW_ROWS = core_select(FLOW.c.log_index, FLOW.c.lot, FLOW.c.grams)

_UNTRACED_ROWS = core_select(
    UNTRACED.c.log_index,
    UNTRACED.c.position,
    UNTRACED.c.material,
    UNTRACED.c.grams,
    UNTRACED.c.declared_origin,
)


def _shipped(end_use: str) -> Any:
    """The lots shipped with ``end_use``, as a query (``id``)."""
    return (
        core_select(SHIPMENT_LOT.c.lot.label("id"))
        .join(SHIPMENT, SHIPMENT.c.id == SHIPMENT_LOT.c.shipment)
        .where(SHIPMENT.c.end_use == end_use)
    )


class GraphReads:
    """Lots, flows, untraced inputs, shipments and facilities, as the graph reads them."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    def lots(self, ids: Iterable[LotId]) -> dict[LotId, graph.LotInfo]:
        rows = self._rows_in(_LOT_ROWS, LOT.c.id, ids)
        return {info.id: info for info in self._lot_infos(rows)}

    def all_lots(self) -> dict[LotId, graph.LotInfo]:
        rows = self._unit.read().connection.execute(_LOT_ROWS).all()
        return {info.id: info for info in self._lot_infos(rows)}

    def outputs_of(self, log_indexes: Iterable[int]) -> dict[int, list[graph.LotInfo]]:
        rows = self._rows_in(_LOT_ROWS, LOT.c.created_index, log_indexes)
        found: dict[int, list[graph.LotInfo]] = {}
        for info in self._lot_infos(rows):
            found.setdefault(info.created_index, []).append(info)
        return found

    def output_grams(self, log_indexes: Iterable[int]) -> dict[int, int]:
        rows = self._rows_in(_OUTPUT_GRAMS, LOT.c.created_index, log_indexes)
        return {int(index): int(grams) for index, grams in rows}

    def shipped_lots(self, end_use: str) -> set[LotId]:
        """The lots shipped with ``end_use``."""
        connection = self._unit.read().connection
        return {LotId(lot) for lot in connection.execute(_shipped(end_use)).scalars().all()}

    def upstream_lots(self, lot: LotId) -> set[LotId]:
        """``lot`` and every lot upstream of it: one recursive query over ``lot`` and
        ``flow`` (a transformation's inputs are the flows logged at the index that created
        its outputs)."""
        return self._upstream(core_select(LOT.c.id.label("id")).where(LOT.c.id == lot))

    def upstream_of_shipped(self, end_use: str) -> set[LotId]:
        return self._upstream(_shipped(end_use))

    def flows_into(self, log_indexes: Iterable[int]) -> dict[int, list[graph.Flow]]:
        found: dict[int, list[graph.Flow]] = {}
        for flow in self._flows(FLOW.c.log_index, log_indexes, order=itemgetter(0, 1)):
            found.setdefault(flow.log_index, []).append(flow)
        return found

    def flows_from(self, lots: Iterable[LotId]) -> dict[LotId, list[graph.Flow]]:
        found: dict[LotId, list[graph.Flow]] = {}
        for flow in self._flows(FLOW.c.lot, lots, order=itemgetter(1, 0)):
            found.setdefault(flow.lot, []).append(flow)
        return found

    def untraced_into(self, log_indexes: Iterable[int]) -> dict[int, list[graph.Untraced]]:
        found: dict[int, list[graph.Untraced]] = {}
        rows = self._rows_in(_UNTRACED_ROWS, UNTRACED.c.log_index, log_indexes)
        for index, position, material, grams, declared in sorted(rows, key=itemgetter(0, 1)):
            found.setdefault(int(index), []).append(
                graph.Untraced(
                    log_index=int(index),
                    position=int(position),
                    material=material,
                    grams=int(grams),
                    declared_origin=declared,
                )
            )
        return found

    def hops(self, lots: Iterable[LotId]) -> dict[LotId, list[graph.Hop]]:
        found: dict[LotId, list[graph.Hop]] = {}
        rows = self._rows_in(_HOP_ROWS, SHIPMENT_LOT.c.lot, lots)
        # The destination's country on the day it was shipped there (ADR 0016).
        in_force = _InForce(self._registrations({row[3] for row in rows}))
        for lot, shipment, origin, to, day, created, received, end_use in sorted(
            rows, key=itemgetter(5, 0)
        ):
            found.setdefault(LotId(lot), []).append(
                graph.Hop(
                    shipment=shipment,
                    from_facility=origin,
                    to_facility=to,
                    to_country=in_force(to, day)[0],
                    shipped_on=day,
                    shipped_index=int(created),
                    received_index=None if received is None else int(received),
                    end_use=end_use,
                )
            )
        return found

    def facility_facts(self, ids: Iterable[str]) -> dict[str, FacilityFacts]:
        """Every registration of each facility, dated (country, operator, stages, and the
        operator's controlling holders, now and by date): the latest, with the earlier
        ones in :attr:`FacilityFacts.earlier` (ADR 0016)."""
        registered = self._registrations(ids)
        operators = {facts.operator for latest in registered.values() for facts in _all(latest)}
        holders = self._holders_now(operators)
        history = self._control_history(operators)
        found: dict[str, FacilityFacts] = {}
        for facility, latest in registered.items():
            if latest.operator not in holders:
                continue  # pragma: no cover - admission registers the operator first
            chain: list[FacilityFacts] = []
            for facts in _all(latest):
                chain.append(
                    replace(
                        facts,
                        control=holders.get(facts.operator, ()),
                        history=history.get(facts.operator, ()),
                        earlier=tuple(chain),
                    )
                )
            found[facility] = chain[-1]
        return found

    def _registrations(self, ids: Iterable[str]) -> dict[str, FacilityFacts]:
        """Every registration of each facility, dated, without the operators' holders."""
        rows: dict[str, list[Any]] = {}
        for row in sorted(
            self._rows_in(_REGISTRATION_ROWS, FACILITY_REGISTRATION.c.facility, ids),
            key=itemgetter(1),
        ):
            rows.setdefault(row[0], []).append(row)
        found: dict[str, FacilityFacts] = {}
        for facility, registrations in rows.items():
            chain: list[FacilityFacts] = []
            since: date | None = None
            for _, index, effective_from, operator, country, stages in registrations:
                # A registration never takes effect before one logged earlier did: the
                # log's order decides which is in force, and none reaches back past another.
                day = unstamp(effective_from).date()
                since = day if since is None else max(since, day)
                chain.append(
                    FacilityFacts(
                        id=facility,
                        country=country,
                        operator=operator,
                        stages=frozenset(json.loads(stages)),
                        control=(),
                        since=since,
                        log_index=int(index),
                        earlier=tuple(chain),
                    )
                )
            found[facility] = chain[-1]
        return found

    def _holders_now(self, participants: Iterable[str]) -> dict[str, tuple[Control, ...]]:
        found: dict[str, tuple[Control, ...]] = {}
        for chunk in chunks(participants):
            for row in self._unit.read().session.exec(
                select(ParticipantRow).where(col(ParticipantRow.id).in_(chunk))
            ):
                found[row.id] = _holders(row.control)
        return found

    def _control_history(
        self, participants: Iterable[str]
    ) -> dict[str, tuple[tuple[date, tuple[Control, ...]], ...]]:
        found: dict[str, list[tuple[date, tuple[Control, ...]]]] = {}
        rows = (
            self._unit.read()
            .session.exec(
                select(ControlRow)
                .where(col(ControlRow.participant).in_(sorted(set(participants))))
                .order_by(col(ControlRow.log_index))
            )
            .all()
        )
        for row in rows:
            found.setdefault(row.participant, []).append(
                (unstamp(row.effective_from).date(), _holders(row.control))
            )
        return {participant: tuple(items) for participant, items in found.items()}

    def _upstream(self, seed: Any) -> set[LotId]:
        """The lots ``seed`` selects and every lot upstream of them (a recursive query)."""
        walk = seed.cte(recursive=True)
        walk = walk.union(
            core_select(FLOW.c.lot).select_from(
                walk.join(LOT, LOT.c.id == walk.c.id).join(
                    FLOW, FLOW.c.log_index == LOT.c.created_index
                )
            )
        )
        connection = self._unit.read().connection
        return {
            LotId(found) for found in connection.execute(core_select(walk.c.id)).scalars().all()
        }

    def _flows(
        self, key: Any, values: Iterable[Any], order: Callable[[Any], Any]
    ) -> Iterator[graph.Flow]:
        """The flows whose ``key`` column is one of ``values``, sorted by ``order`` (a key
        on the row: log index, lot, grams)."""
        rows = self._rows_in(_FLOW_ROWS, key, values)
        for log_index, lot, grams in sorted(rows, key=order):
            yield graph.Flow(log_index=int(log_index), lot=LotId(lot), grams=int(grams))

    def _rows_in(self, statement: Any, key: Any, values: Iterable[Any]) -> list[Any]:
        """The rows of ``statement`` (a module constant) whose ``key`` is one of ``values``."""
        return rows_in(self._unit.read().connection, statement, key, values)

    def _lot_infos(self, rows: Sequence[Any]) -> list[graph.LotInfo]:
        """Lots with their creating event and its facility, by id."""
        # Where the facility was, and who ran it, on the event's day (ADR 0016); the
        # registrations are read once for all the rows (their facilities are few).
        in_force = _InForce(self._registrations({row[4] for row in rows}))
        infos: list[graph.LotInfo] = []
        # Rows unpacked as tuples: a million named attribute reads cost seconds.
        for lot, material, mass_g, created, facility, stage, day, source, origin in sorted(
            rows, key=itemgetter(0)
        ):
            country, operator = in_force(facility, day)
            infos.append(
                graph.LotInfo(
                    id=LotId(lot),
                    material=material,
                    mass_g=int(mass_g),
                    created_index=int(created),
                    facility=facility,
                    country=country,
                    operator=operator,
                    stage=stage,
                    happened_on=day,
                    source=source,
                    origin=origin,
                )
            )
        return infos


def _all(latest: FacilityFacts) -> tuple[FacilityFacts, ...]:
    """Every registration of a facility, oldest first."""
    return (*latest.earlier, latest)


class _InForce:
    """(country, operator) of a facility by its registration in force on a day, each
    facility and day looked up once (a whole ledger's lots name a few thousand)."""

    def __init__(self, registered: dict[str, FacilityFacts]) -> None:
        self._registered = registered
        self._seen: dict[tuple[str, str], tuple[str, str]] = {}

    def __call__(self, facility: str, day: str) -> tuple[str, str]:
        key = (facility, day)
        found = self._seen.get(key)
        if found is None:
            latest = self._registered.get(facility)
            facts = None if latest is None else latest.on(date.fromisoformat(day))
            found = (
                (graph.UNREGISTERED, graph.UNREGISTERED)
                if facts is None
                else (facts.country, facts.operator)
            )
            self._seen[key] = found
        return found


def _holders(stored: str) -> tuple[Control, ...]:
    """A participant's controlling holders, from the JSON its row stores."""
    return tuple(Control.from_dict(c) for c in json.loads(stored))
