"""A C2SP ``tlog-witness``: cosigns a log's checkpoint only when it extends the newest one it
cosigned for that log (DESIGN §12, issue 13).

:func:`init_witness` makes a witness directory (key, ``witness.toml``, ``state.json``);
:class:`Witness` decides one ``add-checkpoint`` request and stores its state durably before
answering; :func:`create_app` is its HTTP interface and :func:`serve` runs it.
"""

from ledger.witness._app import create_app
from ledger.witness._config import WitnessConfig, WitnessDir, init_witness, open_witness
from ledger.witness._serve import DEFAULT_LISTEN, serve
from ledger.witness._state import Cosigned, StateFile
from ledger.witness._witness import Refusal, Witness

__all__ = [
    "DEFAULT_LISTEN",
    "Cosigned",
    "Refusal",
    "StateFile",
    "Witness",
    "WitnessConfig",
    "WitnessDir",
    "create_app",
    "init_witness",
    "open_witness",
    "serve",
]
