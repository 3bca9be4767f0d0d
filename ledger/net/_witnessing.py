"""The log's side of C2SP ``tlog-witness``: ask each witness in ``root.json`` to cosign the
newest checkpoint, and store the cosignatures it returns (ADR 0037).

A witness is asked with the size it is believed to hold and a consistency proof from it:
the size of the newest stored checkpoint that carries its cosignature (0 when none), or the
size it last cosigned in this process. When the witness answers ``409`` with its own size,
the log asks once more with a proof from that size. A witness that holds a *larger* tree
than the log, or whose tree the log's does not extend (``422``), is evidence of a rollback
or a fork; it is reported as such and never retried. Witnesses are asked in parallel, each
with a bounded timeout, outside any database transaction; only the cosignatures are written
afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from ledger.errors import InputError, LedgerError, VerificationError
from ledger.log.checkpoint import Checkpoint
from ledger.log.witnessing import (
    ADD_CHECKPOINT_PATH,
    SIZE_CONTENT_TYPE,
    encode_add_checkpoint,
    parse_size,
)
from ledger.records.trust import WitnessEntry
from ledger.service import Ledger

WITNESS_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_MAX_ANSWER_BYTES = 64 * 1024


class WitnessUnavailable(LedgerError):
    """No answer from the witness (connection refused, timeout, a 5xx)."""


class WitnessRefused(LedgerError):
    """The witness answered and did not cosign (its status and one line)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class WitnessConflict(WitnessRefused):
    """``409``: the witness holds another size (``size``) than the one the log assumed."""

    def __init__(self, size: int, message: str) -> None:
        super().__init__(409, message)
        self.size = size


def request_cosignature(
    http: httpx.Client, url: str, *, old_size: int, proof: Sequence[bytes], note: str
) -> str:
    """``POST URL/add-checkpoint``; the witness's cosignature line(s) on ``note``.

    Raises:
        WitnessUnavailable: no answer, or a server error.
        WitnessConflict: 409 with the witness's size.
        WitnessRefused: any other refusal.
    """
    body = encode_add_checkpoint(old_size=old_size, proof=proof, note=note)
    target = url.rstrip("/") + ADD_CHECKPOINT_PATH
    try:
        with http.stream("POST", target, content=body) as response:
            text = _bounded_body(response)
    except (httpx.HTTPError, httpx.InvalidURL) as e:
        raise WitnessUnavailable(f"unreachable at {url} ({type(e).__name__})") from e
    if response.status_code == 200:
        return text.decode("utf-8", errors="replace")
    line = text.decode("utf-8", errors="replace").strip().split("\n")[0][:200]
    if response.status_code >= 500:
        raise WitnessUnavailable(f"answered {response.status_code} {line}")
    if response.status_code == 409 and response.headers.get("content-type", "").startswith(
        SIZE_CONTENT_TYPE
    ):
        try:
            size = parse_size(text)
        except InputError as e:
            raise WitnessRefused(409, f"answered 409 with a malformed size: {e}") from e
        raise WitnessConflict(size, f"holds tree size {size}")
    raise WitnessRefused(response.status_code, f"refused ({response.status_code}): {line}")


def _bounded_body(response: httpx.Response) -> bytes:
    """At most :data:`_MAX_ANSWER_BYTES` of the answer: a witness cannot make the log read
    more (an answer is a few cosignature lines)."""
    received = bytearray()
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) > _MAX_ANSWER_BYTES:
            raise WitnessUnavailable(f"answered more than {_MAX_ANSWER_BYTES} bytes")
    return bytes(received)


@dataclass(frozen=True, slots=True, kw_only=True)
class Witnessed:
    """What asking the witnesses achieved for the checkpoint at ``tree_size``."""

    tree_size: int
    quorum: int
    witnesses: int
    """How many witnesses ``root.json`` names."""
    cosigned: tuple[str, ...]
    """Witnesses whose cosignature the stored note now carries (earlier ones included)."""
    failures: tuple[tuple[str, str], ...]
    """(witness, why) for each witness asked that did not cosign."""
    note: str

    @property
    def met(self) -> bool:
        return len(self.cosigned) >= self.quorum

    def describe(self) -> str:
        """One line: who cosigned, against the quorum, and why the others did not."""
        head = (
            f"checkpoint at tree size {self.tree_size}: cosigned by {len(self.cosigned)} of "
            f"{self.witnesses} witnesses (quorum {self.quorum})"
        )
        named = f" ({', '.join(self.cosigned)})" if self.cosigned else ""
        why = "".join(f"; {name}: {reason}" for name, reason in self.failures)
        return head + named + why


