"""A provenance picture as SVG: the laid-out boxes and edges (:mod:`ledger.render._layout`)
drawn with their marks (:mod:`ledger.render._marks`), a heading and a legend.

The SVG has no ``id`` attributes, ``<defs>`` or ``<style>`` (arrowheads are drawn shapes,
styles are presentation attributes), so any number of them can share a page without
clashing; :data:`ledger.render.STYLESHEET` only styles ``bloc-`` classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ledger.compliance import Outcome, Verdict
from ledger.core.codec import format_kg
from ledger.provenance.graph import Graph
from ledger.render._layout import (
    ARROW,
    BADGE_H,
    BADGE_W,
    BOX_H,
    COLUMN_GAP,
    HEADER,
    LABEL_H,
    MARGIN,
    PAD,
    ROW_GAP,
    Box,
    Edge,
    Layout,
    fit,
    lay_out,
    text_width,
)
from ledger.render._marks import marks
from ledger.render._style import AMBER, BUYER, FONT, GREY, INK, RED, esc, shares


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _stroke(mark: str | None, normal: str) -> tuple[str, float]:
    if mark == "offending":
        return RED, 2.6
    if mark == "unknown":
        return AMBER, 2.6
    return normal, 1.3


def _ports(layout: Layout) -> dict[tuple[int, str], float]:
    """Where each edge leaves its source and enters its target: spread along the box side
    in the order of the other end, so that edges do not converge on one point."""
    down = layout.direction == "down"
    centre = {key: box.x + box.w / 2 if down else box.y for key, box in layout.boxes.items()}
    span = max(box.w for box in layout.boxes.values()) if down else BOX_H
    most = 24.0 if down else 12.0
    ports: dict[tuple[int, str], float] = {}
    outgoing: dict[str, list[tuple[float, str, int]]] = {}
    incoming: dict[str, list[tuple[float, str, int]]] = {}
    for n, edge in enumerate(layout.edges):
        first = edge.slot_at[0] if edge.slot_at else centre[edge.target]
        last = edge.slot_at[-1] if edge.slot_at else centre[edge.source]
        outgoing.setdefault(edge.source, []).append((first, edge.target, n))
        incoming.setdefault(edge.target, []).append((last, edge.source, n))
    for side, table in (("out", outgoing), ("in", incoming)):
        for key, items in table.items():
            items.sort()
            step = min(most, (span - 2 * most) / max(1, len(items) - 1))
            for i, (_, _, n) in enumerate(items):
                ports[(n, side)] = centre[key] + (i - (len(items) - 1) / 2) * step
    return ports


def _bezier(p: Sequence[tuple[float, float]], t: float) -> tuple[float, float]:
    u = 1 - t
    x = u**3 * p[0][0] + 3 * u * u * t * p[1][0] + 3 * u * t * t * p[2][0] + t**3 * p[3][0]
    y = u**3 * p[0][1] + 3 * u * u * t * p[1][1] + 3 * u * t * t * p[2][1] + t**3 * p[3][1]
    return x, y


def _edge_geometry(
    edge: Edge, layout: Layout, ports: Mapping[tuple[int, str], float], n: int
) -> tuple[str, list[list[tuple[float, float]]], tuple[float, float]]:
    """The path data, its curved pieces (for labels), and the arrow's tip."""
    source, target = layout.boxes[edge.source], layout.boxes[edge.target]
    down = layout.direction == "down"
    crossed = zip(range(source.column + 1, target.column), edge.slot_at, strict=True)
    points: list[tuple[float, float]]
    if down:
        points = [(ports[(n, "out")], source.y + source.h / 2)]
        for row, across in crossed:
            top = float(MARGIN + HEADER + row * (BOX_H + ROW_GAP))
            points += [(across, top), (across, top + BOX_H)]
        tip = (ports[(n, "in")], target.y - target.h / 2)
        points.append((tip[0], tip[1] - ARROW))
    else:
        points = [(source.x + source.w, ports[(n, "out")])]
        for column, across in crossed:
            left = MARGIN + column * (source.w + COLUMN_GAP)
            points += [(left, across), (left + source.w, across)]
        tip = (target.x, ports[(n, "in")])
        points.append((tip[0] - ARROW, tip[1]))
    parts = [f"M{_n(points[0][0])} {_n(points[0][1])}"]
    curves: list[list[tuple[float, float]]] = []
    for i in range(0, len(points) - 1, 2):
        (x0, y0), (x1, y1) = points[i], points[i + 1]
        if down:
            k = (y1 - y0) / 2
            curve = [(x0, y0), (x0, y0 + k), (x1, y1 - k), (x1, y1)]
        else:
            k = (x1 - x0) / 2
            curve = [(x0, y0), (x0 + k, y0), (x1 - k, y1), (x1, y1)]
        curves.append(curve)
        (_, (ax, ay), (bx, by), _) = curve
        parts.append(f"C{_n(ax)} {_n(ay)} {_n(bx)} {_n(by)} {_n(x1)} {_n(y1)}")
        if i + 2 < len(points):
            parts.append(f"L{_n(points[i + 2][0])} {_n(points[i + 2][1])}")
    return " ".join(parts), curves, tip


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


