"""A ledger home on disk: ``bloc.toml``, ``root.json``, ``keys/`` and (by default) the database.

``bloc.toml`` holds the database URL and the log origin. A relative SQLite path in it is
relative to the home, so a home can be moved. Private keys are written with mode 0600 and
never overwritten; creating a home that fails half-way removes what it wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ledger.core.files import KIB, read_bounded
from ledger.core.signing import Signer
from ledger.errors import ConfigError, InputError
from ledger.records.trust import TrustRoot
from ledger.service import Ledger
from ledger.store import LedgerIdentity, Store, resolve_db_url, sqlite_files

CONFIG_FILE = "bloc.toml"
ROOT_FILE = "root.json"
KEYS_DIR = "keys"
KEPT_FILE = "checkpoint.kept"
LOG_PASSPHRASE_VARIABLE = "BLOC_LOG_PASSPHRASE"  # noqa: S105 - a variable's name
"""The environment variable a writer reads an encrypted log key's passphrase from."""
DEFAULT_DB = "sqlite:///ledger.db"
REGISTRAR_KEY = "registrar"
LOG_KEY = "log"
_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


PUBLIC_KEY_SUFFIX = ".pub.json"
"""``NAME.pub.json`` beside ``NAME.pem``: the public half, for the registrar."""


def check_key_name(name: str) -> None:
    """Raises InputError unless ``name`` is a safe file name for a key."""
    if not _KEY_NAME.fullmatch(name):
        raise InputError(f"key name {name!r} must be letters, digits, '.', '_' or '-' (at most 64)")


class NoHomeError(ConfigError):
    """No ``bloc.toml`` where the home was looked for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Home:
    path: Path
    db_url: str
    origin: str
    remote: str | None = None
    """A remote home's server URL (ADR 0032); it has no database then."""
    reader_key: Path | None = None
    """A remote home's key for signed reads, if it was given one."""
    log_key: Path | None = None
    """Where the log key lives when not in ``keys/log.pem`` (``log_key`` in ``bloc.toml``):
    a file the operator controls, outside the home."""

    @property
    def root_path(self) -> Path:
        return self.path / ROOT_FILE

    def key_path(self, name: str) -> Path:
        check_key_name(name)
        return self.path / KEYS_DIR / f"{name}.pem"

    def _root_bytes(self) -> bytes:
        try:
            return self.root_path.read_bytes()
        except OSError as e:
            raise ConfigError(f"cannot read {self.root_path}: {e.strerror}") from e

    def identity(self) -> LedgerIdentity:
        """Which ledger this home is: its origin and the SHA-256 of its ``root.json`` bytes
        (ADR 0027); its database must record the same."""
        return LedgerIdentity(self.origin, hashlib.sha256(self._root_bytes()).hexdigest())

    def root(self) -> TrustRoot:
        data = self._root_bytes()
        try:
            root = TrustRoot.from_bytes(data)
        except InputError as e:
            raise ConfigError(f"{self.root_path}: {e}") from e
        if root.origin != self.origin:
            raise ConfigError(
                f"{self.root_path} is for log {root.origin!r} "
                f"but {CONFIG_FILE} says {self.origin!r}"
            )
        return root

    def key_names(self) -> list[str]:
        """The names of the keys in the home's ``keys/`` directory, sorted."""
        directory = self.path / KEYS_DIR
        if not directory.is_dir():
            return []
        return sorted(p.name.removesuffix(".pem") for p in directory.glob("*.pem"))

    def signer(self, name: str, *, passphrase: bytes | None = None) -> Signer:
        return read_signer(self.key_path(name), passphrase=passphrase)

    @property
    def kept_path(self) -> Path:
        """A remote home's newest verified checkpoint (ADR 0032)."""
        return self.path / KEPT_FILE

    def ledger(self, *, writer: bool = True, log_passphrase: bytes | None = None) -> Ledger:
        """Open this home's ledger; a writer also loads the log key to sign checkpoints
        (decrypted with ``log_passphrase`` when it is encrypted).

        Raises:
            ConfigError: this is a remote home, which has no database of its own; or the log
                key cannot be read.
        """
        if self.remote is not None:
            raise ConfigError(
                f"{self.path} is a remote home (ledger {self.remote}): this command runs "
                "where the ledger's database is"
            )
        root = self.root()
        store = Store.open(self.db_url, identity=self.identity())
        log_signer = self._log_signer(log_passphrase) if writer else None
        try:
            return Ledger(store, root, log_signer=log_signer)
        except InputError as e:
            raise ConfigError(f"{self.log_key_path}: {e}") from e

    @property
    def log_key_path(self) -> Path:
        return self.log_key or self.key_path(LOG_KEY)

    def _log_signer(self, passphrase: bytes | None) -> Signer:
        try:
            return read_signer(self.log_key_path, passphrase=passphrase)
        except ConfigError as e:
            if "is encrypted" in str(e):
                raise ConfigError(
                    f"the log key {self.log_key_path} is encrypted: set {LOG_PASSPHRASE_VARIABLE} "
                    "to its passphrase in the environment of every writer (bloc submit, register, "
                    "serve)"
                ) from e
            raise


