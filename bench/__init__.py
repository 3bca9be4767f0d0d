"""The benchmark harness (issue 5): ``python -m bench``, see ``bench/README.md``.

``python -m bench`` from a checkout puts the checkout first on ``sys.path``, where
``ledger/`` lacks the ``ledger.cli`` and ``ledger.schemas`` packages that installing the
project maps in: the checkout is moved to the end, so the installed ``ledger`` is imported
(the checkout still serves ``bench`` itself).
"""

import sys
from pathlib import Path

_CHECKOUT = str(Path(__file__).resolve().parent.parent)
if sys.path and sys.path[0] in ("", _CHECKOUT) and "ledger" not in sys.modules:
    sys.path.append(sys.path.pop(0))
