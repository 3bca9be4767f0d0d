"""Pictures of a lot's provenance (``ledger.render`` and ``bloc graph``).

The chains are real signed records built with :class:`scenarios.Scenario`; the SVG is parsed
with ``xml.etree`` and its structure compared with the graph and with the verdict's paths,
which the tests read straight from the :class:`~ledger.compliance.Verdict`.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from scenarios import Scenario, japanese_magnet, magnet_sites

from ledger.cli.main import bloc
from ledger.compliance import Verdict
from ledger.compliance import policy as policies
from ledger.compliance._rule_shares import step_of
from ledger.provenance.findings import Finding
from ledger.provenance.graph import Graph
from ledger.render import (
    RENDERERS,
    PolicyRun,
    offending_paths,
    render_dot,
    render_html,
    render_report,
    render_svg,
    verdict_block,
)

from helpers import World

SVG = "{http://www.w3.org/2000/svg}"
DFARS = "dfars-252.225-7052"
WINDOW_A = date(2026, 11, 15)
WINDOW_B = date(2027, 2, 1)


# -- chains ----------------------------------------------------------------------------------


def small_chain(s: Scenario) -> str:
    """An Australian mine, separation in China, metal, alloy and magnet in Japan, shipped to
    a US defense buyer. Fails DFARS window B (separation in a covered nation)."""
    magnet_sites(s)
    s.org("usdef", "US")
    s.site("usdef-plant", "usdef", "US", ["assembly"])
    magnet = japanese_magnet(s)
    s.ship(magnet, "usdef-plant", end_use="defense")
    return magnet


def large_chain(s: Scenario) -> str:
    """About thirty nodes: seven mines into two separators (one in China), a blend, a
    split whose halves meet again, iron and boron from a US mine, untraced boron, a blended
    powder, magnets split and repacked in Mexico, shipped to a US defense buyer."""
    s.org("ausmine", "AU")
    s.site("ausmine-pit", "ausmine", "AU", ["mining", "beneficiation"])
    s.org("brmine", "BR")
    s.site("brmine-pit", "brmine", "BR", ["mining", "beneficiation"])
    s.org("cnsep", "CN")
    s.site("cnsep-baotou", "cnsep", "CN", ["cracking_leaching", "separation", "metal_reduction"])
    s.org("eesep", "EE")
    s.site("eesep-sillamae", "eesep", "EE", ["cracking_leaching", "separation", "metal_reduction"])
    s.org("mxtrade", "MX")
    s.site("mxtrade-wh", "mxtrade", "MX", ["repack", "split", "blend"])
    s.org("jpmag", "JP")
    s.site(
        "jpmag-takefu",
        "jpmag",
        "JP",
        ["metal_reduction", "alloy_melting", "powder_formation", "sintering", "blend"],
    )
    s.org("usfe", "US")
    # iron and boron are refined products (issue 11 item 6): the site refines what it mines
    s.site("usfe-mine", "usfe", "US", ["mining", "refining"])
    s.org("usdef", "US")
    s.site("usdef-plant", "usdef", "US", ["assembly"])
    ores = [
        s.mine("ausmine-pit", "ORE-1", "rare_earth_concentrate", 20000),
        s.mine("ausmine-pit", "ORE-2", "rare_earth_concentrate", 15000),
        s.mine("ausmine-pit", "ORE-3", "rare_earth_concentrate", 12000),
        s.mine("brmine-pit", "ORE-4", "rare_earth_concentrate", 10000),
        s.mine("brmine-pit", "ORE-5", "rare_earth_concentrate", 8000),
        s.mine("ausmine-pit", "ORE-6", "rare_earth_concentrate", 5000),
    ]
    raw = s.mine("ausmine-pit", "ORE-7", "rare_earth_ore", 30000)
    (conc,) = s.make(
        "ausmine-pit",
        "beneficiation",
        [(raw, 30000)],
        [("CONC-7", "rare_earth_concentrate", 9000)],
    )
    ox1, ox2 = s.make(
        "eesep-sillamae",
        "separation",
        [(ores[0], 20000), (ores[1], 15000), (ores[2], 12000), (conc, 9000)],
        [("OX-1", "ndpr_oxide", 6000), ("OX-2", "ndpr_oxide", 3000)],
    )
    (ox3,) = s.make(
        "cnsep-baotou",
        "separation",
        [(ores[3], 10000), (ores[4], 8000), (ores[5], 5000)],
        [("OX-3", "ndpr_oxide", 4000)],
    )
    (blend,) = s.make(
        "mxtrade-wh", "blend", [(ox1, 6000), (ox3, 4000)], [("OX-B", "ndpr_oxide", 10000)]
    )
    (met1,) = s.make(
        "eesep-sillamae", "metal_reduction", [(blend, 10000)], [("MET-1", "ndpr_metal", 7500)]
    )
    (met2,) = s.make(
        "jpmag-takefu", "metal_reduction", [(ox2, 3000)], [("MET-2", "ndpr_metal", 2200)]
    )
    met1a, met1b = s.make(
        "mxtrade-wh",
        "split",
        [(met1, 7500)],
        [("MET-1A", "ndpr_metal", 4000), ("MET-1B", "ndpr_metal", 3500)],
    )
    fe1 = s.mine("usfe-mine", "FE-1", "iron", 9000)
    fe2 = s.mine("usfe-mine", "FE-2", "iron", 8000)
    b1 = s.mine("usfe-mine", "B-1", "boron", 150)
    (heat1,) = s.make(
        "jpmag-takefu",
        "alloy_melting",
        [(met1a, 4000), (met2, 2200), (fe1, 9000), (b1, 150)],
        [("HEAT-1", "ndfeb_alloy", 15300)],
    )
    (heat2,) = s.make(
        "jpmag-takefu",
        "alloy_melting",
        [(met1b, 3500), (fe2, 8000)],
        [("HEAT-2", "ndfeb_alloy", 11600)],
        untraced=[{"material": "boron", "mass_kg": 120}],
    )
    (pow1,) = s.make(
        "jpmag-takefu", "powder_formation", [(heat1, 15300)], [("POW-1", "ndfeb_powder", 15100)]
    )
    (pow2,) = s.make(
        "jpmag-takefu", "powder_formation", [(heat2, 11600)], [("POW-2", "ndfeb_powder", 11400)]
    )
    (powder,) = s.make(
        "jpmag-takefu", "blend", [(pow1, 15100), (pow2, 11400)], [("POW-B", "ndfeb_powder", 26500)]
    )
    (magnet,) = s.make(
        "jpmag-takefu", "sintering", [(powder, 26500)], [("MAG-1", "ndfeb_magnet", 26000)]
    )
    half, _ = s.make(
        "mxtrade-wh",
        "split",
        [(magnet, 26000)],
        [("MAG-1A", "ndfeb_magnet", 13000), ("MAG-1B", "ndfeb_magnet", 13000)],
    )
    (boxed,) = s.make(
        "mxtrade-wh", "repack", [(half, 13000)], [("MX-MAG-1", "ndfeb_magnet", 13000)]
    )
    s.ship(boxed, "usdef-plant", end_use="defense")
    return boxed


def inconclusive_chain(s: Scenario) -> str:
    """A Japanese magnet melted from traced US iron and untraced NdPr metal (declared
    Malaysian): under window B its rare-earth mass is unknown, none of it non-compliant."""
    s.org("jpmag", "JP")
    s.site("jpmag-takefu", "jpmag", "JP", ["alloy_melting", "powder_formation", "sintering"])
    s.org("usfe", "US")
    # iron and boron are refined products (issue 11 item 6): the site refines what it mines
    s.site("usfe-mine", "usfe", "US", ["mining", "refining"])
    iron = s.mine("usfe-mine", "FE-1", "iron", 6800)
    (alloy,) = s.make(
        "jpmag-takefu",
        "alloy_melting",
        [(iron, 6800)],
        [("ALLOY-1", "ndfeb_alloy", 9800)],
        untraced=[{"material": "ndpr_metal", "mass_kg": 3000, "declared_origin": "MY"}],
    )
    (magnet,) = s.make(
        "jpmag-takefu", "sintering", [(alloy, 9800)], [("MAG-1", "ndfeb_magnet", 9500)]
    )
    return magnet


# -- helpers ---------------------------------------------------------------------------------


def judged(world: World, lot: str, as_of: date = WINDOW_B) -> tuple[Graph, Verdict]:
    graph = world.ledger.trace(lot)
    return graph, world.ledger.check(lot, policy=policies.load(DFARS), as_of=as_of)


def assert_apart(boxes: dict[str | None, tuple[float, float, float, float]]) -> None:
    """No two boxes of a picture overlap."""
    placed = sorted(boxes.items(), key=lambda item: str(item[0]))
    for i, (a, (ax0, ay0, ax1, ay1)) in enumerate(placed):
        for b, (bx0, by0, bx1, by1) in placed[i + 1 :]:
            assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, f"{a} overlaps {b}"


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def groups(svg: str, kind: str) -> list[ET.Element]:
    """The ``node`` or ``edge`` groups of a picture (parsing it as XML on the way)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return [g for g in root.iter(f"{SVG}g") if kind in classes(g)]


