"""Errors as friendly pages for people and RFC 9457 problem+json for machines; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match

from egov.platform import i18n
from egov.platform.errors import AuthenticationRequired, DomainError, TooManyAttempts
from egov.web.templating import render

log = logging.getLogger("egov.errors")

STATUS_TEXT = {
    400: ("Yêu cầu không hợp lệ", "Bad request"),
    401: ("Cần đăng nhập", "Authentication required"),
    403: ("Không có quyền truy cập", "Forbidden"),
    404: ("Không tìm thấy trang", "Page not found"),
    405: ("Phương thức không được hỗ trợ", "Method not allowed"),
    409: ("Xung đột dữ liệu", "Conflict"),
    413: ("Tệp quá lớn", "Payload too large"),
    422: ("Dữ liệu không hợp lệ", "Validation failed"),
    429: ("Quá nhiều lần thử", "Too many attempts"),
    500: ("Đã có lỗi xảy ra", "Something went wrong"),
    503: ("Dịch vụ tạm thời gián đoạn", "Service unavailable"),
}


# Paths only machines call: their errors are problem+json whatever the Accept header says (the PKI
# endpoints are fetched by certificate validators, which send no Accept or `*/*`).
MACHINE_PREFIXES = ("/api/", "/pki/")


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(MACHINE_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem(request: Request, status: int, title: str, detail: str, code: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:egov:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def error_page(
    request: Request, status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
) -> Response:
    return render(request, "error.html", {"status": status, "title": title, "detail": detail, "errors": errors or []},
                  status_code=status)


def allowed_methods(request: Request) -> str:
    """The methods of every route at this path: Starlette's own `Allow` names only the first route that
    matched the path, and one path often has a GET route and a POST route."""
    methods: set[str] = set()
    scope = {**request.scope, "method": "GET"}
    for route in iter_route_contexts(request.app.router.routes):
        route_methods = route.methods
        if route_methods and route.matches(scope)[0] is not Match.NONE:
            methods |= route_methods
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        locale = i18n.get_locale()
        headers = {}
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after)
        if wants_json(request):
            resp: Response = problem(
                request, exc.status, exc.title(locale), exc.detail(locale), exc.code,
                errors=[e.as_dict(locale) for e in exc.errors],
            )
        elif isinstance(exc, AuthenticationRequired):
            nxt = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/")
            return RedirectResponse(f"/login?next={nxt}", status_code=303)
        else:
            resp = error_page(request, exc.status, exc.title(locale), exc.detail(locale),
                              [e.as_dict(locale) for e in exc.errors])
        resp.headers.update(headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        locale = i18n.get_locale()
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
            errors.append({"field": ".".join(loc) or "request", "rule": str(err.get("type", "invalid")),
                           "message": str(err.get("msg", ""))})
        title = i18n.pick(*STATUS_TEXT[422])
        detail = i18n.pick("Vui lòng kiểm tra các trường được đánh dấu.", "Please check the fields listed.")
        if wants_json(request):
            return problem(request, 422, title, detail, "validation_failed", errors=errors)
        _ = locale
        return error_page(request, 422, title, detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        vi, en = STATUS_TEXT.get(exc.status_code, STATUS_TEXT[400])
        title = i18n.pick(vi, en)
        detail = i18n.pick(
            "Địa chỉ bạn mở không tồn tại hoặc đã được chuyển.", "The address you opened does not exist or has moved."
        ) if exc.status_code == 404 else title
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)  # RFC 9110 §15.5.6: every method of the resource
        resp = (problem(request, exc.status_code, title, detail, f"http_{exc.status_code}") if wants_json(request)
                else error_page(request, exc.status_code, title, detail))
        resp.headers.update(headers)
        return resp

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", extra={"request_id": getattr(request.state, "request_id", None)})
        title = i18n.pick(*STATUS_TEXT[500])
        detail = i18n.pick(
            "Hệ thống gặp sự cố. Vui lòng thử lại sau; nếu lỗi lặp lại, hãy báo mã yêu cầu cho bộ phận hỗ trợ.",
            "The system hit a problem. Please try again later; if it repeats, give support the request id.",
        )
        if wants_json(request):
            return problem(request, 500, title, detail, "internal_error")
        return error_page(request, 500, title, detail)
