"""Background jobs: renew B-LTA archive time-stamps before they weaken."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from egov.platform.jobs import Handler, enqueue

if TYPE_CHECKING:
    from egov.platform.container import Container

log = logging.getLogger("egov.signing.tasks")

RENEW_ARCHIVES = "signing.renew_archives"
RENEW_ARCHIVE = "signing.renew_archive"


def job_handlers(container: Container) -> dict[str, Handler]:
    """`signing.renew_archives` finds the due archives and enqueues one `signing.renew_archive` each
    (so one bad document does not hold the others back); each renewal is its own transaction."""
    from egov.signing.services import SigningService

    def renew_all(payload: dict[str, Any]) -> None:
        service = SigningService.from_container(container)
        with container.db.session() as session:
            for archive_id in service.due_archives(session, limit=int(payload.get("limit", 50))):
                enqueue(session, RENEW_ARCHIVE, {"archive_id": archive_id}, now=container.clock.now())

    def renew_one(payload: dict[str, Any]) -> None:
        service = SigningService.from_container(container)
        with container.db.session() as session:
            service.renew_archive(session, str(payload["archive_id"]))

    return {RENEW_ARCHIVES: renew_all, RENEW_ARCHIVE: renew_one}
