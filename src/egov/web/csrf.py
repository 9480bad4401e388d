"""CSRF: a double-submit token bound to a cookie, checked on every unsafe request that carries cookies."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from egov.platform.errors import PermissionDenied

CSRF_COOKIE = "egov_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


F = TypeVar("F", bound=Callable[..., Any])


def csrf_exempt(endpoint: F) -> F:
    """Mark a route whose caller authenticates in the request itself, never by cookie (the OAuth
    token, PAR, introspection and revocation endpoints): a forged cross-site request carries no
    credential there, so there is nothing for CSRF to ride on."""
    endpoint.__egov_csrf_exempt__ = True  # type: ignore[attr-defined]
    return endpoint


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"
    title_vi = "Phiên biểu mẫu không hợp lệ"
    title_en = "Form session expired"


async def csrf_protect(request: Request) -> None:
    """App-wide dependency. The cookie is SameSite=Strict and HttpOnly; a cross-site form cannot read it.

    Requests authenticated only by an Authorization header (machines) carry no ambient
    credential, so they are exempt; everything with our cookies must echo the token.
    """
    if request.method in SAFE_METHODS:
        return
    if "authorization" in request.headers and not request.cookies:
        return
    route = request.scope.get("route")
    if getattr(getattr(route, "endpoint", None), "__egov_csrf_exempt__", False):
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD, "")
            sent = value if isinstance(value, str) else ""
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfFailed(
            "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thử lại.",
            "The form has expired or is invalid. Please reload the page and try again.",
        )