_SPOTS = {
    "source": (0.3, 0.2, 0.42, 0.55, 0.68, 0.8),
    "middle": (0.5, 0.35, 0.65, 0.2, 0.8),
    "target": (0.7, 0.8, 0.58, 0.45, 0.32, 0.2),
}


def _label_spot(
    curves: Sequence[Sequence[tuple[float, float]]],
    width: float,
    taken: list[tuple[float, float, float, float]],
    near: str,
) -> tuple[float, float]:
    """The first spot along the edge where the label overlaps no box and no other label.

    Where several edges meet (``near`` the end where they are fewer) their lines are
    farthest apart, so the labels of a fan-in sit near the sources, those of a fan-out near
    the targets; a long edge is labelled in its piece at that end.
    """
    first: tuple[float, float] | None = None
    pieces = [curves[0], *curves[1:]] if near == "source" else [curves[-1], *curves[:-1]]
    for curve in pieces:
        for t in _SPOTS[near]:
            x, y = _bezier(curve, t)
            rect = (x - width / 2, y - LABEL_H / 2, x + width / 2, y + LABEL_H / 2)
            first = first or (x, y)
            if not any(_overlaps(rect, other) for other in taken):
                taken.append(rect)
                return x, y
    assert first is not None
    return first


def _header(graph: Graph, verdict: Verdict | None) -> list[tuple[str, float, bool, str]]:
    root = graph.graph.get("root")
    if root is not None and root in graph:
        data = graph.nodes[root]
        title = f"Provenance of {root} — {data['material']}, {format_kg(data['mass_g'])}"
    else:
        title = "Provenance graph"
    if verdict is None:
        summary = ("no policy applied: nothing is marked", 13.0, False, GREY)
    else:
        color = {Outcome.FAIL: RED, Outcome.INCONCLUSIVE: AMBER, Outcome.PASS: "#2e7d32"}.get(
            verdict.verdict, INK
        )
        summary = (
            f"{verdict.verdict.upper()} under {verdict.policy} as of {verdict.as_of}"
            f" — {shares(verdict)}" + (f" — {verdict.paragraph}" if verdict.paragraph else ""),
            13.0,
            True,
            color,
        )
    return [(title, 15.0, True, INK), summary]


_LEGEND = (
    ("where", RED, "restricted stage done here (red country)"),
    ("line", RED, "carries its non-compliant mass"),
    ("line", AMBER, "source of unknown mass"),
    ("dash", GREY, "untraced input"),
    ("box", BUYER, "buyer (shipment of the judged lot)"),
)


def _legend_step(text: str) -> float:
    return 28 + len(text) * 5.6 + 20


LEGEND_WIDTH = sum(_legend_step(text) for _, _, text in _LEGEND)


