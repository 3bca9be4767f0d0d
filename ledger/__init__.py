"""Bloc Ledger: a signed, append-only provenance ledger for critical-minerals supply chains.

The library is everything that is not command-line I/O. Its core (parsing, signing, the
Merkle log, admission checks) takes values and returns values; only ``ledger.store``,
``ledger.service.home`` and ``ledger.service`` touch files, databases and the clock.
"""

__version__ = "0.1.0"
