"""Session tokens, lifetimes and cookies: the token lives only in the browser, its hash in the database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from egov.auth.models import AuthSession
from egov.auth.settings import AuthSettings
from egov.platform.ids import new_token
from egov.settings import Settings
from egov.web.csrf import CSRF_COOKIE

SESSION_COOKIE = "egov_session"
TOKEN_BYTES = 32

# Level of assurance of a session opened with a password alone: "1", the lowest we issue (single
# factor, in the spirit of Decree 69/2024's level 1). MFA and level-2 identities will raise it.
PASSWORD_ACR = "1"
PASSWORD_AMR = ("pwd",)  # RFC 8176 authentication method reference for a password


def new_session_token() -> str:
    return new_token(TOKEN_BYTES)


def session_id_for(token: str) -> str:
    """The stored id of a session: SHA-256 hex of its token (a 256-bit random token needs no salt)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: `idle` since the last request, `absolute` since sign-in."""

    idle: timedelta
    absolute: timedelta
    # Writing last_seen on every request would turn each page view into a write; a minute is
    # fine-grained enough for an idle limit counted in tens of minutes.
    touch_every: timedelta = timedelta(minutes=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        a = settings.section(AuthSettings)
        return cls(idle=timedelta(minutes=a.session_idle_minutes), absolute=timedelta(hours=a.session_absolute_hours))

    def is_live(self, s: AuthSession, now: datetime) -> bool:
        return s.revoked_at is None and now < s.expires_at and now - s.last_seen_at < self.idle

    def needs_touch(self, s: AuthSession, now: datetime) -> bool:
        return now - s.last_seen_at >= self.touch_every


def cookies_secure(request: Request) -> bool:
    """Whether this deployment's cookies carry the Secure flag (production: always)."""
    return bool(request.app.state.container.settings.cookie_secure)


def _cookie_flags(secure: bool) -> str:
    return "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")


def clear_session_cookie_header(secure: bool) -> tuple[str, str]:
    """A raw ("set-cookie", …) header that makes the browser drop a dead session cookie."""
    return ("set-cookie", f'{SESSION_COOKIE}=""; Max-Age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT'
            + _cookie_flags(secure))


def set_session_cookie(response: Response, token: str, secure: bool) -> None:
    """HttpOnly, SameSite=Lax, Path=/, no Max-Age: a browser session cookie the server also times out."""
    response.set_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="lax", secure=secure)


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)


def renew_csrf_cookie(response: Response, secure: bool) -> str:
    """A fresh CSRF token at sign-in, so one planted in the browser beforehand is worthless after it."""
    token = new_token(24)
    response.set_cookie(CSRF_COOKIE, token, path="/", httponly=True, samesite="strict", secure=secure)
    return token


PENDING_COOKIE = "egov_mfa"  # sealed, 5 minutes, only sent to /login…: between password and second factor


def set_pending_cookie(response: Response, pending: str, secure: bool) -> None:
    response.set_cookie(PENDING_COOKIE, pending, path="/login", max_age=300, httponly=True, samesite="strict",
                        secure=secure)


def start_session_cookies(response: Response, token: str, secure: bool) -> None:
    """What every way of signing in sets: the session cookie, a fresh CSRF token, no pending state."""
    set_session_cookie(response, token, secure)
    renew_csrf_cookie(response, secure)
    response.delete_cookie(PENDING_COOKIE, path="/login", httponly=True, samesite="strict", secure=secure)


def landing(target: str, kind: str) -> str:
    """Where a fresh sign-in goes: staff come to work, so their desk rather than the citizens' front page."""
    return "/back-office" if target == "/" and kind in ("officer", "admin") else target
