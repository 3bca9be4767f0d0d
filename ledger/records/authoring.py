"""Turning a record someone wrote into payload bytes ready to sign.

The author's JSON is parsed strictly, ``issued_at`` (and, for the registrar, ``signer``) is
filled in when absent, and the result is serialised once, canonically, and validated as
the ledger would validate it, so that nothing unsignable is ever signed.
"""

from __future__ import annotations

from datetime import datetime

from ledger.core.codec import MAX_PAYLOAD_BYTES, canonical_json, format_timestamp, parse_json
from ledger.core.signing import Signer
from ledger.errors import InputError
from ledger.records.envelope import Envelope, sign_envelope
from ledger.records.model import RECORD_FORMAT, ParticipantId, Record, decode_record


def prepare_record(
    data: bytes, *, now: datetime, default_signer: ParticipantId | None = None
) -> tuple[bytes, Record]:
    """Canonical payload bytes and the validated record.

    Raises:
        InputError: the record is not strict JSON, not an object, or not a valid record.
    """
    obj = parse_json(data, max_bytes=MAX_PAYLOAD_BYTES, what="record")
    if isinstance(obj, list):
        raise InputError("record is a JSON array: write one record per line (JSON Lines) instead")
    if not isinstance(obj, dict):
        raise InputError("record is not a JSON object")
    obj.setdefault("schema_version", RECORD_FORMAT)
    obj.setdefault("issued_at", format_timestamp(now.replace(microsecond=0)))
    if default_signer is not None:
        obj.setdefault("signer", default_signer)
    payload = canonical_json(obj)
    return payload, decode_record(payload)


def seal(
    payload: bytes, record: Record, signer: Signer, *, key_owner: str | None = None
) -> Envelope:
    """Sign a prepared record, refusing when the registry says the key is someone else's.

    Raises:
        InputError: ``key_owner`` (the participant the key is registered to) is not the
            record's signer.
    """
    if key_owner is not None and key_owner != record.signer:
        raise InputError(
            f"key {signer.keyid} is registered to {key_owner}, but the record's signer is "
            f"{record.signer}"
        )
    return sign_envelope(payload, [signer])
