"""The provenance graph of lots and the integrity findings raised over it."""
