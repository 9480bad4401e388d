"""The platform's background loop: every context's rounds, in a thread (embedded profile) or `egov worker`."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from egov.platform.module import Round

log = logging.getLogger("egov.platform.worker")

ROUND_SECONDS = 1.0


class Rounds:
    """One pass over every round. A failing round is logged and retried next pass: a database blip must
    not kill the worker, and nothing is lost meanwhile because the work waits in its table."""

    def __init__(self, rounds: Sequence[Round]) -> None:
        self.rounds = list(rounds)

    def __call__(self) -> None:
        for work in self.rounds:
            try:
                work()
            except Exception:
                log.exception("background round failed", extra={"round": getattr(work, "__qualname__", repr(work))})


class InProcessRunner:
    """A daemon thread doing rounds every `interval` seconds until `stop()` (the SQLite embedded profile)."""

    def __init__(self, rounds: Sequence[Round], interval: float = ROUND_SECONDS) -> None:
        self._rounds = Rounds(rounds)
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="egov-background", daemon=True)

    def start(self) -> InProcessRunner:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._rounds()
            self._stopping.wait(self._interval)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the round in progress (its batch commits or rolls back whole), then return."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def start_in_process(rounds: Sequence[Round], interval: float = ROUND_SECONDS) -> InProcessRunner:
    return InProcessRunner(rounds, interval).start()


def run_worker(rounds: Sequence[Round], once: bool = False, interval: float = ROUND_SECONDS,
               stop: threading.Event | None = None) -> None:
    """Rounds until SIGTERM or SIGINT (or `stop` is set); the round in progress finishes first.

    Any number of workers may run: each round that must be alone (the audit sequencer, the
    checkpointer) takes a cluster-wide lock, and the losers simply wait for the next pass.
    """
    passes = Rounds(rounds)
    stopping = stop or threading.Event()
    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("worker stopping", extra={"signal": signum})
        stopping.set()

    if not once and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)  # type: ignore[assignment]
    try:
        while True:
            passes()
            if once or stopping.wait(interval):
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
