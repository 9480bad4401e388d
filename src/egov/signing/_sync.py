"""Run pyHanko's API from anywhere (even a thread with a running loop) on a loop kept per thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="egov-signing")


def loop_safe(fn: Callable[P, R]) -> Callable[P, R]:
    """Call `fn` directly, or on a worker thread when this thread already runs an event loop
    (an async handler, Playwright's sync API): asyncio.run cannot nest."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        return _POOL.submit(fn, *args, **kwargs).result()

    return wrapper


_LOOPS = threading.local()


def run(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run pyHanko's async API to completion on this thread's own long-lived event loop.

    pyHanko's synchronous wrappers call asyncio.run, which makes and tears down a loop (an epoll
    descriptor, a socket pair, an executor) for every document: about 0.1 ms each time. Callers are
    `loop_safe`, so no loop is running on this thread.
    """
    loop = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = _LOOPS.loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        # Nothing of one call may run during the next (what asyncio.run's teardown guaranteed).
        left = asyncio.all_tasks(loop)
        if left:
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