def _legend(x: float, y: float) -> list[str]:
    out: list[str] = ['<g class="legend" font-size="11" fill="#5f6b7a">']
    items = _LEGEND
    for kind, color, text in items:
        if kind == "where":
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y - 10)}" width="22" height="12" rx="2" '
                f'fill="#fdecea" stroke="{color}" stroke-width="2"/>'
            )
        elif kind == "line":
            out.append(
                f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 22)}" y2="{_n(y - 4)}" '
                f'stroke="{color}" stroke-width="3"/>'
            )
        else:
            dash = ' stroke-dasharray="4 3"' if kind == "dash" else ""
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y - 10)}" width="22" height="12" rx="2" '
                f'fill="#fff" stroke="{color}" stroke-width="1.3"{dash}/>'
            )
        out.append(f'<text x="{_n(x + 28)}" y="{_n(y)}">{esc(text)}</text>')
        x += _legend_step(text)
    out.append("</g>")
    return out


def _box_svg(box: Box) -> list[str]:
    normal = BUYER if box.kind == "buyer" else GREY
    stroke, width = _stroke("offending" if box.restricted else box.mark, normal)
    # Where the mass became non-compliant is filled red; a lot that only carries it is
    # outlined red; a source of unknown mass is filled amber.
    fill = "#fdecea" if box.restricted else "#fff4dc" if box.mark == "unknown" else "#ffffff"
    if box.mark is None and box.kind == "buyer":
        fill = "#eef3fb"
    badge = RED if box.restricted else "#3e4c59"
    where = "restricted" if box.restricted else None
    classes = " ".join(c for c in ("node", box.kind, box.mark, where) if c)
    attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in sorted(box.data.items()))
    top = box.y - box.h / 2
    dash = ' stroke-dasharray="5 3"' if box.kind == "untraced" else ""
    out = [
        f'<g class="{classes}" data-id="{esc(box.key)}" data-column="{box.column}"{attrs}>',
        f"<title>{esc(box.title)}</title>",
        f'<rect x="{_n(box.x)}" y="{_n(top)}" width="{_n(box.w)}" height="{_n(box.h)}" '
        f'rx="6" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>',
        f'<rect x="{_n(box.x + box.w - BADGE_W - 6)}" y="{_n(top + 6)}" width="{BADGE_W}" '
        f'height="{BADGE_H}" rx="3" fill="{badge}"/>',
        f'<text x="{_n(box.x + box.w - BADGE_W / 2 - 6)}" y="{_n(top + 6 + 12.5)}" '
        f'font-size="11" font-weight="bold" fill="#ffffff" text-anchor="middle" '
        f'class="country">{esc(box.badge)}</text>',
    ]
    baseline = top + 19
    for i, (text, size, bold, color) in enumerate(box.lines):
        room = box.w - 2 * PAD - (BADGE_W + 6 if i == 0 else 0)
        weight = ' font-weight="bold"' if bold else ""
        out.append(
            f'<text x="{_n(box.x + PAD)}" y="{_n(baseline)}" font-size="{_n(size)}"'
            f'{weight} fill="{color}">{esc(fit(text, room, size, bold=bold))}</text>'
        )
        baseline += 16 if i == 0 else 15
    out.append("</g>")
    return out


