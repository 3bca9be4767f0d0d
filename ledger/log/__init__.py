"""The append-only log: RFC 6962 Merkle math and signed checkpoints."""
