"""Build a large synthetic ledger of real signed records, deterministically.

    python bench/generate.py DIR --records 100000 [--seed 7] [--db URL]

Shapes like real magnet chains: mines in AU, US and CN feed separators in MY, EE and CN
(fan-in: each separation takes several ore lots), separated oxide is reduced and melted
with traced iron and boron at magnet makers in JP, DE and CN, milled and sintered, and the
magnets are shipped to a US defense contractor. Every lot a facility processes is shipped
there first. Prints the time it took and the records per second.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.authoring import prepare_record, seal
from ledger.codec import canonical_json
from ledger.envelope import sign_envelope
from ledger.home import REGISTRAR_KEY, init_home
from ledger.model import REGISTRAR
from ledger.signing import Signer

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ISSUED = "2026-05-01T00:00:00Z"

SITES = {
    # slug: (country, stages)
    "mine-au": ("AU", ["mining", "beneficiation"]),
    "mine-us": ("US", ["mining", "beneficiation"]),
    "mine-cn": ("CN", ["mining", "beneficiation"]),
    "sep-my": ("MY", ["cracking_leaching", "separation", "metal_reduction"]),
    "sep-ee": ("EE", ["cracking_leaching", "separation", "metal_reduction"]),
    "sep-cn": ("CN", ["cracking_leaching", "separation", "metal_reduction"]),
    "mag-jp": ("JP", ["alloy_melting", "powder_formation", "sintering"]),
    "mag-de": ("DE", ["alloy_melting", "powder_formation", "sintering"]),
    "mag-cn": ("CN", ["alloy_melting", "powder_formation", "sintering"]),
    "fe-us": ("US", ["mining"]),
    "def-us": ("US", ["assembly"]),
}


def key(slug: str) -> Signer:
    return Signer.from_seed(hashlib.sha256(f"bench:{slug}".encode()).digest())


class Builder:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.envelopes: list[bytes] = []
        self.counter = 0
        self.ships = 0

    def sign(self, record: dict[str, Any], slug: str) -> None:
        self.envelopes.append(sign_envelope(canonical_json(record), [key(slug)]).canonical_bytes())

    def lot(self, org: str) -> str:
        self.counter += 1
        return f"lot:{org}/L{self.counter}"

    def extraction(self, site: str, material: str, kg: int) -> str:
        lot = self.lot(site)
        self.sign(
            {
                "kind": "extraction",
                "schema_version": 1,
                "issued_at": ISSUED,
                "signer": f"org:{site}",
                "facility": f"fac:{site}",
                "extracted_on": "2026-01-30",
                "source": "mined",
                "lots": [{"id": lot, "material": material, "mass_kg": kg}],
            },
            site,
        )
        return lot

    def ship(self, lot: str, src: str, dst: str, kg: Decimal, end_use: str | None = None) -> None:
        self.ships += 1
        ship = f"ship:{src}/S{self.ships}"
        record: dict[str, Any] = {
            "kind": "shipment",
            "schema_version": 1,
            "issued_at": ISSUED,
            "signer": f"org:{src}",
            "id": ship,
            "from_facility": f"fac:{src}",
            "to_facility": f"fac:{dst}",
            "shipped_on": "2026-03-10",
            "lots": [lot],
        }
        if end_use:
            record["end_use"] = end_use
        self.sign(record, src)
        self.sign(
            {
                "kind": "receipt",
                "schema_version": 1,
                "issued_at": ISSUED,
                "signer": f"org:{dst}",
                "shipment": ship,
                "facility": f"fac:{dst}",
                "received_on": "2026-04-01",
                "lots": [{"lot": lot, "mass_kg": kg}],
            },
            dst,
        )

    def make(
        self, site: str, stage: str, inputs: list[tuple[str, Decimal]], material: str, kg: Decimal
    ) -> str:
        lot = self.lot(site)
        self.sign(
            {
                "kind": "transformation",
                "schema_version": 1,
                "issued_at": ISSUED,
                "signer": f"org:{site}",
                "facility": f"fac:{site}",
                "stage": stage,
                "performed_on": "2026-03-05",
                "inputs": [{"lot": lot_id, "mass_kg": grams} for lot_id, grams in inputs],
                "untraced_inputs": [],
                "outputs": [{"id": lot, "material": material, "mass_kg": kg}],
            },
            site,
        )
        return lot

    def chain(self) -> None:
        """One magnet chain: about 25 records."""
        r = self.random
        mines = r.sample(["mine-au", "mine-us", "mine-cn"], k=r.choice([1, 2]))
        sep = r.choice(["sep-my", "sep-ee", "sep-cn"])
        mag = r.choice(["mag-jp", "mag-de", "mag-cn"])
        ores = []
        for mine in mines:
            for _ in range(r.randint(1, 3)):
                kg = Decimal(r.randint(5_000, 20_000))
                ore = self.extraction(mine, "rare_earth_concentrate", int(kg))
                self.ship(ore, mine, sep, kg)
                ores.append((ore, kg))
        total = sum(kg for _, kg in ores)
        oxide = self.make(sep, "separation", ores, "ndpr_oxide", (total / 5).quantize(Decimal(1)))
        oxide_kg = (total / 5).quantize(Decimal(1))
        metal_kg = (oxide_kg * Decimal("0.8")).quantize(Decimal(1))
        metal = self.make(sep, "metal_reduction", [(oxide, oxide_kg)], "ndpr_metal", metal_kg)
        self.ship(metal, sep, mag, metal_kg)
        iron_kg = metal_kg * 2
        iron = self.extraction("fe-us", "iron", int(iron_kg))
        self.ship(iron, "fe-us", mag, iron_kg)
        boron = self.extraction("fe-us", "boron", int(metal_kg // 30 + 1))
        boron_kg = Decimal(int(metal_kg // 30 + 1))
        self.ship(boron, "fe-us", mag, boron_kg)
        alloy_kg = metal_kg + iron_kg + boron_kg - 1
        alloy = self.make(
            mag,
            "alloy_melting",
            [(metal, metal_kg), (iron, iron_kg), (boron, boron_kg)],
            "ndfeb_alloy",
            alloy_kg,
        )
        powder_kg = alloy_kg - 1
        powder = self.make(mag, "powder_formation", [(alloy, alloy_kg)], "ndfeb_powder", powder_kg)
        magnet_kg = powder_kg - 1
        magnet = self.make(mag, "sintering", [(powder, powder_kg)], "ndfeb_magnet", magnet_kg)
        self.ship(magnet, mag, "def-us", magnet_kg, end_use="defense")


def registrations(registrar: Signer) -> list[bytes]:
    records: list[dict[str, Any]] = []
    for slug, (country, stages) in SITES.items():
        signer = key(slug)
        records.append(
            {
                "kind": "participant",
                "schema_version": 1,
                "id": f"org:{slug}",
                "name": slug,
                "country": country,
                "roles": ["processor"],
                "control": [],
                "keys": [
                    {
                        "keyid": signer.keyid,
                        "public_key": signer.public_key.to_base64(),
                        "valid_from": "2026-01-01T00:00:00Z",
                    }
                ],
            }
        )
        records.append(
            {
                "kind": "facility",
                "schema_version": 1,
                "id": f"fac:{slug}",
                "operator": f"org:{slug}",
                "name": slug,
                "country": country,
                "stages": stages,
            }
        )
    envelopes = []
    for record in records:
        payload, parsed = prepare_record(canonical_json(record), now=NOW, default_signer=REGISTRAR)
        envelopes.append(seal(payload, parsed, registrar).canonical_bytes())
    return envelopes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    home = init_home(args.directory, db_url=args.db, origin="bench.bloc/ledger")
    ledger = home.ledger()
    registrar = home.signer(REGISTRAR_KEY)
    builder = Builder(args.seed)
    while len(builder.envelopes) < args.records:
        builder.chain()
    envelopes = registrations(registrar) + builder.envelopes
    started = time.perf_counter()
    for start in range(0, len(envelopes), 2000):
        batch = envelopes[start : start + 2000]
        results = ledger.submit(batch, now=NOW, atomic=True)
        bad = [r for r in results if not r.accepted]
        if bad:
            print(f"rejected: {bad[0].error}", file=sys.stderr)
            return 1
        done = start + len(batch)
        rate = done / (time.perf_counter() - started)
        print(f"{done:,} records, {rate:,.0f}/s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    print(
        f"submitted {len(envelopes):,} records in {elapsed:.1f} s "
        f"({len(envelopes) / elapsed:,.0f} records/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
