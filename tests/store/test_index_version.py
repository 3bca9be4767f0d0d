"""An index built by an older bloc: commands refuse it with one line that says what to run,
`bloc reindex` rebuilds its tables from the log (which it keeps), and a newer index is refused
(ADR 0015's schema version; the event table gained `origin` in version 3)."""

from __future__ import annotations

from click.testing import CliRunner, Result
from sqlalchemy import text

from ledger.cli.main import bloc
from ledger.store._rows import SCHEMA_VERSION

from helpers import World


def run(world: World, *args: str) -> Result:
    return CliRunner().invoke(bloc, ["--home", str(world.home.path), *args])


def _age_the_index(world: World, version: str) -> None:
    """What a database indexed by bloc with schema ``version`` looks like: the meta row says
    so, and the event table has no ``origin`` column yet."""
    world.ledger.store.dispose()
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("ALTER TABLE event DROP COLUMN origin"))
        connection.execute(
            text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": version}
        )
    world.ledger.store.dispose()


def _one_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("bloc: error: database ")
    return line


def test_an_index_from_an_older_bloc_is_refused_with_the_command_that_mends_it(
    world: World,
) -> None:
    before = run(world, "trace", "lot:lynas/NDPR-1").stdout
    size = world.ledger.latest_checkpoint()[0].tree_size
    _age_the_index(world, "2")
    for command in (["trace", "lot:lynas/NDPR-1"], ["verify"], ["log", "checkpoint"]):
        assert _one_error(run(world, *command)).endswith(
            f"was indexed by an older bloc (schema version 2; this bloc reads {SCHEMA_VERSION}): "
            "run 'bloc reindex' to rebuild the index from the log"
        )
    rebuilt = run(world, "reindex")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.stdout == "reindexed 11 entries\n"
    assert run(world, "verify").exit_code == 0
    assert run(world, "trace", "lot:lynas/NDPR-1").stdout == before
    assert world.ledger.latest_checkpoint()[0].tree_size == size


def test_an_index_from_a_newer_bloc_is_refused_and_not_rebuilt(world: World) -> None:
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    world.ledger.store.dispose()
    for command in (["trace", "lot:lynas/NDPR-1"], ["reindex"]):
        assert _one_error(run(world, *command)).endswith(
            f"was indexed by a newer bloc (schema version 99; this bloc reads {SCHEMA_VERSION}): "
            "upgrade bloc"
        )
