"""Helpers for the auth functional tests: posting forms with the CSRF token, reading cookies and events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token

from egov.soc.models import AuditEvent


class Browser:
    """A TestClient that fills in the CSRF field the way the pages do, and reads what came back."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, follow_redirects=False, **kw)

    def post(self, url: str, data: dict[str, str] | None = None, *, csrf: bool = True, **kw: Any) -> Any:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = csrf_token(self.client)
        return self.client.post(url, data=form, follow_redirects=False, **kw)

    def sign_in(self, username: str, password: str, next_path: str = "/") -> Any:
        self.get("/login")
        return self.post("/login", {"username": username, "password": password, "next": next_path})

    @property
    def session_token(self) -> str | None:
        value = self.client.cookies.get("egov_session")
        return str(value) if value else None


@pytest.fixture
def browser(client: Any) -> Browser:
    return Browser(client)


def set_cookies(resp: Any) -> dict[str, str]:
    """name -> the whole Set-Cookie line, for checking attributes."""
    return {line.split("=", 1)[0]: line for line in resp.headers.get_list("set-cookie")}


def audit(session: Session, event_type: str) -> list[tuple[AuditEvent, dict[str, Any]]]:
    session.rollback()  # end the read transaction: a new one sees what the app committed since
    rows = session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id))
    return [(e, json.loads(e.details)) for e in rows]