def find_home(explicit: Path | None, env: str | None, cwd: Path) -> Home:
    """The home named by ``--home``, else ``$BLOC_HOME``, else the nearest directory from
    ``cwd`` upward that holds a ``bloc.toml`` (as git finds its repository).

    Raises:
        ConfigError: the chosen directory holds no ``bloc.toml`` (or, looking upward, none
            of them does).
    """
    path, how = _chosen_home(explicit, env, cwd)
    config = path / CONFIG_FILE
    if not config.is_file():
        raise NoHomeError(
            f"no ledger home at {path} ({how}): no {CONFIG_FILE}; run 'bloc init DIR' "
            "or point --home or BLOC_HOME at one"
        )
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{config} is not readable TOML: {e}") from e
    remote = "ledger" in data
    required = ("ledger", "origin") if remote else ("db", "origin")
    optional = ("key",) if remote else ("log_key",)
    for key in (*required, *optional):
        if (key in required or key in data) and not isinstance(data.get(key), str):
            raise ConfigError(f"{config}: '{key}' must be a string")
    unknown = sorted(set(data) - {*required, *optional})
    if unknown:
        raise ConfigError(f"{config}: unknown setting {unknown[0]!r}")

    def beside(key: str) -> Path | None:
        """A path setting, relative to the home."""
        return (path / data[key]).resolve() if data.get(key) else None

    if remote:
        return Home(
            path=path.resolve(),
            db_url="",
            origin=data["origin"],
            remote=data["ledger"],
            reader_key=beside("key"),
        )
    return Home(
        path=path.resolve(),
        db_url=resolve_db_url(data["db"], path),
        origin=data["origin"],
        log_key=beside("log_key"),
    )


def _chosen_home(explicit: Path | None, env: str | None, cwd: Path) -> tuple[Path, str]:
    """The home directory to read, and how it was chosen (for the error message)."""
    if explicit is not None:
        return explicit, "--home"
    if env:
        return Path(env), "BLOC_HOME"
    for directory in (cwd, *cwd.parents):
        if (directory / CONFIG_FILE).is_file():
            _require_own(directory / CONFIG_FILE)
            how = "the current directory" if directory == cwd else f"found upward from {cwd}"
            return directory, how
    raise NoHomeError(
        f"no ledger home at {cwd} or any directory above it: no {CONFIG_FILE}; "
        "run 'bloc init DIR' or point --home or BLOC_HOME at one"
    )


def _require_own(config: Path) -> None:
    """A home found by looking upward must be the user's own: a ``bloc.toml`` planted in a
    shared directory above (another user's, or one anybody may change) could point commands
    at any database (as git refuses a repository another user owns)."""
    info = config.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o002:
        raise ConfigError(
            f"{config} was found looking upward but is not yours (owner uid "
            f"{info.st_uid}, mode {info.st_mode & 0o777:o}): name the home with --home or "
            "BLOC_HOME if you trust it"
        )


def default_origin(path: Path) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", path.resolve().name.lower()).strip("-") or "ledger"
    return f"bloc.local/{slug}"


