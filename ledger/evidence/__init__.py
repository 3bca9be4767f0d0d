"""Evidence bundles: what a buyer keeps about a lot, built, parsed and replayed offline.

The document (build, parse) is :mod:`ledger.evidence._document`; the offline checks are
:mod:`ledger.evidence._replay`; :func:`require_inclusion` and :func:`require_consistency`
check a Merkle proof and say what a failure means, for the replay here and for the proofs the
service serves.
"""

from ledger.evidence._document import (
    FORMAT,
    MAX_BUNDLE_BYTES,
    Bundle,
    Consistency,
    Entry,
    exact,
    parse_bundle,
    policy_digest,
    to_bytes,
    to_document,
)
from ledger.evidence._proofs import Failure, require_consistency, require_inclusion
from ledger.evidence._replay import Checked, check_bundle

__all__ = [
    "FORMAT",
    "MAX_BUNDLE_BYTES",
    "Bundle",
    "Checked",
    "Consistency",
    "Entry",
    "Failure",
    "check_bundle",
    "exact",
    "parse_bundle",
    "policy_digest",
    "require_consistency",
    "require_inclusion",
    "to_bytes",
    "to_document",
]
