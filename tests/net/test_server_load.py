"""Load and faults against a real server (issue 12): 32 clients sending single records and
4 sending batches at once; then the same load cut by ``kill -9`` of the server, or by a
PostgreSQL outage (connections refused and terminated, as in a restart). Every acknowledged record must be in the log at the index and with
the leaf hash it was given, indexes gap-free, a batch never half-stored, a retry idempotent,
and ``bloc verify`` clean. Bounded: a few hundred records, each phase a few seconds."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from conftest import POSTGRES_SKIP, POSTGRES_URL
from served import Served, served
from sqlalchemy import create_engine, make_url, text

from ledger.service.home import REGISTRAR_KEY, init_home

from helpers import SQLITE_ONLY, World, envelope_bytes, extraction

SINGLE_CLIENTS = 32
SINGLES_EACH = 4
BATCH_CLIENTS = 4
BATCHES_EACH = 2
BATCH_SIZE = 40


@dataclass
class Load:
    """The records each client sends, and what the server acknowledged."""

    requests: list[list[bytes]]
    """One entry per request: its envelopes."""
    answers: dict[int, list[dict[str, object]]] = field(default_factory=dict)
    """Request number → the server's results, for the requests it answered."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def make_load(world: World, tag: str) -> tuple[Load, list[list[int]]]:
    def ore(n: int) -> bytes:
        lot = f"lot:lynas/{tag}-{n}"
        return envelope_bytes(
            extraction("lynas", "lynas-mt-weld", [(lot, "rare_earth_ore", 10)]), world.lynas
        )

    requests: list[list[bytes]] = []
    plan: list[list[int]] = []
    n = 0
    for _ in range(SINGLE_CLIENTS):
        mine = []
        for _ in range(SINGLES_EACH):
            requests.append([ore(n)])
            mine.append(len(requests) - 1)
            n += 1
        plan.append(mine)
    for _ in range(BATCH_CLIENTS):
        mine = []
        for _ in range(BATCHES_EACH):
            requests.append([ore(n + i) for i in range(BATCH_SIZE)])
            mine.append(len(requests) - 1)
            n += BATCH_SIZE
        plan.append(mine)
    return Load(requests=requests), plan


def send(url: str, load: Load, numbers: list[int]) -> None:
    with httpx.Client(timeout=60) as client:
        for number in numbers:
            envelopes = load.requests[number]
            single = len(envelopes) == 1
            try:
                response = client.post(
                    f"{url}/v1/records",
                    content=envelopes[0] if single else b"\n".join(envelopes),
                    headers={"Content-Type": "application/json" if single else "application/jsonl"},
                )
            except httpx.HTTPError:
                return  # the server went away: this request is unacknowledged
            if response.status_code == 200:
                with load.lock:
                    load.answers[number] = response.json()


def run(url: str, load: Load, plan: list[list[int]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=send, args=(url, load, mine)) for mine in plan]
    for thread in threads:
        thread.start()
    return threads


def wait_for_answers(load: Load, count: int, seconds: float = 60) -> None:
    """Until the server has answered ``count`` requests (the load is then well under way)."""
    pause = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if len(load.answers) >= count or pause.wait(0.02):
            return


def leaf_index(world: World) -> dict[bytes, int]:
    with world.ledger.store.reader() as tx:
        return {leaf: index for index, leaf in tx.leaf_hashes(start=0)}


def assert_acknowledged_are_logged(world: World, load: Load) -> dict[bytes, int]:
    logged = leaf_index(world)
    assert sorted(logged.values()) == list(range(len(logged)))  # gap-free
    for results in load.answers.values():
        for result in results:
            assert result["status"] == "accepted", result
            leaf = bytes.fromhex(str(result["leaf_hash"]))
            assert logged[leaf] == result["log_index"]
    return logged


def test_32_single_and_4_batch_clients_at_once(world: World) -> None:
    load, plan = make_load(world, "LOAD")
    with served(world.home.path) as server:
        for thread in run(server.url, load, plan):
            thread.join(120)
        assert server.stop() == 0
    assert len(load.answers) == len(load.requests)
    logged = assert_acknowledged_are_logged(world, load)
    assert len(logged) == 11 + sum(len(r) for r in load.requests)
    assert world.ledger.verify().clean


