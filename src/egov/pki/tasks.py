"""pki's background round: registry-driven revocation and CRL republication."""

from __future__ import annotations

import time

from egov.pki.runtime import ca_service
from egov.pki.services import PKI_SYSTEM
from egov.platform.container import Container
from egov.platform.context import RequestContext, use_context
from egov.platform.db import try_singleton_lock
from egov.platform.ids import request_id


class MaintenanceRound:
    """Background work for the worker loop: registry-driven revocation and CRL republication, at most
    every `every_seconds`, in one process of the cluster at a time (an advisory lock on PostgreSQL)."""

    def __init__(self, container: Container, every_seconds: float = 600.0) -> None:
        self._container = container
        self._every = every_seconds
        self._last = float("-inf")

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last < self._every:
            return
        self._last = now
        service = ca_service(self._container)
        with use_context(RequestContext(request_id=request_id(), principal=PKI_SYSTEM, channel="worker")), \
                self._container.db.session() as session:
            if not try_singleton_lock(session, "pki-maintenance"):
                return
            if not any(ca.kind == "issuing" for ca in service.cas(session)):
                return  # no CA set up yet: nothing to maintain
            service.reconcile_with_registry(session)
            service.republish_due_crls(session)


def maintenance_round(container: Container) -> MaintenanceRound:
    return MaintenanceRound(container)
