"""Run pyHanko's synchronous API (asyncio.run inside) from anywhere, even a thread with a running loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

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
