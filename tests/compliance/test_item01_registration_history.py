"""Issue 11 item 1: history is not rewritten by re-registration (ADR 0016).

A facility's country and operator are read from the registration in force on each stage's
date, not from its latest registration. Each scenario builds a chain through the service
with real signed records, re-registers a facility after its stages, and asks the command
line (``check``, ``trace``, ``graph``, ``evidence``/``verify-bundle``, ``findings``,
``reindex``) on both backends. Expected verdicts are written from the clause:

- DFARS 252.225-7052(b)(1)(ii) (from 2027-01-01): no covered material "mined, refined,
  separated, melted, or produced in any covered country"; for NdFeB magnets the whole chain
  from mining counts (the built-in policy's window B cites (b)(3)). The separation happened
  where the facility was *then*, so re-registering it later changes nothing.
- bloc-2026(2) (entity control, 42 U.S.C. 18741(a)(5)): a stage done while the operator
  was 25% or more held by a covered government offends, whoever runs the facility later.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from scenarios import (
    BLOC,
    DFARS,
    WINDOW_B,
    Scenario,
    assembly_sites,
    check,
    japanese_magnet,
    magnet_sites,
)
from sqlalchemy import text

from ledger.cli.main import bloc

from helpers import World, facility, receipt, shipment, transformation

RESOLD = "2026-05-20T00:00:00Z"
"""When the facilities below are re-registered: after the March stages of the magnet."""
STATE_HELD = [{"holder": "CN state group", "country": "CN", "percent": 30, "government": True}]


def run(world: World, *args: str) -> str:
    result = CliRunner().invoke(bloc, ["--home", str(world.home.path), *args])
    assert "Traceback" not in result.output
    assert result.exit_code == 0, result.output
    return result.stdout


def reregister(
    s: Scenario,
    slug: str,
    *,
    operator: str,
    country: str,
    stages: list[str],
    issued_at: str = RESOLD,
) -> None:
    """The registrar registers ``fac:slug`` again (a move, a sale, new stages)."""
    s._accept(
        s.world.register([facility(slug, operator, stages, country=country, issued_at=issued_at)])
    )
    s.facilities[slug] = operator


def later_magnet(s: Scenario, separated_at: str, *, on: str = "2026-05-25") -> str:
    """A second magnet like :func:`japanese_magnet`, every stage, shipment and receipt dated
    ``on`` (after the re-registration) and signed the day after."""

    def make(site: str, stage: str, inputs: list[tuple[str, int]], name: str, material: str) -> str:
        operator = s.facilities[site]
        for lot, _ in inputs:
            ship_on(s, lot, site, on)
        lot_id = f"lot:{operator}/{name}"
        kg = sum(kg for _, kg in inputs) * 9 // 10
        record = transformation(
            operator, site, stage, inputs, [(lot_id, material, kg)], issued_at=f"{on}T23:00:00Z"
        )
        record["performed_on"] = on
        s._submit(record, operator)
        s.holder[lot_id], s.mass[lot_id] = site, kg
        return lot_id

    ore = s.mine("ausmine-pit", "ORE-9", "rare_earth_concentrate", 1000)
    oxide = make(separated_at, "separation", [(ore, 1000)], "OX-9", "ndpr_oxide")
    metal = make("jpmag-takefu", "metal_reduction", [(oxide, 900)], "MET-9", "ndpr_metal")
    iron = s.mine("usfe-mine", "FE-9", "iron", 2000)
    boron = s.mine("usfe-mine", "B-9", "boron", 30)
    alloy = make(
        "jpmag-takefu",
        "alloy_melting",
        [(metal, 810), (iron, 2000), (boron, 30)],
        "ALLOY-9",
        "ndfeb_alloy",
    )
    powder = make("jpmag-takefu", "powder_formation", [(alloy, 2556)], "POW-9", "ndfeb_powder")
    return make("jpmag-takefu", "sintering", [(powder, 2300)], "MAG-9", "ndfeb_magnet")


def ship_on(s: Scenario, lot: str, to: str, day: str) -> None:
    """Ship ``lot`` to ``to`` and receive it there, both on ``day``."""
    src = s.holder[lot]
    if src == to:
        return
    sender, receiver = s.facilities[src], s.facilities[to]
    s.shipments += 1
    ship_id = f"ship:{sender}/S-{s.shipments}"
    record = shipment(sender, ship_id, src, to, [lot], issued_at=f"{day}T22:00:00Z")
    record["shipped_on"] = day
    s._submit(record, sender)
    arrived = receipt(receiver, ship_id, to, [(lot, s.mass[lot])], issued_at=f"{day}T22:30:00Z")
    arrived["received_on"] = day
    s._submit(arrived, receiver)
    s.holder[lot] = to


def steps(verdict: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(st["stage"], st["facility"], st["country"]) for st in verdict["paths"][0]["steps"]]


def test_separation_in_china_still_fails_window_b_after_reregistration_as_vietnam(
    empty_world: World,
) -> None:
    """The oxide was separated in March at a facility registered in China; in late May the
    registrar re-registers the facility as Vietnamese. 252.225-7052(b)(3): the March
    separation happened in a covered nation: FAIL, before and after. A separation done
    there after the re-registration is judged in Vietnam (not covered): PASS."""
    s = Scenario(empty_world)
    magnet_sites(s)
    magnet = japanese_magnet(s)
    assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "fail"
    stages = ["cracking_leaching", "separation", "metal_reduction"]
    reregister(s, "cnsep-baotou", operator="cnsep", country="VN", stages=stages)

    after = check(empty_world, magnet, DFARS, WINDOW_B)
    assert after["verdict"] == "fail"
    assert after["paragraph"] == "252.225-7052(b)(3)"
    assert steps(after)[0] == ("separation", "fac:cnsep-baotou", "CN")

    later = later_magnet(s, "cnsep-baotou")
    assert check(empty_world, later, DFARS, WINDOW_B)["verdict"] == "pass"

    # A facility does not move: the re-registration is a finding (a warning), and the
    # rebuilt index judges the same.
    found = [json.loads(line) for line in run(empty_world, "findings", "--json").splitlines()]
    moved = [f for f in found if f["code"] == "facility-moved"]
    assert len(moved) == 1
    assert moved[0]["subject"] == "fac:cnsep-baotou"
    assert "registered in CN" in moved[0]["message"]
    assert "re-registered in VN" in moved[0]["message"]
    run(empty_world, "reindex")
    assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "fail"
    assert run(empty_world, "verify").startswith("ok: ")


def test_japanese_separation_still_passes_after_reregistration_as_china(
    empty_world: World,
) -> None:
    """Separated in March at a facility registered in Japan, the rest in Japan, Australia
    and the US: 252.225-7052(b)(3) finds nothing covered, PASS. Re-registering the facility
    as Chinese in late May must not reach back: still PASS."""
    s = Scenario(empty_world)
    magnet_sites(s)
    s.site("jpmag-sep", "jpmag", "JP", ["cracking_leaching", "separation"])
    magnet = japanese_magnet(s, separated_at="jpmag-sep")
    assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "pass"
    reregister(
        s, "jpmag-sep", operator="jpmag", country="CN", stages=["cracking_leaching", "separation"]
    )
    after = check(empty_world, magnet, DFARS, WINDOW_B)
    assert after["verdict"] == "pass"
    assert after["shares"] == {"compliant": 1.0, "non_compliant": 0.0, "unknown": 0.0}
    # Separated there after the re-registration, in China: FAIL.
    later = check(empty_world, later_magnet(s, "jpmag-sep"), DFARS, WINDOW_B)
    assert later["verdict"] == "fail"
    assert steps(later)[0] == ("separation", "fac:jpmag-sep", "CN")


def test_sale_by_a_chinese_state_held_operator_does_not_clear_earlier_stages(
    empty_world: World,
) -> None:
    """The Estonian separator's operator was 30% held by the Chinese state when it separated
    the oxide in March: bloc-2026(2) FAIL. In late May the facility is sold to a clean Estonian
    operator (re-registered with the new operator): the March stage still offends, FAIL;
    a separation by the new operator after the sale PASSES."""
    s = Scenario(empty_world)
    magnet_sites(s)
    s.org("eesep", "EE", control=STATE_HELD)
    s.site("eesep-sillamae", "eesep", "EE", ["cracking_leaching", "separation"])
    magnet = japanese_magnet(s, separated_at="eesep-sillamae")
    assert check(empty_world, magnet, BLOC, WINDOW_B)["verdict"] == "fail"

    s.org("eeclean", "EE")
    reregister(
        s,
        "eesep-sillamae",
        operator="eeclean",
        country="EE",
        stages=["cracking_leaching", "separation"],
    )
    after = check(empty_world, magnet, BLOC, WINDOW_B)
    assert after["verdict"] == "fail"
    assert steps(after)[0] == ("separation", "fac:eesep-sillamae", "EE")
    graph = json.loads(run(empty_world, "trace", magnet, "--format", "json"))
    separation = next(n for n in graph["nodes"] if n.get("stage") == "separation")
    assert separation["operator"] == "org:eesep"  # who ran it then, not the buyer

    assert check(empty_world, later_magnet(s, "eesep-sillamae"), BLOC, WINDOW_B)["verdict"] == (
        "pass"
    )


def test_stage_dated_before_the_facilitys_first_registration_is_not_clean(
    empty_world: World,
) -> None:
    """A separator registered in April (Australia) records a separation dated March. Where
    the facility was in March is not on the ledger: for 252.225-7052(b)(3) the separation's
    location is unknown — INCONCLUSIVE, never PASS."""
    s = Scenario(empty_world)
    magnet_sites(s)
    s._accept(
        empty_world.register(
            [
                facility(
                    "late-sep",
                    "ausmine",
                    ["cracking_leaching", "separation"],
                    country="AU",
                    issued_at="2026-04-01T00:00:00Z",
                )
            ]
        )
    )
    s.facilities["late-sep"] = "ausmine"
    magnet = japanese_magnet(s, separated_at="late-sep")  # separation on 2026-03-02
    verdict = check(empty_world, magnet, DFARS, WINDOW_B)
    assert verdict["verdict"] == "inconclusive"
    assert "before fac:late-sep was registered" in verdict["unknown_reasons"][0]["reason"]
    tree = run(empty_world, "trace", magnet)
    assert "separation at fac:late-sep (unregistered) on 2026-03-02" in tree


def test_trace_and_graph_print_the_country_in_force_on_the_stage_date(
    empty_world: World, tmp_path: Path
) -> None:
    """After the CN → VN re-registration, last March's separation still reads CN in
    ``trace`` (tree and JSON) and ``graph``; the shipment into the facility, made before
    the re-registration, names CN as its destination country."""
    s = Scenario(empty_world)
    magnet_sites(s)
    magnet = japanese_magnet(s)
    stages = ["cracking_leaching", "separation", "metal_reduction"]
    reregister(s, "cnsep-baotou", operator="cnsep", country="VN", stages=stages)

    tree = run(empty_world, "trace", magnet)
    assert "separation at fac:cnsep-baotou (CN) on 2026-03-02" in tree
    assert "(VN)" not in tree
    assert "→ fac:cnsep-baotou (CN)" in tree
    nodes = json.loads(run(empty_world, "trace", magnet, "--format", "json"))["nodes"]
    assert {n["country"] for n in nodes if n.get("facility") == "fac:cnsep-baotou"} == {"CN"}
    dot = tmp_path / "magnet.dot"
    run(empty_world, "graph", magnet, "-o", str(dot), "--policy", DFARS, "--as-of", WINDOW_B)
    text = dot.read_text()
    assert "separation at fac:cnsep-baotou (CN)" in text
    assert "(VN)" not in text


def test_evidence_bundle_replays_the_dated_registration(empty_world: World, tmp_path: Path) -> None:
    """The bundle carries both registrations of the separator (CN, then VN); replayed
    offline with root.json alone it reaches the ledger's verdict: FAIL under
    252.225-7052(b)(3), the separation in CN."""
    s = Scenario(empty_world)
    magnet_sites(s)
    magnet = japanese_magnet(s)
    stages = ["cracking_leaching", "separation", "metal_reduction"]
    reregister(s, "cnsep-baotou", operator="cnsep", country="VN", stages=stages)
    run(empty_world, "log", "checkpoint")
    bundle = tmp_path / "magnet.bundle.json"
    run(
        empty_world,
        "evidence",
        magnet,
        "--policy",
        DFARS,
        "--as-of",
        WINDOW_B,
        "-o",
        str(bundle),
    )
    doc = json.loads(bundle.read_text())
    assert doc["verdict"]["verdict"] == "fail"
    registrations = [
        json.loads(base64.b64decode(entry["envelope"]["payload"])) for entry in doc["entries"]
    ]
    separator = [r["country"] for r in registrations if r.get("id") == "fac:cnsep-baotou"]
    assert separator == ["CN", "VN"]  # both registrations travel with the bundle
    root = str(empty_world.home.root_path)
    report = CliRunner().invoke(bloc, ["verify-bundle", str(bundle), "--root", root, "--json"])
    assert report.exit_code == 0, report.output
    replayed = json.loads(report.stdout)
    assert replayed["verdict"]["verdict"] == "fail"
    first = replayed["verdict"]["paths"][0]["steps"][0]
    assert (first["stage"], first["country"]) == ("separation", "CN")


def test_reindex_builds_the_history_of_an_index_from_before_it(empty_world: World) -> None:
    """An index built by bloc with schema version 3 has no ``facility_registration`` table:
    it is refused until ``bloc reindex`` (ADR 0026) creates and fills it, and the March
    separation in China FAILS again (252.225-7052(b)(1)(ii))."""
    s = Scenario(empty_world)
    magnet_sites(s)
    magnet = japanese_magnet(s)
    stages = ["cracking_leaching", "separation", "metal_reduction"]
    reregister(s, "cnsep-baotou", operator="cnsep", country="VN", stages=stages)
    empty_world.ledger.store.dispose()
    with empty_world.ledger.store.engine.begin() as connection:
        connection.execute(text("DROP TABLE facility_registration"))
        connection.execute(text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))
    empty_world.ledger.store.dispose()
    run(empty_world, "reindex")
    verdict = check(empty_world, magnet, DFARS, WINDOW_B)
    assert verdict["verdict"] == "fail"
    assert steps(verdict)[0] == ("separation", "fac:cnsep-baotou", "CN")


def test_end_item_assembled_in_china_still_fails_after_reregistration_as_us(
    empty_world: World,
) -> None:
    """A component containing a clean magnet was assembled in March at a plant registered in
    China: 252.225-7052(b)(1) forbids delivering "any end item, manufactured in any covered
    country, that contains a covered material" — FAIL. Re-registering the plant as a US one
    in late May does not move the March assembly: still FAIL."""
    s = Scenario(empty_world)
    assembly_sites(s)
    magnet = japanese_magnet(s, separated_at="ausmine-sep")
    (component,) = s.make("cnasm-plant", "assembly", [(magnet, 9500)], [("C-1", "component", 9500)])
    assert check(empty_world, component, DFARS, WINDOW_B)["verdict"] == "fail"
    reregister(s, "cnasm-plant", operator="cnasm", country="US", stages=["assembly", "machining"])
    verdict = check(empty_world, component, DFARS, WINDOW_B)
    assert verdict["verdict"] == "fail"
    assert verdict["reason"] == "assembled at fac:cnasm-plant (CN)"


def test_end_item_assembled_before_its_plant_was_registered_is_not_clean(
    empty_world: World,
) -> None:
    """The same clean magnet assembled in March at a plant first registered in April (as a
    US plant): where the end item was manufactured is unknown, so the end-item prong of
    252.225-7052(b)(1) cannot be cleared — INCONCLUSIVE, not PASS."""
    s = Scenario(empty_world)
    assembly_sites(s)
    s._accept(
        empty_world.register(
            [
                facility(
                    "late-asm",
                    "usasm",
                    ["assembly"],
                    country="US",
                    issued_at="2026-04-01T00:00:00Z",
                )
            ]
        )
    )
    s.facilities["late-asm"] = "usasm"
    magnet = japanese_magnet(s, separated_at="ausmine-sep")
    assert check(empty_world, magnet, DFARS, WINDOW_B)["verdict"] == "pass"
    (component,) = s.make("late-asm", "assembly", [(magnet, 9500)], [("C-1", "component", 9500)])
    verdict = check(empty_world, component, DFARS, WINDOW_B)
    assert verdict["verdict"] == "inconclusive"
    assert "before fac:late-asm was registered" in verdict["reason"]
