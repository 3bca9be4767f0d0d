"""One quick ingest measurement, in process: ``python bench/quick_ingest.py [N] [BATCH]``.

Builds ``ledger.demo.synthetic(N, seed=1)`` in a new SQLite home under a temporary
directory, submits it through ``Ledger.submit`` in atomic batches of BATCH, and prints
records per second (generation and signing excluded). The full harness is
``python -m bench``; this is the number to watch while optimising.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ledger import demo
from ledger.service.home import REGISTRAR_KEY, init_home


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000
    with tempfile.TemporaryDirectory(prefix="bloc-quick-") as directory:
        home = init_home(Path(directory) / "home")
        envelopes = list(demo.envelopes(demo.synthetic(size, seed=1), home.signer(REGISTRAR_KEY)))
        ledger = home.ledger()
        started = time.perf_counter()
        for start in range(0, len(envelopes), batch):
            results = ledger.submit(
                envelopes[start : start + batch], now=datetime.now(UTC), atomic=True
            )
            rejected = [r.error for r in results if not r.accepted]
            if rejected:
                raise SystemExit(f"rejected: {rejected[0]}")
        elapsed = time.perf_counter() - started
        ledger.store.dispose()
    print(f"{len(envelopes)} records in {elapsed:.2f} s: {len(envelopes) / elapsed:,.0f} records/s")


if __name__ == "__main__":
    main()