def buyers(graph: Graph) -> set[str]:
    return {f"buyer:{hop['shipment']}" for hop in graph.nodes[graph.graph["root"]]["hops"]}


def path_marks(verdict: Verdict) -> tuple[set[str], set[tuple[str, str]]]:
    """The lots on the verdict's paths and the edges between consecutive steps."""
    lots = {step.lot for path in verdict.paths for step in path.steps}
    edges = {(a.lot, b.lot) for path in verdict.paths for a, b in pairwise(path.steps)}
    return lots, edges


def box(group: ET.Element) -> tuple[float, float, float, float]:
    rect = group.find(f"{SVG}rect")
    assert rect is not None
    x, y = float(rect.get("x", "")), float(rect.get("y", ""))
    return x, y, x + float(rect.get("width", "")), y + float(rect.get("height", ""))


def marked(elements: list[ET.Element], mark: str, *keys: str) -> set[Any]:
    found = set()
    for element in elements:
        if mark in classes(element):
            values = tuple(element.get(k) for k in keys)
            found.add(values[0] if len(values) == 1 else values)
    return found


# -- SVG -------------------------------------------------------------------------------------


def test_failing_lot_svg_has_one_group_per_node_and_edge_and_red_exactly_on_the_path(
    empty_world: World,
) -> None:
    magnet = small_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet)
    assert verdict.verdict == "fail"
    svg = render_svg(graph, verdict=verdict, direction="right")
    nodes, edges = groups(svg, "node"), groups(svg, "edge")
    ids = [g.get("data-id") for g in nodes]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(graph.nodes) | buyers(graph)
    assert buyers(graph) == {"buyer:ship:jpmag/S-5"}
    flows = [(g.get("data-from"), g.get("data-to")) for g in edges if "flow" in classes(g)]
    ships = [(g.get("data-from"), g.get("data-to")) for g in edges if "ship" in classes(g)]
    assert sorted(flows) == sorted(graph.edges)
    assert ships == [(magnet, "buyer:ship:jpmag/S-5")]
    lots, steps = path_marks(verdict)
    assert lots == {
        "lot:cnsep/OX-1",
        "lot:jpmag/MET-1",
        "lot:jpmag/ALLOY-1",
        "lot:jpmag/POW-1",
        magnet,
    }
    assert marked(nodes, "offending", "data-id") == lots
    assert marked(edges, "offending", "data-from", "data-to") == steps | set(ships)
    assert not marked(nodes + edges, "unknown", "class")
    # Red is drawn red: the box outline and the edge line.
    for group in nodes + edges:
        shape = group.find(f"{SVG}rect") if group in nodes else group.find(f"{SVG}path")
        assert shape is not None
        red = shape.get("stroke") == "#c62828"
        assert red == ("offending" in classes(group)), group.get("data-id")


