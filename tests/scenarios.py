"""A small builder for realistic supply chains made of real signed records.

``Scenario`` registers participants and facilities on demand, signs every record with the
participant's deterministic key, ships a lot to a facility (shipment + receipt) before that
facility processes it, and submits everything through the service, asserting acceptance.
The compliance scenarios then judge lots through the command line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from click.testing import CliRunner

from ledger.cli.main import bloc

from helpers import (
    World,
    envelope_bytes,
    extraction,
    facility,
    key_for,
    participant,
    receipt,
    shipment,
    transformation,
)

ISSUED = "2026-05-01T00:00:00Z"


@dataclass
class Scenario:
    world: World
    orgs: set[str] = field(default_factory=set)
    facilities: dict[str, str] = field(default_factory=dict)  # facility slug -> operator slug
    holder: dict[str, str] = field(default_factory=dict)  # lot -> facility slug
    mass: dict[str, Any] = field(default_factory=dict)
    shipments: int = 0

    def org(
        self,
        slug: str,
        country: str,
        control: list[dict[str, Any]] | None = None,
        *,
        issued_at: str = "2026-01-05T09:00:00Z",
    ) -> None:
        record = participant(slug, country=country, control=control, issued_at=issued_at)
        self._accept(self.world.register([record]))
        self.orgs.add(slug)

    def site(self, slug: str, operator: str, country: str, stages: list[str]) -> None:
        self._accept(self.world.register([facility(slug, operator, stages, country=country)]))
        self.facilities[slug] = operator

    def mine(
        self,
        site: str,
        lot: str,
        material: str,
        kg: Any,
        *,
        source: str = "mined",
        origin: str | None = None,
    ) -> str:
        """An extraction of one lot; ``origin`` is a recycled lot's recorded origin."""
        operator = self.facilities[site]
        lot_id = f"lot:{operator}/{lot}"
        record = extraction(
            operator, site, [(lot_id, material, kg)], issued_at=ISSUED, source=source
        )
        if origin is not None:
            record["origin"] = origin
        self._submit(record, operator)
        self.holder[lot_id], self.mass[lot_id] = site, kg
        return lot_id

    def make(
        self,
        site: str,
        stage: str,
        inputs: list[tuple[str, Any]],
        outputs: list[tuple[str, str, Any]],
        *,
        untraced: list[dict[str, Any]] | None = None,
        on: str = "2026-03-02",
    ) -> list[str]:
        operator = self.facilities[site]
        for lot, _ in inputs:
            self.ship(lot, site)
        ids = [(f"lot:{operator}/{name}", material, kg) for name, material, kg in outputs]
        # Signed no earlier than the day it reports: an event dated after its issued_at is
        # rejected (issue 11 item 9, ADR 0021).
        issued = max(ISSUED, f"{on}T12:00:00Z")
        record = transformation(
            operator, site, stage, inputs, ids, untraced=untraced, issued_at=issued
        )
        record["performed_on"] = on
        self._submit(record, operator)
        for lot_id, _, kg in ids:
            self.holder[lot_id], self.mass[lot_id] = site, kg
        return [lot_id for lot_id, _, _ in ids]

    def ship(self, lot: str, to: str, *, end_use: str | None = None, receive: bool = True) -> None:
        src = self.holder[lot]
        if src == to and end_use is None:
            return
        operator = self.facilities[src]
        self.shipments += 1
        ship_id = f"ship:{operator}/S-{self.shipments}"
        self._submit(
            shipment(operator, ship_id, src, to, [lot], issued_at=ISSUED, end_use=end_use),
            operator,
        )
        if receive:
            receiver = self.facilities[to]
            self._submit(
                receipt(receiver, ship_id, to, [(lot, self.mass[lot])], issued_at=ISSUED),
                receiver,
            )
        self.holder[lot] = to

    def _submit(self, record: dict[str, Any], signer: str) -> None:
        self._accept(self.world.submit([envelope_bytes(record, key_for(signer))]))

    @staticmethod
    def _accept(results: list[Any]) -> None:
        for result in results:
            assert result.accepted, result.error


