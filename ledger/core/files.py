"""Reading a file a user named: whole, bounded, and only if it is a regular file.

The one place the library reads files whose paths come from users (policies, keys, records,
bundles). ``--policy /dev/zero`` or a FIFO with no writer must end at once with one line, not
hang or fill memory: a path that is not a regular file is refused before it is opened, and
a file is read up to ``limit`` bytes, more being refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ledger.errors import ConfigError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def read_bounded(path: Path, *, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises:
        ConfigError: ``path`` cannot be read, is not a regular file (a FIFO, a device, a
            directory), or holds more than ``limit`` bytes — one line naming ``what`` (if
            given) and the path.
    """
    name = f"{what} {path}" if what else str(path)
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"cannot read {name}: not a regular file")
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as e:
        raise ConfigError(f"cannot read {name}: {e.strerror}") from e
    if len(data) > limit:
        raise ConfigError(f"{name} is larger than {limit:,} bytes")
    return data
