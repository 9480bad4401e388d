"""soc's background round: sequence what committed, then sign a checkpoint if one is due."""

from __future__ import annotations

import logging

from egov.platform.container import Container
from egov.soc.audit.checkpoints import Checkpointer
from egov.soc.audit.sequencer import Sequencer

log = logging.getLogger("egov.soc.tasks")


class AuditRounds:
    """One round = sequence what committed, then sign a checkpoint if one is due.

    A failing step is logged and retried next round: nothing is lost meanwhile because events wait in
    their table until sequenced, and no checkpoint is signed over a tree that could not be brought up to date.
    """

    def __init__(self, container: Container) -> None:
        self.sequencer = Sequencer(container.db, container.clock)
        self.checkpointer = Checkpointer(container.db, container.clock, container.keys, container.settings)

    def __call__(self) -> None:
        self.round()

    def round(self) -> None:
        try:
            self.sequencer.run()
        except Exception:  # keep the loop alive; the next round retries
            log.exception("audit sequencer round failed")
            return
        try:
            self.checkpointer.run()
        except Exception:
            log.exception("audit checkpoint round failed")