def magnet_sites(s: Scenario) -> None:
    """A magnet chain's parties: an Australian mine, separators in China and Estonia, a
    Japanese magnet maker, a US iron and boron supplier, a Mexican trader."""
    s.org("ausmine", "AU")
    s.site("ausmine-pit", "ausmine", "AU", ["mining", "beneficiation"])
    s.org("cnsep", "CN")
    s.site("cnsep-baotou", "cnsep", "CN", ["cracking_leaching", "separation", "metal_reduction"])
    s.org("jpmag", "JP")
    s.site(
        "jpmag-takefu",
        "jpmag",
        "JP",
        ["metal_reduction", "alloy_melting", "powder_formation", "pressing", "sintering"],
    )
    s.org("usfe", "US")
    # Iron and boron are refined products (issue 11 item 6): the supplier's site is
    # registered for the refining that makes them, so its extractions record it.
    s.site("usfe-mine", "usfe", "US", ["mining", "refining"])


def japanese_magnet(
    s: Scenario, *, separated_at: str = "cnsep-baotou", traced_iron: bool = True
) -> str:
    ore = s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000)
    (oxide,) = s.make(separated_at, "separation", [(ore, 20000)], [("OX-1", "ndpr_oxide", 4000)])
    (metal,) = s.make(
        "jpmag-takefu", "metal_reduction", [(oxide, 4000)], [("MET-1", "ndpr_metal", 3000)]
    )
    untraced: list[dict[str, Any]] = []
    inputs = [(metal, 3000)]
    if traced_iron:
        iron = s.mine("usfe-mine", "FE-1", "iron", 6800)
        boron = s.mine("usfe-mine", "B-1", "boron", 100)
        inputs += [(iron, 6800), (boron, 100)]
    else:
        untraced = [{"material": "iron", "mass_kg": 6800}, {"material": "boron", "mass_kg": 100}]
    (alloy,) = s.make(
        "jpmag-takefu",
        "alloy_melting",
        inputs,
        [("ALLOY-1", "ndfeb_alloy", 9800)],
        untraced=untraced,
    )
    (powder,) = s.make(
        "jpmag-takefu", "powder_formation", [(alloy, 9800)], [("POW-1", "ndfeb_powder", 9700)]
    )
    (magnet,) = s.make(
        "jpmag-takefu", "sintering", [(powder, 9700)], [("MAG-1", "ndfeb_magnet", 9500)]
    )
    return magnet


DFARS = "dfars-252.225-7052"
BLOC = "bloc-2026"
WINDOW_A = "2026-11-15"
WINDOW_B = "2027-02-01"
EXIT = {"pass": 0, "exempt": 0, "not_applicable": 0, "fail": 1, "inconclusive": 4}
"""What ``bloc check`` exits with for each verdict (README, Exit codes)."""


def check(world: World, lot: str, policy: str, as_of: str) -> dict[str, Any]:
    """``bloc check LOT --policy P --as-of D --json`` through the CLI, its exit code checked
    against the verdict it prints."""
    result = CliRunner().invoke(
        bloc,
        [
            *("--home", str(world.home.path), "check", lot),
            *("--policy", policy, "--as-of", as_of, "--json"),
        ],
    )
    assert "Traceback" not in result.output
    verdict: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == EXIT[verdict["verdict"]], result.output
    return verdict


def assembly_sites(s: Scenario) -> None:
    magnet_sites(s)
    s.site("ausmine-sep", "ausmine", "AU", ["cracking_leaching", "separation"])
    s.org("cnasm", "CN")
    s.site("cnasm-plant", "cnasm", "CN", ["assembly", "machining"])
    s.org("usasm", "US")
    s.site("usasm-plant", "usasm", "US", ["assembly"])


def wha_chain(s: Scenario) -> str:
    """A tungsten heavy alloy made wholly in the United States."""
    s.org("uswha", "US")
    s.site(
        "uswha-plant",
        "uswha",
        "US",
        [
            "mining",
            "beneficiation",
            "apt_refining",
            "calcination",
            "reduction_to_powder",
            "consolidation_sintering",
        ],
    )
    conc = s.mine("uswha-plant", "W-1", "tungsten_concentrate", 5000)
    (apt,) = s.make("uswha-plant", "apt_refining", [(conc, 5000)], [("APT-1", "apt", 3000)])
    (oxide,) = s.make(
        "uswha-plant", "calcination", [(apt, 3000)], [("WO3", "tungsten_oxide", 2500)]
    )
    (powder,) = s.make(
        "uswha-plant", "reduction_to_powder", [(oxide, 2500)], [("WP", "tungsten_powder", 1900)]
    )
    (alloy,) = s.make(
        "uswha-plant",
        "consolidation_sintering",
        [(powder, 1900)],
        [("WHA", "tungsten_heavy_alloy", 1800)],
    )
    return alloy
