"""The results of a run and ``RESULTS.md``: the machine, the commands, a table per size
with every figure, its spread over the repeats, the baselines' ratios and the targets."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
NO_DB = "none"
MILLION = 1_000_000


@dataclass(slots=True)
class Cell:
    """One figure: a value per repeat, or why there is none."""

    values: list[float] = field(default_factory=list)
    note: str | None = None
    """``failed: ...`` or ``skipped: ...``."""

    def median(self) -> float | None:
        if self.note is not None or not self.values:
            return None
        ordered = sorted(self.values)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(slots=True)
class Results:
    started: datetime
    command: str
    machine: list[tuple[str, str]]
    settings: str
    sizes: list[int]
    backends: list[str]
    cells: dict[tuple[int, str, str], Cell] = field(default_factory=dict)
    facts: dict[int, list[tuple[str | None, str]]] = field(default_factory=dict)
    """Per size: (backend or ``None``, a line about the ledger or how it was measured)."""
    notes: list[str] = field(default_factory=list)
    finished: datetime | None = None

    def cell(self, size: int, scope: str, key: str) -> Cell:
        return self.cells.setdefault((size, scope, key), Cell())

    def fact(self, size: int, text: str, backend: str | None = None) -> None:
        self.facts.setdefault(size, []).append((backend, text))

    def facts_of(self, size: int) -> list[str]:
        """The size's facts: general ones first, then each backend's, named."""
        order = [None, *self.backends]
        facts = sorted(
            self.facts.get(size, []),
            key=lambda fact: order.index(fact[0]) if fact[0] in order else len(order),
        )
        return [text if b is None else f"{BACKEND_NAMES[b]}: {text}" for b, text in facts]


@dataclass(frozen=True, slots=True)
class Target:
    text: str
    met: Callable[[float], bool]
    backend: str | None = None
    """Only judged on this backend (``None``: every backend)."""
    size: int | None = None
    """Only judged at this size (``None``: every size)."""

    def applies(self, backend: str, size: int) -> bool:
        return (self.backend is None or self.backend == backend) and (
            self.size is None or self.size == size
        )


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    unit: str
    target: Target | None = None
    ratio_of: tuple[tuple[str, str], tuple[str, str]] | None = None
    """A derived ratio: ((scope, key) of the numerator, (scope, key) of the denominator);
    scope ``backend`` means the row's backend."""


GIB = 1024.0
"""MiB in a GiB."""


def _serve_rows(key: str, workers: str, backend: str | None) -> tuple[Row, ...]:
    """The rows of the ``bloc serve`` loads (issue 12) with ``workers`` in their labels."""
    single, batch = f"{key}_single", f"{key}_batch"
    return (
        Row(
            single,
            f"`bloc serve`{workers}, 32 clients × 1 record per request (`POST /v1/records`)",
            "rec/s",
            Target("≥ 2,000 rec/s", lambda v: v >= 2000, backend=backend),
        ),
        Row(f"{single}_p50", f"`bloc serve`{workers}, 32 single-record clients: ack p50", "ms"),
        Row(
            f"{single}_p99",
            f"`bloc serve`{workers}, 32 single-record clients: ack p99",
            "ms",
            Target("≤ 1 s", lambda v: v <= 1000, backend=backend),
        ),
        Row(batch, f"`bloc serve`{workers}, 4 clients × 500 records per request", "rec/s"),
        Row(f"{batch}_p50", f"`bloc serve`{workers}, 4 batch clients: ack p50", "ms"),
        Row(f"{batch}_p99", f"`bloc serve`{workers}, 4 batch clients: ack p99", "ms"),
        Row(
            f"{batch}_ingest1",
            f"`bloc serve`{workers} (4 batch clients) ÷ ingest (1 submitter, `bloc submit`)",
            "ratio",
            Target("≥ 0.8", lambda v: v >= 0.8, backend=backend),
            ratio_of=(("backend", batch), ("backend", "ingest1")),
        ),
    )


