"""The ledger service: a store, a log key and a trust root behind one :class:`Ledger`.

Each job has its own internal module (submit, checkpoints, proofs, queries, evidence, audit);
this package re-exports their public face.
"""

from ledger.service._audit import Problem, VerifyReport
from ledger.service._evidence import BundleReport, replay_verdict, verify_bundle
from ledger.service._ledger import Ledger
from ledger.service._proofs import ConsistencyProof, InclusionProof
from ledger.service._submit import (
    COMMIT_GROUP,
    CheckpointRefused,
    SubmitInterrupted,
    SubmitResult,
)

__all__ = [
    "COMMIT_GROUP",
    "BundleReport",
    "CheckpointRefused",
    "ConsistencyProof",
    "InclusionProof",
    "Ledger",
    "Problem",
    "SubmitInterrupted",
    "SubmitResult",
    "VerifyReport",
    "replay_verdict",
    "verify_bundle",
]