class Witnessing:
    """Asks a ledger's witnesses to cosign its newest checkpoint; one per process."""

    def __init__(self, ledger: Ledger, *, transport: httpx.BaseTransport | None = None) -> None:
        self._ledger = ledger
        self._sizes: dict[str, int] = {}
        self._http = httpx.Client(timeout=WITNESS_TIMEOUT, transport=transport)

    def close(self) -> None:
        self._http.close()

    def collect(self) -> Witnessed | None:
        """Ask every witness that has not cosigned the newest checkpoint; store what they
        return. None when ``root.json`` names no witnesses or the log has no checkpoint.

        Raises:
            VerificationError: the newest checkpoint does not verify.
            StorageError: the cosignatures could not be stored.
        """
        root = self._ledger.root
        if not root.witnesses:
            return None
        try:
            checkpoint, note = self._ledger.newest_checkpoint()
        except InputError:
            return None  # nothing signed yet: nothing to cosign
        done = root.cosigned_by(note)
        asking = [w for w in root.witnesses if w.name not in done]
        if any(w.name not in self._sizes for w in asking):
            # Where each witness stands, from the cosignatures the log stored: a new process
            # asks from there instead of from 0, and needs no 409 round trip.
            for name, size in self._ledger.last_cosigned_sizes().items():
                self._sizes.setdefault(name, size)
        failures: list[tuple[str, str]] = []
        if asking:
            with ThreadPoolExecutor(max_workers=len(asking)) as pool:
                answers = list(pool.map(lambda w: self._ask(w, checkpoint, note), asking))
            for witness, (line, failure) in zip(asking, answers, strict=True):
                if failure is None:
                    # One witness's answer at a time: a bad one fails that witness only.
                    note, failure = self._store(witness, checkpoint.tree_size, line or "", note)
                if failure is not None:
                    failures.append((witness.name, failure))
        return Witnessed(
            tree_size=checkpoint.tree_size,
            quorum=root.witness_quorum,
            witnesses=len(root.witnesses),
            cosigned=root.cosigned_by(note),
            failures=tuple(failures),
            note=note,
        )

    def _store(
        self, witness: WitnessEntry, size: int, lines: str, note: str
    ) -> tuple[str, str | None]:
        """(the stored note, None) once ``witness``'s answer is stored, or (``note``, why
        not) when the answer is not a valid cosignature by it."""
        ours = [
            line
            for line in lines.splitlines(keepends=True)
            if line.startswith(f"\u2014 {witness.name} ")
        ]
        if not ours:
            return note, "answered 200 without a cosignature line by it"
        try:
            return self._ledger.add_cosignatures(size, "".join(ours)), None
        except VerificationError as e:
            return note, f"answered with a cosignature that is not valid: {e}"

    def _ask(
        self, witness: WitnessEntry, checkpoint: Checkpoint, note: str
    ) -> tuple[str | None, str | None]:
        """(cosignature lines, None) or (None, why not)."""
        old = self._sizes.get(witness.name, 0)
        for _ in range(2):
            if old > checkpoint.tree_size:
                return None, (
                    f"it has cosigned tree size {old}, larger than this log's "
                    f"{checkpoint.tree_size}: the log was rolled back"
                )
            try:
                proof = self._proof(old, checkpoint.tree_size)
                line = request_cosignature(
                    self._http, witness.url, old_size=old, proof=proof, note=note
                )
            except WitnessConflict as conflict:
                if conflict.size == old:
                    return None, (f"it has cosigned another tree of size {old}: the log forked")
                old = conflict.size
                continue
            except WitnessRefused as e:
                if e.status == 422:
                    return None, (
                        f"its tree (size {old}) is not a prefix of this log's: the log forked"
                    )
                return None, str(e)
            except (WitnessUnavailable, InputError, VerificationError) as e:
                return None, str(e)
            except Exception as e:  # a witness, whatever it does, never fails a write
                return None, f"could not be asked: {type(e).__name__}: {e}"
            self._sizes[witness.name] = checkpoint.tree_size
            return line, None
        return None, f"it holds tree size {old} and again refused the size it named"

    def _proof(self, old: int, new: int) -> tuple[bytes, ...]:
        if old in (0, new):
            return ()
        return self._ledger.prove_consistency(old, new).consistency_proof


def collect_once(
    ledger: Ledger, *, transport: httpx.BaseTransport | None = None
) -> Witnessed | None:
    """:meth:`Witnessing.collect` for one write (a command line process): ask, store, close.

    Raises:
        VerificationError: the newest checkpoint does not verify.
        StorageError: the cosignatures could not be stored.
    """
    witnessing = Witnessing(ledger, transport=transport)
    try:
        return witnessing.collect()
    finally:
        witnessing.close()
