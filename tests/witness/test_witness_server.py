"""``bloc witness serve`` against a real process: the C2SP tlog-witness state machine.

Checkpoints and consistency proofs come from a real ledger (the ``world`` fixture); a
checkpoint at an older size is the log key's signature over the root the ledger's own
consistency proof names for that size, so every note here is one the log could have signed.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from served import Served, served_command

from ledger.core.signing import Signer
from ledger.log.checkpoint import Checkpoint, sign_checkpoint
from ledger.log.cosignature import VerifierKey, parse_vkey, verify_cosignature
from ledger.log.witnessing import SIZE_CONTENT_TYPE, encode_add_checkpoint
from ledger.service.home import LOG_KEY

from helpers import World, bloc_executable

NAME = "witness.test/w1"
pytestmark = pytest.mark.slow


@dataclass
class Log:
    """Notes and proofs of the world's ledger at any size up to its latest checkpoint."""

    world: World
    signer: Signer
    size: int

    @property
    def origin(self) -> str:
        return self.world.home.origin

    def root(self, size: int) -> bytes:
        return self.world.ledger.prove_consistency(size, self.size).old_root

    def note(self, size: int, *, root: bytes | None = None, signer: Signer | None = None) -> str:
        checkpoint = Checkpoint(
            origin=self.origin, tree_size=size, root_hash=root or self.root(size)
        )
        return sign_checkpoint(checkpoint, signer or self.signer)

    def proof(self, old: int, new: int) -> list[bytes]:
        if old in (0, new):
            return []
        return list(self.world.ledger.prove_consistency(old, new).consistency_proof)


@pytest.fixture
def log(world: World) -> Log:
    checkpoint, _ = world.ledger.latest_checkpoint()
    assert checkpoint.tree_size >= 8
    return Log(world=world, signer=world.home.signer(LOG_KEY), size=checkpoint.tree_size)


def init(directory: Path, *roots: Path) -> VerifierKey:
    args = ["witness", "init", str(directory), "--name", NAME]
    for root in roots:
        args += ["--log", str(root)]
    done = subprocess.run([bloc_executable(), *args], capture_output=True, text=True, check=True)
    return parse_vkey(done.stdout.strip())


@pytest.fixture
def witness_dir(tmp_path: Path, log: Log) -> tuple[Path, VerifierKey]:
    directory = tmp_path / "witness"
    return directory, init(directory, log.world.home.root_path)


def serving(directory: Path) -> Iterator[Served]:
    return served_command(["witness", "serve", str(directory), "--listen", "127.0.0.1:0"])


def post(url: str, old: int, proof: list[bytes], note: str) -> httpx.Response:
    body = encode_add_checkpoint(old_size=old, proof=proof, note=note)
    return httpx.post(f"{url}/add-checkpoint", content=body, timeout=30)


def grow(url: str, log: Log, old: int, new: int) -> httpx.Response:
    return post(url, old, log.proof(old, new), log.note(new))


def assert_cosigned(response: httpx.Response, note: str, vkey: VerifierKey) -> None:
    assert response.status_code == 200, response.text
    assert response.text.startswith(f"\u2014 {NAME} ")
    assert response.text.endswith("\n")
    assert verify_cosignature(note + response.text, vkey=vkey) > 0


def assert_conflict(response: httpx.Response, size: int) -> None:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == SIZE_CONTENT_TYPE
    assert response.text == f"{size}\n"


def stored(directory: Path, origin: str) -> int:
    return int(json.loads((directory / "state.json").read_text())["logs"][origin]["size"])


def test_init_prints_the_vkey_and_keeps_the_key_private(
    witness_dir: tuple[Path, VerifierKey],
) -> None:
    directory, vkey = witness_dir
    assert vkey.name == NAME
    assert vkey.signature_type == 0x04
    assert os.stat(directory / "keys" / "witness.pem").st_mode & 0o777 == 0o600
    assert json.loads((directory / "state.json").read_text()) == {"version": 1, "logs": {}}


