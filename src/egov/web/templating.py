"""One Jinja2 environment for every context: autoescape, gettext, Vietnamese dates, CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from egov.platform import i18n
from egov.platform.clock import format_date, format_datetime

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
    autoescape=jinja2.select_autoescape(["html", "xml"]),
    extensions=["jinja2.ext.i18n"],
)
templates = Jinja2Templates(env=_env)
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
)
templates.env.filters["date_vn"] = format_date
templates.env.filters["datetime_vn"] = format_datetime


def in_locale(pair: tuple[str, str] | list[str]) -> str:
    """Labels that Python code still supplies as (vi, en) pairs; literal template text uses `_()` instead."""
    return i18n.pick(pair[0], pair[1])


templates.env.filters["in_locale"] = in_locale


def N_(message: str) -> str:
    return message


# Internal values that reach a page (audit outcomes, statuses, RFC 8176 methods): shown as words, never raw.
WORDS: dict[str, str] = {
    "success": N_("Thành công"), "failure": N_("Thất bại"), "denied": N_("Bị từ chối"),
    "pending": N_("Chờ phê duyệt"), "issued": N_("Đã cấp"), "rejected": N_("Đã từ chối"),
    "valid": N_("Còn hiệu lực"), "suspended": N_("Tạm dừng"), "revoked": N_("Đã thu hồi"),
    "active": N_("Đang hoạt động"), "disabled": N_("Đã khoá"), "retired": N_("Ngừng sử dụng"),
    "pwd": N_("mật khẩu"), "otp": N_("mã từ ứng dụng xác thực"), "hwk": N_("khoá truy cập"),
    "user": N_("xác minh người dùng trên thiết bị"), "mfa": N_("nhiều lớp"), "sc": N_("chứng thư số"),
    "fed": N_("nhà cung cấp định danh"),
    "officer": N_("cán bộ"), "citizen": N_("công dân"), "admin": N_("quản trị viên"), "system": N_("hệ thống"),
    "cli": N_("dòng lệnh"), "organisation": N_("tổ chức"), "account": N_("tài khoản"),
    "pki_certificate": N_("chứng thư số"), "pki_ca": N_("tổ chức chứng thực"), "officer_position": N_("chức vụ"),
    "signing_identity": N_("danh tính ký số"), "enterprise": N_("doanh nghiệp"), "agency": N_("cơ quan"),
}


def word(value: object) -> str:
    """The Vietnamese (or English) word for an internal value; an unknown value is shown as it is."""
    text = str(value)
    return i18n.gettext(WORDS[text]) if text in WORDS else text


def level(acr: object) -> str:
    """`urn:…:loa:2` or `2` as "mức 2": the level of assurance, without the URN."""
    return i18n.gettext("mức %(n)s") % {"n": str(acr).rsplit(":", 1)[-1]}


templates.env.filters["word"] = word
templates.env.filters["level"] = level


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render a page with what every layout needs: the principal, locale, CSRF token, request id."""
    ctx: dict[str, Any] = {
        "principal": getattr(request.state, "principal", None),
        "locale": i18n.get_locale(),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "request_id": getattr(request.state, "request_id", ""),
        "path": request.url.path,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
