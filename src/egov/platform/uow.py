"""One unit of work per request: commit before the response is sent, roll back on any error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from anyio import CancelScope, CapacityLimiter, to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session


async def unit_of_work(request: Request) -> AsyncIterator[Session]:
    """The request's session.

    Opening a session does no I/O (the connection is taken on first use, in the endpoint's
    thread), so it happens inline: a sync generator would cost a thread hop to open and another to
    close. The commit and the rollback talk to the database, so they run in a worker thread, never
    on the event loop. scope="function" below makes FastAPI run the commit before it sends the
    response, so a failed commit becomes a 500 instead of a 200 that lied.
    """
    session: Session = request.app.state.container.db.sessions()
    try:
        yield session
        # Shielded, and on a limiter of its own: a commit must not wait for a thread behind requests that
        # wait for this one's database lock or connection (FastAPI exits sync dependencies the same way),
        # and a disconnect must not roll back a session whose commit is still running in its thread.
        with CancelScope(shield=True):
            await to_thread.run_sync(_commit_and_close, session, limiter=CapacityLimiter(1))
    except BaseException:
        with CancelScope(shield=True):  # a disconnect must not leave the connection checked out
            await to_thread.run_sync(_rollback_and_close, session, limiter=CapacityLimiter(1))
        raise


def _commit_and_close(session: Session) -> None:
    session.commit()
    session.close()


def _rollback_and_close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


UnitOfWork = Annotated[Session, Depends(unit_of_work, scope="function")]