def test_passing_lot_and_no_policy_mark_nothing(empty_world: World) -> None:
    magnet = small_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet, WINDOW_A)
    assert verdict.verdict == "pass"
    for svg in (render_svg(graph, verdict=verdict), render_svg(graph)):
        elements = groups(svg, "node") + groups(svg, "edge")
        assert len(elements) == len(graph) + 1 + graph.number_of_edges() + 1
        assert not marked(elements, "offending", "class")
        assert not marked(elements, "unknown", "class")
        assert "#c62828" not in svg.split('<g class="edges">')[1]
    assert "no policy applied" in render_svg(graph)


def test_inconclusive_lot_marks_the_untraced_source_amber_and_nothing_red(
    empty_world: World,
) -> None:
    """The checker names the sources of unknown mass but computes no path for it: the
    untraced input and its edge are amber, no route is drawn red."""
    magnet = inconclusive_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet)
    assert verdict.verdict == "inconclusive"
    assert verdict.paths == ()
    assert [why for why, _ in verdict.unknown_reasons] == ["untraced ndpr_metal at log index 7"]
    untraced = [n for n, d in graph.nodes(data=True) if d["kind"] == "untraced"]
    assert len(untraced) == 1
    svg = render_svg(graph, verdict=verdict)
    nodes, edges = groups(svg, "node"), groups(svg, "edge")
    assert not marked(nodes + edges, "offending", "class")
    assert marked(nodes, "unknown", "data-id") == set(untraced)
    assert marked(edges, "unknown", "data-from") == set(untraced)


