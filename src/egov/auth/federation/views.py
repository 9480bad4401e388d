"""Sign-in through an upstream identity provider: leave for it, come back with a code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from egov.auth.federation.service import STATE_TTL_S, Federation
from egov.auth.federation.upstream import UpstreamError
from egov.auth.sessions import SESSION_COOKIE, cookies_secure, landing, start_session_cookies
from egov.auth.views.sign_in import safe_next
from egov.platform.context import current_context
from egov.platform.i18n import get_locale
from egov.platform.permissions import Principal, public
from egov.platform.uow import UnitOfWork
from egov.web.templating import render

router = APIRouter(include_in_schema=False)
Public = Annotated[Principal | None, Depends(public)]

STATE_COOKIE = "egov_fed"  # sealed state, nonce and PKCE verifier of one sign-in in progress
COOKIE_PATH = "/login/federated"


def _federation(request: Request) -> Federation:
    return Federation.from_container(request.app.state.container)




@router.get("/login/federated/{provider_id}")
def start(request: Request, provider_id: str, _: Public, uow: UnitOfWork, next: str = "/",
          level: str | None = None) -> Response:
    """Leave for the provider. The state cookie is SameSite=Lax: it must come back on the provider's
    top-level redirect to the callback, which Strict would drop."""
    try:
        started = _federation(request).begin(uow, provider_id, next_path=safe_next(next),
                                             level=level if level in ("1", "2") else None)
    except UpstreamError as exc:
        return _failed(request, exc)
    resp = RedirectResponse(started.url, status_code=303)
    resp.set_cookie(STATE_COOKIE, started.state_cookie, path=COOKIE_PATH, max_age=STATE_TTL_S, httponly=True,
                    samesite="lax", secure=cookies_secure(request))
    return resp


@router.get("/login/federated/{provider_id}/callback")
def callback(request: Request, provider_id: str, _: Public, uow: UnitOfWork) -> Response:
    ctx = current_context()
    try:
        done = _federation(request).complete(
            uow, provider_id, dict(request.query_params), request.cookies.get(STATE_COOKIE), ip=ctx.source_ip,
            user_agent=ctx.user_agent, previous_token=request.cookies.get(SESSION_COOKIE))
    except UpstreamError as exc:
        resp = _failed(request, exc)
        resp.delete_cookie(STATE_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=cookies_secure(request))
        return resp
    resp = RedirectResponse(landing(done.next_path, done.signed_in.kind), status_code=303)
    start_session_cookies(resp, done.signed_in.token, cookies_secure(request))
    resp.delete_cookie(STATE_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax", secure=cookies_secure(request))
    return resp


def _failed(request: Request, exc: UpstreamError) -> Response:
    return render(request, "auth/sign_in_failed.html", {
        "heading": ("Không đăng nhập được qua nhà cung cấp định danh",
                    "Signing in through the identity provider failed"),
        "error": exc.detail(get_locale())}, status_code=exc.status)
