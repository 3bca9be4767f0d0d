"""Read views for the provenance graph (:class:`~ledger.provenance.graph.ProvenanceSource`)
and the compliance checker's facility facts.

Batched: one query per step of a walk, by chunks of ids, as plain Core rows (provenance
walks read many rows, and an ORM object per row costs more than the query). Every query
reads through :meth:`Unit.read`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select as core_select
from sqlalchemy import true
from sqlmodel import col, select

from ledger.compliance import FacilityFacts
from ledger.provenance import graph
from ledger.records.model import Control, LotId
from ledger.store._rows import ControlRow, FacilityRegistrationRow, ParticipantRow
from ledger.store._sql import EVENT, FLOW, LOT, SHIPMENT, SHIPMENT_LOT, UNTRACED, chunks
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
        line, shipment = SHIPMENT_LOT, SHIPMENT
        for chunk in chunks(lots):
            rows = (
                self._unit.read()
                .connection.execute(
                    core_select(
                        line.c.lot,
                        shipment.c.id,
                        shipment.c.from_facility,
                        shipment.c.to_facility,
                        shipment.c.shipped_on,
                        shipment.c.created_index,
                        shipment.c.received_index,
                        shipment.c.end_use,
                    )
                    .join(shipment, shipment.c.id == line.c.shipment)
                    .where(line.c.lot.in_(chunk))
                    .order_by(shipment.c.created_index)
                )
                .all()
            )
            # The destination's country on the day it was shipped there (ADR 0016).
            registered = self._registrations({row.to_facility for row in rows})
            for row in rows:
                found.setdefault(LotId(row.lot), []).append(
                    graph.Hop(
                        shipment=row.id,
                        from_facility=row.from_facility,
                        to_facility=row.to_facility,
                        to_country=_in_force(registered, row.to_facility, row.shipped_on)[0],
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
        rows: dict[str, list[FacilityRegistrationRow]] = {}
        for chunk in chunks(ids):
            for row in self._unit.read().session.exec(
                select(FacilityRegistrationRow)
                .where(col(FacilityRegistrationRow.facility).in_(chunk))
                .order_by(col(FacilityRegistrationRow.log_index))
            ):
                rows.setdefault(row.facility, []).append(row)
        found: dict[str, FacilityFacts] = {}
        for facility, registrations in rows.items():
            chain: list[FacilityFacts] = []
            since: date | None = None
            for row in registrations:
                # A registration never takes effect before one logged earlier did: the
                # log's order decides which is in force, and none reaches back past another.
                day = unstamp(row.effective_from).date()
                since = day if since is None else max(since, day)
                chain.append(
                    FacilityFacts(
                        id=facility,
                        country=row.country,
                        operator=row.operator,
                        stages=frozenset(json.loads(row.stages)),
                        control=(),
                        since=since,
                        log_index=row.log_index,
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
        rows = (
            self._unit.read()
            .connection.execute(
                core_select(
                    LOT.c.id,
                    LOT.c.material,
                    LOT.c.mass_g,
                    LOT.c.created_index,
                    EVENT.c.facility,
                    EVENT.c.stage,
                    EVENT.c.happened_on,
                    EVENT.c.source,
                    EVENT.c.origin,
                )
                .join(EVENT, EVENT.c.log_index == LOT.c.created_index)
                .where(condition)
                .order_by(LOT.c.id)
            )
            .all()
        )
        # Where the facility was, and who ran it, on the event's day (ADR 0016).
        registered = self._registrations({row.facility for row in rows})
        infos: list[graph.LotInfo] = []
        for row in rows:
            country, operator = _in_force(registered, row.facility, row.happened_on)
            infos.append(
                graph.LotInfo(
                    id=LotId(row.id),
                    material=row.material,
                    mass_g=int(row.mass_g),
                    created_index=int(row.created_index),
                    facility=row.facility,
                    country=country,
                    operator=operator,
                    stage=row.stage,
                    happened_on=row.happened_on,
                    source=row.source,
                    origin=row.origin,
                )
            )
        return infos


def _all(latest: FacilityFacts) -> tuple[FacilityFacts, ...]:
    """Every registration of a facility, oldest first."""
    return (*latest.earlier, latest)


def _in_force(registered: dict[str, FacilityFacts], facility: str, day: str) -> tuple[str, str]:
    """(country, operator) of ``facility`` by its registration in force on ``day``."""
    latest = registered.get(facility)
    facts = None if latest is None else latest.on(date.fromisoformat(day))
    if facts is None:
        return graph.UNREGISTERED, graph.UNREGISTERED
    return facts.country, facts.operator


def _holders(stored: str) -> tuple[Control, ...]:
    """A participant's controlling holders, from the JSON its row stores."""
    return tuple(Control.from_dict(c) for c in json.loads(stored))