def test_a_parts_path_continues_to_the_component(empty_world: World) -> None:
    """A component fails through its magnet; the magnet's path ends at the magnet, and the
    picture carries it on to the component the mass went into."""
    s = Scenario(empty_world)
    magnet = small_chain(s)
    (motor,) = s.make("usdef-plant", "assembly", [(magnet, 9500)], [("MOTOR-1", "component", 9500)])
    graph, verdict = judged(empty_world, motor)
    assert verdict.verdict == "fail"
    assert [part.lot for part in verdict.parts] == [magnet]
    lots, steps = path_marks(verdict.parts[0])
    assert magnet in lots
    assert motor not in lots
    svg = render_svg(graph, verdict=verdict)
    assert marked(groups(svg, "node"), "offending", "data-id") == lots | {motor}
    edges = marked(groups(svg, "edge"), "offending", "data-from", "data-to")
    assert edges == steps | {(magnet, motor)}


def test_text_from_any_field_is_escaped(empty_world: World) -> None:
    """Ids cannot hold ``<&>"`` (the schema's patterns), but a policy file's rule, citation
    and the reasons built from them can, and so could any field of a graph handed in."""
    magnet = small_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet)
    nasty = 'x<y & "z"> </svg><script>alert(1)</script>\x01'
    graph.nodes[magnet]["facility"] = nasty
    graph.nodes[magnet]["hops"][0]["to"] = nasty
    verdict = dataclasses.replace(
        verdict, rule=nasty, citation=nasty, reason=nasty, unknown_reasons=((nasty, 0.5),)
    )
    svg = render_svg(graph, verdict=verdict)
    page = render_html(graph, verdict=verdict, title=nasty)
    for text in (svg, page, verdict_block(graph, verdict)):
        assert "<script>" not in text
    assert '"z\\"> </svg>' in render_dot(graph, verdict=verdict)  # DOT escapes its quotes
    tree = ET.fromstring(svg)
    assert any(nasty[:-1] in (t.text or "") for t in tree.iter(f"{SVG}title"))
    html_tree = ET.fromstring(page)
    assert html_tree.find("./head/title") is not None
    assert (html_tree.findtext("./head/title") or "").startswith(nasty[:-1])
    assert any(nasty[:-1] in (td.text or "") for td in html_tree.iter("td"))


