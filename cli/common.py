"""What every command shares: exit codes, the home, input reading, JSON and progress output."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ledger.core.files import GIB, read_bounded
from ledger.errors import (
    ConfigError,
    InputError,
    LedgerError,
)
from ledger.service import Ledger
from ledger.service.home import LOG_PASSPHRASE_VARIABLE, Home, NoHomeError, find_home

from ._base import (
    EXIT_FAIL,
    EXIT_INCONCLUSIVE,
    EXIT_INTEGRITY,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    Settings,
    exit_code_for,
)

if TYPE_CHECKING:  # the HTTP stack is imported only by the commands that reach a server
    from ledger.net import RemoteLedger, Witnessed

__all__ = [
    "EXIT_FAIL",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTEGRITY",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "Settings",
    "exit_code_for",
]

MAX_INPUT_BYTES = 8 * GIB
"""The largest file of records read (a million records is about 1.5 GiB)."""

PROGRESS_THRESHOLD = 100
"""Inputs at least this long show a progress bar (on a terminal only)."""

F = TypeVar("F", bound=Callable[..., Any])


def settings(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


def current_home(ctx: click.Context) -> Home:
    """The home named by --home, else $BLOC_HOME, else the nearest one from the current
    directory upward (ledger.service.home.find_home)."""
    return find_home(settings(ctx).home, os.environ.get("BLOC_HOME"), Path.cwd())


def optional_home(ctx: click.Context) -> Home | None:
    """The home, or ``None`` when there is none at all (a broken home is still an error)."""
    try:
        return current_home(ctx)
    except NoHomeError:
        return None


def remote_ledger(home: Home) -> RemoteLedger | None:
    """The server behind a remote home (ADR 0032), or ``None`` for a home with a database."""
    if home.remote is None:
        return None
    from ledger.net import RemoteLedger

    return RemoteLedger(home)


def writing_ledger(home: Home) -> Ledger:
    """The home's ledger with its log key, decrypted with ``$BLOC_LOG_PASSPHRASE`` when it
    is encrypted (ADR 0007)."""
    value = os.environ.get(LOG_PASSPHRASE_VARIABLE)
    return home.ledger(log_passphrase=value.encode("utf-8") if value else None)


def reading_ledger(ctx: click.Context) -> Ledger:
    """The ledger to read: the home's database, or a remote home's replica brought up to
    the server's newest checkpoint (ADR 0032; it reads every record, so it needs an
    auditor's or the registrar's key)."""
    home = current_home(ctx)
    remote = remote_ledger(home)
    return remote.replica() if remote is not None else home.ledger(writer=False)


def ask_witnesses(ledger: Ledger, *, warn: bool = True) -> Witnessed | None:
    """After a write: ask the witnesses in root.json to cosign the newest checkpoint (ADR
    0037). A shortfall is one warning line on standard error: the records are stored, and
    readers keep the last witnessed checkpoint until 'bloc log publish' gets the quorum."""
    if not ledger.root.witnesses:
        return None
    from ledger.net import collect_once

    try:
        witnessed = collect_once(ledger)
    except LedgerError as e:  # the records are stored: say so, never turn it into a failure
        click.echo(f"bloc: warning: the witnesses were not asked: {e}", err=True)
        return None
    if not warn:
        return witnessed
    if witnessed is not None and not witnessed.met:
        click.echo(
            f"bloc: warning: {witnessed.describe()}; readers keep the last witnessed "
            "checkpoint: run 'bloc log publish' when the witnesses can be reached",
            err=True,
        )
    elif witnessed is not None and witnessed.failures:
        click.echo(f"bloc: warning: {witnessed.describe()}", err=True)
    return witnessed


def now() -> datetime:
    """The one place the command line reads the clock."""
    return datetime.now(UTC)


class Day(click.ParamType[date, Any]):
    """A calendar date on the command line, written YYYY-MM-DD (its metavar says so)."""

    name = "date"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            with contextlib.suppress(ValueError):
                return date.fromisoformat(value)
        return self.fail(
            f"{value!r} is not a date written YYYY-MM-DD (e.g. 2027-02-01)", param, ctx
        )


DATE = Day()


def counted(count: int, word: str, plural: str | None = None) -> str:
    """``1 lot``, ``2 lots`` (``plural`` where adding an s is wrong: entry, entries)."""
    return f"{count} {word if count == 1 else plural or word + 's'}"


def warn_nothing_judged(end_use: str | None) -> None:
    """Under --all, no lot judged is said: an audit gate must not pass having checked
    nothing unnoticed."""
    scope = f"shipped for {end_use} use" if end_use else "in the ledger"
    click.echo(f"bloc: warning: no lots {scope}: nothing was judged", err=True)


def as_of_day(value: date | None) -> date:
    """The --as-of date, or today."""
    return value if value is not None else now().date()


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(f)


def passphrase_option(f: F) -> F:
    return click.option(
        "--passphrase-env",
        metavar="VAR",
        help="Name of an environment variable holding the key's passphrase.",
    )(f)


def passphrase_from(var: str | None) -> bytes | None:
    if var is None:
        return None
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"environment variable {var} is not set or empty")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ConfigError(f"environment variable {var} is not valid UTF-8") from e


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, sort_keys=False))


@dataclass(frozen=True, slots=True)
class Item:
    """One JSON document read from an input, with where it came from."""

    label: str
    data: bytes


def read_source(path: str) -> tuple[str, bytes]:
    if path == "-":
        return "<stdin>", sys.stdin.buffer.read()
    return path, read_bounded(Path(path), limit=MAX_INPUT_BYTES, what="")


def split_documents(label: str, data: bytes) -> list[Item]:
    """A JSON document, or JSON Lines (one document per non-blank line).

    The input is one document when it parses as one JSON value (possibly pretty-printed);
    otherwise, when one of its lines is a whole JSON document by itself, each line is a
    document of its own, so that one corrupt line never hides the good ones around it. A
    file none of whose lines is whole is one broken (pretty-printed) document, and its error
    names the line and column in the file.
    """
    lines = [(n, line) for n, line in enumerate(data.split(b"\n"), 1) if line.strip()]
    if not lines:
        raise InputError(f"{label} holds no JSON")
    if len(lines) > 1 and not _is_json(data) and any(_whole_line(line) for _, line in lines):
        return [Item(f"{label}:{n}", line.rstrip(b"\r")) for n, line in lines]
    return [Item(label, data)]


def _whole_line(line: bytes) -> bool:
    """A line that is a document by itself: an object or array starting in column 1 (a
    pretty-printed document's inner lines are indented, its first line incomplete)."""
    return line[:1] in (b"{", b"[") and _is_json(line)


def _is_json(line: bytes) -> bool:
    """Syntax only: strictness is the parser's job once the documents are split."""
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def read_items(paths: tuple[str, ...]) -> list[Item]:
    items: list[Item] = []
    for path in paths:
        label, data = read_source(path)
        items.extend(split_documents(label, data))
    return items


@contextmanager
def progress_bar(
    total: int, description: str, *, quiet: bool = False
) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr when it is a terminal, the work is long and not
    ``quiet`` (``--json``)."""
    if quiet or total < PROGRESS_THRESHOLD or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


@contextmanager
def progress_steps(
    description: str, *, quiet: bool = False
) -> Iterator[Callable[[int, int], None]]:
    """A callback told (done, total) for work whose total is known only once it began; it
    shows a progress bar on stderr when that is a terminal, the work is long and not
    ``quiet`` (``--json``)."""
    shown: dict[str, Any] = {}
    show = not quiet and sys.stderr.isatty()

    def step(done: int, total: int) -> None:
        if not show or total < PROGRESS_THRESHOLD:
            return
        if not shown:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
            )
            bar.start()
            shown["bar"], shown["task"] = bar, bar.add_task(description, total=total)
        shown["bar"].update(shown["task"], completed=done)

    try:
        yield step
    finally:
        if shown:
            shown["bar"].stop()


def output_option(help: str, *, required: bool = False) -> Callable[[F], F]:
    """``-o/--output FILE`` and ``--force``: an existing file is replaced only with --force."""

    def decorate(f: F) -> F:
        f = click.option("--force", is_flag=True, help="Replace the output file if it exists.")(f)
        return click.option(
            "-o",
            "--output",
            required=required,
            type=click.Path(dir_okay=False, path_type=Path),
            help=help,
        )(f)

    return decorate


def refuse_existing(output: Path | None, *, force: bool) -> None:
    """Before any work: an output file that exists is an error without ``force``."""
    if output is not None and not force and os.path.lexists(output):
        raise _exists(output)


def _exists(output: Path) -> InputError:
    return InputError(f"{output} exists: give --force to replace it, or another -o file")


def write_output(data: bytes, output: Path | None, *, force: bool = False) -> None:
    """Write ``data`` to ``output`` whole or not at all (a temporary file, then a rename);
    to stdout when ``output`` is None. Without ``force`` an existing file is never replaced
    (the name is claimed with O_EXCL first, which fails if it was taken meanwhile)."""
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    directory = output.parent if str(output.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.")
    except OSError as e:
        raise ConfigError(f"cannot write {output}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are not secrets
        if not force:
            _claim(output)  # the name is ours now, or taken: refused
        try:
            os.replace(temp, output)  # a symlink in the way is replaced, not written through
        except BaseException:
            if not force:
                output.unlink(missing_ok=True)  # the empty file _claim made
            raise
    finally:
        Path(temp).unlink(missing_ok=True)


def _claim(output: Path) -> None:
    """Create ``output`` empty, failing if anything has the name (O_EXCL: atomic, and works
    where hard links do not, FAT or SMB); the finished file then replaces it."""
    try:
        os.close(os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError as e:
        raise _exists(output) from e
    except OSError as e:
        raise ConfigError(f"cannot write {output}: {e.strerror}") from e


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
