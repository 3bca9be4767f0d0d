"""What the root group needs before any command is loaded: exit codes, the mapping from the
library's errors to them, and the global settings. Kept free of the library's heavy parts
(databases, the HTTP stack, the checker) so that ``bloc --version`` and ``--help`` start fast."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ledger.errors import LedgerError, RecordRejected, VerificationError

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INTEGRITY = 3
EXIT_INCONCLUSIVE = 4
EXIT_REJECTED = 5
EXIT_INTERNAL = 70
"""A bug in bloc, not a mistake of the user's: ``EX_SOFTWARE`` of sysexits.h."""


def exit_code_for(error: LedgerError) -> int:
    if isinstance(error, RecordRejected):
        return EXIT_REJECTED
    if isinstance(error, VerificationError):
        return EXIT_INTEGRITY
    return EXIT_USAGE  # input, configuration and storage errors: the command could not run


@dataclass(slots=True)
class Settings:
    home: Path | None
    debug: bool
