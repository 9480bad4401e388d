"""auth's background jobs: back-channel logout deliveries, identity-proofing notices and account notices."""

from __future__ import annotations

from collections.abc import Mapping

from egov.auth.oidc.logout import job_handlers as logout_jobs
from egov.auth.services.notices import job_handlers as notice_jobs
from egov.auth.services.proofing import job_handlers as proofing_jobs
from egov.platform.container import Container
from egov.platform.jobs import Handler


def job_handlers(container: Container) -> Mapping[str, Handler]:
    """Every auth job kind and its (idempotent) handler; each is written next to the service that enqueues it."""
    return {**logout_jobs(container), **proofing_jobs(container), **notice_jobs(container)}
