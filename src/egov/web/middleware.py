"""Pure ASGI middleware: request id, source address, locale, principal, CSRF cookie, security headers."""

from __future__ import annotations

import functools
import ipaddress
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from egov.platform import i18n
from egov.platform.context import RequestContext, reset_context, set_context
from egov.platform.ids import request_id as new_request_id
from egov.platform.metrics import LATENCY, REQUESTS
from egov.platform.permissions import Principal
from egov.web.csrf import CSRF_COOKIE

log = logging.getLogger("egov.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)



def csp_allowing_forms_to(origins: list[str]) -> str:
    """The CSP with `form-action` widened to `origins` (scheme://host[:port] only). Browsers apply
    form-action to every redirect after a form POST, so a page whose form ends, after redirects, at
    a relying party (sign-in, consent, logout) must name that party's registered origin."""
    clean = sorted({o for o in origins if o.startswith(("https://", "http://")) and " " not in o and ";" not in o})
    return CSP.replace("form-action 'self'", " ".join(["form-action 'self'", *clean])) if clean else CSP


PrincipalResolver = Callable[[Request], tuple[Principal | None, list[tuple[str, str]]]]


@functools.cache
def _networks(trusted_proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parsed once per configuration, not on every request (the hot paths call client_ip too)."""
    return tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)


def client_ip(scope: Scope, trusted_proxies: list[str]) -> str | None:
    """The peer address, or X-Forwarded-For's last untrusted hop when the peer is a trusted proxy."""
    peer = (scope.get("client") or (None, None))[0]
    if not peer or not trusted_proxies:
        return peer
    nets = _networks(tuple(trusted_proxies))

    def trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in n for n in nets)

    if not trusted(peer):
        return peer
    headers = dict(scope.get("headers") or [])
    chain = [h.strip() for h in headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",") if h.strip()]
    for hop in reversed(chain):
        if not trusted(hop):
            return hop
    return peer


def security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (HSTS only when served over TLS); hot paths that answer
    without this middleware send the same."""
    out = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"same-origin"),
           (b"cross-origin-opener-policy", b"same-origin"),
           (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()")]
    if secure:
        out.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return out


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        resolver: PrincipalResolver | None,
        trusted_proxies: list[str],
        secure_cookies: bool,
        principal_cookies: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.principal_cookies = principal_cookies
        self.resolver = resolver
        self.trusted_proxies = trusted_proxies
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        rid = new_request_id()
        locale = i18n.negotiate(request.cookies.get("egov_lang"), request.headers.get("accept-language"))
        ip = client_ip(scope, self.trusted_proxies)
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        new_csrf = not csrf
        if new_csrf:
            csrf = secrets.token_urlsafe(24)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        state["csrf_token"] = csrf
        state["principal"] = None
        state["locale"] = locale
        extra_cookies: list[tuple[str, str]] = []
        is_static = scope["path"].startswith("/static/")
        if (self.resolver is not None and not is_static and request.cookies
                and (not self.principal_cookies or any(c in request.cookies for c in self.principal_cookies))):
            # Only a cookie that can name a principal is worth a trip to the thread pool.
            principal, extra_cookies = await anyio.to_thread.run_sync(self.resolver, request)
            state["principal"] = principal
        ctx = RequestContext(
            request_id=rid,
            source_ip=ip,
            user_agent=request.headers.get("user-agent"),
            principal=state["principal"],
            locale=locale,
            channel="api" if scope["path"].startswith("/api/") else "web",
        )
        token = set_context(ctx)
        locale_token = i18n.set_locale(locale)
        status_holder: dict[str, Any] = {}
        secure = "; Secure" if self.secure_cookies else ""

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = rid
                for header, header_value in security_headers(self.secure_cookies):
                    if header == b"content-security-policy":
                        headers.setdefault("content-security-policy", header_value.decode())  # a page may widen it
                    else:
                        headers[header.decode()] = header_value.decode()
                if not is_static:
                    headers.setdefault("cache-control", "no-store")
                if new_csrf and not is_static:
                    headers.append(
                        "set-cookie", f"{CSRF_COOKIE}={csrf}; Path=/; HttpOnly; SameSite=Strict{secure}"
                    )
                # The response's own cookies win: a fresh session set by /login must not be cleared
                # by the resolver's "your old session expired" header in the same response.
                own = {c.split("=", 1)[0].strip() for c in headers.getlist("set-cookie")}
                for name, value in extra_cookies:
                    if name.lower() == "set-cookie" and value.split("=", 1)[0].strip() in own:
                        continue
                    headers.append(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            i18n.reset_locale(locale_token)
            reset_context(token)
            if not is_static:
                route = scope.get("route")
                template = getattr(route, "path", "unmatched")
                elapsed = time.perf_counter() - started
                REQUESTS.labels(scope["method"], template, str(status_holder.get("status", 500))).inc()
                LATENCY.labels(scope["method"], template).observe(elapsed)
                log.info(
                    "request",
                    extra={
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status_holder.get("status", 500),
                        "duration_ms": round(elapsed * 1000, 2),
                        "client": ip,
                    },
                )