ROWS: tuple[Row, ...] = (
    Row(
        "ingest1",
        "ingest, 1 submitter (`bloc submit FILE`, what users run)",
        "rec/s",
        Target("≥ 8,000 rec/s on SQLite", lambda v: v >= 8000, backend="sqlite"),
    ),
    Row(
        "ingest1_atomic",
        "ingest, 1 submitter (`bloc submit --atomic FILE`)",
        "rec/s",
    ),
    Row(
        "ingest4",
        "ingest, 4 concurrent submitters (`bloc submit`)",
        "rec/s",
        Target("≥ 4,000 rec/s on PostgreSQL", lambda v: v >= 4000, backend="postgresql"),
    ),
    Row(
        "ingest1_limit",
        "ingest (1 submitter) ÷ limit",
        "ratio",
        ratio_of=(("backend", "ingest1"), (NO_DB, "limit")),
    ),
    Row(
        "ingest1_floor",
        "ingest (1 submitter, `bloc submit FILE`) ÷ floor on every core: the headline",
        "ratio",
        ratio_of=(("backend", "ingest1"), (NO_DB, "floor_all")),
    ),
    Row(
        "ingest4_limit",
        "ingest (4 submitters) ÷ limit",
        "ratio",
        ratio_of=(("backend", "ingest4"), (NO_DB, "limit")),
    ),
    *_serve_rows("serve", "", None),
    *_serve_rows("serve2", " `--workers 2`", "postgresql"),
    Row(
        "verify",
        "verify, whole ledger (`bloc verify`)",
        "rec/s",
        Target("≥ 15,000 rec/s", lambda v: v >= 15000),
    ),
    Row(
        "verify_sslib",
        "verify ÷ securesystemslib DSSE verify",
        "ratio",
        ratio_of=(("backend", "verify"), (NO_DB, "sslib")),
    ),
    Row(
        "trace_p50",
        "trace one lot, p50 (library, `Ledger.trace`)",
        "ms",
        Target("≤ 10 ms on 1M", lambda v: v <= 10, size=MILLION),
    ),
    Row(
        "trace_p99",
        "trace one lot, p99 (library)",
        "ms",
        Target("≤ 50 ms on 1M", lambda v: v <= 50, size=MILLION),
    ),
    Row(
        "check_p50",
        "check one lot, p50 (library, `Ledger.check`)",
        "ms",
        Target("≤ 10 ms on 1M", lambda v: v <= 10, size=MILLION),
    ),
    Row(
        "check_p99",
        "check one lot, p99 (library)",
        "ms",
        Target("≤ 50 ms on 1M", lambda v: v <= 50, size=MILLION),
    ),
    Row("cte_p50", "recursive CTE, one lot's upstream, p50", "ms"),
    Row("cte_p99", "recursive CTE, one lot's upstream, p99", "ms"),
    Row(
        "trace_cte_p50",
        "trace ÷ CTE, p50",
        "ratio",
        ratio_of=(("backend", "trace_p50"), ("backend", "cte_p50")),
    ),
    Row(
        "trace_cte_p99",
        "trace ÷ CTE, p99",
        "ratio",
        ratio_of=(("backend", "trace_p99"), ("backend", "cte_p99")),
    ),
    Row("cli_trace_p50", "`bloc trace LOT --format json`, p50 (start-up included)", "ms"),
    Row("cli_trace_p99", "`bloc trace LOT --format json`, p99 (start-up included)", "ms"),
    Row("cli_check_p50", "`bloc check LOT … --json`, p50 (start-up included)", "ms"),
    Row("cli_check_p99", "`bloc check LOT … --json`, p99 (start-up included)", "ms"),
    Row(
        "check_all_s",
        "`bloc check --all --end-use defense`, wall time",
        "s",
        Target("≤ 20 s on 1M", lambda v: v <= 20, size=MILLION),
    ),
    Row(
        "check_all_mib",
        "`bloc check --all --end-use defense`, peak memory",
        "MiB",
        Target("≤ 2 GiB on 1M", lambda v: v <= 2 * GIB, size=MILLION),
    ),
    Row(
        "evidence_cli",
        "`bloc evidence` of the deepest lot, wall time",
        "s",
        Target("≤ 1 s (500 upstream records)", lambda v: v <= 1),
    ),
    Row(
        "verify_bundle_cli",
        "`bloc verify-bundle` of that bundle, wall time",
        "s",
        Target("≤ 1 s (500 upstream records)", lambda v: v <= 1),
    ),
    Row(
        "evidence_lib",
        "evidence build (library, `Ledger.evidence`)",
        "s",
        Target("≤ 1 s (500 upstream records)", lambda v: v <= 1),
    ),
    Row(
        "verify_bundle_lib",
        "bundle verification (library, `verify_bundle`)",
        "s",
        Target("≤ 1 s (500 upstream records)", lambda v: v <= 1),
    ),
)

BASELINE_ROWS: tuple[Row, ...] = (
    Row("limit", "limit: open + schema-check + signature-check + leaf hash, no storage", "rec/s"),
    Row("floor1", "floor, one core: JSON parse + base64 + Ed25519 verify + SHA-256", "rec/s"),
    Row("floor_all", "floor, every core: the same in one process per core", "rec/s"),
    Row("sslib", "securesystemslib `Envelope.from_dict` + `Envelope.verify`", "rec/s"),
)

