"""The ledger service: a store, a log key and a trust root behind one :class:`Ledger`."""

from ledger.service._ledger import (
    BundleReport,
    CheckpointRefused,
    ConsistencyProof,
    InclusionProof,
    Ledger,
    Problem,
    SubmitInterrupted,
    SubmitResult,
    VerifyReport,
    replay_verdict,
    verify_bundle,
)

__all__ = [
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
