"""``python -m bench``: run the benchmark harness."""

import sys

from bench.run import main

if __name__ == "__main__":  # worker processes (ledger.service._parallel) import this module again
    sys.exit(main())
