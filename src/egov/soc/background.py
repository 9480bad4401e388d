"""Background work: the audit sequencer and checkpointer, plus any other rounds (the job queue), in a
thread (embedded profile) or an `egov worker` process."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from egov.bootstrap import Container
from egov.soc.checkpoints import Checkpointer
from egov.soc.sequencer import Sequencer

log = logging.getLogger("egov.soc.background")

ROUND_SECONDS = 1.0


class AuditRounds:
    """One round = sequence what committed, then sign a checkpoint if one is due.

    A failing round is logged and retried next round: a database blip must not kill the worker,
    and nothing is lost meanwhile because events wait in their table until sequenced.
    """

    def __init__(self, container: Container, extra: Sequence[Callable[[], object]] = ()) -> None:
        self.sequencer = Sequencer(container.db, container.clock)
        self.checkpointer = Checkpointer(container.db, container.clock, container.keys, container.settings)
        self.extra = list(extra)

    def round(self) -> None:
        self._audit()
        for work in self.extra:  # other contexts' rounds (the job queue): each failure stays its own
            try:
                work()
            except Exception:
                log.exception("background round failed")

    def _audit(self) -> None:
        try:
            self.sequencer.run()
        except Exception:  # keep the loop alive; the next round retries
            log.exception("audit sequencer round failed")
            return  # no checkpoint over a tree we could not bring up to date
        try:
            self.checkpointer.run()
        except Exception:
            log.exception("audit checkpoint round failed")


class InProcessRunner:
    """A daemon thread doing rounds every `interval` seconds until `stop()` (the SQLite embedded profile)."""

    def __init__(self, container: Container, interval: float = ROUND_SECONDS,
                 extra: Sequence[Callable[[], object]] = ()) -> None:
        self._rounds = AuditRounds(container, extra)
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="egov-audit", daemon=True)

    def start(self) -> InProcessRunner:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._rounds.round()
            self._stopping.wait(self._interval)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the round in progress (its batch commits or rolls back whole), then return."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def start_in_process(container: Container, interval: float = ROUND_SECONDS,
                     extra: Sequence[Callable[[], object]] = ()) -> InProcessRunner:
    return InProcessRunner(container, interval, extra).start()


def run_worker(container: Container, once: bool = False, interval: float = ROUND_SECONDS,
               stop: threading.Event | None = None, extra: Sequence[Callable[[], object]] = ()) -> None:
    """Rounds until SIGTERM or SIGINT (or `stop` is set); the round in progress finishes first.

    Any number of workers may run: the sequencer and checkpointer each take a cluster-wide lock,
    and the losers simply wait for the next round.
    """
    rounds = AuditRounds(container, extra)
    stopping = stop or threading.Event()
    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("audit worker stopping", extra={"signal": signum})
        stopping.set()

    if not once and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, on_signal)  # type: ignore[assignment]
    try:
        while True:
            rounds.round()
            if once or stopping.wait(interval):
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
