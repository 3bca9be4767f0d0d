"""The append-only log: RFC 9162 Merkle math (:mod:`~ledger.log.merkle`), signed checkpoints
(:mod:`~ledger.log.checkpoint`), proofs checked at a boundary, a failure said in the
caller's words (:mod:`~ledger.log.proofs`), and the C2SP tlog-tiles layout of the tree
(:mod:`~ledger.log.tiles`)."""
