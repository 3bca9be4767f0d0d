"""Benchmark corpora: a synthetic ledger's signed envelopes, generated once and cached.

A corpus is ``ledger.demo.synthetic(size, seed=seed)`` signed by a registrar key of its own:
the envelopes (``envelopes.jsonl``, log order) and the home template they belong to
(``template/root.json`` and ``template/keys/``, the registrar and log keys). Every ingest
run makes a new home from the template with an empty database (:func:`make_home`) and
submits the same envelope bytes, so repeated runs measure the same work.

The cache lives in ``$BLOC_BENCH_CACHE`` (default ``~/.cache/bloc-bench``), one directory
per size, seed and version of the generator (a digest of the modules that decide the
envelope bytes), so a change to the generator never reuses stale envelopes.

For concurrent submitters the envelopes are split into causally closed streams
(:func:`partition`): the leading registrations first, then every event record in the
stream of its supply chain, then the key revocations last.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import ledger
from ledger import demo
from ledger.records.model import REGISTRY_KINDS
from ledger.service.home import REGISTRAR_KEY, find_home, init_home
from ledger.store import Store, resolve_db_url

CACHE_ENV = "BLOC_BENCH_CACHE"
ORIGIN = "bench.bloc/ledger"
FORMAT = 1
"""Bump when the cache layout changes."""

_GENERATOR_MODULES = (
    "demo/*.py",
    "records/authoring.py",
    "records/envelope.py",
    "core/codec.py",
    "core/signing.py",
)


def default_cache() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "bloc-bench"


def generator_digest() -> str:
    """A digest of the source that decides the envelope bytes of a corpus."""
    package = Path(ledger.__file__).parent
    digest = hashlib.sha256(f"format {FORMAT}".encode())
    for pattern in _GENERATOR_MODULES:
        for path in sorted(package.glob(pattern)):
            name = path.relative_to(package).as_posix()
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True, slots=True, kw_only=True)
class Streams:
    """Envelope positions for concurrent submission, each list in log order."""

    leading: list[int]
    """Registrations before the first event: submitted first, by one submitter."""
    streams: list[list[int]]
    """One causally closed list of events per submitter."""
    trailing: list[int]
    """Registry records after the first event (key revocations): submitted last."""
    components: int
    largest: int
    """Records in the largest connected supply chain."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Corpus:
    path: Path
    size: int
    seed: int
    count: int
    as_of: date
    kinds: Mapping[str, int]
    keys: Mapping[str, str]
    """Key id → base64 public key of every key that signs (participants and registrar)."""

    @property
    def envelopes_path(self) -> Path:
        return self.path / "envelopes.jsonl"

    @property
    def template(self) -> Path:
        return self.path / "template"

    def envelopes(self) -> list[bytes]:
        with self.envelopes_path.open("rb") as handle:
            lines = [line.rstrip(b"\n") for line in handle]
        if len(lines) != self.count:
            raise ValueError(
                f"{self.envelopes_path} holds {len(lines)} envelopes, not {self.count}"
            )
        return lines

    def streams(self, submitters: int) -> Streams:
        """The partition for ``submitters`` concurrent submitters (cached beside the corpus)."""
        cached = self.path / f"partition-{submitters}.json"
        if cached.is_file():
            return Streams(**json.loads(cached.read_text()))
        records = [json.loads(_payload(line)) for line in self.envelopes()]
        streams = partition(records, submitters)
        _write_atomic(cached, json.dumps(_as_dict(streams)))
        return streams


def _as_dict(streams: Streams) -> dict[str, Any]:
    return {
        "leading": streams.leading,
        "streams": streams.streams,
        "trailing": streams.trailing,
        "components": streams.components,
        "largest": streams.largest,
    }


def _payload(envelope: bytes) -> bytes:
    return base64.b64decode(json.loads(envelope)["payload"])


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(text)
    os.replace(temp, path)


def ensure(size: int, seed: int, cache: Path, *, log: Any = print) -> Corpus:
    """The corpus for ``size`` and ``seed``: from the cache, else generated into it."""
    key = f"{size}-{seed}-{generator_digest()}"
    path = cache / key
    meta = path / "meta.json"
    if not meta.is_file():
        log(f"generating a corpus of {size:,} records (seed {seed}) into {path}")
        _generate(path, size, seed)
    data = json.loads(meta.read_text())
    return Corpus(
        path=path,
        size=size,
        seed=seed,
        count=data["count"],
        as_of=date.fromisoformat(data["as_of"]),
        kinds=data["kinds"],
        keys=data["keys"],
    )