def init_home(
    path: Path,
    *,
    db_url: str | None = None,
    origin: str | None = None,
    registrar_passphrase: bytes | None = None,
    log_passphrase: bytes | None = None,
) -> Home:
    """Create a new home: registrar and log keys (encrypted with the passphrases given),
    ``root.json``, ``bloc.toml``, empty database.

    Raises:
        ConfigError: the directory already holds a home or a database, or cannot be written.
    """
    origin = origin or default_origin(path)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/:-]{0,199}", origin):
        raise ConfigError(f"origin {origin!r} must be a schema-less URL without spaces or '+'")
    for name in (CONFIG_FILE, ROOT_FILE, KEYS_DIR):
        if (path / name).exists():
            raise ConfigError(f"{path / name} exists: {path} already holds a ledger home")
    config_url = db_url or DEFAULT_DB
    try:
        return _create_home(path, config_url, origin, (registrar_passphrase, log_passphrase))
    except OSError as e:
        raise ConfigError(f"cannot create a ledger home in {path}: {e.strerror}") from e


def _create_home(
    path: Path, config_url: str, origin: str, passphrases: tuple[bytes | None, bytes | None]
) -> Home:
    with _undo_on_failure(path) as created:
        existed = path.exists()
        path.mkdir(parents=True, exist_ok=True)
        if not existed:
            path.chmod(0o700)  # whatever the umask: the home holds keys and the database
        (path / KEYS_DIR).mkdir(mode=0o700)
        created.append(path / KEYS_DIR)
        home = Home(path=path.resolve(), db_url=resolve_db_url(config_url, path), origin=origin)
        registrar, log = Signer.generate(), Signer.generate()
        for name, signer, passphrase in (
            (REGISTRAR_KEY, registrar, passphrases[0]),
            (LOG_KEY, log, passphrases[1]),
        ):
            write_signer(home.key_path(name), signer, passphrase=passphrase)
            created.append(home.key_path(name))
        root = TrustRoot(origin=origin, registrars=(registrar.public_key,), log_key=log.public_key)
        _write_new(home.root_path, (json.dumps(root.to_dict(), indent=2) + "\n").encode(), 0o644)
        created.append(home.root_path)
        Store.create(home.db_url, identity=home.identity()).dispose()
        created.extend(sqlite_files(home.db_url))
        config = (
            f"# Bloc Ledger home\ndb = {json.dumps(config_url)}\norigin = {json.dumps(origin)}\n"
        )
        _write_new(path / CONFIG_FILE, config.encode(), 0o644)
        created.append(path / CONFIG_FILE)
    return home


def connect_home(path: Path, *, url: str, root: bytes, key: Path | None) -> Home:
    """Create a remote home at ``path`` (ADR 0032): ``bloc.toml`` naming the server, the
    pinned ``root.json`` (its bytes as given) and, if given, the path of the reader's key.
    Nothing is written if any of it fails.

    Raises:
        ConfigError: ``path`` already holds a home, or ``root`` is not a trust root.
    """
    try:
        trust = TrustRoot.from_bytes(root)
    except InputError as e:
        raise ConfigError(f"root.json: {e}") from e
    if (path / CONFIG_FILE).exists():
        raise ConfigError(f"{path} already holds a ledger home ({CONFIG_FILE})")
    with _undo_on_failure(path) as created:
        path.mkdir(parents=True, exist_ok=True)
        _write_new(path / ROOT_FILE, root, 0o644)
        created.append(path / ROOT_FILE)
        lines = [
            "# Bloc Ledger remote home: the ledger is served at this URL",
            f"ledger = {json.dumps(url)}",
            f"origin = {json.dumps(trust.origin)}",
        ]
        if key is not None:
            lines.append(f"key = {json.dumps(str(key.resolve()))}")
        _write_new(path / CONFIG_FILE, ("\n".join(lines) + "\n").encode(), 0o644)
        created.append(path / CONFIG_FILE)
    return find_home(path, None, path)


@contextmanager
def _undo_on_failure(path: Path) -> Iterator[list[Path]]:
    existed = path.exists()
    created: list[Path] = []
    try:
        yield created
    except BaseException:
        for item in reversed(created):
            if item.is_dir():
                for child in item.iterdir():
                    child.unlink(missing_ok=True)
                item.rmdir()
            else:
                item.unlink(missing_ok=True)
        if not existed and path.exists() and not any(path.iterdir()):
            path.rmdir()
        raise


