"""The trust root (``root.json``): the registrar keys, the log's checkpoint key and the
witnesses that must cosign its checkpoints.

Everything a verifier trusts starts here: registry records must be signed by a registrar
key, checkpoints by the log key under the log's origin and by ``witness_quorum`` of the
``witnesses`` (ADR 0037).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from ledger.core import schema
from ledger.core.codec import parse_json
from ledger.core.signing import KeyId, PublicKey
from ledger.errors import InputError, VerificationError
from ledger.log.cosignature import COSIGNATURE_V1, VerifierKey, find_cosignature, parse_vkey

MAX_ROOT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessEntry:
    """One witness of the log: its cosignature/v1 verifier key and where it listens."""

    vkey: VerifierKey
    url: str

    @property
    def name(self) -> str:
        return self.vkey.name

    def to_dict(self) -> dict[str, str]:
        return {"vkey": self.vkey.encode(), "url": self.url}


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustRoot:
    origin: str
    registrars: tuple[PublicKey, ...]
    log_key: PublicKey
    witnesses: tuple[WitnessEntry, ...] = ()
    witness_quorum: int = 0
    """How many of ``witnesses`` must cosign a checkpoint before a reader accepts it."""

    def __post_init__(self) -> None:
        if not self.registrars:
            raise InputError("root.json names no registrar key")
        names = [w.name for w in self.witnesses]
        if len(set(names)) != len(names):
            raise InputError("root.json names a witness twice")
        if any(w.vkey.signature_type != COSIGNATURE_V1 for w in self.witnesses):
            raise InputError("root.json: a witness key is not a cosignature/v1 (type 0x04) key")
        if self.witnesses and not 1 <= self.witness_quorum <= len(self.witnesses):
            raise InputError(
                f"root.json: witness_quorum {self.witness_quorum} is not between 1 and the "
                f"{len(self.witnesses)} witnesses"
            )
        if not self.witnesses and self.witness_quorum:
            raise InputError("root.json: witness_quorum without witnesses")

    def with_witness(self, witness: WitnessEntry, *, quorum: int | None) -> TrustRoot:
        """This root with ``witness`` added (or its URL replaced) and the quorum set
        (unchanged when None; 1 for the first witness).

        Raises:
            InputError: the quorum would exceed the witnesses, or another witness has the name.
        """
        kept = [w for w in self.witnesses if w.vkey != witness.vkey]
        if any(w.name == witness.name for w in kept):
            raise InputError(f"root.json already has another witness named {witness.name!r}")
        witnesses = (*kept, witness)
        wanted = quorum if quorum is not None else max(self.witness_quorum, 1)
        return replace(self, witnesses=witnesses, witness_quorum=wanted)

    def cosigned_by(self, note: str) -> tuple[str, ...]:
        """The names of this root's witnesses whose cosignature on ``note`` verifies.

        Raises:
            VerificationError: a line by one of this root's witnesses is there but does not
                verify (a forged or damaged cosignature is never just "missing").
        """
        return tuple(
            witness.name
            for witness in self.witnesses
            if find_cosignature(note, vkey=witness.vkey) is not None
        )

    def require_quorum(self, note: str, *, size: int) -> None:
        """Raises VerificationError, naming the missing witnesses, unless ``note`` (the
        checkpoint at tree size ``size``) is cosigned by ``witness_quorum`` witnesses."""
        if not self.witnesses:
            return
        cosigned = self.cosigned_by(note)
        if len(cosigned) >= self.witness_quorum:
            return
        missing = ", ".join(w.name for w in self.witnesses if w.name not in cosigned)
        raise VerificationError(
            f"checkpoint at tree size {size} is cosigned by {len(cosigned)} of the "
            f"{self.witness_quorum} witnesses required (missing: {missing})"
        )

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
            **(
                {
                    "witnesses": [w.to_dict() for w in self.witnesses],
                    "witness_quorum": self.witness_quorum,
                }
                if self.witnesses
                else {}
            ),
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
        witnesses = tuple(
            WitnessEntry(vkey=_vkey(item["vkey"], f"root.witnesses[{i}]"), url=item["url"])
            for i, item in enumerate(obj.get("witnesses", ()))
        )
        return cls(
            origin=obj["origin"],
            registrars=registrars,
            log_key=_key(obj["log"], "root.log"),
            witnesses=witnesses,
            witness_quorum=obj.get("witness_quorum", 0),
        )


def _vkey(text: str, field: str) -> VerifierKey:
    try:
        return parse_vkey(text)
    except InputError as e:
        raise InputError(f"{field}.vkey: {e}") from e


def _key(item: dict[str, str], field: str) -> PublicKey:
    key = PublicKey.from_base64(item["public_key"], field=f"{field}.public_key")
    if key.keyid != item["keyid"]:
        raise InputError(f"{field}.keyid {item['keyid']} is not the SHA-256 of its public_key")
    return key