def test_report_with_a_control_character_in_a_facility_name_is_well_formed(
    empty_world: World,
) -> None:
    """The report once escaped with its own helper, which kept the characters XML cannot
    hold that the pictures replace: a facility name with a control character (in a reason,
    a finding's message, a highlight) made a page that no XML or HTML tool accepts."""
    magnet = small_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet)
    facility = "Baotou\x0bworks\x1f"
    graph.nodes[magnet]["facility"] = facility
    verdict = dataclasses.replace(verdict, reason=f"separated at {facility}")
    finding = Finding(
        code="date-order",
        severity="error",
        message=f"shipped from {facility} before it was made",
        log_index=7,
        evidence=(3, 7),
    )
    page = render_report(
        title=f"Lots from {facility}",
        lede=f"What {facility} made.",
        runs=[PolicyRun(policy=DFARS, as_of=WINDOW_B, verdicts=[verdict])],
        pictures=[(graph, verdict)],
        findings=[finding],
        highlights={magnet: f"made at {facility}"},
    )
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", page)
    replaced = "Baotou\ufffdworks\ufffd"
    for text in (
        f"<title>Lots from {replaced}</title>",
        f"What {replaced} made.",
        f'<td class="why">separated at {replaced}</td>',
        f"<td>shipped from {replaced} before it was made</td>",
        f"<td>made at {replaced}</td>",
    ):
        assert text in page
    blocks = re.findall(r"<section class=\"bloc-verdict .*?</section>", page, re.S)
    assert len(blocks) == 1
    figure = ET.fromstring("<div>" + blocks[0] + "</div>")
    assert any(replaced in (t.text or "") for t in figure.iter(f"{SVG}text"))


def test_same_graph_gives_the_same_bytes(empty_world: World) -> None:
    """Node and edge insertion order do not matter either: everything is sorted."""
    magnet = small_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet)
    again, _ = judged(empty_world, magnet)
    shuffled = type(graph)()
    shuffled.graph.update(graph.graph)
    shuffled.add_nodes_from(reversed(list(graph.nodes(data=True))))
    shuffled.add_edges_from(reversed(list(graph.edges(data=True))))
    for render in RENDERERS.values():
        first = render(graph, verdict=verdict)
        assert render(again, verdict=verdict) == first
        assert render(shuffled, verdict=verdict) == first


@pytest.mark.slow
def test_thirty_node_chain_layout_is_readable(empty_world: World) -> None:
    """No two boxes overlap, every edge points right, the judged lot is the rightmost lot
    and its buyer beyond it; red is the verdict's path, amber the untraced boron."""
    root = large_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, root)
    assert len(graph) >= 28
    assert verdict.verdict == "fail"
    svg = render_svg(graph, verdict=verdict, direction="right")
    nodes, edges = groups(svg, "node"), groups(svg, "edge")
    boxes = {g.get("data-id"): box(g) for g in nodes}
    assert len(boxes) == len(graph) + 1
    assert_apart(boxes)
    for g in edges:
        source, target = boxes[g.get("data-from")], boxes[g.get("data-to")]
        assert source[2] < target[0], (g.get("data-from"), g.get("data-to"))
    lots = [n for n, d in graph.nodes(data=True) if d["kind"] == "lot"]
    assert max(boxes[n][0] for n in lots) == boxes[root][0]
    assert boxes["buyer:ship:mxtrade/S-19"][0] > boxes[root][0]
    view = ET.fromstring(svg)
    width, height = float(view.get("width", "")), float(view.get("height", ""))
    assert view.get("viewBox") == f"0 0 {view.get('width')} {view.get('height')}"
    assert all(x1 <= width and y1 <= height for _, _, x1, y1 in boxes.values())
    lots_on_path, steps = path_marks(verdict)
    assert marked(nodes, "offending", "data-id") == lots_on_path
    ships = {(root, "buyer:ship:mxtrade/S-19")}
    assert marked(edges, "offending", "data-from", "data-to") == steps | ships
    untraced = {n for n, d in graph.nodes(data=True) if d["kind"] == "untraced"}
    assert marked(nodes, "unknown", "data-id") == untraced


