"""``bloc serve``, signed half: reads carry an RFC 9421 signature by a registered,
unrevoked key, and each reader sees what it may (ADR 0031). A real server process, the
project's own client and raw httpx for the attacks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest
from served import Served, served

from ledger import compliance
from ledger.compliance import policy as policies
from ledger.core import message_signatures as signatures
from ledger.core.signing import Signer
from ledger.evidence import parse_bundle
from ledger.log import merkle, tiles
from ledger.net._client import Client, RemoteError
from ledger.service import verify_bundle

from helpers import SQLITE_ONLY, World, key_for, participant, revocation

NDPR = "lot:lynas/NDPR-1"
POLICY = "dfars-252.225-7052"
AS_OF = "2026-06-01"


@pytest.fixture
def server(world: World) -> Iterator[Served]:
    with served(world.home.path) as running:
        yield running


def client(server: Served, signer: Signer | None) -> Client:
    return Client(server.url, signer=signer)


def signed_get(
    url: str, path: str, signer: Signer, *, created: int | None = None
) -> httpx.Response:
    parts = httpx.URL(url + path)
    headers = signatures.sign_request(
        method="GET",
        authority=parts.netloc.decode(),
        path=parts.path,
        query=parts.query.decode(),
        headers={},
        signer=signer,
        created=int(time.time()) if created is None else created,
        scheme="http",
    )
    return httpx.get(url + path, headers=headers)


def test_the_registrar_reads_a_verdict_equal_to_the_local_one(world: World, server: Served) -> None:
    remote = client(server, world.registrar).read_json(
        f"/v1/lots/{NDPR}/verdict", policy=POLICY, as_of=AS_OF
    )
    local = world.ledger.check(NDPR, policy=policies.load(POLICY), as_of=date(2026, 6, 1))
    assert remote == compliance.verdict_document(local)


def test_an_evidence_bundle_from_the_server_verifies_offline(world: World, server: Served) -> None:
    data = client(server, world.lynas).read_bytes(
        f"/v1/lots/{NDPR}/evidence", policy=POLICY, as_of=AS_OF
    )
    report = verify_bundle(data, world.home.root())
    assert report.verdict.lot == NDPR
    assert parse_bundle(data).lot == NDPR


def test_a_participant_reads_the_lots_it_made_and_was_shipped(world: World, server: Served) -> None:
    """lynas made the oxide; shinetsu was shipped it: both may trace it and its upstream."""
    for signer in (world.lynas, world.shinetsu):
        graph = client(server, signer).read_json(f"/v1/lots/{NDPR}")
        assert graph, signer.keyid
        client(server, signer).read_json("/v1/lots/lot:lynas/ORE-1")


def test_another_participant_may_not_read_a_competitors_lot(world: World, server: Served) -> None:
    with pytest.raises(RemoteError) as refused:
        client(server, world.mallory).read_json(f"/v1/lots/{NDPR}/verdict", policy=POLICY)
    assert refused.value.status == 403
    assert "org:mallory may not read lot:lynas/NDPR-1" in str(refused.value)


@SQLITE_ONLY
def test_probing_for_a_lot_that_does_not_exist_looks_like_a_refusal(
    world: World, server: Served
) -> None:
    with pytest.raises(RemoteError) as refused:
        client(server, world.mallory).read_json("/v1/lots/lot:lynas/SECRET-9")
    assert refused.value.status == 403


@SQLITE_ONLY
def test_an_unsigned_read_is_refused_with_401(server: Served) -> None:
    response = httpx.get(f"{server.url}/v1/lots/{NDPR}")
    assert response.status_code == 401
    assert "must be signed" in response.json()["error"]


@SQLITE_ONLY
def test_a_read_signed_by_an_unregistered_key_is_refused(server: Served) -> None:
    response = signed_get(server.url, f"/v1/lots/{NDPR}", key_for("stranger"))
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


@SQLITE_ONLY
def test_a_replayed_read_older_than_the_window_is_refused(world: World, server: Served) -> None:
    response = signed_get(
        server.url, f"/v1/lots/{NDPR}", world.lynas, created=int(time.time()) - 3600
    )
    assert response.status_code == 401


@SQLITE_ONLY
def test_a_signature_for_another_path_is_refused(world: World, server: Served) -> None:
    parts = httpx.URL(f"{server.url}/v1/lots/lot:lynas/ORE-1")
    headers = signatures.sign_request(
        method="GET",
        authority=parts.netloc.decode(),
        path=parts.path,
        query="",
        headers={},
        signer=world.lynas,
        created=int(time.time()),
        scheme="http",
    )
    response = httpx.get(f"{server.url}/v1/lots/{NDPR}", headers=headers)
    assert response.status_code == 401


def test_a_read_signed_by_a_revoked_key_is_refused(world: World, server: Served) -> None:
    stolen = key_for("lynas-laptop")
    fresh = participant(
        "lynas", country="AU", keys=[world.lynas, stolen], issued_at="2026-02-01T00:00:00Z"
    )
    assert world.register([fresh])[0].accepted
    assert signed_get(server.url, f"/v1/lots/{NDPR}", stolen).status_code == 200
    revoked = world.register([revocation("lynas", stolen.keyid, "2026-05-01T00:00:00Z")])
    assert revoked[0].accepted, revoked[0].error
    response = signed_get(server.url, f"/v1/lots/{NDPR}", stolen)
    assert response.status_code == 401


def test_entry_bundles_are_for_auditors_and_hash_to_the_log(world: World, server: Served) -> None:
    with pytest.raises(RemoteError) as refused:
        client(server, world.lynas).entry_bundle(0, 11)
    assert refused.value.status == 403
    entries = client(server, world.registrar).entry_bundle(0, 11)
    with world.ledger.store.reader() as tx:
        assert [merkle.hash_leaf(e) for e in entries] == [tx.get_node(0, i) for i in range(11)]
    assert httpx.get(f"{server.url}/tile/{tiles.entries_path(0, 11)}").status_code == 401


def test_proofs_and_findings_answer_what_the_command_line_prints(
    world: World, server: Served
) -> None:
    registrar = client(server, world.registrar)
    proof: dict[str, Any] = registrar.read_json("/v1/proofs/inclusion", index=3)
    assert proof == world.ledger.prove_inclusion(3).document()
    consistency = registrar.read_json("/v1/proofs/consistency", old=4, new=11)
    assert consistency == world.ledger.prove_consistency(4, 11).document()
    found = registrar.read_json("/v1/findings", as_of=AS_OF)
    assert found == [f.document() for f in world.ledger.findings(as_of=date(2026, 6, 1))]
    with pytest.raises(RemoteError) as refused:
        client(server, world.lynas).read_json("/v1/findings")
    assert refused.value.status == 403


@SQLITE_ONLY
def test_an_unknown_policy_is_a_400_not_a_file_read(world: World, server: Served) -> None:
    with pytest.raises(RemoteError) as refused:
        client(server, world.registrar).read_json(f"/v1/lots/{NDPR}/verdict", policy="/etc/passwd")
    assert refused.value.status == 400
    assert "unknown policy" in str(refused.value)