def test_the_state_machine(log: Log, witness_dir: tuple[Path, VerifierKey]) -> None:
    directory, vkey = witness_dir
    a, b, n = 3, 7, log.size
    with serving(directory) as server:
        url = server.url
        # First checkpoint: old 0, no proof.
        first = log.note(a)
        assert_cosigned(post(url, 0, [], first), first, vkey)
        assert stored(directory, log.origin) == a
        # The same checkpoint twice: cosigned again.
        assert_cosigned(post(url, a, [], first), first, vkey)
        # A client that does not know the witness's size learns it from the 409.
        assert_conflict(grow(url, log, 0, b), a)
        # Consistent growth.
        assert_cosigned(grow(url, log, a, b), log.note(b), vkey)
        assert stored(directory, log.origin) == b
        # Fork at the same size: another root at size b (the spec: 409).
        assert_conflict(post(url, b, [], log.note(b, root=bytes(32))), b)
        # Fork at a larger size: the proof from b does not lead to that root (422).
        forked = post(url, b, log.proof(b, n), log.note(n, root=bytes(32)))
        assert forked.status_code == 422, forked.text
        # A bad proof for the honest checkpoint (422).
        bad = [bytes(32)] * len(log.proof(b, n))
        assert post(url, b, bad, log.note(n)).status_code == 422
        # Rollback to a smaller size: from the witness's size it is old > new (400) ...
        assert post(url, b, [], log.note(a)).status_code == 400
        # ... and from the smaller size, a conflict naming the witness's size (409).
        assert_conflict(post(url, a, [], log.note(a)), b)
        assert stored(directory, log.origin) == b
        assert server.stop() == 0  # SIGTERM: exit 0


def test_refusals(log: Log, witness_dir: tuple[Path, VerifierKey]) -> None:
    directory, _ = witness_dir
    other_log = Checkpoint(origin="other.test/log", tree_size=3, root_hash=log.root(3))
    with serving(directory) as server:
        url = server.url
        # A log key the witness does not trust (403); the origin is known.
        assert post(url, 0, [], log.note(3, signer=Signer.generate())).status_code == 403
        # An origin the witness does not witness (404).
        unknown = post(url, 0, [], sign_checkpoint(other_log, log.signer))
        assert unknown.status_code == 404
        # Malformed requests (400).
        assert httpx.post(f"{url}/add-checkpoint", content=b"old x\n\nfoo").status_code == 400
        assert post(url, 0, [], "not a note\n").status_code == 400
        assert post(url, 5, [], log.note(3)).status_code == 400  # old > new
        # A proof with old size 0 must be empty (422).
        assert post(url, 0, [bytes(32)], log.note(3)).status_code == 422
        # Nothing of the above was cosigned.
        assert json.loads((directory / "state.json").read_text())["logs"] == {}


def test_a_cosigned_size_survives_kill_9(log: Log, witness_dir: tuple[Path, VerifierKey]) -> None:
    directory, vkey = witness_dir
    with serving(directory) as server:
        assert grow(server.url, log, 0, 5).status_code == 200
        server.kill()
    with serving(directory) as server:
        assert_conflict(grow(server.url, log, 0, 3), 5)
        assert_cosigned(grow(server.url, log, 5, log.size), log.note(log.size), vkey)


def test_concurrent_requests_cannot_both_advance(
    log: Log, witness_dir: tuple[Path, VerifierKey]
) -> None:
    directory, _ = witness_dir
    with serving(directory) as server:
        assert grow(server.url, log, 0, 2).status_code == 200
        targets = [4, 5, 6, 7, log.size] * 4
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda new: grow(server.url, log, 2, new), targets))
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * (len(targets) - 1)
    winner = targets[[r.status_code for r in answers].index(200)]
    assert stored(directory, log.origin) == winner


def test_one_process_per_witness_directory(witness_dir: tuple[Path, VerifierKey]) -> None:
    directory, _ = witness_dir
    with serving(directory):
        second = subprocess.run(
            [bloc_executable(), "witness", "serve", str(directory), "--listen", "127.0.0.1:0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert second.returncode == 2
    assert "another process serves the witness" in second.stderr