def test_a_wide_chain_is_drawn_top_to_bottom_and_stays_narrow(empty_world: World) -> None:
    """The README picture was 3,376 px wide: its text was about 3 px tall in a README column.
    Drawn down (as 'auto' does when left to right would be wider than 1,400 px), each stage
    is a row: no two boxes overlap, every edge points down, the judged lot is the lowest lot
    and its buyer below it, and the picture is narrower than left to right."""
    root = large_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, root)
    across = ET.fromstring(render_svg(graph, verdict=verdict, direction="right"))
    svg = render_svg(graph, verdict=verdict)  # auto
    view = ET.fromstring(svg)
    assert float(across.get("width", "")) > 1400
    assert float(view.get("width", "")) < float(across.get("width", ""))
    assert svg == render_svg(graph, verdict=verdict, direction="down")
    nodes, edges = groups(svg, "node"), groups(svg, "edge")
    boxes = {g.get("data-id"): box(g) for g in nodes}
    assert_apart(boxes)
    for g in edges:
        source, target = boxes[g.get("data-from")], boxes[g.get("data-to")]
        assert source[3] < target[1], (g.get("data-from"), g.get("data-to"))
    lots = [n for n, d in graph.nodes(data=True) if d["kind"] == "lot"]
    assert max(boxes[n][1] for n in lots) == boxes[root][1]
    assert boxes["buyer:ship:mxtrade/S-19"][1] > boxes[root][1]
    width, height = float(view.get("width", "")), float(view.get("height", ""))
    assert all(x1 <= width and y1 <= height for _, _, x1, y1 in boxes.values())
    lots_on_path, _ = path_marks(verdict)
    assert marked(nodes, "offending", "data-id") == lots_on_path


def test_a_narrow_picture_stays_left_to_right(empty_world: World) -> None:
    magnet = small_chain(Scenario(empty_world))
    graph, _ = judged(empty_world, magnet)
    mined = min(n for n in graph if graph.nodes[n]["kind"] == "lot" and not graph.in_degree(n))
    small = empty_world.ledger.trace(mined)
    auto = render_svg(small)
    assert float(ET.fromstring(auto).get("width", "")) <= 1400
    assert auto == render_svg(small, direction="right")
    assert auto != render_svg(small, direction="down")


def test_where_the_restricted_stage_happened_is_marked_apart_from_what_carries_it(
    empty_world: World,
) -> None:
    """Whole rows of lots that merely carried tainted mass were red, reading as 'KR is
    non-compliant': only the lots made by a step the verdict says offends are 'restricted'
    (filled, red country badge); the others on the path are outlined only."""
    root = large_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, root)
    svg = render_svg(graph, verdict=verdict)
    nodes = groups(svg, "node")
    # The scenario's only covered country is China (cnsep): under window B every lot made
    # there is where a restricted stage was done, and nothing else is.
    where = {n for n, d in graph.nodes(data=True) if d["kind"] == "lot" and d["country"] == "CN"}
    assert where
    assert marked(nodes, "restricted", "data-id") == where
    carriers = marked(nodes, "offending", "data-id") - where
    assert carriers, "the path carries the mass on to the judged lot"
    badges = {g.get("data-id"): g.findall(f"{SVG}rect")[1].get("fill") for g in nodes}
    assert {badges[n] for n in where} == {"#c62828"}
    assert "#c62828" not in {badges[n] for n in carriers}
    page = render_html(graph, verdict=verdict)
    rows = {
        m.group(2): m.group(1) for m in re.finditer(r'<tr class="([^"]*)" data-id="([^"]*)"', page)
    }
    assert all("restricted" in rows[n] for n in where)
    assert all("restricted" not in rows[n] and "offending" in rows[n] for n in carriers)