def retry_everything(server: Served, load: Load) -> None:
    """Every request again: each record is accepted or a duplicate; acknowledged ones are
    duplicates at the index they were given."""
    with httpx.Client(timeout=60) as client:
        for number, envelopes in enumerate(load.requests):
            response = client.post(
                f"{server.url}/v1/records",
                content=b"\n".join(envelopes),
                headers={"Content-Type": "application/jsonl"},
            )
            assert response.status_code == 200, response.text
            results = response.json()
            if number in load.answers:
                before = [(r["log_index"], r["leaf_hash"]) for r in load.answers[number]]
                assert [r["status"] for r in results] == ["duplicate"] * len(envelopes)
                assert [(r["log_index"], r["leaf_hash"]) for r in results] == before


def assert_whole_or_nothing(load: Load, server: Served) -> None:
    """A batch the server never answered is in the log wholly or not at all: sent again,
    its records are all new or all duplicates."""
    for number, envelopes in enumerate(load.requests):
        if number in load.answers or len(envelopes) == 1:
            continue
        response = httpx.post(
            f"{server.url}/v1/records",
            content=b"\n".join(envelopes),
            headers={"Content-Type": "application/jsonl"},
            timeout=60,
        )
        statuses = {r["status"] for r in response.json()}
        assert statuses in ({"accepted"}, {"duplicate"}), (number, statuses)


@SQLITE_ONLY
def test_kill_9_under_load_loses_nothing_acknowledged(world: World) -> None:
    load, plan = make_load(world, "KILL")
    with served(world.home.path) as server:
        threads = run(server.url, load, plan)
        wait_for_answers(load, 30)
        server.kill()
        for thread in threads:
            thread.join(120)
    assert 30 <= len(load.answers) < len(load.requests)  # the kill cut the load
    assert_acknowledged_are_logged(world, load)
    with served(world.home.path) as server:
        assert_whole_or_nothing(load, server)
        retry_everything(server, load)
        assert server.stop() == 0
    assert world.ledger.verify().clean


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_workers_on_postgresql_under_load(world: World) -> None:
    load, plan = make_load(world, "PG2")
    with served(world.home.path, "--workers", "2") as server:
        for thread in run(server.url, load, plan):
            thread.join(120)
        assert server.stop() == 0
    assert len(load.answers) == len(load.requests)
    assert_acknowledged_are_logged(world, load)
    assert world.ledger.verify().clean


@contextmanager
def private_database() -> Iterator[tuple[str, Callable[[], int]]]:
    """A database of its own on the test cluster, and a function that gives it an outage.

    The outage is what a PostgreSQL restart does to a client, confined to this database so
    that tests running beside it are not disturbed: new connections are refused and every
    open one is terminated; a moment later connections are allowed again. It returns how
    many connections it terminated.
    """
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP)
    name = f"bloc_outage_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")

    def outage() -> int:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            terminated = connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            ).all()
        threading.Event().wait(1.0)
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        return sum(1 for (done,) in terminated if done)

    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(False), outage
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_a_postgresql_outage_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with private_database() as (url, outage):
        home = init_home(tmp_path / "home", db_url=url, origin="test.bloc/ledger")
        ledger = home.ledger()
        try:
            world = World(home=home, ledger=ledger, registrar=home.signer(REGISTRAR_KEY)).build()
            load, plan = make_load(world, "PGOUTAGE")
            with served(world.home.path) as server:
                threads = run(server.url, load, plan)
                wait_for_answers(load, 30)
                assert outage() >= 1  # the server's connections were cut
                for thread in threads:
                    thread.join(120)
                assert_acknowledged_are_logged(world, load)
                assert_whole_or_nothing(load, server)
                retry_everything(server, load)
                assert server.stop() == 0
            assert world.ledger.verify().clean
        finally:
            ledger.store.dispose()