def replace_root(home: Home, root: TrustRoot) -> None:
    """Rewrite ``home``'s ``root.json`` as ``root`` and record its new digest in the
    database (ADR 0027, ADR 0037): the operator's own change of trust anchor.

    The database is opened with the old identity first, so only the home it belongs to can
    do this. The new file is written beside the old one and renamed over it after the
    database has recorded its digest; a crash in between leaves the database naming a
    ``root.json`` the home does not have yet, which the next command reports.

    Raises:
        ConfigError: a remote home, a database of another ledger, or a file error.
    """
    if home.remote is not None:
        raise ConfigError(f"{home.path} is a remote home: the operator's home owns root.json")
    if root.origin != home.origin:
        raise ConfigError("the log origin of a ledger cannot change")
    data = (json.dumps(root.to_dict(), indent=2) + "\n").encode()
    try:
        TrustRoot.from_bytes(data)  # what every later command will read must parse
    except InputError as e:
        raise ConfigError(f"the new root.json would not be valid: {e}") from e
    store = Store.open(home.db_url, identity=home.identity())
    temporary = home.root_path.with_name(ROOT_FILE + ".new")
    try:
        temporary.unlink(missing_ok=True)
        _write_new(temporary, data, 0o644)
        store.rebind(LedgerIdentity(home.origin, hashlib.sha256(data).hexdigest()))
        os.replace(temporary, home.root_path)
    finally:
        temporary.unlink(missing_ok=True)
        store.dispose()


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, with ``mode``; never overwrites."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as e:
        raise ConfigError(f"{path} exists; refusing to overwrite it") from e
    except OSError as e:
        raise ConfigError(f"cannot create {path}: {e.strerror}") from e
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)  # the umask may have narrowed or widened it


def write_signer(path: Path, signer: Signer, *, passphrase: bytes | None = None) -> None:
    """Save a private key as PKCS#8 PEM with mode 0600; refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_new(path, signer.to_pem(passphrase=passphrase), 0o600)


def is_encrypted(path: Path) -> bool:
    """Whether a PEM private key file is encrypted (read without decrypting it).

    Raises:
        ConfigError: as :func:`read_signer` (the file cannot be read, or is open to others).
    """
    head = _private_key_bytes(path)[:64]
    return head.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")


def read_signer(path: Path, *, passphrase: bytes | None = None) -> Signer:
    """A private key from a PEM file that only its owner may read.

    Raises:
        ConfigError: the file cannot be read, or group or others may read or write it.
    """
    return Signer.from_pem(_private_key_bytes(path), passphrase=passphrase, source=str(path))


def _private_key_bytes(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise ConfigError(f"cannot read key {path}: {e.strerror}") from e
    if mode & 0o077:
        raise ConfigError(
            f"key {path} is open to other users (mode {mode & 0o777:o}): run 'chmod 600 {path}'"
        )
    return read_bounded(path, limit=64 * KIB, what="key")


def write_key_pair(
    directory: Path, name: str, signer: Signer, *, passphrase: bytes | None = None
) -> tuple[Path, Path]:
    """Write ``NAME.pem`` (mode 0600) and ``NAME.pub.json`` (mode 0644) into ``directory``.

    Needs no home: a participant makes its key on its own machine and sends only
    ``NAME.pub.json`` to the registrar. The public file holds ``keyid`` and ``public_key``,
    the two fields of a participant record's ``keys[]`` entry the key itself decides (the
    registrar adds ``valid_from``). Neither file is ever overwritten; on any error nothing is
    left behind (a directory created here is removed again; its parent must exist).

    Raises:
        InputError: a bad key name.
        ConfigError: either file exists, or the directory cannot be created or written.
    """
    check_key_name(name)
    private, public = directory / f"{name}.pem", directory / f"{name}{PUBLIC_KEY_SUFFIX}"
    for path in (private, public):
        if path.exists() or path.is_symlink():
            raise ConfigError(f"{path} exists; refusing to overwrite it")
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"cannot write keys into {directory}: not a directory")
    pem = signer.to_pem(passphrase=passphrase)
    entry = {"keyid": signer.keyid, "public_key": signer.public_key.to_base64()}
    with _undo_on_failure(directory) as created:
        try:
            directory.mkdir(exist_ok=True, mode=0o700)
        except OSError as e:
            raise ConfigError(f"cannot create {directory}: {e.strerror}") from e
        _write_new(private, pem, 0o600)
        created.append(private)
        _write_new(public, (json.dumps(entry, indent=2) + "\n").encode(), 0o644)
        created.append(public)
    return private, public