# -- HTML and DOT ----------------------------------------------------------------------------


def test_html_page_has_the_verdict_the_svg_and_a_row_per_record(empty_world: World) -> None:
    magnet = small_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet)
    page = ET.fromstring(render_html(graph, verdict=verdict))
    body = page.find("body")
    assert body is not None
    assert page.find(".//{http://www.w3.org/2000/svg}svg") is not None
    words = [e.text for e in page.iter("span") if "bloc-word" in classes(e)]
    assert words == ["FAIL"]
    text = ET.tostring(body, encoding="unicode", method="text")
    assert verdict.reason in text
    assert "252.225-7052(b)(3)" in text
    chain = " → ".join(str(step.log_index) for step in verdict.paths[0].steps)
    assert chain in text
    rows = {
        name: [tr for tr in page.iter("tr") if name in classes(tr)]
        for name in ("lot", "untraced", "hop")
    }
    lots = {n for n, d in graph.nodes(data=True) if d["kind"] == "lot"}
    assert {tr.get("data-id") for tr in rows["lot"]} == lots
    assert len(rows["lot"]) == len(lots)
    hops = [(hop["shipment"], n) for n in lots for hop in graph.nodes[n].get("hops", [])]
    assert sorted((tr.get("data-shipment"), tr.get("data-lot")) for tr in rows["hop"]) == sorted(
        hops
    )
    assert len(hops) == 5
    last = next(tr for tr in rows["hop"] if tr.get("data-lot") == magnet)
    cells = [td.text for td in last.iter("td")]
    assert cells == [
        "ship:jpmag/S-5",
        cells[1],
        magnet,
        "fac:jpmag-takefu → fac:usdef-plant",
        "US",
        "defense",
        f"log index {graph.nodes[magnet]['hops'][0]['received_index']}",
    ]
    assert {tr.get("data-id") for tr in rows["lot"] if "offending" in classes(tr)} == (
        path_marks(verdict)[0]
    )


def test_html_without_a_policy_says_so(empty_world: World) -> None:
    magnet = small_chain(Scenario(empty_world))
    page = render_html(empty_world.ledger.trace(magnet))
    assert "No policy was applied" in page
    marks = [e for e in ET.fromstring(page).iter() if {"offending", "unknown"} & classes(e)]
    assert marks == []


def test_several_pictures_share_a_page_without_clashing(empty_world: World) -> None:
    s = Scenario(empty_world)
    magnet = small_chain(s)
    blocks = []
    for lot in (magnet, "lot:cnsep/OX-1"):
        graph, verdict = judged(empty_world, lot)
        blocks.append(verdict_block(graph, verdict))
    page = ET.fromstring("<div>" + "".join(blocks) + "</div>")
    assert len(list(page.iter(f"{SVG}svg"))) == 2
    assert not [e for e in page.iter() if e.get("id") is not None]
    assert not list(page.iter(f"{SVG}style"))
    assert not list(page.iter(f"{SVG}defs"))


def test_dot_draws_the_offending_edges_red(empty_world: World) -> None:
    magnet = small_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet)
    dot = render_dot(graph, verdict=verdict)
    red = set(re.findall(r'^  "([^"]+)" -> "([^"]+)" \[[^\n]*color="#c62828"', dot, re.M))
    assert red == path_marks(verdict)[1]
    red_nodes = set(re.findall(r'^  "([^"]+)" \[[^\n]*color="#c62828"', dot, re.M))
    assert red_nodes == path_marks(verdict)[0]
    assert "#c62828" not in render_dot(graph)


# -- bloc graph ------------------------------------------------------------------------------


