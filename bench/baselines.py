"""The baselines measured beside the ledger, on the same envelopes and the same database.

- :func:`limit`: what submission cannot beat — each envelope parsed, schema-checked
  (envelope and record), its signatures verified and its leaf hashed, with the project's
  own functions and no storage at all.
- :func:`floor`: the honest floor of any DSSE ledger on this machine — per envelope one JSON
  parse, one base64 decode, one Ed25519 verification (libsodium) and one SHA-256, nothing
  else — on one core, and with :func:`floor_all_cores` on every core. Ingest ÷ the
  every-core floor is the headline of issue 14.
- :func:`securesystemslib_verify`: the ecosystem's DSSE verifier (``securesystemslib``,
  the ``bench`` extra) on the same envelopes: parse, then verify each signature.
- :class:`UpstreamCte`: the do-it-yourself provenance query, one ``WITH RECURSIVE`` over
  the ``lot`` and ``flow`` tables returning the ids of every lot upstream of one lot.
"""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nacl.bindings
import psycopg
from sqlalchemy.engine import make_url

from bench.measure import BenchError, Postgres
from ledger.core.signing import PublicKey
from ledger.records.admission import open_envelope
from ledger.records.envelope import pae

WARM_UP = 50
"""Envelopes checked before the clock starts."""


def limit(envelopes: Sequence[bytes], keys: Mapping[str, str]) -> float:
    """Seconds to open (parse, schema-check, decode, hash) and signature-check every
    envelope, after a warm-up; ``keys`` maps key ids to base64 public keys."""
    public = {keyid: PublicKey.from_base64(text) for keyid, text in keys.items()}

    def check(batch: Sequence[bytes]) -> None:
        for data in batch:
            opened = open_envelope(data)
            envelope = opened.envelope
            for signature in envelope.signatures:
                key = public.get(signature.keyid)
                if key is None or not envelope.verifies(signature, key):
                    raise BenchError(f"limit: a signature by {signature.keyid} does not verify")

    check(envelopes[:WARM_UP])  # builds the schema validators once, as a server would
    started = time.perf_counter()
    check(envelopes)
    return time.perf_counter() - started


def _floor_chunk(chunk: Sequence[bytes]) -> int:
    """The floor's work on ``chunk``: parse, decode, verify the first signature against the
    key embedded in the call (the signer's key travels with the chunk), hash."""
    done = 0
    for data, key in chunk:  # type: ignore[misc]
        envelope = json.loads(data)
        payload = base64.b64decode(envelope["payload"])
        signature = base64.b64decode(envelope["signatures"][0]["sig"])
        message = pae(envelope["payloadType"], payload)
        nacl.bindings.crypto_sign_open(signature + message, key)
        hashlib.sha256(b"\x00" + data).digest()
        done += 1
    return done


def _floor_items(envelopes: Sequence[bytes], keys: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    raw = {keyid: base64.b64decode(text) for keyid, text in keys.items()}
    return [(data, raw[json.loads(data)["signatures"][0]["keyid"]]) for data in envelopes]


def floor(envelopes: Sequence[bytes], keys: Mapping[str, str]) -> float:
    """Seconds for the floor's work on every envelope, on one core."""
    items = _floor_items(envelopes, keys)
    _floor_chunk(items[:WARM_UP])  # type: ignore[arg-type]
    started = time.perf_counter()
    _floor_chunk(items)  # type: ignore[arg-type]
    return time.perf_counter() - started


def floor_all_cores(envelopes: Sequence[bytes], keys: Mapping[str, str]) -> float:
    """Seconds for the floor's work on every envelope, in one process per core (the pool
    started before the clock, chunks of 2,048 handed out as in ingest)."""
    items = _floor_items(envelopes, keys)
    chunks = [items[i : i + 2048] for i in range(0, len(items), 2048)]
    cores = max(1, len(os.sched_getaffinity(0)))
    context = multiprocessing.get_context("forkserver")
    with context.Pool(cores) as pool:
        pool.map(_floor_chunk, [items[:WARM_UP]] * cores)
        started = time.perf_counter()
        done = sum(pool.map(_floor_chunk, chunks))
        seconds = time.perf_counter() - started
    if done != len(items):
        raise BenchError(f"floor: {done} of {len(items)} envelopes checked")
    return seconds


SECURESYSTEMSLIB_MISSING = "securesystemslib is not installed (pip install -e '.[bench]')"


def securesystemslib_available() -> bool:
    try:
        import securesystemslib.dsse  # noqa: F401
    except ImportError:
        return False
    return True


def securesystemslib_verify(envelopes: Sequence[bytes], keys: Mapping[str, str]) -> float:
    """Seconds for securesystemslib to parse every envelope and verify its signatures
    (``Envelope.from_dict`` then ``Envelope.verify`` with the signers' keys, threshold 1).
    The keys are made before the clock starts."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    sslib_keys = {
        keyid: SSlibKey(keyid, "ed25519", "ed25519", {"public": base64.b64decode(text).hex()})
        for keyid, text in keys.items()
    }

    def check(batch: Sequence[bytes]) -> None:
        for data in batch:
            envelope = Envelope.from_dict(json.loads(data))
            signers = [sslib_keys[keyid] for keyid in envelope.signatures]
            envelope.verify(signers, len(signers))

    check(envelopes[:WARM_UP])
    started = time.perf_counter()
    check(envelopes)
    return time.perf_counter() - started


_CTE = """
WITH RECURSIVE upstream(id) AS (
    SELECT id FROM lot WHERE id = {param}
    UNION
    SELECT flow.lot
    FROM upstream
    JOIN lot ON lot.id = upstream.id
    JOIN flow ON flow.log_index = lot.created_index
)
SELECT id FROM upstream
"""


class UpstreamCte:
    """One connection to a ledger database, answering "which lots are upstream of LOT"
    with a recursive CTE (the lot itself included, as in ``bloc trace``)."""

    def __init__(self, db_url: str) -> None:
        url = make_url(db_url)
        self.backend = url.get_backend_name()
        self._connection: Any
        if self.backend == "sqlite":
            path = Path(str(url.database))
            self._connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            self._sql = _CTE.format(param="?")
        else:
            self._connection = psycopg.connect(Postgres.conninfo(db_url), autocommit=True)
            self._sql = _CTE.format(param="%s")

    def upstream(self, lot: str) -> set[str]:
        cursor = self._connection.execute(self._sql, (lot,))
        return {row[0] for row in cursor.fetchall()}

    def lot_ids(self) -> list[str]:
        """Every lot id, sorted in Python (database collations differ)."""
        return sorted(row[0] for row in self._connection.execute("SELECT id FROM lot").fetchall())

    def tree_size(self) -> int:
        row = self._connection.execute("SELECT tree_size FROM tree_head").fetchone()
        return int(row[0])

    def checkpoints(self, after: int, upto: int) -> int:
        """The checkpoints of tree sizes in ``(after, upto]``: with a checkpoint per commit,
        the commits that took the log from ``after`` to ``upto`` entries."""
        param = "?" if self.backend == "sqlite" else "%s"
        row = self._connection.execute(
            f"SELECT count(*) FROM checkpoint WHERE tree_size > {param} AND tree_size <= {param}",
            (after, upto),
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._connection.close()
