"""``bloc serve`` against its own OpenAPI description: schemathesis generates requests for
every operation of the live server's ``/openapi.json`` and checks each answer.

Checks: no input yields a 5xx; every status, content type, header and body is one the
description documents; a request the description calls invalid is refused with a 4xx; a
method an operation does not have is a 405 naming the allowed ones. Every GET carries an
RFC 9421 signature by the registrar key over the URL exactly as sent (the registrar may read
everything, so the signed reads get past the gate to their handlers); POSTs are unsigned,
as records authenticate themselves. Generated input rarely names a lot or tile that exists,
so one known-good request per operation checks each success answer too, and a few refused
reads (unsigned, unknown key, not the signer's to read) check the 401 and 403 answers.

Bounded: one server process for the module, a fixed number of examples per operation
(times ``BLOC_TEST_EXAMPLES_FACTOR`` for a deep local run), a fixed seed, derandomized
Hypothesis; about twenty seconds in all. SQLite only: the HTTP surface is the same on both backends,
whose storage paths the other service tests run on each.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from served import Served, served

from ledger.core import message_signatures as signatures
from ledger.core.signing import Signer
from ledger.errors import InputError
from ledger.log import tiles
from ledger.net._openapi import ENTRY_BUNDLE_PATH, HASH_TILE_PATH
from ledger.service.home import REGISTRAR_KEY, init_home

from helpers import World, envelope_bytes, extraction, key_for

EXAMPLES = 30 * int(os.environ.get("BLOC_TEST_EXAMPLES_FACTOR", "1"))
"""Generated requests per operation in the fuzzing phase (the coverage phase adds its own)."""
SEED = 20260601

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    unsupported_method,
    allow_header_conformance,
]

NDPR = "lot:lynas/NDPR-1"
POLICY = "dfars-252.225-7052"
AS_OF = "2026-06-01"
TREE_SIZE = 11
"""Records in the world's log: the success vectors name its partial tile and bundle."""


class SignedRead(requests.auth.AuthBase):
    """Signs a prepared request (RFC 9421, label ``bloc``) over its final URL."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        assert request.url is not None
        assert request.method is not None
        parts = urlsplit(request.url)
        request.headers.update(
            signatures.sign_request(
                method=request.method,
                authority=parts.netloc,
                path=parts.path,
                query=parts.query,
                headers={},
                signer=self.signer,
                created=int(time.time()),
                scheme=parts.scheme,
            )
        )
        return request


@pytest.fixture(scope="module")
def module_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The ``world`` fixture's home (participants and one clean chain) on SQLite, once for
    the module."""
    path: Path = tmp_path_factory.mktemp("openapi")
    home = init_home(
        path / "home", db_url=f"sqlite:///{path / 'ledger.db'}", origin="test.bloc/ledger"
    )
    ledger = home.ledger()
    try:
        yield World(home=home, ledger=ledger, registrar=home.signer(REGISTRAR_KEY)).build()
    finally:
        ledger.store.dispose()


@pytest.fixture(scope="module")
def server(module_world: World) -> Iterator[Served]:
    with served(module_world.home.path) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(server: Served) -> schemathesis.BaseSchema:
    """The live server's description; an explicit config, so no ``schemathesis.toml`` on
    the way up from the working directory changes what runs."""
    config = schemathesis.Config(seed=SEED)
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 reads ``Node._nodeid``, which pytest 9.2 no longer has: give it one
    (schemathesis only renames the node with it for its per-operation reports)."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def send(case: schemathesis.Case, server: Served, signer: Signer | None) -> schemathesis.Response:
    """``case`` sent to the live server, a GET signed by ``signer`` (if any)."""
    auth = SignedRead(signer) if signer is not None and case.method.upper() == "GET" else None
    return case.call(base_url=server.url, auth=auth)


schema = schemathesis.pytest.from_fixture("api_schema")
# A JSON Lines body is described as text (one envelope per line): send it as text.
schemathesis.serializer.alias("application/jsonl", "text/plain")


@schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None)
def test_every_operation_answers_as_described(
    case: schemathesis.Case, server: Served, module_world: World
) -> None:
    response = send(case, server, module_world.registrar)
    case.validate_response(response, checks=CHECKS)


def new_ore(world: World) -> dict[str, Any]:
    record = extraction("lynas", "lynas-mt-weld", [("lot:lynas/OPENAPI-1", "rare_earth_ore", 10)])
    return dict(json.loads(envelope_bytes(record, world.lynas)))


