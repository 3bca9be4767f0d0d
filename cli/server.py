"""``bloc serve``: the home's ledger as a shared service over HTTP."""

from __future__ import annotations

import click

from ledger.net import DEFAULT_BURST, DEFAULT_LISTEN, DEFAULT_RATE, Limits, Listen, serve

from .common import current_home


def _announce(line: str) -> None:
    click.echo(line)


@click.command("serve")
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    metavar="HOST:PORT",
    help="Address to listen on (port 0: any free port, printed).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Worker processes (more than one needs a PostgreSQL ledger).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_RATE,
    show_default=True,
    help="Requests per second each address (and each reading key) may sustain.",
)
@click.option(
    "--burst",
    type=click.IntRange(min=1),
    default=DEFAULT_BURST,
    show_default=True,
    help="Requests a client may make at once before --rate applies.",
)
@click.pass_context
def serve_command(ctx: click.Context, listen: str, workers: int, rate: float, burst: int) -> None:
    """Serve this home's ledger: signed records in (POST /v1/records), checkpoints, C2SP
    tiles and signed reads out. Prints 'listening on http://HOST:PORT' once it accepts
    requests; SIGTERM lets in-flight requests finish and exits 0. One JSON line per request
    on stderr."""
    home = current_home(ctx)
    limits = Limits(rate_per_second=rate, burst=burst)
    serve(
        home.path,
        listen=Listen.parse(listen),
        workers=workers,
        announce=_announce,
        limits=limits,
    )
