"""The append-only log: RFC 9162 Merkle math (:mod:`~ledger.log.merkle`), signed checkpoints
(:mod:`~ledger.log.checkpoint`) and proofs checked at a boundary, a failure said in the
caller's words (:mod:`~ledger.log.proofs`)."""