def run(world: World, *args: str) -> Result:
    return CliRunner().invoke(bloc, ["--home", str(world.home.path), "graph", *args])


def test_bloc_graph_writes_the_picture_under_a_policy(empty_world: World, tmp_path: Path) -> None:
    magnet = small_chain(Scenario(empty_world))
    out = tmp_path / "graph.svg"
    result = run(empty_world, magnet, "-o", str(out), "--policy", DFARS, "--as-of", "2027-02-01")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"wrote {out}: 8 lots, 7 flows, 1 offending path (fail under {DFARS} as of 2027-02-01)\n"
    )
    graph, verdict = judged(empty_world, magnet)
    assert out.read_text(encoding="utf-8") == render_svg(graph, verdict=verdict)


@pytest.mark.parametrize("suffix", [".html", ".dot", ".SVG"])
def test_bloc_graph_picks_the_format_by_suffix(
    empty_world: World, tmp_path: Path, suffix: str
) -> None:
    magnet = small_chain(Scenario(empty_world))
    out = tmp_path / f"graph{suffix}"
    result = run(empty_world, magnet, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out}: 8 lots, 7 flows (no policy applied)\n"
    graph = empty_world.ledger.trace(magnet)
    assert out.read_text(encoding="utf-8") == RENDERERS[suffix.lower()](graph)


def test_bloc_graph_unknown_suffix_is_one_line_exit_2(empty_world: World, tmp_path: Path) -> None:
    magnet = small_chain(Scenario(empty_world))
    out = tmp_path / "graph.png"
    result = run(empty_world, magnet, "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr == (
        f"bloc: error: {out}: cannot tell the picture format; name a .dot, .html, .svg file\n"
    )
    assert not out.exists()


def test_bloc_graph_unknown_lot_is_one_line_exit_2(world: World, tmp_path: Path) -> None:
    out = tmp_path / "graph.svg"
    result = run(world, "lot:lynas/NOPE", "-o", str(out), "--policy", DFARS)
    assert result.exit_code == 2
    assert result.stderr == "bloc: error: lot lot:lynas/NOPE does not exist\n"
    assert not out.exists()


def test_bloc_graph_as_of_without_policy_is_refused(world: World, tmp_path: Path) -> None:
    result = run(world, "lot:lynas/NDPR-1", "-o", str(tmp_path / "g.svg"), "--as-of", "2027-02-01")
    assert result.exit_code == 2
    assert result.stderr == "bloc: error: --as-of goes with --policy\n"


def test_restricted_stages_upstream_of_a_path_are_marked_where_they_happened(
    empty_world: World,
) -> None:
    """Red used to start at the last restricted stage: earlier ones upstream of it (the
    mining before a forbidden separation) were drawn like any other box."""
    root = large_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, root)
    (_, first), *_ = offending_paths(verdict)
    source = next(step for step in first.steps if step.why)
    upstream = next(iter(graph.predecessors(source.lot)))
    earlier = dataclasses.replace(
        step_of(graph, upstream), why="a test: made where the policy forbids it"
    )
    told = dataclasses.replace(verdict, upstream_offences=(earlier,))
    nodes = groups(render_svg(graph, verdict=told), "node")
    assert upstream in marked(nodes, "restricted", "data-id")
    assert upstream not in marked(nodes, "offending", "data-id"), "no path runs through it"
    page = render_html(graph, verdict=told)
    assert "Restricted stages further upstream" in page
    assert "a test: made where the policy forbids it" in page


def test_dot_follows_the_direction(empty_world: World) -> None:
    magnet = small_chain(Scenario(empty_world))
    graph, verdict = judged(empty_world, magnet)
    assert "rankdir=LR;" in render_dot(graph, verdict=verdict, direction="right")
    assert "rankdir=TB;" in render_dot(graph, verdict=verdict, direction="down")
    # auto: as the SVG is drawn (this chain is wider than 1,400 px left to right)
    assert "rankdir=TB;" in render_dot(graph, verdict=verdict)
