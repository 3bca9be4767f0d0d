"""Test vectors and builders: deterministic keys, a fixed clock, records of every kind.

Keys come from fixed seeds (``key_for("lynas")`` is the same key in every run), the clock is
``NOW``, and :class:`World` writes a small, valid supply chain that tests then break in one
named way at a time.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.core.codec import canonical_json
from ledger.core.signing import Signer
from ledger.records.authoring import prepare_record, seal
from ledger.records.envelope import sign_envelope
from ledger.records.model import REGISTRAR
from ledger.service import Ledger, SubmitResult
from ledger.service.home import Home
from ledger.store import Store

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""For a test of behaviour that does not depend on the database (a refusal before it is read
or written, the client side of a remote home): SQLite only, where the ``db_url`` fixture
would run it on both backends."""

NOW = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
"""The fixed "current time" of tests."""


def key_for(name: str) -> Signer:
    """A deterministic Ed25519 key per name."""
    return Signer.from_seed(hashlib.sha256(f"bloc-test-key:{name}".encode()).digest())


def participant(
    slug: str,
    *,
    country: str = "AU",
    keys: list[Signer] | None = None,
    issued_at: str = "2026-01-05T09:00:00Z",
    valid_from: str = "2026-01-01T00:00:00Z",
    control: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    keys = keys if keys is not None else [key_for(slug)]
    return {
        "kind": "participant",
        "schema_version": 1,
        "issued_at": issued_at,
        "signer": REGISTRAR,
        "id": f"org:{slug}",
        "name": f"{slug.title()} Ltd",
        "country": country,
        "roles": ["processor"],
        "control": control
        if control is not None
        else [{"holder": "Shareholders", "country": country, "percent": 100, "government": False}],
        "keys": [
            {"keyid": k.keyid, "public_key": k.public_key.to_base64(), "valid_from": valid_from}
            for k in keys
        ],
    }


def facility(
    slug: str,
    operator: str,
    stages: list[str],
    *,
    country: str = "AU",
    issued_at: str = "2026-01-05T09:05:00Z",
) -> dict[str, Any]:
    return {
        "kind": "facility",
        "schema_version": 1,
        "issued_at": issued_at,
        "signer": REGISTRAR,
        "id": f"fac:{slug}",
        "operator": f"org:{operator}",
        "name": f"{slug} works",
        "country": country,
        "stages": stages,
    }


def revocation(
    slug: str, keyid: str, since: str, *, issued_at: str = "2026-05-02T12:00:00Z"
) -> dict[str, Any]:
    return {
        "kind": "key_revocation",
        "schema_version": 1,
        "issued_at": issued_at,
        "signer": REGISTRAR,
        "participant": f"org:{slug}",
        "keyid": keyid,
        "compromised_since": since,
        "reason": "laptop stolen",
    }


def extraction(
    signer: str,
    facility_slug: str,
    lots: list[tuple[str, str, Any]],
    *,
    issued_at: str = "2026-02-01T08:00:00Z",
    source: str = "mined",
) -> dict[str, Any]:
    return {
        "kind": "extraction",
        "schema_version": 1,
        "issued_at": issued_at,
        "signer": f"org:{signer}",
        "facility": f"fac:{facility_slug}",
        "extracted_on": "2026-01-30",
        "source": source,
        "lots": [
            {"id": lot, "material": material, "mass_kg": mass} for lot, material, mass in lots
        ],
    }


def transformation(
    signer: str,
    facility_slug: str,
    stage: str,
    inputs: list[tuple[str, Any]],
    outputs: list[tuple[str, str, Any]],
    *,
    untraced: list[dict[str, Any]] | None = None,
    issued_at: str = "2026-03-03T10:00:00Z",
) -> dict[str, Any]:
    return {
        "kind": "transformation",
        "schema_version": 1,
        "issued_at": issued_at,
        "signer": f"org:{signer}",
        "facility": f"fac:{facility_slug}",
        "stage": stage,
        "performed_on": "2026-03-02",
        "inputs": [{"lot": lot, "mass_kg": mass} for lot, mass in inputs],
        "untraced_inputs": untraced or [],
        "outputs": [{"id": lot, "material": m, "mass_kg": mass} for lot, m, mass in outputs],
    }


def shipment(
    signer: str,
    ship_id: str,
    src: str,
    dst: str,
    lots: list[str],
    *,
    issued_at: str = "2026-03-10T06:00:00Z",
    end_use: str | None = "defense",
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "shipment",
        "schema_version": 1,
        "issued_at": issued_at,
        "signer": f"org:{signer}",
        "id": ship_id,
        "from_facility": f"fac:{src}",
        "to_facility": f"fac:{dst}",
        "shipped_on": "2026-03-10",
        "lots": lots,
    }
    if end_use:
        record["end_use"] = end_use
    return record


def receipt(
    signer: str,
    ship_id: str,
    facility_slug: str,
    lots: list[tuple[str, Any]],
    *,
    issued_at: str = "2026-04-02T07:30:00Z",
) -> dict[str, Any]:
    return {
        "kind": "receipt",
        "schema_version": 1,
        "issued_at": issued_at,
        "signer": f"org:{signer}",
        "shipment": ship_id,
        "facility": f"fac:{facility_slug}",
        "received_on": "2026-04-01",
        "lots": [{"lot": lot, "mass_kg": mass} for lot, mass in lots],
    }


def to_json(record: Any) -> bytes:
    """Canonical JSON of a test record; float literals become exact decimals first."""

    def exact(value: Any) -> Any:
        if isinstance(value, float):
            return Decimal(repr(value))
        if isinstance(value, dict):
            return {k: exact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [exact(v) for v in value]
        return value

    return canonical_json(exact(record))


def envelope_bytes(record: dict[str, Any], *signers: Signer) -> bytes:
    """Sign a record dict as-is (canonical JSON payload) and return the envelope bytes."""
    return sign_envelope(to_json(record), list(signers)).canonical_bytes()


def raw_envelope(payload: bytes, *signers: Signer) -> bytes:
    """An envelope over exactly ``payload`` (for malformed payloads that must still be signed)."""
    return sign_envelope(payload, list(signers)).canonical_bytes()


def envelope_of_size(payload: bytes, signer: Signer, *, size: int, signatures: int) -> bytes:
    """A canonical envelope of exactly ``size`` bytes: ``payload`` padded with trailing spaces
    (the same JSON value), signed by ``signer``, then ``signatures - 1`` more signatures of
    1,024 base64 characters (the schema's longest) by key ids nobody registered.

    Every value in a canonical envelope is base64 or hex, so its length is 0 mod 4 with an
    odd number of signatures and 2 mod 4 with an even number: no envelope is 65,535 bytes.
    """
    others = [
        {"keyid": hashlib.sha256(b"unregistered %d" % i).hexdigest(), "sig": "A" * 1024}
        for i in range(1, signatures)
    ]

    def cosigned(padded: bytes) -> bytes:
        env: dict[str, Any] = json.loads(raw_envelope(padded, signer))
        env["signatures"].extend(others)
        return json.dumps(env, sort_keys=True, separators=(",", ":")).encode()

    room = size - len(cosigned(b""))
    if room % 4 or room < 4 * -(-len(payload) // 3):
        raise ValueError(f"no envelope of {size} bytes with {signatures} signatures")
    data = cosigned(payload + b" " * (room // 4 * 3 - len(payload)))
    assert len(data) == size, len(data)
    return data


def tamper(envelope: bytes, change: Any, *, resign: Signer | None = None) -> bytes:
    """Decode an envelope's record, apply ``change(record_dict)``, optionally re-sign."""
    env = json.loads(envelope)
    import base64

    record = json.loads(base64.b64decode(env["payload"]), parse_float=Decimal)
    change(record)
    payload = to_json(record)
    if resign is not None:
        return sign_envelope(payload, [resign]).canonical_bytes()
    env["payload"] = base64.b64encode(payload).decode()
    return canonical_json(env)


@dataclass
class World:
    """A small valid ledger: a registrar, a miner in AU, a separator in MY, a magnet maker in JP.

    ``build()`` registers everyone and submits one clean chain:
    extraction (lot:lynas/ORE-1) → separation (lot:lynas/NDPR-1) → shipment
    ship:lynas/S-1 to Japan → receipt.
    """

    home: Home
    ledger: Ledger
    registrar: Signer
    log: list[SubmitResult] = field(default_factory=list)

    lynas = key_for("lynas")
    shinetsu = key_for("shinetsu")
    mallory = key_for("mallory")

    def registrations(self) -> list[dict[str, Any]]:
        return [
            participant("lynas", country="AU"),
            participant("shinetsu", country="JP"),
            participant("mallory", country="CN"),
            facility("lynas-mt-weld", "lynas", ["mining", "beneficiation"], country="AU"),
            facility(
                "lynas-kuantan",
                "lynas",
                ["cracking_leaching", "separation", "repack", "split"],
                country="MY",
            ),
            facility("shinetsu-takefu", "shinetsu", ["alloy_melting", "sintering"], country="JP"),
            facility("mallory-works", "mallory", ["separation", "mining"], country="CN"),
        ]

    def chain(self) -> list[bytes]:
        return [
            envelope_bytes(
                extraction(
                    "lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_concentrate", 25000)]
                ),
                self.lynas,
            ),
            envelope_bytes(
                transformation(
                    "lynas",
                    "lynas-kuantan",
                    "separation",
                    [("lot:lynas/ORE-1", 25000)],
                    [("lot:lynas/NDPR-1", "ndpr_oxide", 5200.5)],
                ),
                self.lynas,
            ),
            envelope_bytes(
                shipment(
                    "lynas",
                    "ship:lynas/S-1",
                    "lynas-kuantan",
                    "shinetsu-takefu",
                    ["lot:lynas/NDPR-1"],
                ),
                self.lynas,
            ),
            envelope_bytes(
                receipt(
                    "shinetsu", "ship:lynas/S-1", "shinetsu-takefu", [("lot:lynas/NDPR-1", 5199.8)]
                ),
                self.shinetsu,
            ),
        ]

    def register(self, records: list[dict[str, Any]]) -> list[SubmitResult]:
        envelopes = [self.registrar_envelope(r) for r in records]
        return self.submit(envelopes)

    def registrar_envelope(self, record: dict[str, Any]) -> bytes:
        payload, parsed = prepare_record(to_json(record), now=NOW)
        return seal(payload, parsed, self.registrar).canonical_bytes()

    def submit(self, envelopes: list[bytes], *, atomic: bool = False) -> list[SubmitResult]:
        results = self.ledger.submit(envelopes, now=NOW, atomic=atomic)
        self.log.extend(results)
        return results

    def build(self) -> World:
        for result in self.register(self.registrations()) + self.submit(self.chain()):
            assert result.accepted, result.error
        return self

    def state(self) -> tuple[int, bytes, int]:
        """(tree size, root hash, row count of every table): 'the database unchanged'."""
        with self.ledger.store.reader() as tx:
            size, root = tx.tree_size, tx.root_hash()
        return size, root, count_rows(self.ledger.store)


def count_rows(store: Store) -> int:
    from sqlalchemy import text

    total = 0
    with store.engine.connect() as connection:
        for table in (
            "log_entry",
            "merkle_node",
            "checkpoint",
            "participant",
            "participant_key",
            "facility",
            "lot",
            "shipment",
            "shipment_lot",
        ):
            total += connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    return total


def load_example(name: str) -> dict[str, Any]:
    from importlib import resources

    return json.loads(resources.files("ledger.schemas").joinpath("examples", name).read_text())


def copy_record(record: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(record)


def write_jsonl(path: Path, items: list[bytes]) -> Path:
    path.write_bytes(b"".join(item + b"\n" for item in items))
    return path


def bloc_executable() -> str:
    """The installed ``bloc`` next to this interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "bloc"
    if beside.is_file():
        return str(beside)
    found = shutil.which("bloc")
    assert found, "the bloc command is not installed"
    return found
