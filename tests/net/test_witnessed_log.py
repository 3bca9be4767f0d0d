"""The log's side of witnessing (issue 13, ADR 0037), with real ``bloc witness serve``
processes: every checkpoint is offered to the witnesses of ``root.json``; readers accept
only checkpoints cosigned by the quorum; a quorum of 2 of 3 survives one witness down; with
two down readers keep the last witnessed checkpoint and clients refuse anything newer; a
rolled-back or forked log cannot get its new checkpoint cosigned.

Witnesses keep no database and the log's side is the same code on both backends, so the
cases that only exercise witnessing run on SQLite; the server case runs on both."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from served import Served, served, served_command

from ledger.log.cosignature import VerifierKey, verify_cosignature
from ledger.net import collect_once
from ledger.records.trust import WitnessEntry
from ledger.service.home import replace_root, write_signer
from ledger.witness import init_witness

from helpers import SQLITE_ONLY, World, bloc_executable, envelope_bytes, extraction

pytestmark = pytest.mark.slow
MAGNET = "lot:lynas/NDPR-1"


def bloc(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bloc_executable(), "--home", str(home), *args], capture_output=True, text=True, timeout=120
    )


@dataclass
class Witness:
    name: str
    directory: Path
    vkey: VerifierKey
    server: Served | None = None

    def start(self, stack: ExitStack) -> str:
        command = ["witness", "serve", str(self.directory), "--listen", "127.0.0.1:0"]
        self.server = stack.enter_context(served_command(command))
        return self.server.url

    def stop(self) -> None:
        assert self.server is not None
        assert self.server.stop() == 0


@pytest.fixture
def witnesses(world: World, tmp_path: Path) -> Iterator[list[Witness]]:
    """Three witnesses of the world's log (real processes), added to its root.json with a
    quorum of 2, and the world's checkpoint cosigned by all three."""
    found = []
    root = world.home.root()
    with ExitStack() as stack:
        for i in range(3):
            directory = tmp_path / f"witness-{i + 1}"
            name = f"w{i + 1}.test"
            vkey = init_witness(directory, name=name, roots=[world.home.root_path.read_bytes()])
            witness = Witness(name, directory, vkey)
            root = root.with_witness(
                WitnessEntry(vkey=vkey, url=witness.start(stack)), quorum=2 if i else 1
            )
            found.append(witness)
        world.ledger.store.dispose()
        replace_root(world.home, root)
        ledger = world.home.ledger()
        try:
            witnessed = collect_once(ledger)
        finally:
            ledger.store.dispose()
        assert witnessed is not None
        assert len(witnessed.cosigned) == 3, witnessed
        yield found


