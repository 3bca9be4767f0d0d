"""The one exception hierarchy of Bloc Ledger.

Errors are grouped by how a caller should react, not by where they were raised:

- ``InputError``: the caller gave something malformed or inconsistent; fix the input.
  ``RecordRejected`` is the submission-time subclass and names the field and value.
- ``VerificationError``: a signature, proof or integrity check failed; the data cannot be
  trusted.
- ``ConfigError``: the environment is wrong (no home, bad configuration, missing key file).
- ``StorageError``: the database failed or holds something the library cannot read.

Third-party exceptions are wrapped at the boundary with ``raise ... from``; messages name
the values involved so that a one-line rendering is enough for a user.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the library raises on purpose."""

    def diagnostics(self) -> str:
        """The one-line, human-readable text the command line prints."""
        return str(self)


class InputError(LedgerError):
    """Malformed or inconsistent input: nothing was changed."""


class RecordRejected(InputError):
    """A record or envelope failed an admission check; nothing was stored.

    ``check`` names the admission step (``envelope``, ``payload``, ``signature``,
    ``authority``, ``reference``, ``identity``) so that callers can group rejections.
    """

    def __init__(self, check: str, message: str) -> None:
        # "envelope.payload ...", "payload is not valid UTF-8": the message already says
        # where; "envelope: envelope: ..." would say it twice.
        named = len(message) > len(check) and message.startswith(check)
        named = named and message[len(check)] in ".: ["
        super().__init__(message if named else f"{check}: {message}")
        self.check = check
        self.message = message

    def __reduce__(self) -> tuple[type[RecordRejected], tuple[str, str]]:
        # Rejections found by worker processes travel back pickled (ledger.service._parallel).
        return (type(self), (self.check, self.message))


class VerificationError(LedgerError):
    """A signature, proof, checkpoint or integrity check failed."""


class ConfigError(LedgerError):
    """The environment is not usable: missing home, bad configuration, missing keys."""


class StorageError(LedgerError):
    """The database failed or returned data the library cannot interpret."""
