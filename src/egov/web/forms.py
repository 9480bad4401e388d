"""The confirmation step for destructive actions: the same POST again, with `confirmed=yes`, or cancel."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from starlette.responses import HTMLResponse

from egov.web.templating import render

CONFIRMED = "yes"


def confirmed(value: str) -> bool:
    """True when the form came from the confirmation page (its button posts `confirmed=yes`)."""
    return value == CONFIRMED


def confirmation(request: Request, *, title: str, message: str, action: str, button: str, cancel: str,
                 fields: Mapping[str, str] | None = None) -> HTMLResponse:
    """A page that says what will happen and asks once more; works without JavaScript, changes nothing."""
    return render(request, "confirm.html", {"title": title, "message": message, "action": action,
                                            "button": button, "cancel": cancel, "fields": dict(fields or {})})