_KEY_NAMES = {
    "limit": "limit",
    "floor1": "floor",
    "floor_all": "floor",
    "sslib": "securesystemslib",
    "ingest1": "ingest",
    "ingest1_atomic": "ingest",
    "ingest4": "ingest",
    "serve_batch": "serve",
    "serve2_batch": "serve",
    "verify": "verify",
    "trace_p50": "trace",
    "trace_p99": "trace",
    "cte_p50": "CTE",
    "cte_p99": "CTE",
}

BACKEND_KEYS = tuple(row.key for row in ROWS if row.ratio_of is None)
"""Every figure measured on a backend (ratios are derived)."""


def _number(value: float, unit: str) -> str:
    if unit == "rec/s":
        return f"{value:,.0f}"
    if unit == "ms":
        if value < 1:
            return f"{value:.3f}"
        if value < 10:
            return f"{value:.2f}"
        if value < 100:
            return f"{value:.1f}"
        return f"{value:,.0f}"
    if unit == "s":
        return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:,.1f}"
    if unit == "MiB":
        return f"{value:,.0f}"
    if value == 0:
        return "0"
    if value < 0.01:
        return f"{value:.2g}"
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def _figure(cell: Cell, unit: str) -> str:
    median = cell.median()
    if median is None:
        return cell.note or "—"
    text = _number(median, unit) + ("" if unit == "ratio" else f" {unit}")
    if len(cell.values) > 1:
        text += f" ({_number(min(cell.values), unit)}–{_number(max(cell.values), unit)})"
    return text


def _judged(row: Row, value: float | None, backend: str, size: int) -> str:
    if row.target is None or value is None or not row.target.applies(backend, size):
        return ""
    return " ✓" if row.target.met(value) else " ✗"


def _ratio(results: Results, row: Row, size: int, backend: str) -> tuple[str, float | None]:
    assert row.ratio_of is not None
    values = []
    for scope, key in row.ratio_of:
        cell = results.cells.get((size, backend if scope == "backend" else scope, key))
        median = cell.median() if cell else None
        if median is None:
            if cell is not None and cell.note is not None:
                outcome = cell.note.split(":", 1)[0]
                return f"n/a ({outcome}: {_KEY_NAMES.get(key, key)})", None
            return "—", None
        values.append(median)
    top, bottom = values
    if bottom == 0:
        return "—", None
    ratio = top / bottom
    return _number(ratio, "ratio"), ratio


def _cell_text(results: Results, row: Row, size: int, backend: str) -> str:
    if row.ratio_of is not None:
        text, value = _ratio(results, row, size, backend)
        return text + _judged(row, value, backend, size)
    cell = results.cells.get((size, backend, row.key))
    if cell is None:
        return "—"
    return _figure(cell, row.unit) + _judged(row, cell.median(), backend, size)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(results: Results) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by the benchmark harness (`python -m bench`, see bench/README.md) on "
        f"{results.started:%Y-%m-%d %H:%M} UTC"
        + (
            f", finished {results.finished:%H:%M} UTC"
            if results.finished is not None
            else " (run still in progress or interrupted)"
        )
        + ". The harness rewrites this file: change the harness, not the file.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_escape(value)} |" for name, value in results.machine]
    startup = results.cells.get((0, NO_DB, "startup"))
    if startup is not None:
        lines.append(f"| start-up (`bloc --version`) | {_escape(_figure(startup, 's'))} |")
    lines += [
        "",
        "## Commands",
        "",
        "```sh",
        results.command,
        "```",
        "",
        results.settings,
        "",
        "Each figure is the median over the repeats, with the spread (min–max) in brackets "
        "when there was more than one. Ratios divide medians. ✓ / ✗: the figure meets / "
        "misses the issue's target (judged only where the target applies: the 1M targets "
        "at 1M only). `failed:` is a measurement that could not be taken; the others "
        "still were.",
        "",
        "| measurement | what runs |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_escape(how)} |" for name, how in METHODS]
    if results.notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {note}" for note in results.notes]
    for size in results.sizes:
        lines += ["", f"## {size:,} records", ""]
        facts = results.facts_of(size)
        lines += [f"- {fact}" for fact in facts]
        if facts:
            lines.append("")
        names = [BACKEND_NAMES[b] for b in results.backends]
        lines += [
            "| measurement | " + " | ".join(names) + " | target |",
            "|---|" + "---|" * len(names) + "---|",
        ]
        for row in ROWS:
            cells = [_cell_text(results, row, size, backend) for backend in results.backends]
            if all(text == "—" for text in cells):
                continue
            target = row.target.text if row.target else ""
            lines.append(
                f"| {row.label} | " + " | ".join(_escape(c) for c in cells) + f" | {target} |"
            )
        lines += ["", "Baselines without a database (the same envelopes, in this process):", ""]
        lines += ["| baseline | figure |", "|---|---|"]
        for row in BASELINE_ROWS:
            cell = results.cells.get((size, NO_DB, row.key))
            text = _figure(cell, row.unit) if cell else "—"
            lines.append(f"| {row.label} | {_escape(text)} |")
    lines.append("")
    return "\n".join(lines)


