"""The trust root (``root.json``): the registrar keys and the log's checkpoint key.

Everything a verifier trusts starts here: registry records must be signed by a registrar
key, checkpoints by the log key under the log's origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ledger.core import schema
from ledger.core.codec import parse_json
from ledger.core.signing import KeyId, PublicKey
from ledger.errors import InputError

MAX_ROOT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustRoot:
    origin: str
    registrars: tuple[PublicKey, ...]
    log_key: PublicKey

    def __post_init__(self) -> None:
        if not self.registrars:
            raise InputError("root.json names no registrar key")

    def registrar_keys(self) -> MappingProxyType[KeyId, PublicKey]:
        return MappingProxyType({key.keyid: key for key in self.registrars})

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "origin": self.origin,
            "registrars": [
                {"keyid": key.keyid, "public_key": key.to_base64()} for key in self.registrars
            ],
            "log": {"keyid": self.log_key.keyid, "public_key": self.log_key.to_base64()},
        }

    @classmethod
    def from_bytes(cls, data: bytes) -> TrustRoot:
        """Parse and check ``root.json``.

        Raises:
            InputError: malformed JSON, schema violation, or a keyid that does not match its key.
        """
        obj = parse_json(data, max_bytes=MAX_ROOT_BYTES, what="root.json")
        schema.validate(obj, "root.schema.json", what="root")
        registrars = tuple(
            _key(item, f"root.registrars[{i}]") for i, item in enumerate(obj["registrars"])
        )
        return cls(
            origin=obj["origin"], registrars=registrars, log_key=_key(obj["log"], "root.log")
        )


def _key(item: dict[str, str], field: str) -> PublicKey:
    key = PublicKey.from_base64(item["public_key"], field=f"{field}.public_key")
    if key.keyid != item["keyid"]:
        raise InputError(f"{field}.keyid {item['keyid']} is not the SHA-256 of its public_key")
    return key
