"""Show a POST's result once, after a 303 to a GET page: sealed in a short-lived, HttpOnly, path-scoped cookie.

Why a cookie and not the POST's own page: a refresh of a page rendered by a POST posts again (a second secret
rotation, a second import). Why sealed: the result may be a client secret or recovery codes; the cookie is
encrypted and authenticated (Fernet under a key for this purpose only), bound to the account that made it,
and older than `MAX_AGE_SECONDS` it is refused. The GET that reads it deletes it, so a second GET (a refresh,
the back button) shows nothing: the secret was shown exactly once.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from egov.platform.keys.sealed import SealBroken, Sealer

MAX_AGE_SECONDS = 300  # long enough for a slow redirect, short enough that a forgotten cookie is worthless
MAX_COOKIE_CHARS = 3800  # browsers keep 4096 bytes per cookie, name and attributes included


class TooLarge(ValueError):
    """The result does not fit in one cookie; the caller shortens it (see `OneTime.fits`)."""


@dataclass(frozen=True)
class OneTime:
    """One kind of shown-once result: its purpose (the sealing key and cookie name) and the page that shows it."""

    purpose: str
    page: str  # the GET path that shows the result; the cookie is sent to that path (and below) only

    @property
    def cookie(self) -> str:
        return f"egov_once_{self.purpose}"

    def _sealer(self, request: Request) -> Sealer:
        return Sealer(request.app.state.container.settings.secret_key_bytes(), f"once:{self.purpose}")

    def _now(self, request: Request) -> float:
        return float(request.app.state.container.clock.now().timestamp())

    def _sealed(self, request: Request, data: dict[str, Any], account_id: str) -> str:
        raw = json.dumps({"a": account_id, "d": data}, ensure_ascii=False, separators=(",", ":")).encode()
        return self._sealer(request).seal_at(zlib.compress(raw, 9), self._now(request))

    def fits(self, request: Request, data: dict[str, Any], *, account_id: str) -> bool:
        """Whether `data` fits in the cookie (a long import report is cut until it does)."""
        return len(self._sealed(request, data, account_id)) <= MAX_COOKIE_CHARS

    def redirect(self, request: Request, data: dict[str, Any], *, account_id: str,
                 location: str | None = None) -> RedirectResponse:
        """The POST's answer: 303 to the page, which shows `data` once to the same account."""
        value = self._sealed(request, data, account_id)
        if len(value) > MAX_COOKIE_CHARS:
            raise TooLarge(f"{self.purpose}: {len(value)} characters sealed")
        resp = RedirectResponse(location or self.page, status_code=303)
        resp.set_cookie(self.cookie, value, max_age=MAX_AGE_SECONDS, path=self.page, httponly=True,
                        secure=bool(request.app.state.container.settings.cookie_secure), samesite="strict")
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def take(self, request: Request, *, account_id: str) -> dict[str, Any] | None:
        """The result, if this request carries one for this account and it is fresh; call `clear` on the reply."""
        value = request.cookies.get(self.cookie)
        if not value:
            return None
        try:
            raw = zlib.decompress(self._sealer(request).open(value, MAX_AGE_SECONDS, now=self._now(request)))
            payload = json.loads(raw)
        except (SealBroken, zlib.error, ValueError):
            return None
        if not isinstance(payload, dict) or payload.get("a") != account_id or not isinstance(payload.get("d"), dict):
            return None
        data: dict[str, Any] = payload["d"]
        return data

    def clear(self, request: Request, response: Response) -> Response:
        """Delete the cookie (if the request had one) and keep the page out of every cache: shown once."""
        if self.cookie in request.cookies:
            response.delete_cookie(self.cookie, path=self.page, httponly=True, samesite="strict",
                                   secure=bool(request.app.state.container.settings.cookie_secure))
        response.headers["Cache-Control"] = "no-store"
        return response
