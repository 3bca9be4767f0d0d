"""``state.json``: per log origin, the newest checkpoint (size, root hash) the witness cosigned.

Written durably before the witness answers: a temporary file in the same directory is
written and fsynced, renamed over ``state.json``, and the directory is fsynced, so after a
crash the file holds either the old state or the new one, never a mix, and a size once
cosigned is never forgotten.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.errors import ConfigError
from ledger.log.merkle import EMPTY_ROOT, HASH_SIZE

MAX_STATE_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class Cosigned:
    """The newest tree a witness cosigned for one log."""

    size: int
    root_hash: bytes


NOTHING_YET = Cosigned(0, EMPTY_ROOT)
"""The state of a log the witness never cosigned: the empty tree."""


@dataclass(frozen=True, slots=True)
class StateFile:
    path: Path

    def load(self) -> dict[str, Cosigned]:
        """The cosigned state per origin.

        Raises:
            ConfigError: the file is missing, too large or malformed.
        """
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_STATE_BYTES + 1)
        except OSError as e:
            raise ConfigError(f"cannot read {self.path}: {e.strerror}") from e
        try:
            if len(data) > MAX_STATE_BYTES:
                raise ValueError("too large")
            obj = json.loads(data)
            if obj.get("version") != 1:
                raise ValueError("unknown version")
            return {origin: _cosigned(item) for origin, item in obj["logs"].items()}
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as e:
            raise ConfigError(f"{self.path} is malformed: {e}") from e

    def save(self, state: Mapping[str, Cosigned]) -> None:
        """Replace the file with ``state``, durably (temp file, fsync, rename, fsync dir).

        Raises:
            OSError: the state could not be written; the old file is then still in place.
        """
        logs = {
            origin: {"size": c.size, "root_hash": base64.b64encode(c.root_hash).decode()}
            for origin, c in sorted(state.items())
        }
        data = (json.dumps({"version": 1, "logs": logs}, indent=2) + "\n").encode()
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _cosigned(item: dict[str, object]) -> Cosigned:
    size, root = item["size"], item["root_hash"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("size is not a non-negative integer")
    if not isinstance(root, str):
        raise ValueError("root_hash is not a string")
    root_hash = base64.b64decode(root, validate=True)
    if len(root_hash) != HASH_SIZE:
        raise ValueError("root_hash is not 32 bytes")
    return Cosigned(size, root_hash)
