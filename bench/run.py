"""The benchmark harness: ``python -m bench`` (``--help`` for the options).

For each size: a cached corpus (:mod:`bench.corpus`), the baselines without a database,
then on each backend: ingest into empty databases (1 submitter; 4 concurrent on
PostgreSQL), ``bloc serve`` under concurrent HTTP clients (:mod:`bench.serve`), and on the
ledger the last ingest built: verify, per-lot trace/check latencies (library and CLI)
beside the recursive CTE, check --all, evidence build and offline verification. Every
figure is repeated; a measurement that fails is written as ``failed: <why>`` and the run
goes on. ``bench/RESULTS.md`` is rewritten after every measurement, so an interrupted run
still leaves what it measured.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import random
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx

from bench import baselines, corpus, report, serve
from bench.measure import BenchError, Postgres, import_profile, percentile, run_bloc
from ledger import __version__
from ledger import evidence as bundles
from ledger.compliance import policy as policies
from ledger.provenance import graph
from ledger.records.model import LotId
from ledger.service import Ledger, verify_bundle
from ledger.service.home import find_home

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "bench" / "RESULTS.md"
POLICY = "dfars-252.225-7052"
END_USE = "defense"
SUBMITTERS = 4

MEASUREMENT_KEYS: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest1",),
    "ingest-atomic": ("ingest1_atomic",),
    "ingest4": ("ingest4",),
    "serve": tuple(key for load in serve.LOADS for key in load.keys),
    "verify": ("verify",),
    "lots": ("trace_p50", "trace_p99", "check_p50", "check_p99", "cte_p50", "cte_p99"),
    "cli-lots": ("cli_trace_p50", "cli_trace_p99", "cli_check_p50", "cli_check_p99"),
    "check-all": ("check_all_s", "check_all_mib"),
    "evidence": ("evidence_cli", "verify_bundle_cli", "evidence_lib", "verify_bundle_lib"),
}
"""The figures each measurement on a backend gives."""

MEASUREMENTS = (
    "startup",
    "limit",
    "floor",
    "sslib",
    "ingest",
    "ingest-atomic",
    "ingest4",
    "serve",
    "verify",
    "lots",
    "cli-lots",
    "check-all",
    "evidence",
)


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _one_line(error: BaseException, limit: int = 200) -> str:
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    if not isinstance(error, BenchError):
        first = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return first if len(first) <= limit else first[: limit - 1] + "…"


@dataclass(frozen=True, slots=True, kw_only=True)
class Options:
    sizes: list[int]
    seed: int
    repeat: dict[int, int]
    """Runs of every measurement, by size."""
    backends: list[str]
    postgres_url: str
    measurements: frozenset[str]
    lots: int
    cli_lots: int
    chunk: int
    cache: Path
    output: Path
    json_output: Path | None
    timeout: float | None
    keep: bool
    quick: bool


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure Bloc Ledger on synthetic ledgers and rewrite bench/RESULTS.md.",
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="comma-separated ledger sizes in records (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default: 7)")
    parser.add_argument(
        "--repeat",
        default="3",
        help="runs of every measurement: one number, or one per size, comma-separated (default: 3)",
    )
    parser.add_argument(
        "--backends",
        default="sqlite,postgresql",
        help="comma-separated: sqlite, postgresql (default: %(default)s)",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "BLOC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL database to connect to; every run creates and drops databases of "
        "its own on that server (default: $BLOC_BENCH_POSTGRES_URL or %(default)s)",
    )
    parser.add_argument(
        "--only", help=f"comma-separated measurements to take, of: {', '.join(MEASUREMENTS)}"
    )
    parser.add_argument("--skip", help="comma-separated measurements to leave out")
    parser.add_argument(
        "--lots", type=int, default=200, help="random lots for per-lot latencies (default: 200)"
    )
    parser.add_argument(
        "--cli-lots",
        type=int,
        default=20,
        help="of those, how many also go through the CLI (default: 20)",
    )
    parser.add_argument(
        "--chunk",
        type=int,
        default=100_000,
        help="envelopes per 'bloc submit' call (default: 100000)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=corpus.default_cache(),
        help=f"corpus cache (default: ${corpus.CACHE_ENV} or ~/.cache/bloc-bench)",
    )
    parser.add_argument("--output", type=Path, help="the results file (default: bench/RESULTS.md)")
    parser.add_argument("--json", type=Path, dest="json_output", help="also write raw figures")
    parser.add_argument(
        "--timeout",
        type=float,
        default=6 * 3600,
        help="seconds any one bloc command may take (default: 21600; 0: no limit)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the ledgers built (homes and databases)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: one tiny size (300), 1 repeat, few lots, PostgreSQL only when "
        "reachable, results to a temporary file unless --output is given",
    )
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    lots, cli_lots = args.lots, args.cli_lots
    try:
        counts = [int(r) for r in str(args.repeat).split(",") if r.strip()]
    except ValueError:
        parser.error("--repeat takes whole numbers")
    if args.quick:
        if "--sizes" not in (argv if argv is not None else sys.argv):
            sizes = [300]
        counts, lots, cli_lots = [1], min(lots, 20), min(cli_lots, 3)
    if len(counts) not in (1, len(sizes)):
        parser.error("--repeat takes one number, or one per size")
    repeat = dict(zip(sizes, counts * len(sizes) if len(counts) == 1 else counts, strict=True))
    backends = _backends(parser, args.backends)
    chosen = _measurements(parser, args.only, args.skip)
    if (
        min(repeat.values(), default=1) < 1
        or lots < 1
        or cli_lots < 0
        or args.chunk < 1
        or any(s < 50 for s in sizes)
    ):
        parser.error("--repeat, --lots and --chunk must be positive, sizes at least 50")
    output = args.output
    if output is None:
        output = (
            Path(tempfile.gettempdir()) / f"bloc-bench-quick-{os.getpid()}.md"
            if args.quick
            else DEFAULT_OUTPUT
        )
    return Options(
        sizes=sizes,
        seed=args.seed,
        repeat=repeat,
        backends=backends,
        postgres_url=args.postgres_url,
        measurements=frozenset(chosen),
        lots=lots,
        cli_lots=min(cli_lots, lots),
        chunk=args.chunk,
        cache=args.cache,
        output=output,
        json_output=args.json_output,
        timeout=args.timeout or None,
        keep=args.keep,
        quick=args.quick,
    )


def _backends(parser: argparse.ArgumentParser, listed: str) -> list[str]:
    backends = [b.strip() for b in listed.split(",") if b.strip()]
    backends = ["postgresql" if b in ("postgres", "pg") else b for b in backends]
    for backend in backends:
        if backend not in report.BACKEND_NAMES:
            parser.error(f"unknown backend {backend!r}: sqlite or postgresql")
    return backends


def _measurements(parser: argparse.ArgumentParser, only: str | None, skip: str | None) -> set[str]:
    chosen = set(MEASUREMENTS)
    if only:
        chosen = {m.strip() for m in only.split(",") if m.strip()}
    if skip:
        chosen -= {m.strip() for m in skip.split(",")}
    unknown = chosen - set(MEASUREMENTS)
    if unknown:
        parser.error(
            f"unknown measurement {sorted(unknown)[0]!r}: one of {', '.join(MEASUREMENTS)}"
        )
    return chosen


# -- the machine -------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def machine(postgres: Postgres | None, postgres_problem: str | None) -> list[tuple[str, str]]:
    commit = _git("rev-parse", "--short=12", "HEAD").strip() or "unknown"
    changed = [
        line[3:]
        for line in _git("status", "--porcelain").splitlines()
        if line[3:] and line[3:] != "bench/RESULTS.md"  # rewritten by this run
    ]
    dirty = ""
    if changed:
        shown = ", ".join(changed[:10]) + (f" and {len(changed) - 10} more" if changed[10:] else "")
        dirty = f" with uncommitted changes in {shown} (the working tree is what was measured)"
    if postgres is None:
        pg = "not used"
    elif postgres_problem:
        pg = postgres_problem
    else:
        try:
            pg = postgres.version()
        except Exception as e:
            pg = f"unknown ({_one_line(e)})"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("CPU", f"{_cpu_model()}, {os.cpu_count()} logical cores"),
        ("memory", _memory()),
        (
            "load average at the start (1, 5, 15 min)",
            f"{load} — the machine may be shared: figures from a loaded machine are low",
        ),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", pg),
        ("bloc-ledger", f"{__version__} at commit {commit}{dirty}"),
    ]


# -- the harness -------------------------------------------------------------------------


class Harness:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.postgres: Postgres | None = None
        postgres_problem = None
        if "postgresql" in options.backends:
            self.postgres = Postgres(options.postgres_url)
            postgres_problem = self.postgres.problem()
        self.postgres_problem = postgres_problem
        backends = list(options.backends)
        argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
        runs = ", ".join(
            f"{n} run{'s' if n > 1 else ''} at {size:,}" for size, n in options.repeat.items()
        )
        self.results = report.Results(
            started=datetime.now(UTC),
            command=f"python -m bench {argv}".strip(),
            machine=machine(self.postgres, postgres_problem),
            settings=(
                f"Settings: sizes {', '.join(f'{s:,}' for s in options.sizes)}; seed "
                f"{options.seed}; {runs} of every measurement; "
                f"{options.lots} random lots for per-lot latencies ({options.cli_lots} of them "
                f"also through the CLI); chunks of at most {options.chunk:,} envelopes per "
                f"`bloc submit`; {SUBMITTERS} concurrent submitters on PostgreSQL; `bloc serve` "
                f"loads: {'; '.join(load.describe() for load in serve.LOADS)} (the last "
                "two on PostgreSQL only)."
            ),
            sizes=list(options.sizes),
            backends=backends,
        )
        if postgres_problem and options.quick:
            self.results.notes.append(f"PostgreSQL skipped (quick mode): {postgres_problem}")
            self.results.backends = [b for b in backends if b != "postgresql"]
        elif postgres_problem:
            self.results.notes.append(postgres_problem)
        self.work = Path(tempfile.mkdtemp(prefix="bloc-bench-"))
        self.policy = policies.load(POLICY)

    # bookkeeping

    def wanted(self, measurement: str) -> bool:
        return measurement in self.o.measurements

    def save(self) -> None:
        report.write(self.results, self.o.output)
        if self.o.json_output is not None:
            raw = {
                f"{size}/{scope}/{key}": {"values": cell.values, "note": cell.note}
                for (size, scope, key), cell in self.results.cells.items()
            }
            self.o.json_output.write_text(json.dumps(raw, indent=2) + "\n")

    @contextmanager
    def measuring(self, what: str, *cells: report.Cell) -> Iterator[None]:
        """Run a measurement; a failure marks its cells ``failed: ...`` and is not raised."""
        log(what)
        try:
            yield
        except Exception as e:
            message = f"failed: {_one_line(e)}"
            log(f"{what}: {message}")
            traceback.print_exc(file=sys.stderr)
            for cell in cells:
                cell.note = message
        finally:
            self.save()

    def timeout(self) -> float | None:
        return self.o.timeout

    # the run

    def run(self) -> int:
        log(f"results go to {self.o.output}; work directory {self.work}")
        try:
            self.save()
            if self.wanted("startup"):
                cell = self.results.cell(0, report.NO_DB, "startup")
                with self.measuring("start-up: bloc --version", cell):
                    for _ in range(max(3, *self.o.repeat.values())):
                        cell.values.append(run_bloc(["--version"], timeout=60).seconds)
                self.startup_imports()
            for size in self.o.sizes:
                self.run_size(size)
        finally:
            self.results.finished = datetime.now(UTC)
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            self.results.machine.append(("load average at the end", load))
            self.save()
            if self.postgres is not None and not self.o.keep:
                self.postgres.drop_all()
            if not self.o.keep:
                shutil.rmtree(self.work, ignore_errors=True)
            else:
                log(f"kept the ledgers in {self.work}")
        log(f"wrote {self.o.output}")
        return 0

    def startup_imports(self) -> None:
        """What ``bloc --help`` costs, and what ``bloc check`` imports before any work
        (``python -X importtime``), as rows of the machine table."""
        helps = [run_bloc(["--help"], timeout=60).seconds for _ in range(3)]
        self.results.machine.append(
            ("start-up (`bloc --help`)", f"{statistics.median(helps):.3f} s (median of 3)")
        )
        try:
            total, packages = import_profile("ledger.cli.compliance")
        except BenchError as e:
            self.results.machine.append(("imports of `bloc check`", f"failed: {e}"))
            return
        named = ", ".join(
            f"{name} {seconds * 1000:.0f} ms"
            for name, seconds in sorted(packages.items(), key=lambda kv: -kv[1])
        )
        self.results.machine.append(
            (
                "imports of `bloc check` (`python -X importtime`, before any work)",
                f"{total * 1000:.0f} ms, of which {named}",
            )
        )

    def run_size(self, size: int) -> None:
        results = self.results
        try:
            corpus_ = corpus.ensure(size, self.o.seed, self.o.cache, log=log)
            envelopes = corpus_.envelopes()
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            results.fact(size, f"failed: the corpus could not be made: {_one_line(e)}")
            self.save()
            return
        kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(corpus_.kinds.items()))
        results.fact(
            size,
            f"corpus: `ledger.demo.synthetic({size}, seed={self.o.seed})`, {corpus_.count:,} "
            f"signed envelopes ({kinds}), cached in `{corpus_.path}`",
        )
        run = SizeRun(self, corpus_, envelopes)
        try:
            run.baselines()
            for backend in results.backends:
                run.backend(backend)
        finally:
            gc.unfreeze()


class SizeRun:
    """Everything measured at one size."""

    def __init__(self, harness: Harness, corpus_: corpus.Corpus, envelopes: list[bytes]) -> None:
        self.h = harness
        self.o = harness.o
        self.corpus = corpus_
        self.size = corpus_.size
        self.repeat = harness.o.repeat[corpus_.size]
        self.envelopes = envelopes
        # Keep the collector from walking the corpus during in-process timings.
        gc.collect()
        gc.freeze()
        self.numbers = itertools.count()
        self.submit_rss = 0
        """The largest peak RSS of a ``bloc submit`` process so far."""
        self.sample: list[str] | None = None
        self.evidence_lot: str | None = None

    def cell(self, scope: str, key: str) -> report.Cell:
        return self.h.results.cell(self.size, scope, key)

    def fact(self, text: str, backend: str | None = None) -> None:
        self.h.results.fact(self.size, text, backend)

    # baselines without a database

    def baselines(self) -> None:
        n = len(self.envelopes)
        if self.h.wanted("limit"):
            cell = self.cell(report.NO_DB, "limit")
            with self.h.measuring(f"{self.size:,}: limit (no storage)", cell):
                for _ in range(self.repeat):
                    cell.values.append(n / baselines.limit(self.envelopes, self.corpus.keys))
        if self.h.wanted("floor"):
            for key, measure, what in (
                ("floor1", baselines.floor, "one core"),
                ("floor_all", baselines.floor_all_cores, "every core"),
            ):
                cell = self.cell(report.NO_DB, key)
                with self.h.measuring(f"{self.size:,}: floor, {what}", cell):
                    for _ in range(self.repeat):
                        cell.values.append(n / measure(self.envelopes, self.corpus.keys))
        if self.h.wanted("sslib"):
            cell = self.cell(report.NO_DB, "sslib")
            if not baselines.securesystemslib_available():
                cell.note = f"skipped: {baselines.SECURESYSTEMSLIB_MISSING}"
                self.h.save()
            else:
                with self.h.measuring(f"{self.size:,}: securesystemslib DSSE verify", cell):
                    for _ in range(self.repeat):
                        seconds = baselines.securesystemslib_verify(
                            self.envelopes, self.corpus.keys
                        )
                        cell.values.append(n / seconds)

    # one backend

    def backend(self, backend: str) -> None:
        if backend == "postgresql" and self.h.postgres_problem:
            self.note_unreachable(backend)
            return
        homes: list[Path] = []
        try:
            ledger_home = self.ingests(backend, homes)
            if self.h.wanted("serve"):
                self.serve_loads(backend, homes)
            reads = {"verify", "lots", "cli-lots", "check-all", "evidence"} & self.o.measurements
            if not reads:
                return
            if ledger_home is None:
                ledger_home = self.build_untimed(backend, homes)
            if ledger_home is None:
                for key in ("verify", "trace_p50", "check_all_s", "evidence_cli"):
                    self.cell(backend, key).note = "failed: no ledger to read (see above)"
                return
            self.reads(backend, ledger_home)
        finally:
            if not self.o.keep:
                for home in homes:
                    self.discard(home)

    def note_unreachable(self, backend: str) -> None:
        for measurement, keys in MEASUREMENT_KEYS.items():
            if self.h.wanted(measurement):
                for key in keys:
                    self.cell(backend, key).note = "failed: PostgreSQL not reachable (notes)"
        self.h.save()

    def ingests(self, backend: str, homes: list[Path]) -> Path | None:
        """The timed ingests; the home one of them built, for the reads to use."""
        ledger_home: Path | None = None
        if self.h.wanted("ingest"):
            ledger_home = self.ingest(backend, "ingest1", 1, homes)
        if self.h.wanted("ingest-atomic"):
            kept = self.ingest(backend, "ingest1_atomic", 1, homes, atomic=True)
            if ledger_home is None:
                ledger_home = kept
            elif kept is not None and not self.o.keep:
                homes.remove(kept)
                self.discard(kept)
        if backend == "postgresql" and self.h.wanted("ingest4"):
            kept = self.ingest(backend, "ingest4", SUBMITTERS, homes)
            if ledger_home is None:
                ledger_home = kept
            elif kept is not None and not self.o.keep:
                homes.remove(kept)
                self.discard(kept)
        return ledger_home

    def build_untimed(self, backend: str, homes: list[Path]) -> Path | None:
        """A ledger for the reads when no ingest built one; None when building failed."""
        name = report.BACKEND_NAMES[backend]
        ledger_home: Path | None = None
        with self.h.measuring(f"{self.size:,} {name}: building the ledger (untimed)"):
            built = self.new_home(backend, homes)
            self.build_in_process(built)
            ledger_home = built
            self.fact("the ledger read below was built in-process (untimed)", backend)
        return ledger_home

    def new_home(self, backend: str, homes: list[Path]) -> Path:
        directory = self.h.work / f"{self.size}-{backend}-{next(self.numbers)}"
        if backend == "sqlite":
            url = "sqlite:///ledger.db"
        else:
            assert self.h.postgres is not None
            url = self.h.postgres.create()
        homes.append(directory)
        corpus.make_home(directory, self.corpus, url)
        return directory

    def discard(self, home: Path) -> None:
        try:
            url = find_home(home, None, Path.cwd()).db_url
            if url.startswith("postgresql") and self.h.postgres is not None:
                self.h.postgres.drop(url)
        except Exception as e:
            log(f"could not drop the database of {home}: {_one_line(e)}")
        shutil.rmtree(home, ignore_errors=True)

    @staticmethod
    def db_url(home: Path) -> str:
        return find_home(home, None, Path.cwd()).db_url

    # ingest

    def ingest(
        self, backend: str, key: str, submitters: int, homes: list[Path], *, atomic: bool = False
    ) -> Path | None:
        """Repeated ingests into new databases; returns the home of the last good one. The
        default is what users run, ``bloc submit FILE``; ``atomic`` adds ``--atomic``."""
        name = report.BACKEND_NAMES[backend]
        cell = self.cell(backend, key)
        kept: Path | None = None
        if submitters == 1:
            phases = [[list(range(len(self.envelopes)))]]
        else:
            streams = self.corpus.streams(submitters)
            phases = [[streams.leading], streams.streams, [streams.trailing]]
            sizes = ", ".join(f"{len(s):,}" for s in streams.streams)
            self.fact(
                f"ingest with {submitters} submitters: {len(streams.leading):,} registrations "
                "first, then "
                f"streams of {sizes} events ({streams.components:,} supply chains, the "
                f"largest {streams.largest:,} records), then {len(streams.trailing):,} key "
                "revocation(s)",
                backend,
            )
        with self.h.measuring(f"{self.size:,} {name}: {key}", cell):
            for attempt in range(self.repeat):
                home = self.new_home(backend, homes)
                seconds = self.submit(home, phases, atomic=atomic)
                cell.values.append(len(self.envelopes) / seconds)
                log(f"  run {attempt + 1}: {cell.values[-1]:,.0f} records/s ({seconds:.1f} s)")
                if kept is not None and not self.o.keep:
                    homes.remove(kept)
                    self.discard(kept)
                kept = home
        if self.submit_rss:
            self.fact(
                f"ingest with {submitters} submitter{'s' if submitters > 1 else ''}: the "
                "largest `bloc submit` process peaked at "
                f"{self.submit_rss / 2**20:,.0f} MiB",
                backend,
            )
            self.submit_rss = 0
        return kept

    def submit(self, home: Path, phases: list[list[list[int]]], *, atomic: bool) -> float:
        """Write the chunk files, then time submitting them: phase after phase, the streams
        of a phase concurrently, the chunks of a stream one after another."""
        chunks = home.parent / f"{home.name}-chunks"
        chunks.mkdir()
        plan: list[list[list[tuple[Path, int]]]] = []
        for p, phase in enumerate(phases):
            streams: list[list[tuple[Path, int]]] = []
            for s, positions in enumerate(phase):
                files = []
                for c in range(0, len(positions), self.o.chunk):
                    part = positions[c : c + self.o.chunk]
                    path = chunks / f"phase{p}-stream{s}-{c // self.o.chunk:05d}.jsonl"
                    path.write_bytes(b"".join(self.envelopes[i] + b"\n" for i in part))
                    files.append((path, len(part)))
                if files:
                    streams.append(files)
            if streams:
                plan.append(streams)
        try:
            started = time.perf_counter()
            for streams in plan:
                if len(streams) == 1:
                    self.submit_stream(home, streams[0], atomic=atomic)
                    continue
                with ThreadPoolExecutor(max_workers=len(streams)) as pool:
                    running = [
                        pool.submit(self.submit_stream, home, files, atomic=atomic)
                        for files in streams
                    ]
                    for future in running:
                        future.result()
            seconds = time.perf_counter() - started
        finally:
            shutil.rmtree(chunks, ignore_errors=True)
        self.check_stored(home)
        return seconds

    def check_stored(self, home: Path) -> None:
        """The ledger of ``home`` must hold every envelope of the corpus."""
        cte = baselines.UpstreamCte(self.db_url(home))
        try:
            stored = cte.tree_size()
        finally:
            cte.close()
        if stored != len(self.envelopes):
            raise BenchError(
                f"the ledger holds {stored:,} entries after ingest, not {len(self.envelopes):,}"
            )

    def submit_stream(self, home: Path, files: list[tuple[Path, int]], *, atomic: bool) -> None:
        for path, count in files:
            done = run_bloc(
                [
                    "--home",
                    str(home),
                    "submit",
                    str(path),
                    *(["--atomic"] if atomic else []),
                    "--json",
                ],
                ok=(0, 5),
                timeout=self.h.timeout(),
            )
            results = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
            rejected = [r for r in results if r.get("status") == "rejected"]
            if rejected or done.returncode != 0:
                errors = [str(r.get("reason")) for r in rejected]
                # In an atomic batch the others say "not stored"; name the real rejections.
                real = [e for e in errors if not e.startswith("not stored")] or errors
                first = real[0] if real else done.stderr.strip()
                raise BenchError(
                    f"{len(real)} of {count} envelopes rejected in {path.name} (the batch "
                    f"was not stored): {first}"
                )
            if len(results) != count:
                raise BenchError(f"{path.name}: {len(results)} results for {count} envelopes")
            log(f"    {path.name}: {count:,} envelopes in {done.seconds:.2f} s")
            self.submit_rss = max(self.submit_rss, done.max_rss_bytes)

    # the service

    def serve_loads(self, backend: str, homes: list[Path]) -> None:
        """Each load of :data:`bench.serve.LOADS` (several workers: PostgreSQL only), at the
        sizes up to :data:`bench.serve.LARGEST`."""
        if self.size > serve.LARGEST:
            self.fact(
                f"`bloc serve` is measured up to {serve.LARGEST:,} records: the whole corpus "
                "through 32 clients sending one record per request would take hours here",
                backend,
            )
            return
        for load in serve.LOADS:
            if load.workers == 1 or backend == "postgresql":
                self.serve_load(backend, load, homes)

    def serve_load(self, backend: str, load: serve.Load, homes: list[Path]) -> None:
        """Repeated runs of ``load``, each on a new home with an empty database."""
        name = report.BACKEND_NAMES[backend]
        rate, p50, p99 = (self.cell(backend, key) for key in load.keys)
        with self.h.measuring(f"{self.size:,} {name}: {load.describe()}", rate, p50, p99):
            streams = self.corpus.streams(load.clients)
            for attempt in range(self.repeat):
                outcome, commits = self.serve_once(backend, load, streams, homes)
                rate.values.append(outcome.rate)
                p50.values.append(percentile(outcome.latencies_ms, 50))
                p99.values.append(percentile(outcome.latencies_ms, 99))
                log(
                    f"  run {attempt + 1}: {outcome.rate:,.0f} records/s ({outcome.seconds:.1f} "
                    f"s), latency p50 {p50.values[-1]:,.1f} ms, p99 {p99.values[-1]:,.1f} ms"
                )
            self.fact(serve.describe(load, streams, outcome, commits), backend)

    def serve_once(
        self, backend: str, load: serve.Load, streams: corpus.Streams, homes: list[Path]
    ) -> tuple[serve.Outcome, int]:
        """One server run on a new home, which is discarded after it (unless ``--keep``);
        the commits of its timed phase."""
        home = self.new_home(backend, homes)
        try:
            outcome = serve.measure(home, load, self.envelopes, streams)
            self.check_stored(home)
            cte = baselines.UpstreamCte(self.db_url(home))
            try:
                first = len(streams.leading)
                commits = cte.checkpoints(first, first + outcome.records)
            finally:
                cte.close()
        finally:
            if not self.o.keep:
                homes.remove(home)
                self.discard(home)
        return outcome, commits

    def build_in_process(self, home: Path) -> None:
        ledger = find_home(home, None, Path.cwd()).ledger()
        try:
            for start in range(0, len(self.envelopes), 2000):
                batch = self.envelopes[start : start + 2000]
                results = ledger.submit(batch, now=datetime.now(UTC), atomic=True)
                bad = next((r for r in results if not r.accepted), None)
                if bad is not None:
                    raise BenchError(f"envelope {start + bad.position} rejected: {bad.error}")
        finally:
            ledger.store.dispose()

    # reads

    def reads(self, backend: str, home: Path) -> None:
        name = report.BACKEND_NAMES[backend]
        label = f"{self.size:,} {name}"
        as_of = self.corpus.as_of.isoformat()
        n = len(self.envelopes)
        if self.h.wanted("verify"):
            cell = self.cell(backend, "verify")
            with self.h.measuring(f"{label}: bloc verify", cell):
                for _ in range(self.repeat):
                    done = run_bloc(
                        ["--home", str(home), "verify", "--json"], timeout=self.h.timeout()
                    )
                    outcome = json.loads(done.stdout)
                    if not outcome["ok"] or outcome["entries"] != n:
                        raise BenchError(f"bloc verify: {done.stdout.strip()[:200]}")
                    cell.values.append(n / done.seconds)
        if self.h.wanted("lots") or self.h.wanted("cli-lots"):
            self.lots(backend, home, label, as_of)
        if self.h.wanted("check-all"):
            wall, memory = self.cell(backend, "check_all_s"), self.cell(backend, "check_all_mib")
            with self.h.measuring(f"{label}: bloc check --all", wall, memory):
                for _ in range(self.repeat):
                    done = run_bloc(
                        [
                            "--home",
                            str(home),
                            "check",
                            "--all",
                            "--end-use",
                            END_USE,
                            "--policy",
                            POLICY,
                            "--as-of",
                            as_of,
                        ],
                        ok=(0, 1, 4),
                        timeout=self.h.timeout(),
                    )
                    wall.values.append(done.seconds)
                    memory.values.append(done.max_rss_bytes / 1024 / 1024)
                first = done.stdout.splitlines()[0] if done.stdout else ""
                self.fact(f"check --all judged {first}", backend)
        if self.h.wanted("evidence"):
            self.evidence(backend, home, label, as_of)

    def lot_sample(self, cte: baselines.UpstreamCte) -> list[str]:
        if self.sample is None:
            lots = cte.lot_ids()
            chooser = random.Random(self.o.seed)
            self.sample = chooser.sample(lots, min(self.o.lots, len(lots)))
            cli = min(self.o.cli_lots, len(self.sample)) if self.h.wanted("cli-lots") else 0
            self.fact(
                f"per-lot latencies over {len(self.sample)} of the ledger's {len(lots):,} lots, "
                f"chosen at random (seed {self.o.seed})"
                + (f"; {cli} of them also through the CLI" if cli else "")
            )
        return self.sample

    def lots(self, backend: str, home: Path, label: str, as_of: str) -> None:
        keys = ("trace_p50", "trace_p99", "check_p50", "check_p99", "cte_p50", "cte_p99")
        cells = {key: self.cell(backend, key) for key in keys}
        cte = baselines.UpstreamCte(self.db_url(home))
        ledger: Ledger | None = None
        try:
            sample = self.lot_sample(cte)
            if self.h.wanted("lots"):
                with self.h.measuring(f"{label}: per-lot latency (library, CTE)", *cells.values()):
                    ledger = find_home(home, None, Path.cwd()).ledger(writer=False)
                    self.check_cte(ledger, cte, sample)
                    for lot in sample[:3]:  # warm-up: caches, connections
                        ledger.trace(lot)
                        ledger.check(lot, policy=self.h.policy, as_of=self.corpus.as_of)
                        cte.upstream(lot)
                    for _ in range(self.repeat):
                        trace_ms = self.timed(sample, ledger.trace)
                        check_ms = self.timed(
                            sample,
                            lambda lot, lg=ledger: lg.check(
                                lot, policy=self.h.policy, as_of=self.corpus.as_of
                            ),
                        )
                        cte_ms = self.timed(sample, cte.upstream)
                        for name, values in (
                            ("trace", trace_ms),
                            ("check", check_ms),
                            ("cte", cte_ms),
                        ):
                            cells[f"{name}_p50"].values.append(percentile(values, 50))
                            cells[f"{name}_p99"].values.append(percentile(values, 99))
        finally:
            cte.close()
            if ledger is not None:
                ledger.store.dispose()
        if self.h.wanted("cli-lots") and self.o.cli_lots > 0:
            keys = ("cli_trace_p50", "cli_trace_p99", "cli_check_p50", "cli_check_p99")
            cli = {key: self.cell(backend, key) for key in keys}
            with self.h.measuring(f"{label}: per-lot latency (CLI)", *cli.values()):
                chosen = sample[: self.o.cli_lots]
                for _ in range(self.repeat):
                    trace_ms = [
                        1000
                        * run_bloc(
                            ["--home", str(home), "trace", lot, "--format", "json"],
                            timeout=self.h.timeout(),
                        ).seconds
                        for lot in chosen
                    ]
                    check_ms = [
                        1000
                        * run_bloc(
                            [
                                "--home",
                                str(home),
                                "check",
                                lot,
                                "--policy",
                                POLICY,
                                "--as-of",
                                as_of,
                                "--json",
                            ],
                            ok=(0, 1, 4),
                            timeout=self.h.timeout(),
                        ).seconds
                        for lot in chosen
                    ]
                    for name, values in (("trace", trace_ms), ("check", check_ms)):
                        cli[f"cli_{name}_p50"].values.append(percentile(values, 50))
                        cli[f"cli_{name}_p99"].values.append(percentile(values, 99))

    @staticmethod
    def timed(lots: Sequence[str], call: Callable[[str], object]) -> list[float]:
        times = []
        for lot in lots:
            started = time.perf_counter()
            call(lot)
            times.append(1000 * (time.perf_counter() - started))
        return times

    def check_cte(self, ledger: Ledger, cte: baselines.UpstreamCte, sample: Sequence[str]) -> None:
        """The CTE must find exactly the lots ``Ledger.trace`` finds, for every sampled lot."""
        for lot in sample:
            traced = {n for n, d in ledger.trace(lot).nodes(data=True) if d["kind"] == "lot"}
            found = cte.upstream(lot)
            if traced != found:
                raise BenchError(
                    f"the recursive CTE finds {len(found)} lots upstream of {lot}, "
                    f"bloc trace {len(traced)}"
                )

    def pick_evidence_lot(self, ledger: Ledger) -> str:
        """The lot shipped for defense with the most upstream lots (ties: the first id)."""
        if self.evidence_lot is not None:
            return self.evidence_lot
        with ledger.store.reader() as tx:
            everything = graph.build_all(tx)
        best: tuple[int, str] | None = None
        for node, data in everything.nodes(data=True):
            if data["kind"] != "lot":
                continue
            if not any(h["end_use"] == END_USE for h in data.get("hops", [])):
                continue
            upstream = sum(
                1 for a in nx.ancestors(everything, node) if everything.nodes[a]["kind"] == "lot"
            )
            if best is None or (-upstream, node) < (-best[0], best[1]):
                best = (upstream, node)
        if best is None:
            raise BenchError(f"no lot shipped for {END_USE} use")
        lot = best[1]
        upstream_lots = [LotId(a) for a in nx.ancestors(everything, lot)] + [LotId(lot)]
        with ledger.store.reader() as tx:
            records = len(tx.records_about(upstream_lots))
        self.evidence_lot = lot
        self.fact(
            f"evidence lot: `{lot}`, the lot shipped for {END_USE} use with the most upstream "
            f"lots: {best[0]:,} upstream lots, {records:,} records about it and them "
            "(the target is for 500)"
        )
        return lot

    def evidence(self, backend: str, home: Path, label: str, as_of: str) -> None:
        keys = ("evidence_cli", "verify_bundle_cli", "evidence_lib", "verify_bundle_lib")
        cells = {key: self.cell(backend, key) for key in keys}
        with self.h.measuring(f"{label}: evidence", *cells.values()):
            ledger = find_home(home, None, Path.cwd()).ledger(writer=False)
            try:
                lot = self.pick_evidence_lot(ledger)
                root = ledger.root
                outside = home.parent / f"{home.name}-offline"
                outside.mkdir(exist_ok=True)
                bundle_path = outside / "bundle.json"
                entries = 0
                for _ in range(self.repeat):
                    bundle_path.unlink(missing_ok=True)
                    built = run_bloc(
                        [
                            "--home",
                            str(home),
                            "evidence",
                            lot,
                            "--policy",
                            POLICY,
                            "--as-of",
                            as_of,
                            "-o",
                            str(bundle_path),
                        ],
                        timeout=self.h.timeout(),
                    )
                    cells["evidence_cli"].values.append(built.seconds)
                    checked = run_bloc(
                        ["verify-bundle", str(bundle_path), "--root", str(home / "root.json")],
                        cwd=outside,
                        timeout=self.h.timeout(),
                    )
                    cells["verify_bundle_cli"].values.append(checked.seconds)
                    started = time.perf_counter()
                    bundle = ledger.evidence(lot, policy=self.h.policy, as_of=self.corpus.as_of)
                    data = bundles.to_bytes(bundle)
                    cells["evidence_lib"].values.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    verify_bundle(data, root)
                    cells["verify_bundle_lib"].values.append(time.perf_counter() - started)
                    entries = len(bundle.entries)
                    if data != bundle_path.read_bytes():
                        raise BenchError("the library's bundle differs from bloc evidence's")
                self.fact(
                    f"the evidence bundle holds {entries:,} records with registrations "
                    f"({bundle_path.stat().st_size / 1024:,.0f} KiB)",
                    backend,
                )
            finally:
                ledger.store.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    harness = Harness(options)
    try:
        return harness.run()
    except KeyboardInterrupt:
        log("interrupted; the results so far are in the results file")
        return 130
