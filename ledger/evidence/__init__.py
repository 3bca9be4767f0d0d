"""Evidence bundles: what a buyer keeps about a lot, built, parsed and replayed offline.

The document (build, parse) is :mod:`ledger.evidence._document`; the offline checks are
:mod:`ledger.evidence._replay`.
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
from ledger.evidence._replay import Checked, check_bundle, registry_entries

__all__ = [
    "FORMAT",
    "MAX_BUNDLE_BYTES",
    "Bundle",
    "Checked",
    "Consistency",
    "Entry",
    "check_bundle",
    "exact",
    "parse_bundle",
    "policy_digest",
    "registry_entries",
    "to_bytes",
    "to_document",
]
