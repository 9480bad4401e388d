"""Validate untrusted uploads in a separate process with hard limits: wall time, address space, CPU.

The in-process guards (size, object and revision counts, a time budget between signatures) stop
the obvious bombs; a document crafted to make one parse or one signature slow, or to inflate in
memory, is stopped here: the worker is killed and replaced, the caller gets UnsafeInput.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from egov.signing.interfaces import SigningError, TrustSource, UnsafeInput

DEFAULT_TIMEOUT_SECONDS = 20.0
DEFAULT_MEMORY_BYTES = 2 * 1024**3


def _limit(memory_bytes: int, cpu_seconds: int, parent_pid: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="egov-exit-with-parent", daemon=True).start()


def _exit_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """Runs in the worker: leave as soon as the server process is gone, however it went.

    A worker blocked on its call queue never notices its parent's death (it holds the queue's
    write end itself), and uvicorn ends a SIGTERM-ed server by re-raising the signal, so no
    atexit hook of the server runs. Without this the worker (and multiprocessing's resource
    tracker, which lives as long as the worker holds its pipe) would outlive every `egov serve`.
    """
    import os
    import time

    while os.getppid() == parent_pid:
        time.sleep(interval)
    os._exit(0)


def _validate(kind: str, data: bytes, content: bytes | None, trust: TrustSource, max_bytes: int) -> Any:
    """Runs in the worker; errors come back as values, so both languages of the message survive."""
    from egov.signing.validation import validate_cms, validate_pdf, validate_xml

    try:
        if kind == "pdf":
            return ("ok", validate_pdf(data, trust, max_bytes=max_bytes))
        if kind == "xml":
            return ("ok", validate_xml(data, trust, max_bytes=max_bytes).report)
        if content is None:
            raise SigningError("Cần tệp nội dung đã ký.", "The signed content file is required.")
        return ("ok", validate_cms(data, content, trust, max_bytes=max_bytes))
    except SigningError as exc:
        return ("error", isinstance(exc, UnsafeInput), exc.detail_vi, exc.detail_en)
    except MemoryError:
        return ("error", True, "Tệp cần quá nhiều bộ nhớ để kiểm tra.", "The file needs too much memory to check.")


def probe(seconds: float = 0.0, allocate: int = 0) -> str:
    """A stand-in workload for readiness checks and the tests of the limits themselves."""
    import time

    block = bytearray(allocate)
    time.sleep(seconds)
    return f"ok {len(block)}"


class IsolatedValidator:
    """One long-lived worker process (spawned, so no locks or threads are inherited), replaced on abuse."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                 workers: int = 1) -> None:
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_limit, initargs=(self.memory_bytes, int(self.timeout) + 1, os.getpid()))
            return self._pool

    def _kill(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        future = self._get().submit(fn, *args)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            self._kill()
            raise UnsafeInput("Tệp cần quá nhiều thời gian để kiểm tra.", "The file takes too long to check.") from None
        except MemoryError:
            raise UnsafeInput("Tệp cần quá nhiều bộ nhớ để kiểm tra.",
                              "The file needs too much memory to check.") from None
        except BrokenProcessPool:
            self._kill()
            raise UnsafeInput("Tệp cần quá nhiều tài nguyên để kiểm tra.",
                              "The file needs too many resources to check.") from None

    def validate(self, kind: str, data: bytes, content: bytes | None, trust: TrustSource, max_bytes: int) -> Any:
        result = self.call(_validate, kind, data, content, trust, max_bytes)
        if result[0] == "ok":
            return result[1]
        _, unsafe, vi, en = result
        raise (UnsafeInput if unsafe else SigningError)(vi, en)

    def close(self) -> None:
        """Stop the worker now (and with it the resource tracker): the server is shutting down."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # a clean exit first; a worker stuck in a hostile file is killed
            process.join(timeout=2)
            if process.is_alive():
                process.kill()


_SHARED: dict[tuple[float, int], IsolatedValidator] = {}
_SHARED_LOCK = threading.Lock()


def shared_validator(timeout: float = DEFAULT_TIMEOUT_SECONDS,
                     memory_bytes: int = DEFAULT_MEMORY_BYTES) -> IsolatedValidator:
    """One worker per process and set of limits, whatever the number of services built (tests build many)."""
    with _SHARED_LOCK:
        found = _SHARED.get((timeout, memory_bytes))
        if found is None:
            found = _SHARED[(timeout, memory_bytes)] = IsolatedValidator(timeout=timeout, memory_bytes=memory_bytes)
        return found


def close_shared_validators() -> None:
    """Stop every shared worker; the app calls this when it shuts down, in each serving process."""
    with _SHARED_LOCK:
        validators = list(_SHARED.values())
    for validator in validators:
        validator.close()
