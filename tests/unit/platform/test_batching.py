"""GroupCommit: batches of what waits, one answer per item, and no caller left waiting whatever fails."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from egov.platform.batching import GroupCommit


class WorkerDied(BaseException):
    """Not an Exception: what kills the worker thread itself (as SystemExit or a signal would)."""


def _gated(answer: Callable[[list[int]], list[str | None]]) -> tuple[Callable[[list[int]], list[str | None]],
                                                                      list[list[int]], threading.Event]:
    """A decide that records its batches and holds the first until the gate opens."""
    batches: list[list[int]] = []
    gate = threading.Event()

    def decide(items: list[int]) -> list[str | None]:
        batches.append(list(items))
        if len(batches) == 1:
            gate.wait(5)
        return answer(items)

    return decide, batches, gate


async def _submit_all(gc: GroupCommit[int, str], items: list[int], gate: threading.Event) -> list[str | None]:
    first = gc.submit(items[0])
    while not gc._running or gc.waiting:  # the worker has taken the first item
        await asyncio.sleep(0.001)
    rest = [gc.submit(i) for i in items[1:]]
    gate.set()
    return [await asyncio.wait_for(f, 5) for f in (first, *rest)]  # a caller left waiting fails the test


def test_what_waits_behind_a_batch_is_decided_as_one_batch() -> None:
    decide, batches, gate = _gated(lambda items: [f"ok {i}" for i in items])
    gc: GroupCommit[int, str] = GroupCommit(decide)
    answers = asyncio.run(_submit_all(gc, [1, 2, 3, 4], gate))
    assert answers == ["ok 1", "ok 2", "ok 3", "ok 4"]  # each its own answer, by position
    assert batches == [[1], [2, 3, 4]]  # alone, a batch of one; then everything that waited


def test_a_batch_is_at_most_max_batch_items() -> None:
    decide, batches, gate = _gated(lambda items: [str(i) for i in items])
    gc: GroupCommit[int, str] = GroupCommit(decide, max_batch=2)
    assert asyncio.run(_submit_all(gc, [1, 2, 3, 4, 5], gate)) == ["1", "2", "3", "4", "5"]
    assert batches == [[1], [2, 3], [4, 5]]


@pytest.mark.parametrize("broken", [lambda items: 1 / 0, lambda items: ["one answer too few"][: len(items) - 1]],
                         ids=["raises", "wrong count"])
def test_a_batch_that_cannot_be_decided_answers_none_to_each(broken: Callable[[list[int]], list[str | None]]
                                                             ) -> None:
    decide, _, gate = _gated(broken)
    gc: GroupCommit[int, str] = GroupCommit(decide)
    assert asyncio.run(_submit_all(gc, [1, 2, 3], gate)) == [None, None, None]
    gc.decide = lambda items: [str(i) for i in items]  # the worker lives on and serves the next batch
    assert asyncio.run(_submit_all(gc, [7], threading.Event())) == ["7"]


def test_a_dead_worker_releases_its_batch_and_everything_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    died = threading.Event()
    monkeypatch.setattr(threading, "excepthook", lambda args: died.set())  # the death is expected here

    def die(items: list[int]) -> list[str | None]:
        raise WorkerDied

    decide, batches, gate = _gated(die)  # type: ignore[arg-type]
    gc: GroupCommit[int, str] = GroupCommit(decide)
    assert asyncio.run(_submit_all(gc, [1, 2, 3], gate)) == [None, None, None]
    assert batches == [[1]]  # it died on its first batch; the waiting ones were released undecided
    assert died.wait(5)  # the thread re-raised what killed it
    assert not gc._running and gc.waiting == []
    gc.decide = lambda items: [str(i) for i in items]  # a new worker starts for the next submission
    assert asyncio.run(_submit_all(gc, [9], threading.Event())) == ["9"]


def test_no_thread_to_be_had_answers_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    gc: GroupCommit[int, str] = GroupCommit(lambda items: [str(i) for i in items])

    async def one() -> str | None:
        return await gc.submit(1)

    assert asyncio.run(one()) is None and gc.waiting == []


def test_cancelled_callers_are_skipped() -> None:
    decide, batches, gate = _gated(lambda items: [str(i) for i in items])
    gc: GroupCommit[int, str] = GroupCommit(decide)

    async def run() -> list[str | None]:
        first = gc.submit(1)
        while not gc._running or gc.waiting:
            await asyncio.sleep(0.001)
        gone, kept = gc.submit(2), gc.submit(3)
        gone.cancel()
        gate.set()
        return [await first, await kept]

    assert asyncio.run(run()) == ["1", "3"]
    assert batches == [[1], [3]]


def test_an_idle_worker_ends_and_a_new_one_starts() -> None:
    gc: GroupCommit[int, str] = GroupCommit(lambda items: [str(i) for i in items], idle_seconds=0.05)

    async def one(i: int) -> str | None:
        return await gc.submit(i)

    assert asyncio.run(one(1)) == "1"
    deadline = time.monotonic() + 5
    while gc._running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not gc._running
    assert asyncio.run(one(2)) == "2"
