"""The ``bloc`` group: global options, error mapping, and the subcommands.

Subcommands are loaded when they are run, not when ``bloc`` starts: ``bloc --version`` and
``bloc --help`` import click and this package's light base only, and ``bloc check`` never
imports the HTTP stack (issue 14). :data:`COMMANDS` names each command's module and its
one-line summary (a test holds the summaries to the commands' own help).
"""

from __future__ import annotations

import importlib
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from ledger import __version__
from ledger.errors import LedgerError

from ._base import EXIT_INTERNAL, EXIT_USAGE, Settings, exit_code_for

COMMANDS: dict[str, tuple[str, str, str]] = {
    "check": (
        "compliance",
        "check",
        "The verdict on LOT (or --all lots) under a policy as of a date.",
    ),
    "connect": (
        "setup",
        "connect",
        "Make a remote home for the ledger served at URL: no database, root.json "
        "pinned, and the server's checkpoint verified and kept; later checkpoints must "
        "extend it.",
    ),
    "demo": (
        "demo",
        "demo_command",
        "Build a sample ledger in DIRECTORY (new; default ./bloc-demo) with real keys "
        "and signatures, run 'check --all --end-use defense' under both built-in "
        "policies, and write DIRECTORY/report.html.",
    ),
    "evidence": (
        "evidence",
        "evidence",
        "Write an evidence bundle for LOT: its upstream records and the whole key "
        "registry, with inclusion proofs against one witnessed checkpoint, the policy "
        "and the verdict.",
    ),
    "facilities": (
        "listing",
        "facilities",
        "The registered facilities, as their latest registration says.",
    ),
    "findings": (
        "provenance",
        "findings",
        "Integrity findings: stable code, severity, message, and the log indexes proving it.",
    ),
    "graph": (
        "picture",
        "graph",
        "Draw LOT's provenance from mine to buyer into FILE (.svg, .html or .dot).",
    ),
    "init": (
        "setup",
        "init",
        "Create a ledger home: registrar and log keys, root.json, bloc.toml, empty database.",
    ),
    "keys": (
        "keys",
        "keys",
        "Manage signing keys (in the home's keys/ directory, or anywhere with --out).",
    ),
    "log": ("log", "log", "The log's signed checkpoints and proofs."),
    "lots": (
        "listing",
        "lots",
        "The lots in the ledger: material, mass left of mass made, who holds them, and "
        "the log index that made each.",
    ),
    "participants": (
        "listing",
        "participants",
        "The registered participants, as their latest registration says.",
    ),
    "policy": ("compliance", "policy", "Compliance policies (built in, or JSON files)."),
    "register": (
        "records",
        "register",
        "Sign participant, facility and key_revocation records with the registrar key "
        "and submit them.",
    ),
    "reindex": (
        "provenance",
        "reindex",
        "Rebuild the derived index (lots, flows, shipments, findings) from the log.",
    ),
    "report": (
        "report",
        "report",
        "Write the audit report of this ledger (one HTML page): the summary under each "
        "policy, every verdict with its reason, the integrity findings, and a picture of "
        "each lot that failed or was inconclusive.",
    ),
    "serve": (
        "server",
        "serve_command",
        "Serve this home's ledger: signed records in (POST /v1/records), checkpoints, "
        "C2SP tiles and signed reads out.",
    ),
    "sign": (
        "records",
        "sign",
        "Sign a record (JSON) or records (JSON Lines) into DSSE envelope(s) of the same shape.",
    ),
    "submit": (
        "records",
        "submit",
        "Submit DSSE envelopes (JSON, JSON Lines, or - for standard input).",
    ),
    "trace": (
        "provenance",
        "trace",
        "The provenance of LOT: every lot upstream (or downstream), each naming its log index.",
    ),
    "verify": (
        "verify",
        "verify",
        "Recompute every leaf, signature, Merkle node and root; check every checkpoint.",
    ),
    "verify-bundle": (
        "evidence",
        "verify_bundle_command",
        "Check an evidence bundle offline, with no ledger: the checkpoint's signature "
        "and its witnesses' quorum against root.json, every inclusion proof, every "
        "signature against the registrations in the bundle, that the upstream and the "
        "registry are complete; then recompute the verdict and compare.",
    ),
    "witness": (
        "witness",
        "witness",
        "A witness: cosigns a log's checkpoint only when it extends the last one it cosigned.",
    ),
}
"""Command name: (module in ``ledger.cli``, attribute, the summary ``bloc --help`` shows)."""


def _fail(message: str, exit_code: int, *, label: str = "error") -> NoReturn:
    """One line on stderr, then exit with the code the README's table gives.

    ``label`` says whose fault it is: ``error`` for what the user can fix (input,
    configuration, a failed verification), ``internal error`` for a bug in bloc.
    """
    click.echo(f"bloc: {label}: {message}", err=True)
    raise click.exceptions.Exit(exit_code)


class BlocGroup(click.Group):
    """The root group: loads a subcommand when it is run, and maps every exception a command
    lets through to one line and an exit code. The library's errors and the environment's
    (a file that cannot be read) are the user's to fix; anything else is a bug, exit 70
    (``EX_SOFTWARE``), so that a script can tell the two apart."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f".{module}", __package__), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`, without importing any command."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit))
            for name in sorted(COMMANDS)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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


def main() -> None:
    bloc(prog_name="bloc")
