"""Turns the `egov_session` cookie into a Principal for the web middleware, once per request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request

from egov.auth.services import SignInService
from egov.auth.sessions import SESSION_COOKIE, clear_session_cookie_header
from egov.platform.permissions import Principal

if TYPE_CHECKING:
    from egov.platform.container import Container

Resolver = Callable[[Request], tuple[Principal | None, list[tuple[str, str]]]]
PRINCIPAL_COOKIES = (SESSION_COOKIE,)  # the only cookies the resolver reads: without them it is not called


def resolve_principal_for(container: Container) -> Resolver:
    """A resolver bound to `container`: (principal or None, extra raw response headers).

    A cookie naming no live session (expired, revoked, unknown, disabled account) gets a header
    that deletes it, so the browser stops presenting a dead token. Not on POST /login, though: that
    response sets the new cookie and the middleware appends its headers last, so a deletion there
    would win over the fresh session.
    """
    service = SignInService.from_container(container)
    secure = bool(container.settings.cookie_secure)

    def resolve(request: Request) -> tuple[Principal | None, list[tuple[str, str]]]:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None, []
        with container.db.session() as session:  # its own short transaction: the touch of last_seen
            principal = service.principal_for(session, token)
        if principal is not None:
            return principal, []
        if request.method == "POST" and request.url.path == "/login":
            return None, []
        return None, [clear_session_cookie_header(secure)]

    return resolve
