"""Read views for the provenance graph (:class:`~ledger.provenance.graph.ProvenanceSource`)
and the compliance checker's facility facts.

Batched: one query per step of a walk, by chunks of ids, as plain Core rows (provenance
walks read many rows, and an ORM object per row costs more than the query). Every query
reads through :meth:`Unit.read`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sqlalchemy import select as core_select
from sqlalchemy import true
from sqlmodel import col, select

from ledger.compliance import FacilityFacts
from ledger.provenance import graph
from ledger.records.model import Control, LotId
from ledger.store._rows import ControlRow, FacilityRow, ParticipantRow
from ledger.store._sql import EVENT, FACILITY, FLOW, LOT, SHIPMENT, SHIPMENT_LOT, UNTRACED, chunks
from ledger.store._stamps import unstamp
from ledger.store._unit import Unit


class GraphReads:
    """Lots, flows, untraced inputs, shipments and facilities, as the graph reads them."""

    def __init__(self, unit: Unit) -> None:
        self._unit = unit

    def lots(self, ids: Iterable[LotId]) -> dict[LotId, graph.LotInfo]:
        found: dict[LotId, graph.LotInfo] = {}
        for chunk in chunks(ids):
            found.update((info.id, info) for info in self._lot_infos(LOT.c.id.in_(chunk)))
        return found

    def all_lots(self) -> dict[LotId, graph.LotInfo]:
        return {info.id: info for info in self._lot_infos(true())}

    def outputs_of(self, log_indexes: Iterable[int]) -> dict[int, list[graph.LotInfo]]:
        found: dict[int, list[graph.LotInfo]] = {}
        for chunk in chunks(log_indexes):
            for info in self._lot_infos(LOT.c.created_index.in_(chunk)):
                found.setdefault(info.created_index, []).append(info)
        return found

    def upstream_lots(self, lot: LotId) -> set[LotId]:
        """``lot`` and every lot upstream of it: one recursive query over ``lot`` and
        ``flow`` (a transformation's inputs are the flows logged at the index that created
        its outputs)."""
        return self._upstream(core_select(LOT.c.id.label("id")).where(LOT.c.id == lot))

    def upstream_of_shipped(self, end_use: str) -> set[LotId]:
        line, shipment = SHIPMENT_LOT, SHIPMENT
        return self._upstream(
            core_select(line.c.lot.label("id"))
            .join(shipment, shipment.c.id == line.c.shipment)
            .where(shipment.c.end_use == end_use)
        )

    def flows_into(self, log_indexes: Iterable[int]) -> dict[int, list[graph.Flow]]:
        found: dict[int, list[graph.Flow]] = {}
        for flow in self._flows(FLOW.c.log_index, log_indexes, FLOW.c.lot):
            found.setdefault(flow.log_index, []).append(flow)
        return found

    def flows_from(self, lots: Iterable[LotId]) -> dict[LotId, list[graph.Flow]]:
        found: dict[LotId, list[graph.Flow]] = {}
        for flow in self._flows(FLOW.c.lot, lots, FLOW.c.log_index):
            found.setdefault(flow.lot, []).append(flow)
        return found

    def untraced_into(self, log_indexes: Iterable[int]) -> dict[int, list[graph.Untraced]]:
        found: dict[int, list[graph.Untraced]] = {}
        for chunk in chunks(log_indexes):
            for row in self._unit.read().connection.execute(
                core_select(UNTRACED)
                .where(UNTRACED.c.log_index.in_(chunk))
                .order_by(UNTRACED.c.log_index, UNTRACED.c.position)
            ):
                found.setdefault(int(row.log_index), []).append(
                    graph.Untraced(
                        log_index=int(row.log_index),
                        position=int(row.position),
                        material=row.material,
                        grams=int(row.grams),
                        declared_origin=row.declared_origin,
                    )
                )
        return found

    def hops(self, lots: Iterable[LotId]) -> dict[LotId, list[graph.Hop]]:
        found: dict[LotId, list[graph.Hop]] = {}
        line, shipment, destination = SHIPMENT_LOT, SHIPMENT, FACILITY
        for chunk in chunks(lots):
            rows = self._unit.read().connection.execute(
                core_select(
                    line.c.lot,
                    shipment.c.id,
                    shipment.c.from_facility,
                    shipment.c.to_facility,
                    destination.c.country,
                    shipment.c.shipped_on,
                    shipment.c.created_index,
                    shipment.c.received_index,
                    shipment.c.end_use,
                )
                .join(shipment, shipment.c.id == line.c.shipment)
                .join(destination, destination.c.id == shipment.c.to_facility)
                .where(line.c.lot.in_(chunk))
                .order_by(shipment.c.created_index)
            )
            for row in rows:
                found.setdefault(LotId(row.lot), []).append(
                    graph.Hop(
                        shipment=row.id,
                        from_facility=row.from_facility,
                        to_facility=row.to_facility,
                        to_country=row.country,
                        shipped_on=row.shipped_on,
                        shipped_index=int(row.created_index),
                        received_index=None
                        if row.received_index is None
                        else int(row.received_index),
                        end_use=row.end_use,
                    )
                )
        return found

    def facility_facts(self, ids: Iterable[str]) -> dict[str, FacilityFacts]:
        """Country, operator, stages and the operator's controlling holders per facility."""
        found: dict[str, FacilityFacts] = {}
        for chunk in chunks(ids):
            rows = (
                self._unit.read()
                .session.exec(
                    select(FacilityRow, ParticipantRow)
                    .join(ParticipantRow, col(ParticipantRow.id) == col(FacilityRow.operator))
                    .where(col(FacilityRow.id).in_(chunk))
                )
                .all()
            )
            history = self._control_history({operator.id for _, operator in rows})
            for facility, operator in rows:
                found[facility.id] = FacilityFacts(
                    id=facility.id,
                    country=facility.country,
                    operator=facility.operator,
                    stages=frozenset(json.loads(facility.stages)),
                    control=_holders(operator.control),
                    history=history.get(operator.id, ()),
                )
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
        return {LotId(found) for (found,) in connection.execute(core_select(walk.c.id))}

    def _flows(self, key: Any, values: Iterable[Any], order: Any) -> Iterator[graph.Flow]:
        """The flows whose ``key`` column is one of ``values``, by chunk, ordered by ``order``."""
        for chunk in chunks(values):
            for log_index, lot, grams in self._unit.read().connection.execute(
                core_select(FLOW.c.log_index, FLOW.c.lot, FLOW.c.grams)
                .where(key.in_(chunk))
                .order_by(order)
            ):
                yield graph.Flow(log_index=int(log_index), lot=LotId(lot), grams=int(grams))

    def _lot_infos(self, condition: Any) -> list[graph.LotInfo]:
        """Lots with their creating event and its facility."""
        rows = self._unit.read().connection.execute(
            core_select(
                LOT.c.id,
                LOT.c.material,
                LOT.c.mass_g,
                LOT.c.created_index,
                EVENT.c.facility,
                FACILITY.c.country,
                FACILITY.c.operator,
                EVENT.c.stage,
                EVENT.c.happened_on,
                EVENT.c.source,
                EVENT.c.origin,
            )
            .join(EVENT, EVENT.c.log_index == LOT.c.created_index)
            .join(FACILITY, FACILITY.c.id == EVENT.c.facility)
            .where(condition)
            .order_by(LOT.c.id)
        )
        return [
            graph.LotInfo(
                id=LotId(row.id),
                material=row.material,
                mass_g=int(row.mass_g),
                created_index=int(row.created_index),
                facility=row.facility,
                country=row.country,
                operator=row.operator,
                stage=row.stage,
                happened_on=row.happened_on,
                source=row.source,
                origin=row.origin,
            )
            for row in rows
        ]


def _holders(stored: str) -> tuple[Control, ...]:
    """A participant's controlling holders, from the JSON its row stores."""
    return tuple(Control.from_dict(c) for c in json.loads(stored))
