"""A witness directory: ``witness.toml``, ``keys/witness.pem`` and ``state.json``.

``witness.toml`` names the witness and the logs it witnesses, each by its origin and the
C2SP verifier key of its checkpoint key (taken from the log's ``root.json`` at ``init``).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ledger.core.signing import Signer
from ledger.errors import ConfigError, InputError
from ledger.log.cosignature import NOTE_ED25519, VerifierKey, parse_vkey, witness_vkey
from ledger.records.trust import TrustRoot
from ledger.service.home import read_signer, write_signer
from ledger.witness._state import StateFile

CONFIG_FILE = "witness.toml"
KEY_FILE = Path("keys") / "witness.pem"
STATE_FILE = "state.json"
LOCK_FILE = "witness.lock"


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessConfig:
    """What ``witness.toml`` says: the witness's name and, per log origin, the log's key."""

    name: str
    logs: Mapping[str, VerifierKey]


@dataclass(frozen=True, slots=True, kw_only=True)
class WitnessDir:
    """An opened witness directory: its configuration, key and state file."""

    path: Path
    config: WitnessConfig
    signer: Signer
    state: StateFile

    @property
    def vkey(self) -> VerifierKey:
        return witness_vkey(self.config.name, self.signer.public_key)


def init_witness(path: Path, *, name: str, roots: Sequence[bytes]) -> VerifierKey:
    """Make a witness in ``path``: a new key (0600), ``witness.toml`` naming the logs of
    ``roots`` (``root.json`` bytes), and an empty ``state.json``. Returns its verifier key.

    Raises:
        ConfigError: ``path`` already holds a witness, a ``root.json`` is not a trust root,
            two roots name the same origin, or the files cannot be written.
    """
    if (path / CONFIG_FILE).exists():
        raise ConfigError(f"{path / CONFIG_FILE} exists: {path} already holds a witness")
    signer = Signer.generate()
    try:
        vkey = witness_vkey(name, signer.public_key)
    except InputError as e:
        raise ConfigError(f"witness name: {e}") from e
    logs = _logs_from_roots(roots)
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_signer(path / KEY_FILE, signer)
        StateFile(path / STATE_FILE).save({})
        (path / CONFIG_FILE).write_text(_config_text(name, logs), encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot create a witness in {path}: {e.strerror}") from e
    return vkey


def _logs_from_roots(roots: Sequence[bytes]) -> dict[str, VerifierKey]:
    if not roots:
        raise ConfigError("a witness needs at least one log (--log root.json)")
    logs: dict[str, VerifierKey] = {}
    for data in roots:
        try:
            root = TrustRoot.from_bytes(data)
        except InputError as e:
            raise ConfigError(f"root.json: {e}") from e
        if root.origin in logs:
            raise ConfigError(f"two root.json files name the log {root.origin!r}")
        logs[root.origin] = VerifierKey(
            name=root.origin, signature_type=NOTE_ED25519, key=root.log_key
        )
    return logs


def _config_text(name: str, logs: Mapping[str, VerifierKey]) -> str:
    lines = ["# Bloc Ledger witness", f"name = {json.dumps(name)}"]
    for origin, vkey in logs.items():
        lines += ["", "[[log]]", f"origin = {json.dumps(origin)}"]
        lines.append(f"vkey = {json.dumps(vkey.encode())}")
    return "\n".join(lines) + "\n"


def open_witness(path: Path) -> WitnessDir:
    """Open the witness in ``path``.

    Raises:
        ConfigError: no or a malformed ``witness.toml``, a bad log key, an unreadable key.
    """
    config_path = path / CONFIG_FILE
    try:
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"no witness at {path}: no {CONFIG_FILE}; run 'bloc witness init'") from e
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{config_path} is not readable TOML: {e}") from e
    try:
        config = _parse_config(data)
    except (InputError, KeyError, TypeError) as e:
        raise ConfigError(f"{config_path}: {e}") from e
    signer = read_signer(path / KEY_FILE)
    return WitnessDir(path=path, config=config, signer=signer, state=StateFile(path / STATE_FILE))


def _parse_config(data: dict[str, object]) -> WitnessConfig:
    name, entries = data["name"], data.get("log", [])
    if not isinstance(name, str) or not isinstance(entries, list) or not entries:
        raise InputError("'name' must be a string and at least one [[log]] must be given")
    logs: dict[str, VerifierKey] = {}
    for entry in entries:
        origin, vkey = entry["origin"], parse_vkey(entry["vkey"])
        if vkey.name != origin or vkey.signature_type != NOTE_ED25519 or origin in logs:
            raise InputError(f"log {origin!r}: vkey is not its Ed25519 note key, or repeated")
        logs[origin] = vkey
    return WitnessConfig(name=name, logs=MappingProxyType(logs))