def _generate(path: Path, size: int, seed: int) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if temp.exists():
        shutil.rmtree(temp)
    temp.mkdir(parents=True)
    try:
        plan = demo.synthetic(size, seed=seed)
        home = init_home(temp / "template", origin=ORIGIN)
        registrar = home.signer(REGISTRAR_KEY)
        # The template keeps only the trust root and the keys; every run makes its database.
        (temp / "template" / "bloc.toml").unlink()
        for leftover in (temp / "template").glob("ledger.db*"):
            leftover.unlink()
        count = 0
        with (temp / "envelopes.jsonl").open("wb") as handle:
            for envelope in demo.envelopes(plan, registrar):
                if b"\n" in envelope:
                    raise ValueError("an envelope's canonical bytes hold a newline")
                handle.write(envelope + b"\n")
                count += 1
        keys = {signer.keyid: signer.public_key.to_base64() for signer in plan.keys.values()}
        keys[registrar.keyid] = registrar.public_key.to_base64()
        records = [item.record for item in plan.items]
        meta = {
            "size": size,
            "seed": seed,
            "count": count,
            "as_of": plan.as_of.isoformat(),
            "kinds": dict(Counter(r["kind"] for r in records)),
            "keys": keys,
            "generator": generator_digest(),
        }
        streams = partition(records, 4)
        (temp / "partition-4.json").write_text(json.dumps(_as_dict(streams)))
        (temp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        if path.exists():
            shutil.rmtree(path)
        os.replace(temp, path)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _ids(record: Mapping[str, Any]) -> list[str]:
    """The lot and shipment ids an event record creates or refers to."""
    kind = record["kind"]
    if kind == "extraction":
        return [lot["id"] for lot in record["lots"]]
    if kind == "transformation":
        return [i["lot"] for i in record["inputs"]] + [o["id"] for o in record["outputs"]]
    if kind == "shipment":
        return [record["id"], *record["lots"]]
    if kind == "receipt":
        return [record["shipment"]] + [lot["lot"] for lot in record["lots"]]
    raise ValueError(f"not an event record: {kind}")


def partition(records: Sequence[Mapping[str, Any]], submitters: int) -> Streams:
    """Split a causally ordered ledger into streams that can be submitted concurrently.

    Two events are in the same supply chain when they name a common lot or shipment; a
    chain's records stay together and in log order, so each stream is causally closed
    (every lot it consumes or ships is created earlier in the same stream, every receipt
    follows its shipment). Chains go to the least loaded stream, largest first. The
    registrations before the first event come first; registry records after it must be
    key revocations (they refer to nothing a stream creates) and come last.
    """
    if submitters < 1:
        raise ValueError("at least one submitter")
    leading = 0
    while leading < len(records) and records[leading]["kind"] in REGISTRY_KINDS:
        leading += 1
    trailing, chains = _chains(records, leading)
    streams: list[list[int]] = [[] for _ in range(submitters)]
    for chain in chains:
        target = min(range(submitters), key=lambda i: (len(streams[i]), i))
        streams[target].extend(chain)
    for stream in streams:
        stream.sort()
    return Streams(
        leading=list(range(leading)),
        streams=streams,
        trailing=trailing,
        components=len(chains),
        largest=len(chains[0]) if chains else 0,
    )


def _chains(
    records: Sequence[Mapping[str, Any]], leading: int
) -> tuple[list[int], list[list[int]]]:
    """The positions of the trailing key revocations, and the supply chains after the
    ``leading`` registrations (positions in log order), largest first."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    trailing: list[int] = []
    events: list[tuple[int, str]] = []
    for position in range(leading, len(records)):
        record = records[position]
        if record["kind"] in REGISTRY_KINDS:
            if record["kind"] != "key_revocation":
                raise ValueError(
                    f"record {position} registers a {record['kind']} after the first event: "
                    "the corpus cannot be split into concurrent streams"
                )
            trailing.append(position)
            continue
        ids = _ids(record)
        first = find(ids[0])
        for other in ids[1:]:
            root = find(other)
            if root != first:
                parent[root] = first
        events.append((position, ids[0]))
    members: dict[str, list[int]] = {}
    for position, anchor in events:
        members.setdefault(find(anchor), []).append(position)
    return trailing, sorted(members.values(), key=lambda chain: (-len(chain), chain[0]))


def make_home(directory: Path, corpus: Corpus, db_url: str) -> Path:
    """A new home in ``directory`` for ``corpus``'s keys with a new, empty database."""
    directory.mkdir(parents=True)
    shutil.copy2(corpus.template / "root.json", directory / "root.json")
    shutil.copytree(corpus.template / "keys", directory / "keys")
    (directory / "bloc.toml").write_text(
        f"# Bloc Ledger home (benchmark)\n"
        f"db = {json.dumps(db_url)}\norigin = {json.dumps(ORIGIN)}\n"
    )
    # The database records whose ledger it is (ADR 0027): this home's origin and root.json.
    identity = find_home(directory, None, directory).identity()
    Store.create(resolve_db_url(db_url, directory), identity=identity).dispose()
    return directory