SUCCESSES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/healthz"): {},
    ("GET", "/checkpoint"): {},
    ("GET", "/tile/{path}"): {"path_parameters": {"path": tiles.tile_path(0, 0, TREE_SIZE)}},
    ("GET", "/tile/entries/{path}"): {
        "path_parameters": {"path": tiles.entries_path(0, TREE_SIZE).removeprefix("entries/")}
    },
    ("GET", "/v1/findings"): {"query": {"as_of": AS_OF}},
    ("GET", "/v1/proofs/inclusion"): {"query": {"index": 3}},
    ("GET", "/v1/proofs/consistency"): {"query": {"old": 4, "new": TREE_SIZE}},
    ("GET", "/v1/lots/{lot}"): {"path_parameters": {"lot": NDPR}, "query": {"down": "true"}},
    ("GET", "/v1/lots/{lot}/verdict"): {
        "path_parameters": {"lot": NDPR},
        "query": {"policy": POLICY, "as_of": AS_OF},
    },
    ("GET", "/v1/lots/{lot}/evidence"): {
        "path_parameters": {"lot": NDPR},
        "query": {"policy": POLICY, "as_of": AS_OF},
    },
}
"""One known-good request per read; the write (it grows the log) is its own test, last."""


def test_the_success_vectors_cover_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    described = {
        (operation.method.upper(), operation.path)
        for operation in (result.ok() for result in api_schema.get_all_operations())
    }
    assert described == {*SUCCESSES, ("POST", "/v1/records")}


@pytest.mark.parametrize(("method", "path"), list(SUCCESSES))
def test_each_read_succeeds_as_described(
    method: str, path: str, api_schema: schemathesis.BaseSchema, server: Served, module_world: World
) -> None:
    case = api_schema[path][method].Case(**SUCCESSES[method, path])
    response = send(case, server, module_world.registrar)
    assert response.status_code == 200, response.text
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize(
    ("who", "path", "status"),
    [
        (None, "/v1/findings", 401),
        ("stranger", "/v1/findings", 401),
        ("lynas", "/v1/findings", 403),
        ("lynas", "/tile/entries/{path}", 403),
        ("mallory", "/v1/lots/{lot}", 403),
    ],
)
def test_a_refused_read_is_answered_as_described(
    who: str | None,
    path: str,
    status: int,
    api_schema: schemathesis.BaseSchema,
    server: Served,
) -> None:
    case = api_schema[path]["GET"].Case(**SUCCESSES["GET", path])
    response = send(case, server, None if who is None else key_for(who))
    assert response.status_code == status, response.text
    case.validate_response(response, checks=CHECKS)


def test_a_write_succeeds_as_described(
    api_schema: schemathesis.BaseSchema, server: Served, module_world: World
) -> None:
    operation = api_schema["/v1/records"]["POST"]
    case = operation.Case(body=new_ore(module_world), media_type="application/json")
    response = send(case, server, module_world.registrar)
    assert response.status_code == 200, response.text
    assert response.json()[0]["status"] == "accepted"
    case.validate_response(response, checks=CHECKS)


@given(
    level=st.integers(0, tiles.MAX_TILE_LEVEL),
    index=st.integers(0, tiles.MAX_TILE_INDEX),
    width=st.integers(1, tiles.TILE_WIDTH),
)
def test_the_documented_tile_patterns_match_every_tile_path(
    level: int, index: int, width: int
) -> None:
    assert re.fullmatch(HASH_TILE_PATH, tiles.tile_path(level, index, width))
    bundle = tiles.entries_path(index, width).removeprefix("entries/")
    assert re.fullmatch(ENTRY_BUNDLE_PATH, bundle)


@given(path=st.from_regex(HASH_TILE_PATH, fullmatch=True))
def test_a_path_the_pattern_documents_is_a_tile_path(path: str) -> None:
    """Only an index past 64 bits, which a pattern cannot bound, is refused."""
    digits = path.split("/", 1)[1].split(".p/")[0].replace("x", "").replace("/", "")
    if int(digits) > tiles.MAX_TILE_INDEX:
        with pytest.raises(InputError, match="does not fit in 64 bits"):
            tiles.parse_tile_path(path)
    else:
        assert tiles.parse_tile_path(path).path == path
