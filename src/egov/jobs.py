"""The job runner over every context's handlers (the list lives in egov.contexts)."""

from __future__ import annotations

from egov import contexts
from egov.platform.container import Container
from egov.platform.jobs import Handler, JobRunner


def handlers(container: Container) -> dict[str, Handler]:
    return contexts.job_handlers(container)


def runner(container: Container) -> JobRunner:
    return JobRunner(container.db, container.clock, handlers(container))
