"""``bloc demo``: a realistic sample ledger, checked under both built-in policies."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click

from ledger import compliance, demo, render
from ledger.core.signing import Signer
from ledger.errors import ConfigError, LedgerError
from ledger.service import Ledger
from ledger.service.home import REGISTRAR_KEY, init_home

from . import report
from .common import counted, emit_json, json_option, now, progress_bar, write_output

BATCH = 2000
"""Envelopes per atomic submission."""

POLICIES = report.BUILT_IN
END_USE = "defense"


@click.command("demo")
@click.argument(
    "directory",
    required=False,
    default="bloc-demo",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--size",
    type=click.IntRange(min=50),
    help="A synthetic ledger of about this many records instead of the story.",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="The generator's seed.")
@click.option("--db", "db_url", help="Database URL (default: SQLite inside DIRECTORY).")
@json_option
def demo_command(
    directory: Path, size: int | None, seed: int, db_url: str | None, as_json: bool
) -> None:
    """Build a sample ledger in DIRECTORY (new; default ./bloc-demo) with real keys and
    signatures, run 'check --all --end-use defense' under both built-in policies, and write
    DIRECTORY/report.html.

    Without --size it is a story: 22 participants in 12 countries (rare-earth magnets,
    tungsten and tantalum chains) with deliberate problems — a transshipment with
    relabelling, a commingled heat, a phantom-mass repack, a revoked key, an unreceived
    shipment — beside clean chains. With --size N --seed S it is a large synthetic ledger of
    the same shapes, the same for the same seed.
    """
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"{directory} is not empty: give a new directory")
    plan = demo.story(seed=seed) if size is None else demo.synthetic(size, seed=seed)
    home = init_home(directory, db_url=db_url)
    ledger = home.ledger()
    try:
        _build(ledger, plan, home.signer(REGISTRAR_KEY), quiet=as_json)
        chosen = report.load_policies(POLICIES)
        found = report.audit(ledger, chosen, as_of=plan.as_of, end_use=END_USE, quiet=as_json)
    finally:
        ledger.store.dispose()
    page = report.page(
        found,
        title="Bloc Ledger demo",
        lede=(
            f"{len(plan.items)} signed records; {report.scope(END_USE)}, judged as of "
            f"{plan.as_of} under {' and '.join(POLICIES)}. Red marks the stages where "
            "restricted processing happened and the paths that carry its mass; amber marks "
            "sources of unknown mass."
        ),
        highlights=plan.highlights,
    )
    write_output(page.encode(), directory / "report.html", force=True)
    if as_json:
        emit_json(
            {
                "directory": str(directory),
                "records": len(plan.items),
                "as_of": str(plan.as_of),
                "end_use": END_USE,
                "lots": len(found.runs[0].verdicts),
                "policies": report.counts_document(found.runs),
                "findings": len(found.findings),
                "report": str(directory / "report.html"),
            }
        )
        return
    _summary(found.runs, plan)
    click.echo(f"\nfindings: {len(found.findings)} (bloc --home {directory} findings)")
    click.echo(f"wrote {directory / 'report.html'}")
    _next_steps(directory, found.runs, plan)


def _build(ledger: Ledger, plan: demo.Plan, registrar: Signer, *, quiet: bool) -> None:
    envelopes: list[bytes] = []
    with progress_bar(len(plan.items), "signing", quiet=quiet) as advance:
        for envelope in demo.envelopes(plan, registrar):
            envelopes.append(envelope)
            if advance is not None:
                advance(1)
    if not quiet:
        click.echo(
            f"building a ledger of {len(envelopes)} signed records "
            f"({len(plan.keys)} participants' keys)"
        )
    with progress_bar(len(envelopes), "submitting", quiet=quiet) as advance:
        for start in range(0, len(envelopes), BATCH):
            batch = envelopes[start : start + BATCH]
            results = ledger.submit(batch, now=now(), atomic=True)
            bad = next((r for r in results if not r.accepted), None)
            if bad is not None:
                raise LedgerError(
                    f"the demo's record {start + bad.position} was rejected: {bad.error}"
                )
            if advance is not None:
                advance(len(batch))


def _summary(runs: Sequence[render.PolicyRun], plan: demo.Plan) -> None:
    lots = counted(len(runs[0].verdicts) if runs else 0, "lot")
    click.echo(f"\n{lots} shipped for {END_USE} use, judged as of {plan.as_of}:\n")
    width = max(len(run.policy) for run in runs)
    click.echo(f"  {'policy':<{width}}  " + "  ".join(f"{v:>14}" for v in compliance.Outcome))
    for run in runs:
        found = render.counts(run)
        click.echo(
            f"  {run.policy:<{width}}  " + "  ".join(f"{found[v]:>14}" for v in compliance.Outcome)
        )
    for run in runs:
        bad = render.failing(run)
        if not bad:
            continue
        click.echo(f"\nunder {run.policy}:")
        for v in bad[:15]:
            click.echo(f"  {v.verdict.upper():<12} {v.lot} ({v.material}): {v.reason}")
            if v.paths:
                chain = " → ".join(f"{s.log_index} {s.stage} {s.country}" for s in v.paths[0].steps)
                click.echo(f"  {'':<12} path: {chain}")
                for step in v.paths[0].steps:
                    if step.why:
                        click.echo(f"  {'':<12} why: {step.why}")
        if len(bad) > 15:
            click.echo(f"  … and {len(bad) - 15} more (report.html lists them all)")


def _next_steps(directory: Path, runs: Sequence[render.PolicyRun], plan: demo.Plan) -> None:
    first = runs[0]
    verdicts: dict[str, list[str]] = {}
    for run in runs:
        for v in run.verdicts:
            verdicts.setdefault(v.lot, []).append(v.verdict)

    def pick(wanted: Callable[[list[str]], bool]) -> str | None:
        """A lot whose verdicts qualify, a highlighted one (the story explains it) first."""
        lots = sorted(verdicts, key=lambda lot: (lot not in plan.highlights, lot))
        return next((lot for lot in lots if wanted(verdicts[lot])), None)

    failed = pick(lambda vs: vs[0] == compliance.FAIL)
    passed = pick(lambda vs: all(v == compliance.PASS for v in vs))
    home = f"bloc --home {directory}"
    policy = f"--policy {first.policy} --as-of {plan.as_of}"
    click.echo("\nTry next:")
    for label, lot in (("failing", failed), ("passing", passed)):
        if lot is None:
            continue
        bundle = f"{directory}/{label}.bundle.json"
        why = plan.highlights.get(lot, "")
        click.echo(f"  # a {label} lot" + (f": {why}" if why else ""))
        click.echo(f"  {home} trace {lot}")
        click.echo(f"  {home} check {lot} {policy}")
        click.echo(f"  {home} graph {lot} {policy} -o {directory}/{label}.html")
        click.echo(f"  {home} evidence {lot} {policy} -o {bundle}")
        click.echo(f"  bloc verify-bundle {bundle} --root {directory}/root.json")
    click.echo("  # the whole ledger: every signature, leaf, node and checkpoint")
    click.echo(f"  {home} verify")
