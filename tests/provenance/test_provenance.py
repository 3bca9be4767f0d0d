"""bloc trace, bloc findings and bloc reindex through the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from ledger.cli.main import bloc

from helpers import World, envelope_bytes, extraction, shipment, transformation


def run(world: World, *args: str) -> Result:
    return CliRunner().invoke(bloc, ["--home", str(world.home.path), *args])


def test_trace_tree_names_every_step(world: World) -> None:
    result = run(world, "trace", "lot:lynas/NDPR-1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "lot:lynas/NDPR-1 ndpr_oxide 5,200.5 kg — separation at fac:lynas-kuantan (MY) on "
        "2026-03-02 (log index 8)",
        "  shipped ship:lynas/S-1 fac:lynas-kuantan → fac:shinetsu-takefu (JP) on 2026-03-10 "
        "(log index 9, received at log index 10)",
        "  25,000 kg ← lot:lynas/ORE-1 rare_earth_concentrate 25,000 kg — mining at "
        "fac:lynas-mt-weld (AU) on 2026-01-30 (log index 7)",
    ]


def test_trace_down_and_json(world: World) -> None:
    result = run(world, "trace", "lot:lynas/ORE-1", "--down", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["root"] == "lot:lynas/ORE-1"
    assert data["direction"] == "down"
    assert [n["id"] for n in data["nodes"]] == ["lot:lynas/NDPR-1", "lot:lynas/ORE-1"]
    assert data["edges"] == [
        {
            "from": "lot:lynas/ORE-1",
            "to": "lot:lynas/NDPR-1",
            "grams": 25_000_000,
            "consumed": 25_000_000,
            "log_index": 8,
        }
    ]


def test_trace_shares_mass_between_outputs_and_skips_siblings(world: World) -> None:
    """A separation with two outputs: each gets its share of the input; tracing one output
    does not drag in its sibling."""
    world.submit(
        [
            envelope_bytes(
                transformation(
                    "shinetsu",
                    "shinetsu-takefu",
                    "alloy_melting",
                    [("lot:lynas/NDPR-1", 1000)],
                    [
                        ("lot:shinetsu/A", "ndfeb_alloy", 750),
                        ("lot:shinetsu/B", "ndfeb_alloy", 250),
                    ],
                    untraced=[{"material": "iron", "mass_kg": 2000}],
                ),
                world.shinetsu,
            )
        ]
    )
    data = json.loads(run(world, "trace", "lot:shinetsu/B", "--format", "json").stdout)
    ids = [n["id"] for n in data["nodes"]]
    assert "lot:shinetsu/A" not in ids
    assert ids == ["lot:lynas/NDPR-1", "lot:lynas/ORE-1", "lot:shinetsu/B", "untraced:11/0"]
    flows = {(e["from"], e["to"]): e["grams"] for e in data["edges"]}
    assert flows[("lot:lynas/NDPR-1", "lot:shinetsu/B")] == 250_000
    assert flows[("untraced:11/0", "lot:shinetsu/B")] == 500_000


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "graphml"])
def test_trace_other_formats(world: World, fmt: str) -> None:
    result = run(world, "trace", "lot:lynas/NDPR-1", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "lot:lynas/ORE-1" in result.stdout


def test_trace_unknown_lot(world: World) -> None:
    result = run(world, "trace", "lot:lynas/NOPE")
    assert result.exit_code == 2
    assert result.stderr == "bloc: error: lot lot:lynas/NOPE does not exist\n"


def test_findings_text_json_and_lot_filter(world: World) -> None:
    text_out = run(world, "findings", "--as-of", "2026-03-20")
    assert text_out.exit_code == 1, "an error-severity finding fails, as a linter's would"
    assert text_out.stdout == (
        "error   not-holder       fac:lynas-kuantan processed lot:lynas/ORE-1 at log index 8, "
        "but the lot is held by fac:lynas-mt-weld [log 7, 8]\n"
    )
    as_json = [json.loads(line) for line in run(world, "findings", "--json").stdout.splitlines()]
    assert as_json[0]["unknown_g"] == {"lot:lynas/NDPR-1": 5_200_500}
    # About ORE-1 (its subject), and affecting NDPR-1 (downstream of it).
    assert "not-holder" in run(world, "findings", "--lot", "lot:lynas/ORE-1").stdout
    assert "not-holder" in run(world, "findings", "--lot", "lot:lynas/NDPR-1").stdout
    world.submit(
        [
            envelope_bytes(
                extraction("lynas", "lynas-mt-weld", [("lot:lynas/ORE-2", "rare_earth_ore", 1)]),
                world.lynas,
            )
        ]
    )
    clean = run(world, "findings", "--lot", "lot:lynas/ORE-2")
    assert (clean.stdout, clean.exit_code) == ("no findings\n", 0)


def test_findings_fail_on_chooses_the_severity_that_fails(empty_world: World) -> None:
    """An audit gate: errors fail by default, warnings only with --fail-on warning, and
    --fail-on never always exits 0 (the findings are still printed)."""
    world = empty_world
    world.register(world.registrations())
    world.submit(world.chain()[:3])  # an error (not-holder) and, later, a warning
    codes = {
        severity: run(world, "findings", "--as-of", "2026-04-15", "--fail-on", severity)
        for severity in ("error", "warning", "never", "ERROR")
    }
    assert {k: r.exit_code for k, r in codes.items()} == {
        "error": 1,
        "warning": 1,
        "never": 0,
        "ERROR": 1,
    }
    assert "not-holder" in codes["never"].stdout
    assert run(world, "findings", "--fail-on", "sometimes").exit_code == 2


def test_findings_with_only_warnings_pass_unless_warnings_fail(empty_world: World) -> None:
    world = empty_world
    world.register(world.registrations())
    unreceived = shipment(
        "lynas", "ship:lynas/S-9", "lynas-mt-weld", "shinetsu-takefu", ["lot:lynas/ORE-1"]
    )
    world.submit([world.chain()[0], envelope_bytes(unreceived, world.lynas)])
    out = run(world, "findings", "--as-of", "2026-12-01", "--json")
    assert [json.loads(line)["code"] for line in out.stdout.splitlines()] == ["not-received"]
    assert out.exit_code == 0
    assert run(world, "findings", "--as-of", "2026-12-01", "--fail-on", "warning").exit_code == 1


def test_unreceived_shipment_as_of_a_date(empty_world: World) -> None:
    world = empty_world
    world.register(world.registrations())
    world.submit(world.chain()[:3])
    out = run(world, "findings", "--as-of", "2026-04-15", "--json").stdout.splitlines()
    codes = [json.loads(line)["code"] for line in out]
    assert codes == ["not-holder", "not-received"]
    assert json.loads(out[1])["message"] == (
        "ship:lynas/S-1 shipped 2026-03-10 from fac:lynas-kuantan to fac:shinetsu-takefu "
        "(log index 9) was not received as of 2026-04-15"
    )


def test_reindex_rebuilds_an_emptied_index(world: World) -> None:
    with world.ledger.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM lot"))
        connection.execute(text("DELETE FROM finding"))
    assert run(world, "verify").exit_code == 3
    result = run(world, "reindex")
    assert result.exit_code == 0, result.output
    assert result.stdout == "reindexed 11 entries\n"
    assert run(world, "verify").exit_code == 0
    assert run(world, "trace", "lot:lynas/NDPR-1").exit_code == 0


def test_trace_of_a_dag_prints_each_lot_once(world: World) -> None:
    """Issue 14: 30 blends, each of the two lots before it, made the text tree exponential
    (2^30 lines); a lot reached again is now one line referring to the first."""
    blends = 30
    records = [
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/A0", "rare_earth_concentrate", 100)]),
        extraction("lynas", "lynas-mt-weld", [("lot:lynas/A1", "rare_earth_concentrate", 100)]),
    ]
    for i in range(2, blends + 2):
        records.append(
            transformation(
                "lynas",
                "lynas-mt-weld",
                "beneficiation",
                [(f"lot:lynas/A{i - 1}", 50), (f"lot:lynas/A{i - 2}", 50)],
                [(f"lot:lynas/A{i}", "rare_earth_concentrate", 100)],
            )
        )
    results = world.submit([envelope_bytes(r, world.lynas) for r in records])
    assert all(r.accepted for r in results), [r.error for r in results if not r.accepted]
    assert len(world.ledger.trace(f"lot:lynas/A{blends + 1}").nodes) == blends + 2
    result = run(world, "trace", f"lot:lynas/A{blends + 1}")
    assert result.exit_code == 0, result.output
    printed = result.stdout.splitlines()
    assert len(printed) == 1 + 2 * blends  # each lot once, each other edge a reference
    assert sum("(shown above, log index" in line for line in printed) == blends - 1
    down = run(world, "trace", "lot:lynas/A0", "--down")
    assert down.exit_code == 0, down.output
    assert len(down.stdout.splitlines()) <= 2 * (blends + 2)
