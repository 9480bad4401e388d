"""The job handlers of every context, in one place: the composition root's list for the job runner."""

from __future__ import annotations

from egov.bootstrap import Container
from egov.platform.jobs import Handler, JobRunner


def handlers(container: Container) -> dict[str, Handler]:
    from egov.auth import notice_job_handlers, proofing_job_handlers
    from egov.auth.oidc import job_handlers as oidc_jobs
    from egov.signing import job_handlers as signing_jobs

    return {**oidc_jobs(container), **proofing_job_handlers(container), **notice_job_handlers(container),
            **signing_jobs(container)}


def runner(container: Container) -> JobRunner:
    return JobRunner(container.db, container.clock, handlers(container))
