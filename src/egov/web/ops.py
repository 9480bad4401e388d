"""Operations routes: liveness, readiness (database + migrations current), Prometheus metrics, language."""

from __future__ import annotations

from html import escape
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from egov.platform.errors import NotFound
from egov.platform.i18n import LOCALES
from egov.platform.metrics import render_metrics
from egov.platform.permissions import Principal, public
from egov.web.templating import render

router = APIRouter()
Public = Annotated[Principal | None, Depends(public)]


@router.get("/", include_in_schema=False)
def home(request: Request, principal: Public) -> Response:
    return render(request, "home.html")


@router.get("/healthz", tags=["ops"])
def healthz(_: Public) -> dict[str, str]:
    """The process is alive; says nothing about its dependencies."""
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"], responses={503: {
    "description": "Not ready: the database or its migrations.",
    "content": {"application/json": {"schema": {"type": "object"}}}}})
def readyz(request: Request, _: Public) -> Response:
    """Ready to serve: the database answers and its schema is at the code's migration head."""
    from egov.migrations.runner import current_revision, head_revision

    db = request.app.state.container.db
    try:
        db.check()
        current = current_revision(db.engine)
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as not ready
        return JSONResponse({"status": "unavailable", "database": str(exc).splitlines()[0][:200]}, status_code=503)
    head = head_revision()
    if current != head:
        return JSONResponse({"status": "unavailable", "migrations": {"current": current, "head": head}},
                            status_code=503)
    return JSONResponse({"status": "ready", "migrations": {"current": current, "head": head}})


@router.get("/metrics", tags=["ops"], response_class=Response, responses={200: {
    "description": "Prometheus text exposition format.", "content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(_: Public) -> Response:
    return Response(render_metrics(), media_type="text/plain; version=0.0.4")


def _swagger_ui_dir() -> Path:
    """Swagger UI's files as the pinned fastapi-offline package ships them (found, not imported)."""
    spec = find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("fastapi-offline is not installed: it ships the API docs' Swagger UI (pip install .)")
    return Path(spec.origin).parent / "static"


SWAGGER_UI_DIR = _swagger_ui_dir()
# Only these files are served: the directory holds others (ReDoc) that /api/docs does not use.
SWAGGER_UI_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
                    "favicon.png": "image/png"}


@router.get("/api/docs", include_in_schema=False)
def api_docs(request: Request, _: Public) -> Response:
    """Swagger UI with every script and style from this server, so `script-src 'self'` stays as it is."""
    openapi_url = escape(request.app.openapi_url or "/api/openapi.json")
    return HTMLResponse(f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tài liệu API — egov / API documentation</title>
<link rel="icon" type="image/png" href="/api/docs/assets/favicon.png">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
""")


@router.get("/api/docs/assets/{name}", include_in_schema=False)
def api_docs_asset(name: str, _: Public) -> Response:
    media_type = SWAGGER_UI_FILES.get(name)
    if media_type is None:
        raise NotFound("Không có tệp này trong tài liệu API.", "The API documentation has no such file.")
    return FileResponse(SWAGGER_UI_DIR / name, media_type=media_type,
                        headers={"Cache-Control": "public, max-age=86400"})


@router.post("/language", include_in_schema=False)
def language(
    request: Request, _: Public, lang: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = RedirectResponse(target, status_code=303)
    if lang in LOCALES:
        secure = request.app.state.container.settings.cookie_secure
        resp.set_cookie("egov_lang", lang, max_age=365 * 86400, samesite="lax", secure=bool(secure), httponly=True)
    return resp