def _edge_svg(
    edge: Edge,
    n: int,
    layout: Layout,
    ports: Mapping[tuple[int, str], float],
    taken: list[tuple[float, float, float, float]],
    near: str,
) -> tuple[list[str], list[str]]:
    """The edge's line and arrowhead, and its mass label (drawn after every line, on a
    white ground, so that no line runs through a figure)."""
    color, width = _stroke(edge.mark, "#8a96a3")
    d, curves, (tx, ty) = _edge_geometry(edge, layout, ports, n)
    classes = " ".join(c for c in ("edge", edge.kind, edge.mark) if c)
    attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in sorted(edge.data.items()))
    label_w = text_width(edge.label, 11) + 8
    lx, ly = _label_spot(curves, label_w, taken, near)
    head = ARROW + (2 if edge.mark else 0)
    half = head * 0.55
    if layout.direction == "down":
        wings = ((tx - half, ty - head), (tx + half, ty - head))
    else:
        wings = ((tx - head, ty - half), (tx - head, ty + half))
    (ax, ay), (bx, by) = wings
    arrow = f"M{_n(ax)} {_n(ay)} L{_n(tx)} {_n(ty)} L{_n(bx)} {_n(by)} Z"
    line = [
        f'<g class="{classes}" data-from="{esc(edge.source)}" data-to="{esc(edge.target)}"{attrs}>',
        f"<title>{esc(edge.title)}</title>",
        f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{width}"/>',
        f'<path d="{arrow}" fill="{color}"/>',
        "</g>",
    ]
    label = [
        f'<g class="label" data-from="{esc(edge.source)}" data-to="{esc(edge.target)}">',
        f'<rect x="{_n(lx - label_w / 2)}" y="{_n(ly - LABEL_H / 2)}" width="{_n(label_w)}" '
        f'height="{LABEL_H}" rx="3" fill="#ffffff" fill-opacity="0.92"/>',
        f'<text x="{_n(lx)}" y="{_n(ly + 4)}" font-size="11" text-anchor="middle" '
        f'fill="{color if edge.mark else INK}" class="mass">{esc(edge.label)}</text>',
        "</g>",
    ]
    return line, label


def render_svg(graph: Graph, *, verdict: Verdict | None = None, direction: str = "auto") -> str:
    """A self-contained SVG picture of ``graph``, marked by ``verdict`` when given.

    Elements tests and style sheets can rely on: ``<g class="node lot|untraced|buyer
    [offending|unknown]" data-id=...>`` with its ``<rect>`` first after the ``<title>``,
    and ``<g class="edge flow|ship [offending|unknown]" data-from=... data-to=...>``.
    """
    found = marks(graph, verdict)
    layout = lay_out(graph, found, direction=direction)
    header = _header(graph, verdict)
    width = max(
        layout.width,
        2 * MARGIN + max(text_width(t, s, bold=b) for t, s, b, _ in header),
        2 * MARGIN + LEGEND_WIDTH,
    )
    height = layout.height
    judged = f' data-verdict="{esc(verdict.verdict)}"' if verdict else ""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" font-family="{FONT}" class="bloc-provenance" '
        f'data-root="{esc(graph.graph.get("root") or "")}"{judged}>',
        f"<title>{esc(header[0][0])}: {esc(header[1][0])}</title>",
        f'<rect x="0" y="0" width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
    ]
    baseline = MARGIN + 10
    for text, size, bold, color in header:
        weight = ' font-weight="bold"' if bold else ""
        out.append(
            f'<text x="{MARGIN}" y="{_n(baseline)}" font-size="{_n(size)}"{weight} '
            f'fill="{color}" class="heading">{esc(text)}</text>'
        )
        baseline += 20
    out += _legend(MARGIN, baseline + 2)
    ports = _ports(layout)
    taken = [
        (b.x - 2, b.y - b.h / 2 - 2, b.x + b.w + 2, b.y + b.h / 2 + 2)
        for b in layout.boxes.values()
    ]
    # Marked edges last, so they are drawn over the others.
    order = sorted(
        range(len(layout.edges)),
        key=lambda i: ({None: 0, "unknown": 1, "offending": 2}[layout.edges[i].mark], i),
    )
    fan_out: dict[str, int] = {}
    fan_in: dict[str, int] = {}
    for edge in layout.edges:
        fan_out[edge.source] = fan_out.get(edge.source, 0) + 1
        fan_in[edge.target] = fan_in.get(edge.target, 0) + 1
    out.append('<g class="edges">')
    labels: list[str] = ['<g class="labels">']
    for n in order:
        edge = layout.edges[n]
        many, few = fan_in[edge.target], fan_out[edge.source]
        near = "source" if many > few else "target" if few > many else "middle"
        line, label = _edge_svg(edge, n, layout, ports, taken, near)
        out += line
        labels += label
    out.append("</g>")
    out += [*labels, "</g>"]
    out.append('<g class="nodes">')
    for key in sorted(layout.boxes):
        out += _box_svg(layout.boxes[key])
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