def ore(world: World, tag: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{tag}.json"
    record = extraction("lynas", "lynas-mt-weld", [(f"lot:lynas/{tag}", "rare_earth_ore", 10)])
    path.write_bytes(envelope_bytes(record, world.lynas))
    return path


def checkpoint(home: Path) -> dict[str, object]:
    shown = bloc(home, "log", "checkpoint", "--json")
    assert shown.returncode == 0, shown.stderr
    return dict(json.loads(shown.stdout))


@SQLITE_ONLY
def test_checkpoints_are_cosigned_and_a_quorum_of_2_of_3_survives_one_witness_down(
    world: World, witnesses: list[Witness], tmp_path: Path
) -> None:
    done = bloc(world.home.path, "submit", str(ore(world, "A", tmp_path)))
    assert (done.returncode, done.stderr) == (0, "")
    shown = checkpoint(world.home.path)
    assert shown["tree_size"] == 12
    assert shown["cosigned_by"] == ["w1.test", "w2.test", "w3.test"]
    for witness in witnesses:
        assert verify_cosignature(str(shown["note"]), vkey=witness.vkey) > 0
    text = bloc(world.home.path, "log", "checkpoint").stdout
    assert text == shown["note"]
    assert [line.split(" ")[1] for line in text.splitlines() if line.startswith("\u2014")] == [
        "test.bloc/ledger", "w1.test", "w2.test", "w3.test",
    ]  # fmt: skip

    witnesses[2].stop()
    done = bloc(world.home.path, "submit", str(ore(world, "B", tmp_path)))
    assert done.returncode == 0
    assert done.stderr.startswith(
        "bloc: warning: checkpoint at tree size 13: cosigned by 2 of 3 witnesses (quorum 2) "
        "(w1.test, w2.test); w3.test: unreachable at http://127.0.0.1:"
    )
    shown = checkpoint(world.home.path)
    assert (shown["tree_size"], shown["cosigned_by"]) == (13, ["w1.test", "w2.test"])


@SQLITE_ONLY
def test_with_two_witnesses_down_readers_keep_the_last_witnessed_checkpoint(
    world: World, witnesses: list[Witness], tmp_path: Path
) -> None:
    witnesses[1].stop()
    witnesses[2].stop()
    done = bloc(world.home.path, "submit", str(ore(world, "A", tmp_path)))
    assert done.returncode == 0  # the record is stored; only its checkpoint is not witnessed
    assert "cosigned by 1 of 3 witnesses (quorum 2) (w1.test)" in done.stderr
    assert "run 'bloc log publish' when the witnesses can be reached" in done.stderr
    assert checkpoint(world.home.path)["tree_size"] == 11
    bundle = bloc(
        world.home.path, "evidence", "lot:lynas/A", "--policy", "dfars-252.225-7052",
        "-o", str(tmp_path / "a.json"),
    )  # fmt: skip
    assert bundle.returncode == 2
    assert "logged after the latest checkpoint (tree size 11)" in bundle.stderr
    published = bloc(world.home.path, "log", "publish")
    assert published.returncode == 3
    assert published.stderr.startswith(
        "bloc: error: checkpoint at tree size 12: cosigned by 1 of 3 witnesses (quorum 2)"
    )
    with ExitStack() as stack:  # one witness comes back (on a new port)
        url = witnesses[1].start(stack)
        added = bloc(
            world.home.path, "log", "witness", "add", f"{witnesses[1].vkey.encode()}@{url}"
        )
        assert added.returncode == 0, added.stderr
        published = bloc(world.home.path, "log", "publish")
        assert published.returncode == 0, published.stderr
        shown = checkpoint(world.home.path)
        assert (shown["tree_size"], shown["cosigned_by"]) == (12, ["w1.test", "w2.test"])


def _strip(note: str, *names: str) -> str:
    return "".join(
        line
        for line in note.splitlines(keepends=True)
        if not any(line.startswith(f"\u2014 {name} ") for name in names)
    )


def _forge(note: str, name: str) -> str:
    lines = note.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(f"\u2014 {name} "):
            blob = bytearray(base64.b64decode(line.split(" ")[2]))
            blob[-1] ^= 1
            lines[i] = f"\u2014 {name} {base64.b64encode(bytes(blob)).decode()}\n"
    return "".join(lines)


@SQLITE_ONLY
def test_a_bundle_whose_checkpoint_lacks_the_quorum_is_refused(
    world: World, witnesses: list[Witness], tmp_path: Path
) -> None:
    path = tmp_path / "bundle.json"
    made = bloc(
        world.home.path, "evidence", MAGNET, "--policy", "dfars-252.225-7052", "-o", str(path)
    )
    assert made.returncode == 0, made.stderr
    verify = ["verify-bundle", str(path), "--root", str(world.home.root_path)]
    assert bloc(tmp_path, *verify).returncode == 0
    honest = json.loads(path.read_bytes())
    note = honest["checkpoint"]
    for tampered, message in [
        (_strip(note, "w1.test", "w2.test"), "cosigned by 1 of the 2 witnesses required (missing: w1.test, w2.test)"),
        (_forge(note, "w2.test"), "cosignature by witness 'w2.test' does not verify"),
    ]:  # fmt: skip
        path.write_text(json.dumps(honest | {"checkpoint": tampered}))
        refused = bloc(tmp_path, *verify)
        assert refused.returncode == 3
        assert "the bundle's checkpoint is refused" in refused.stderr
        assert message in refused.stderr


@SQLITE_ONLY
def test_a_rolled_back_log_cannot_get_a_new_checkpoint_cosigned(
    world: World, witnesses: list[Witness], tmp_path: Path
) -> None:
    """The operator restores yesterday's database after the witnesses cosigned today's
    tree, then logs other records in place of the lost ones."""
    database = Path(world.home.db_url.removeprefix("sqlite:///"))
    yesterday = tmp_path / "yesterday.db"
    shutil.copy(database, yesterday)
    assert bloc(world.home.path, "submit", str(ore(world, "TODAY", tmp_path))).returncode == 0
    kept = tmp_path / "kept"
    kept.write_text(bloc(world.home.path, "log", "checkpoint").stdout)
    for journal in ("-wal", "-shm"):
        Path(f"{database}{journal}").unlink(missing_ok=True)
    shutil.copy(yesterday, database)
    rolled = bloc(world.home.path, "log", "consistency", "--kept", str(kept))
    assert rolled.returncode == 3
    assert "rollback: the current checkpoint has tree size 11, smaller than" in rolled.stderr
    done = bloc(world.home.path, "submit", str(ore(world, "OTHER", tmp_path)))
    assert done.returncode == 0
    for name in ("w1.test", "w2.test", "w3.test"):
        assert f"{name}: it has cosigned another tree of size 12: the log forked" in done.stderr
    assert checkpoint(world.home.path)["tree_size"] == 11  # the fork is never shown to readers
    published = bloc(world.home.path, "log", "publish")
    assert published.returncode == 3
    assert "cosigned by 0 of 3 witnesses (quorum 2)" in published.stderr


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_server_asks_its_witnesses_before_it_answers(
    world: World, witnesses: list[Witness], tmp_path: Path
) -> None:
    key = tmp_path / "lynas.pem"
    write_signer(key, world.lynas)
    with served(world.home.path) as server:
        home = tmp_path / "remote"
        connect = ["connect", server.url, str(home), "--root", str(world.home.root_path)]
        connected = bloc(tmp_path, *connect, "--key", str(key))
        assert connected.returncode == 0, connected.stderr
        assert "  witnesses  cosigned by w1.test, w2.test, w3.test (quorum 2 of 3)\n" in (
            connected.stdout
        )
        done = bloc(home, "submit", str(ore(world, "VIA-SERVER", tmp_path)))
        assert done.returncode == 0, done.stderr
        shown = checkpoint(home)
        assert (shown["tree_size"], shown["cosigned_by"]) == (12, ["w1.test", "w2.test", "w3.test"])
        witnesses[1].stop()
        witnesses[2].stop()
        assert bloc(home, "submit", str(ore(world, "UNWITNESSED", tmp_path))).returncode == 0
        assert checkpoint(home)["tree_size"] == 12  # the server serves the witnessed one
        assert server.stop() == 0
    assert b'"event": "witnessing"' in server.stderr
    assert b"cosigned by 1 of 3 witnesses (quorum 2) (w1.test)" in server.stderr


@SQLITE_ONLY
def test_a_server_that_stopped_asking_its_witnesses_is_refused(
    world: World, witnesses: list[Witness], tmp_path: Path
) -> None:
    """The operator serves from a root.json without witnesses; clients hold the real one."""
    real_root = tmp_path / "root-with-witnesses.json"
    shutil.copy(world.home.root_path, real_root)
    document = json.loads(real_root.read_bytes())
    del document["witnesses"], document["witness_quorum"]
    world.home.root_path.write_text(json.dumps(document, indent=2) + "\n")
    rebound = _rebind(world)
    assert rebound.returncode == 0, rebound.stderr
    assert bloc(world.home.path, "submit", str(ore(world, "QUIET", tmp_path))).returncode == 0
    with served(world.home.path) as server:
        home = tmp_path / "client"
        refused = bloc(tmp_path, "connect", server.url, str(home), "--root", str(real_root))
        assert refused.returncode == 3
        assert refused.stderr == (
            "bloc: error: the server's checkpoint is refused: checkpoint at tree size 12 is "
            "cosigned by 0 of the 2 witnesses required (missing: w1.test, w2.test, w3.test)\n"
        )
        assert server.stop() == 0


def _rebind(world: World) -> subprocess.CompletedProcess[str]:
    """Record the edited root.json's digest in the database (what an operator with write
    access to both can always do)."""
    script = (
        "import hashlib, sys\n"
        "from ledger.store import LedgerIdentity, Store\n"
        "from ledger.service.home import find_home\n"
        "from pathlib import Path\n"
        "home = find_home(Path(sys.argv[1]), None, Path.cwd())\n"
        "store = Store.open(home.db_url)\n"
        "data = home.root_path.read_bytes()\n"
        "store.rebind(LedgerIdentity(home.origin, hashlib.sha256(data).hexdigest()))\n"
    )
    python = str(Path(bloc_executable()).parent / "python")
    return subprocess.run(
        [python, "-c", script, str(world.home.path)], capture_output=True, text=True, timeout=60
    )
