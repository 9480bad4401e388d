"""Background jobs as rows (a transactional outbox): enqueued with the business change, run by workers.

A job is written in the same transaction as the change that calls for it, so it exists exactly
when the change does. Workers claim due jobs (`claim_rows`: SKIP LOCKED on PostgreSQL), lease
them for `LEASE`, run the handler registered for their kind *outside* any transaction, and mark
them done, or schedule a retry with exponential backoff, giving up after `MAX_ATTEMPTS` (the job
stays in the table, failed, for an operator). Handlers must therefore be idempotent: a worker
that dies mid-job leaves the lease to expire and the job runs again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from egov.platform.clock import Clock
from egov.platform.db import Base, Database, UtcDateTime
from egov.platform.db.claim import claim_rows
from egov.platform.ids import new_id

log = logging.getLogger("egov.platform.jobs")

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
Handler = Callable[[dict[str, Any]], None]


class Job(Base):
    __tablename__ = "platform_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[str] = mapped_column(Text)  # JSON; never a secret in clear
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    run_after: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))


def enqueue(session: Session, kind: str, payload: dict[str, Any], *, now: datetime) -> Job:
    """Add a job to `session`: it commits (and becomes visible to workers) with the caller's change."""
    job = Job(kind=kind, payload=json.dumps(payload, ensure_ascii=False), created_at=now, run_after=now,
              attempts=0)
    session.add(job)
    return job


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 5 * 2 ** (attempts - 1)))


class JobRunner:
    """Claims and runs due jobs of the kinds it has handlers for."""

    def __init__(self, db: Database, clock: Clock, handlers: dict[str, Handler], *, batch: int = 20) -> None:
        self.db = db
        self.clock = clock
        self.handlers = dict(handlers)
        self.batch = batch

    def round(self) -> int:
        """Run what is due now; returns how many jobs ran (succeeded or not)."""
        if not self.handlers:
            return 0
        now = self.clock.now()
        with self.db.session() as session:
            due = claim_rows(session, select(Job).where(
                Job.kind.in_(sorted(self.handlers)), Job.done_at.is_(None), Job.failed_at.is_(None),
                Job.run_after <= now, or_(Job.locked_until.is_(None), Job.locked_until < now),
            ).order_by(Job.run_after).limit(self.batch))
            for job in due:
                job.locked_until = now + LEASE
                job.attempts += 1
            claimed = [(job.id, job.kind, json.loads(job.payload), job.attempts) for job in due]
        for job_id, kind, payload, attempts in claimed:
            error: str | None = None
            try:
                self.handlers[kind](payload)
            except Exception as exc:  # noqa: BLE001 - a handler's failure is the job's, never the worker's
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("job failed", extra={"job": job_id, "kind": kind, "attempt": attempts, "error": error})
            with self.db.session() as session:
                job = session.get(Job, job_id)
                if job is None:
                    continue
                done = self.clock.now()
                job.locked_until = None
                if error is None:
                    job.done_at = done
                else:
                    job.last_error = error
                    if attempts >= MAX_ATTEMPTS:
                        job.failed_at = done
                    else:
                        job.run_after = done + backoff(attempts)
        return len(claimed)
