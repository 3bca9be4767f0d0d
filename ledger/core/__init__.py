"""The pure core: strict JSON and canonical bytes, Ed25519 signing, JSON Schema, the vocabulary."""
