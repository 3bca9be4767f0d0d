"""JSON Schema documents for Bloc Ledger wire formats (package data)."""
