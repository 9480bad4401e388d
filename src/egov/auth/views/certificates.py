"""Certificate sign-in: a person through the TLS-terminating proxy; an agency system by a signed challenge."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Body, Depends, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from egov.auth.services.certificates import CertificateSignIn, CertificateSignInRefused
from egov.auth.sessions import SESSION_COOKIE, cookies_secure, landing, start_session_cookies
from egov.auth.settings import AuthSettings
from egov.auth.views.sign_in import safe_next
from egov.platform.context import current_context
from egov.platform.errors import TooManyAttempts
from egov.platform.i18n import get_locale
from egov.platform.permissions import Principal, public
from egov.platform.throttle import Throttle
from egov.platform.uow import UnitOfWork
from egov.web.csrf import csrf_exempt
from egov.web.openapi import problems
from egov.web.templating import render

router = APIRouter()
Public = Annotated[Principal | None, Depends(public)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
THROTTLE = Throttle(free=10, base_seconds=1.0, max_seconds=300.0)  # refused certificate sign-ins per address
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.S)


def _service(request: Request) -> CertificateSignIn:
    return CertificateSignIn(request.app.state.container)


def _from_proxy(request: Request) -> bytes | None:
    """The certificate the proxy verified, if this request comes straight from an allowed proxy."""
    settings = request.app.state.container.settings
    peer = request.client.host if request.client else None
    if not peer or not settings.section(AuthSettings).client_cert_proxies:
        return None
    try:
        address = ipaddress.ip_address(peer)
        proxies = settings.section(AuthSettings).client_cert_proxies
        if not any(address in ipaddress.ip_network(n, strict=False) for n in proxies):
            return None
    except ValueError:
        return None
    raw = request.headers.get(settings.section(AuthSettings).client_cert_header, "")
    found = _PEM.search(unquote(raw))
    if not found:
        return None
    try:
        return base64.b64decode("".join(found.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _keys() -> list[str]:
    return [f"cert-ip:{current_context().source_ip or 'unknown'}"]


@router.get("/login/certificate", include_in_schema=False)
def certificate_sign_in(request: Request, _: Public, uow: UnitOfWork, next: str = "/") -> Response:
    """Sign in with the certificate presented to the TLS proxy (a USB token or smart card): level 2."""
    now = request.app.state.container.clock.now()
    secure = cookies_secure(request)
    try:
        THROTTLE.check(uow, _keys(), now)
        der = _from_proxy(request)
        if der is None:
            return render(request, "auth/sign_in_failed.html", {
                "heading": ("Không nhận được chứng thư số", "No certificate was presented"),
                "error": ("Trình duyệt chưa gửi chứng thư số qua kết nối an toàn. Hãy cắm thiết bị ký số (USB "
                          "token) và mở lại trang này qua cổng đăng nhập bằng chứng thư số.")
                if get_locale() == "vi" else ("The browser sent no certificate over the secure connection. "
                                              "Plug in your signing token and open this page again through "
                                              "the certificate sign-in address.")}, status_code=401)
        ctx = current_context()
        signed_in = _service(request).sign_in_person(uow, der, ip=ctx.source_ip, user_agent=ctx.user_agent,
                                                     previous_token=request.cookies.get(SESSION_COOKIE))
    except CertificateSignInRefused as exc:
        THROTTLE.fail(uow, _keys(), now)
        uow.commit()
        return render(request, "auth/sign_in_failed.html", {
            "heading": ("Không đăng nhập được bằng chứng thư số", "Certificate sign-in failed"),
            "error": exc.detail(get_locale())}, status_code=exc.status)
    except TooManyAttempts as exc:
        return render(request, "auth/sign_in_failed.html", {
            "heading": ("Quá nhiều lần thử", "Too many attempts"), "error": exc.detail(get_locale())},
            status_code=429)
    resp = RedirectResponse(landing(safe_next(next), signed_in.kind), status_code=303)
    start_session_cookies(resp, signed_in.token, secure)
    return resp


@router.post("/api/auth/certificate/challenge", tags=["auth"],
             responses={200: {"description": "`challenge` and `expires_in` (seconds)."}})
@csrf_exempt
def certificate_challenge(request: Request, _: Public, uow: UnitOfWork) -> JSONResponse:
    """A one-time challenge (2 minutes) for an agency system to sign with its agency certificate's key."""
    made = _service(request).challenge(uow)
    return JSONResponse({"challenge": made.value, "expires_in": made.expires_in}, headers=NO_STORE)


@router.post("/api/auth/certificate/token", tags=["auth"],
             responses=problems(401, 429, s401="The signed challenge or the certificate was refused."))
@csrf_exempt
def certificate_token(request: Request, _: Public, uow: UnitOfWork,
                      body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
    """Trade a signed challenge for an access token (level 2) for the agency's registered system.

    Body: `challenge`, `certificate` (base64 DER), `chain` (base64 DER list, optional), `signature`
    (base64url over the challenge's ASCII bytes), `alg` (ES256, RS256 or PS256), optional `client_id`
    and `scope`."""
    now = request.app.state.container.clock.now()
    THROTTLE.check(uow, _keys(), now)
    try:
        token = _service(request).agency_token(uow, body)
    except CertificateSignInRefused:
        THROTTLE.fail(uow, _keys(), now)
        uow.commit()
        raise
    return JSONResponse(token, headers=NO_STORE)
