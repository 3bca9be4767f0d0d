"""The ``bloc`` group: global options, error mapping, and the subcommands."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from ledger import __version__
from ledger.errors import LedgerError

from . import (
    compliance,
    demo,
    evidence,
    keys,
    log,
    picture,
    provenance,
    records,
    server,
    setup,
    verify,
    witness,
)
from .common import EXIT_INTERNAL, EXIT_USAGE, Settings, exit_code_for


def _fail(message: str, exit_code: int, *, label: str = "error") -> NoReturn:
    """One line on stderr, then exit with the code the README's table gives.

    ``label`` says whose fault it is: ``error`` for what the user can fix (input,
    configuration, a failed verification), ``internal error`` for a bug in bloc.
    """
    click.echo(f"bloc: {label}: {message}", err=True)
    raise click.exceptions.Exit(exit_code)


class BlocGroup(click.Group):
    """The root group: maps every exception a command lets through to one line and an exit
    code. The library's errors and the environment's (a file that cannot be read) are the
    user's to fix; anything else is a bug, exit 70 (``EX_SOFTWARE``), so that a script can
    tell the two apart."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except LedgerError as e:
            self._trace(ctx)
            _fail(e.diagnostics(), exit_code_for(e))
        except BrokenPipeError:
            raise  # click exits quietly when the reader of our output went away
        except OSError as e:
            self._trace(ctx)
            where = f"{e.filename}: " if e.filename else ""
            _fail(f"{where}{e.strerror or e}", EXIT_USAGE)
        except Exception as e:
            self._trace(ctx)
            _fail(
                f"{_one_line(e)} (please report; --debug shows the traceback)",
                EXIT_INTERNAL,
                label="internal error",
            )

    @staticmethod
    def _trace(ctx: click.Context) -> None:
        if isinstance(ctx.obj, Settings) and ctx.obj.debug:
            traceback.print_exc()


def _one_line(error: Exception) -> str:
    """``Type: first line of the message`` (or just the type when there is no message)."""
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text.splitlines()[0]}" if text else name


@click.group(cls=BlocGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="The ledger home (default: $BLOC_HOME, else the current directory).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="bloc")
@click.pass_context
def bloc(ctx: click.Context, home: Path | None, debug: bool) -> None:
    """Bloc Ledger: signed, tamper-evident provenance for critical minerals.

    Exit codes: 0 ok, 1 fail, 2 usage or configuration error, 3 integrity or verification
    failure, 4 inconclusive, 5 some submitted records rejected, 70 internal error (a bug).
    """
    ctx.obj = Settings(home=home, debug=debug)


bloc.add_command(setup.init)
bloc.add_command(setup.connect)
bloc.add_command(keys.keys)
bloc.add_command(records.sign)
bloc.add_command(records.submit)
bloc.add_command(records.register)
bloc.add_command(verify.verify)
bloc.add_command(log.log)
bloc.add_command(provenance.trace)
bloc.add_command(provenance.findings)
bloc.add_command(provenance.reindex)
bloc.add_command(picture.graph)
bloc.add_command(compliance.check)
bloc.add_command(compliance.policy)
bloc.add_command(evidence.evidence)
bloc.add_command(evidence.verify_bundle_command)
bloc.add_command(demo.demo_command)
bloc.add_command(server.serve_command)
bloc.add_command(witness.witness)


def main() -> None:
    bloc(prog_name="bloc")