METHODS: tuple[tuple[str, str], ...] = (
    (
        "start-up",
        "`bloc --version`: interpreter start-up and imports, part of every CLI figure",
    ),
    (
        "ingest",
        "a new home with an empty database, then `bloc --home H submit CHUNK.jsonl --json` "
        "(what users run; the atomic row adds `--atomic`) for each chunk of the pre-signed "
        "envelopes, in log order; records/s over the wall time of all chunks, start-up "
        "included; every envelope must be accepted",
    ),
    (
        "ingest, 4 submitters",
        "the registrations (one `bloc submit`), then 4 threads each running `bloc submit` "
        "over the chunks of its own causally closed stream (whole supply chains: events "
        "that share a lot or shipment stay in one stream, in log order; chains dealt to the "
        "least loaded stream, largest first), then the key revocation",
    ),
    (
        "serve",
        "a new home with an empty database per run; `bloc --home H serve --listen "
        "127.0.0.1:0` (on PostgreSQL also with `--workers 2`); the registrations POSTed "
        "untimed; then, timed, N client threads (an `httpx.Client` each) each POSTing its own "
        "causally closed stream (as for 4 submitters, cut into N) to `/v1/records` in order, "
        "the next request after the answer: 32 clients with 1 record per request "
        "(`application/json`), or 4 clients with 500 per request (`application/jsonl`); then "
        "the key revocation, untimed; SIGTERM, exit 0 required. records/s over the timed "
        "streams; ack p50/p99: per request, from sending it to its whole answer. Every answer "
        "must be 200 with every record accepted",
    ),
    ("verify", "`bloc --home H verify --json` on the ledger the last ingest built"),
    (
        "per-lot latency",
        "the same random lots (seeded) for every figure; library: `Ledger.trace(lot)` and "
        "`Ledger.check(lot, policy=dfars-252.225-7052, as_of=2027-02-01)` in this process "
        "after a warm-up; CLI: `bloc --home H trace LOT --format json` and `bloc --home H "
        "check LOT --policy dfars-252.225-7052 --as-of 2027-02-01 --json`",
    ),
    (
        "recursive CTE",
        "`WITH RECURSIVE upstream(id) AS (SELECT id FROM lot WHERE id = :lot UNION SELECT "
        "flow.lot FROM upstream "
        "JOIN lot ON lot.id = upstream.id JOIN flow ON flow.log_index = lot.created_index) "
        "SELECT id FROM upstream` through sqlite3 / psycopg; its lot set is checked equal "
        "to `bloc trace`'s for every sampled lot",
    ),
    (
        "check --all",
        "`bloc --home H check --all --end-use defense --policy dfars-252.225-7052 --as-of "
        "2027-02-01`; peak memory is the process's maximum RSS (`wait4` in a small launcher, "
        "so the harness's own memory is not counted)",
    ),
    (
        "evidence",
        "the lot shipped for defense with the most upstream lots: `bloc --home H evidence "
        "LOT --policy dfars-252.225-7052 --as-of 2027-02-01 -o B.json`, then `bloc "
        "verify-bundle B.json --root H/root.json` from a directory without a home; library: "
        "`Ledger.evidence` + `evidence.to_bytes`, and `service.verify_bundle`",
    ),
    (
        "limit",
        "`admission.open_envelope` (strict JSON, envelope and record schemas, decoding, "
        "canonical bytes, leaf hash) and `Envelope.verifies` for every signature, no storage",
    ),
    (
        "floor",
        "per envelope `json.loads`, base64 of payload and signature, DSSE PAE, libsodium "
        "`crypto_sign_open` and SHA-256 of the line, nothing else: what any DSSE ledger must "
        "do; on one core, then in one forkserver process per core over chunks of 2,048",
    ),
    (
        "securesystemslib",
        "`securesystemslib.dsse.Envelope.from_dict(json.loads(line))` then `.verify([key], "
        "1)` with Ed25519 `SSlibKey`s made beforehand (the `bench` extra)",
    ),
)


def write(results: Results, path: Path) -> None:
    """Rewrite ``path`` whole (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(render(results), encoding="utf-8")
    os.replace(temp, path)
