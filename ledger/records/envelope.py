"""DSSE envelopes: the pre-authentication encoding, signing, and signature checks.

Signatures cover ``PAE(payloadType, payload)`` over the exact payload bytes received; the
payload is never re-serialised to be verified. An envelope carries one to sixteen
signatures, each by a different key id. Envelopes are stored in their canonical JSON form
(:meth:`Envelope.canonical_bytes`), whose RFC 6962 leaf hash identifies them in the log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.core import schema
from ledger.core.codec import MAX_ENVELOPE_BYTES, MAX_PAYLOAD_BYTES, parse_json
from ledger.core.signing import KeyId, PublicKey, Signer, b64decode, b64encode
from ledger.errors import InputError

PAYLOAD_TYPE = "application/vnd.bloc.record+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    keyid: KeyId
    sig: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[Signature, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "payloadType": self.payload_type,
            "payload": b64encode(self.payload),
            "signatures": [{"keyid": s.keyid, "sig": b64encode(s.sig)} for s in self.signatures],
        }

    def canonical_bytes(self) -> bytes:
        """The stored form: canonical JSON of the envelope.

        Every value is a string (base64, hex key ids, the payload type), for which the
        standard encoder with sorted keys and no whitespace writes exactly the bytes of
        :func:`~ledger.core.codec.canonical_json`, many times faster.
        """
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")

    def signed_message(self) -> bytes:
        return pae(self.payload_type, self.payload)

    def verifies(self, signature: Signature, key: PublicKey) -> bool:
        """True when ``signature`` is ``key``'s valid signature over this envelope."""
        return signature.keyid == key.keyid and key.verify(signature.sig, self.signed_message())


def verified_keyids(envelope: Envelope, keys: Mapping[KeyId, PublicKey]) -> frozenset[KeyId]:
    """The key ids whose signature on ``envelope`` verifies with the key ``keys`` holds for them.

    Only the cryptography: whether the key may sign is admission's question. A key id is
    the SHA-256 of its key, so the answer stands whichever registry later asks it.
    """
    return frozenset(
        sig.keyid
        for sig in envelope.signatures
        if (key := keys.get(sig.keyid)) is not None and envelope.verifies(sig, key)
    )


def parse_envelope(data: bytes) -> Envelope:
    """Parse and check the shape of a DSSE envelope (not its signatures).

    Raises:
        InputError: malformed JSON, wrong shape, unknown payload type, bad base64, an
            oversized payload or a key id that signs twice.
    """
    obj = parse_json(data, max_bytes=MAX_ENVELOPE_BYTES, what="envelope")
    if isinstance(obj, list):
        raise InputError(
            "envelope is a JSON array: write one envelope per line (JSON Lines) instead"
        )
    if isinstance(obj, dict) and "payloadType" not in obj and isinstance(obj.get("kind"), str):
        raise InputError(
            f"this is an unsigned {obj['kind'][:40]!r} record, not a DSSE envelope: sign it "
            "first with 'bloc sign FILE --key KEY.pem' (registry records: 'bloc register')"
        )
    schema.validate(obj, "envelope.schema.json", what="envelope")
    payload = b64decode(obj["payload"], field="envelope.payload")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise InputError(
            f"envelope.payload decodes to {len(payload):,} bytes, more than the "
            f"{MAX_PAYLOAD_BYTES:,} allowed"
        )
    signatures: list[Signature] = []
    seen: set[str] = set()
    for i, item in enumerate(obj["signatures"]):
        keyid = KeyId(item["keyid"])
        if keyid in seen:
            raise InputError(f"envelope.signatures[{i}].keyid {keyid} signs twice")
        seen.add(keyid)
        signatures.append(
            Signature(
                keyid=keyid, sig=b64decode(item["sig"], field=f"envelope.signatures[{i}].sig")
            )
        )
    return Envelope(payload_type=PAYLOAD_TYPE, payload=payload, signatures=tuple(signatures))


def sign_envelope(payload: bytes, signers: Sequence[Signer]) -> Envelope:
    """Wrap ``payload`` in an envelope signed by every signer (distinct keys)."""
    if not signers:
        raise ValueError("an envelope needs at least one signer")
    if len({s.keyid for s in signers}) != len(signers):
        raise ValueError("the same key cannot sign an envelope twice")
    message = pae(PAYLOAD_TYPE, payload)
    return Envelope(
        payload_type=PAYLOAD_TYPE,
        payload=payload,
        signatures=tuple(Signature(keyid=s.keyid, sig=s.sign(message)) for s in signers),
    )
