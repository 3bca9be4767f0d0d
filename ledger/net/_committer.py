"""Group commit: concurrent submissions share one transaction (ADR 0030).

Requests hand their envelopes to :class:`Committer` and wait. One task takes everything
waiting, submits it in one call (``Ledger.submit``: each envelope judged on its
own against the log as the ones before it left it, the accepted ones committed together
with a checkpoint covering them) in a worker thread, and answers every request with its own
results. While a commit runs, new requests gather for the next one, so a busy server commits
large groups and an idle one commits at once: there is no timer to tune.

A request is answered only after the commit that made its records durable. A client that
goes away does not cancel its records: they are committed with their group or not at all,
and sending them again is idempotent (duplicates are answered with their log index).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ledger.errors import StorageError
from ledger.service import COMMIT_GROUP, Ledger, SubmitResult


@dataclass(slots=True)
class _Waiting:
    envelopes: Sequence[bytes]
    answer: asyncio.Future[list[SubmitResult]]


@dataclass(slots=True)
class Committer:
    """Pools submissions and commits them in groups, one group at a time."""

    ledger: Ledger
    clock: Callable[[], datetime]
    after_commit: Callable[[], object] | None = None
    """Run in the commit's thread after each commit and before its requests are answered:
    the server asks its witnesses to cosign the new checkpoint here (ADR 0037), so an
    answered record is covered by a witnessed checkpoint whenever the witnesses agree."""
    max_group: int = COMMIT_GROUP
    """Envelopes per commit at most; a request is never split across commits. Below
    ``PARALLEL_FROM``: a server opens its groups in its own process, never in a pool."""
    _waiting: deque[_Waiting] = field(default_factory=deque)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _closing: bool = False
    groups: int = 0
    """Commits made (for the access log and the benchmark)."""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def submit(self, envelopes: Sequence[bytes]) -> list[SubmitResult]:
        """The results of ``envelopes``, once the commit holding them has ended.

        Raises:
            LedgerError: the database failed, or the server is shutting down (a
                StorageError, answered 503): nothing of this request was stored.
        """
        if self._closing:
            raise StorageError("the server is shutting down: send again to another server or later")
        answer: asyncio.Future[list[SubmitResult]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(envelopes, answer))
        self._wake.set()
        # shield: a client that disconnects does not cancel the commit of its records.
        return await asyncio.shield(answer)

    async def close(self) -> None:
        """Commit what is waiting, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                group = self._take()
                await self._commit(group)
            if self._closing:
                return

    def _take(self) -> list[_Waiting]:
        group: list[_Waiting] = []
        count = 0
        while self._waiting and (
            not group or count + len(self._waiting[0].envelopes) <= self.max_group
        ):
            item = self._waiting.popleft()
            group.append(item)
            count += len(item.envelopes)
        return group

    async def _commit(self, group: list[_Waiting]) -> None:
        flat = [envelope for item in group for envelope in item.envelopes]
        try:
            results = await asyncio.to_thread(self._submit, flat)
        except BaseException as error:  # every waiting request learns of the failure
            for item in group:
                if not item.answer.done():
                    item.answer.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        self.groups += 1
        start = 0
        for item in group:
            mine = results[start : start + len(item.envelopes)]
            start += len(item.envelopes)
            if not item.answer.done():
                item.answer.set_result(
                    [_renumbered(r, position) for position, r in enumerate(mine)]
                )

    def _submit(self, envelopes: list[bytes]) -> list[SubmitResult]:
        results = self.ledger.submit(envelopes, now=self.clock())
        if self.after_commit is not None:
            self.after_commit()
        return results


def _renumbered(result: SubmitResult, position: int) -> SubmitResult:
    """``result`` at its position in its own request rather than in the group."""
    return replace(result, position=position)
