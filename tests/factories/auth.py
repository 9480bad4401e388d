"""Fixtures and factories for the auth context: accounts with roles, and a real sign-in through HTTP.

Use them from any context's tests:

    from tests.factories.auth import DEFAULT_PASSWORD, login, make_account

    def test_clerk_sees_citizen(client, session, agency):
        make_account(session, username="clerk01", roles=[("registry_clerk", agency.id)],
                     primary_agency_id=agency.id)
        login(client, "clerk01")
        assert client.get("/back-office/registry/citizens").status_code == 200
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from egov.auth import Passwords
from egov.auth.models import Account, RoleAssignment

DEFAULT_PASSWORD = "mật khẩu thử nghiệm đủ dài"  # passes the policy; never used outside tests
_counter = itertools.count(1)
_passwords = Passwords()  # the settings' defaults (Argon2id m=19 MiB, t=2, p=1): sign-in will not rehash


def make_account(
    session: Session,
    *,
    kind: str = "officer",
    username: str | None = None,
    password: str | None = DEFAULT_PASSWORD,
    display_name: str | None = None,
    roles: Iterable[tuple[str, str]] = (),
    subject_id: str | None = None,
    primary_agency_id: str | None = None,
    status: str = "active",
    commit: bool = True,
) -> Account:
    """Insert an account (and its (role, agency_id) assignments) directly, and commit so the app sees it.

    It writes rows, not audit events: the arrangement of a test is not an action to audit, and
    other contexts' tests can count their own events without ours in the way. A missing username
    is made up to fit the kind (12 digits for citizens, 10 for organisations).
    """
    n = next(_counter)
    if username is None:
        username = {"citizen": f"0792030{n:05d}", "organisation": f"03{n:08d}"}.get(kind, f"officer{n:03d}")
    now = datetime.now(UTC)
    account = Account(
        kind=kind, username=username.lower(), display_name=display_name or f"Người dùng thử {n}",
        password_hash=_passwords.hash(password) if password is not None else None,
        subject_id=subject_id, primary_agency_id=primary_agency_id, status=status,
        created_at=now, password_changed_at=now if password is not None else None,
    )
    session.add(account)
    session.flush()
    for role, agency_id in roles:
        session.add(RoleAssignment(account_id=account.id, role=role, agency_id=agency_id, granted_at=now))
    if commit:
        session.commit()
    else:
        session.flush()
    return account


def csrf_token(client: Any) -> str:
    """The CSRF cookie's value (a GET first if the client has none yet), to echo in form posts."""
    token = client.cookies.get("egov_csrf")
    if not token:
        client.get("/login")
        token = client.cookies.get("egov_csrf")
    assert token, "the app did not set a CSRF cookie"
    return str(token)


def login(client: Any, username: str, password: str = DEFAULT_PASSWORD) -> Any:
    """Sign in through the real form (GET /login for the CSRF cookie, then POST) and return the client.

    Fails the test if the sign-in does not redirect. Afterwards the client holds the session cookie
    and the fresh CSRF cookie; read the latter with `csrf_token(client)` for further posts.
    """
    client.get("/login")
    resp = client.post("/login", data={"username": username, "password": password, "next": "/",
                                       "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert resp.status_code == 303, f"sign-in as {username} failed: {resp.status_code}"
    assert client.cookies.get("egov_session"), "no session cookie after sign-in"
    return client
