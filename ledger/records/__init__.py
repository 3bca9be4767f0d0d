"""Signed records: the model, DSSE envelopes, authoring, admission and the trust root."""
