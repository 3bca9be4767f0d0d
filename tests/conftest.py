"""Shared fixtures: a database per test on SQLite and (when configured) PostgreSQL.

Storage tests take the ``db_url`` fixture, parametrised over both backends. PostgreSQL
cases run when ``BLOC_TEST_POSTGRES_URL`` is set (each test in a fresh schema, dropped
afterwards) and are skipped with a visible reason otherwise; ``.ci/run`` sets it together
with ``BLOC_TEST_REQUIRE_POSTGRES``, which turns such a skip into a failure.

Property tests explore new random examples on every local run; ``.ci/run`` sets
``BLOC_TEST_HYPOTHESIS=ci``, which derandomizes them, so that CI fails for a change and not
for a draw (ADR 0029). ``BLOC_TEST_EXAMPLES_FACTOR=N`` multiplies the examples of the
checker's property tests for a deep local run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import settings
from memory_view import MemoryWorld
from sqlalchemy import create_engine, text

from ledger.service.home import REGISTRAR_KEY, Home, init_home

from helpers import World

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("BLOC_TEST_HYPOTHESIS", "default"))

POSTGRES_URL = os.environ.get("BLOC_TEST_POSTGRES_URL")
POSTGRES_SKIP = "PostgreSQL not configured: set BLOC_TEST_POSTGRES_URL to run these cases"


def _postgres_schema_url(base: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, pool_pre_ping=True)  # survives a restart of PostgreSQL
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    if not POSTGRES_URL:
        if os.environ.get("BLOC_TEST_REQUIRE_POSTGRES"):
            pytest.fail("BLOC_TEST_REQUIRE_POSTGRES is set but BLOC_TEST_POSTGRES_URL is not")
        pytest.skip(POSTGRES_SKIP)
    yield from _postgres_schema_url(POSTGRES_URL)


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Home:
    """A new ledger home whose database is ``db_url``."""
    return init_home(tmp_path / "home", db_url=db_url, origin="test.bloc/ledger")


@pytest.fixture
def world(home: Home) -> Iterator[World]:
    """A home with the standard participants registered and one clean chain submitted."""
    ledger = home.ledger()
    try:
        yield World(home=home, ledger=ledger, registrar=home.signer(REGISTRAR_KEY)).build()
    finally:
        ledger.store.dispose()


@pytest.fixture
def empty_world(home: Home) -> Iterator[World]:
    """A home with nothing submitted yet."""
    ledger = home.ledger()
    try:
        yield World(home=home, ledger=ledger, registrar=home.signer(REGISTRAR_KEY))
    finally:
        ledger.store.dispose()


@pytest.fixture
def memory_world() -> MemoryWorld:
    """The standard participants and clean chain in memory: for admission, no database."""
    return MemoryWorld().build()
