"""One unit of work per request: commit before the response is sent, roll back on any error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def unit_of_work(request: Request) -> Iterator[Session]:
    # scope="function" below makes FastAPI run the commit before it sends the response, so a
    # failed commit becomes a 500 instead of a 200 that lied.
    session: Session = request.app.state.container.db.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


UnitOfWork = Annotated[Session, Depends(unit_of_work, scope="function")]
