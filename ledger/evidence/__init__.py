"""Evidence bundles: what a buyer keeps about a lot, built, parsed and replayed offline."""

from ledger.evidence._bundle import (
    FORMAT,
    MAX_BUNDLE_BYTES,
    Bundle,
    Checked,
    Consistency,
    Entry,
    check_bundle,
    exact,
    parse_bundle,
    policy_digest,
    to_bytes,
    to_document,
)

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
    "to_bytes",
    "to_document",
]
