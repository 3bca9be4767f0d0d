"""``bloc serve``, public half: health, checkpoints, hash tiles and ``POST /v1/records``,
against a real server process and a real HTTP client, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import signal
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from served import Served, served

from ledger.log import tiles
from ledger.log.checkpoint import verify_checkpoint

from helpers import SQLITE_ONLY, World, envelope_bytes, extraction

ORE_1_TAKEN = "identity: extraction.lots[0].id lot:lynas/ORE-1 already exists"


@pytest.fixture
def server(world: World) -> Iterator[Served]:
    with served(world.home.path) as running:
        yield running


def ore(world: World, n: int) -> bytes:
    return envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [(f"lot:lynas/NEW-{n}", "rare_earth_ore", 10)]),
        world.lynas,
    )


def post(url: str, body: bytes, kind: str = "application/json") -> httpx.Response:
    return httpx.post(f"{url}/v1/records", content=body, headers={"Content-Type": kind})


def test_health_and_a_checkpoint_that_verifies_against_root_json(
    world: World, server: Served
) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok", "tree_size": 11}
    response = httpx.get(f"{server.url}/checkpoint")
    assert response.headers["content-type"].startswith("text/plain")
    root = world.home.root()
    checkpoint = verify_checkpoint(response.text, origin=root.origin, key=root.log_key)
    assert checkpoint.tree_size == 11


def test_one_record_is_accepted_then_a_duplicate_with_the_same_index(
    world: World, server: Served
) -> None:
    envelope = ore(world, 1)
    first = post(server.url, envelope)
    assert first.status_code == 200, first.text
    [result] = first.json()
    assert result["status"] == "accepted"
    assert result["log_index"] == 11
    with world.ledger.store.reader() as tx:
        assert tx.find_leaf(bytes.fromhex(result["leaf_hash"])) == 11
    again = post(server.url, envelope).json()
    assert again == [{**result, "status": "duplicate"}]
    root = world.home.root()
    note = httpx.get(f"{server.url}/checkpoint").text
    assert verify_checkpoint(note, origin=root.origin, key=root.log_key).tree_size == 12


def test_a_rejected_record_gets_the_reason_the_command_line_prints(
    world: World, server: Served
) -> None:
    taken = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    response = post(server.url, taken)
    assert response.status_code == 422
    [result] = response.json()
    assert (result["status"], result["reason"], result["kind"]) == (
        "rejected",
        ORE_1_TAKEN,
        "extraction",
    )
    assert "log_index" not in result
    assert httpx.get(f"{server.url}/healthz").json()["tree_size"] == 11


def test_a_batch_keeps_its_good_records_and_answers_in_order(world: World, server: Served) -> None:
    taken = envelope_bytes(
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-1", "rare_earth_ore", 10)]),
        world.lynas,
    )
    body = b"\n".join([ore(world, 1), taken, b"{not json", ore(world, 2)]) + b"\n"
    response = post(server.url, body, "application/jsonl")
    assert response.status_code == 422
    results = response.json()
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected", "accepted"]
    assert [r.get("log_index") for r in results] == [11, None, None, 12]
    assert results[1]["reason"] == ORE_1_TAKEN
    assert results[2]["reason"].startswith("envelope is not valid JSON: ")


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        (b"{}", "text/plain", 415),
        (b"", "application/json", 400),
        (b"\n\n", "application/jsonl", 400),
    ],
    ids=["wrong-media-type", "empty-body", "blank-lines"],
)
def test_a_malformed_request_gets_one_line_and_changes_nothing(
    server: Served, body: bytes, kind: str, status: int
) -> None:
    response = post(server.url, body, kind)
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert httpx.get(f"{server.url}/healthz").json()["tree_size"] == 11


@SQLITE_ONLY
def test_a_body_over_the_limit_is_refused_with_413(server: Served) -> None:
    response = post(server.url, b"x" * (5 << 20), "application/jsonl")
    assert response.status_code == 413
    assert "larger than" in response.json()["error"]


@SQLITE_ONLY
def test_too_many_records_in_one_request_is_refused_with_413(world: World, server: Served) -> None:
    response = post(server.url, b"{}\n" * 1001, "application/jsonl")
    assert response.status_code == 413
    assert response.json() == {"error": "1001 records in one request; at most 1000"}


def test_concurrent_single_record_clients_share_gap_free_indexes(
    world: World, server: Served
) -> None:
    """32 clients at once: each record is acknowledged with its own index, the indexes are
    gap-free, and the ledger verifies clean afterwards."""
    envelopes = [ore(world, n) for n in range(96)]
    with httpx.Client() as client, ThreadPoolExecutor(32) as pool:
        answers = list(
            pool.map(
                lambda e: client.post(
                    f"{server.url}/v1/records",
                    content=e,
                    headers={"Content-Type": "application/json"},
                ),
                envelopes,
            )
        )
    indexes = sorted(a.json()[0]["log_index"] for a in answers)
    assert all(a.status_code == 200 for a in answers)
    assert indexes == list(range(11, 11 + 96))
    assert server.stop() == 0
    assert world.ledger.verify().clean
    with world.ledger.store.reader() as tx:
        for answer in answers:
            [result] = answer.json()
            assert tx.find_leaf(bytes.fromhex(result["leaf_hash"])) == result["log_index"]


def test_hash_tiles_give_the_checkpoint_root(world: World, server: Served) -> None:
    """A reader with only public tiles recomputes the signed root; a full tile is marked
    immutable, a partial one not."""
    body = b"\n".join(ore(world, n) for n in range(300)) + b"\n"
    assert post(server.url, body, "application/jsonl").status_code == 200
    root = world.home.root()
    note = httpx.get(f"{server.url}/checkpoint").text
    checkpoint = verify_checkpoint(note, origin=root.origin, key=root.log_key)
    assert checkpoint.tree_size == 311

    def get_tile(level: int, index: int, width: int) -> list[bytes]:
        response = httpx.get(f"{server.url}/tile/{tiles.tile_path(level, index, width)}")
        assert response.status_code == 200, response.text
        return tiles.decode_hash_tile(response.content, width)

    assert tiles.root_from_tiles(get_tile, checkpoint.tree_size) == checkpoint.root_hash
    full = httpx.get(f"{server.url}/tile/0/000")
    assert "immutable" in full.headers["cache-control"]
    partial = httpx.get(f"{server.url}/tile/0/001.p/55")
    assert partial.headers["cache-control"] == "no-cache"
    assert httpx.get(f"{server.url}/tile/0/001.p/56").status_code == 404
    assert httpx.get(f"{server.url}/tile/0/002").status_code == 404
    assert httpx.get(f"{server.url}/tile/0/01").status_code == 404


@SQLITE_ONLY
def test_sigterm_drains_and_exits_0_with_one_json_access_line_per_request(
    server: Served,
) -> None:
    for _ in range(3):
        httpx.get(f"{server.url}/healthz")
    assert server.stop(signal.SIGTERM) == 0
    lines = [json.loads(line) for line in server.stderr.decode().splitlines() if line]
    health = [line for line in lines if line["path"] == "/healthz"]
    assert len(health) == 3
    assert {line["status"] for line in health} == {200}
    assert {"time", "client", "method", "ms"} <= set(health[0])


@SQLITE_ONLY
def test_a_client_sending_too_fast_gets_429_with_retry_after(world: World) -> None:
    with served(world.home.path, "--rate", "0.5", "--burst", "2") as server:
        answers = [post(server.url, ore(world, n)) for n in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert int(answers[2].headers["retry-after"]) >= 1
        assert "too many requests" in answers[2].json()["error"]
        assert httpx.get(f"{server.url}/healthz").json()["tree_size"] == 13


def test_a_client_that_hangs_up_before_the_answer_leaves_its_batch_whole(
    world: World, server: Served
) -> None:
    """The request arrives whole, then the client goes away: its records are committed
    together (or not at all), and sending them again answers duplicates."""
    envelopes = [ore(world, n) for n in range(20)]
    body = b"\n".join(envelopes) + b"\n"
    address = httpx.URL(server.url)
    with socket.create_connection((address.host, address.port)) as raw:
        raw.sendall(
            b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/jsonl\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    again = post(server.url, body, "application/jsonl")
    statuses = {r["status"] for r in again.json()}
    assert statuses in ({"duplicate"}, {"accepted"}), statuses
    assert httpx.get(f"{server.url}/healthz").json()["tree_size"] == 31


def test_a_body_cut_off_mid_way_stores_nothing(world: World, server: Served) -> None:
    body = b"\n".join(ore(world, n) for n in range(5)) + b"\n"
    address = httpx.URL(server.url)
    with socket.create_connection((address.host, address.port)) as raw:
        raw.sendall(
            b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/jsonl\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
    assert httpx.get(f"{server.url}/healthz").json()["tree_size"] == 11
    assert post(server.url, body, "application/jsonl").status_code == 200
