"""Running a coroutine from a synchronous test, whatever loop the test's thread may already be running."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_apart(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: a session-wide Playwright keeps a loop running in the main
    thread, where asyncio.run would refuse to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
