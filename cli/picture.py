"""``bloc graph``: a picture of a lot's provenance, offending paths marked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from ledger.compliance import policy as policies
from ledger.errors import InputError
from ledger.render import DIRECTIONS, RENDERERS, offending_paths

from .common import (
    DATE,
    as_of_day,
    counted,
    emit_json,
    json_option,
    output_option,
    reading_ledger,
    refuse_existing,
    write_output,
)


@click.command()
@click.argument("lot")
@output_option(
    "The file to write; its suffix picks the format: .svg, .html or .dot.", required=True
)
@click.option(
    "--policy",
    "policy_name",
    help="Mark the offending paths under this policy (a built-in name or a file).",
)
@click.option("--as-of", type=DATE, help="With --policy: the delivery date that picks the window.")
@click.option(
    "--direction",
    type=click.Choice(DIRECTIONS, case_sensitive=False),
    default="auto",
    show_default=True,
    help="Stages left to right, top to bottom (narrow: for a README or a phone), or "
    "top to bottom when left to right would be wider than 1,400 px.",
)
@json_option
@click.pass_context
def graph(
    ctx: click.Context,
    lot: str,
    output: Path,
    policy_name: str | None,
    as_of: date | None,
    direction: str,
    force: bool,
    as_json: bool,
) -> None:
    """Draw LOT's provenance from mine to buyer into FILE (.svg, .html or .dot).

    With --policy, the paths that carry non-compliant mass are red and the sources of
    unknown mass amber; the HTML page adds the verdict and a table of the records.
    """
    refuse_existing(output, force=force)
    render = RENDERERS.get(output.suffix.lower())
    if render is None:
        formats = ", ".join(sorted(RENDERERS))
        raise InputError(f"{output}: cannot tell the picture format; name a {formats} file")
    if as_of is not None and policy_name is None:
        raise InputError("--as-of goes with --policy")
    chosen = policies.load(policy_name) if policy_name is not None else None
    ledger = reading_ledger(ctx)
    provenance = ledger.trace(lot)
    verdict = (
        ledger.check(lot, policy=chosen, as_of=as_of_day(as_of)) if chosen is not None else None
    )
    picture = render(provenance, verdict=verdict, direction=direction)
    write_output(picture.encode("utf-8"), output, force=force)
    kinds = [data["kind"] for _, data in provenance.nodes(data=True)]
    if as_json:
        emit_json(
            {
                "output": str(output),
                "lot": lot,
                "lots": kinds.count("lot"),
                "untraced": kinds.count("untraced"),
                "flows": provenance.number_of_edges(),
                "verdict": None if verdict is None else verdict.verdict,
                "policy": None if verdict is None else verdict.policy,
                "as_of": None if verdict is None else str(verdict.as_of),
                "offending_paths": 0 if verdict is None else len(offending_paths(verdict)),
            }
        )
        return
    parts = [counted(kinds.count("lot"), "lot")]
    if kinds.count("untraced"):
        parts.append(counted(kinds.count("untraced"), "untraced input"))
    parts.append(counted(provenance.number_of_edges(), "flow"))
    if verdict is None:
        summary = "no policy applied"
    else:
        paths = counted(len(offending_paths(verdict)), "offending path")
        parts.append(paths)
        summary = f"{verdict.verdict} under {verdict.policy} as of {verdict.as_of}"
    click.echo(f"wrote {output}: {', '.join(parts)} ({summary})")
