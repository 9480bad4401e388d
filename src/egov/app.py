"""Composition root: create_app(settings) wires every context's routes, middleware and error pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from egov import contexts
from egov.bootstrap import build_container
from egov.contexts import load_settings
from egov.platform.clock import Clock
from egov.platform.container import Container
from egov.platform.module import HotPathContext
from egov.platform.worker import start_in_process
from egov.settings import Settings
from egov.web import errors, openapi
from egov.web.csrf import csrf_protect
from egov.web.middleware import RequestContextMiddleware
from egov.web.ops import router as ops_router
from egov.web.templating import STATIC_DIR, templates


class EgovApp(FastAPI):
    """FastAPI with the hot paths of ADR 0003 checked first: one dictionary look-up for every other request."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hot_paths: dict[str, ASGIApp] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.hot_paths.get(scope.get("path", "")) if scope["type"] == "http" else None
        if hot is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # what Starlette would set: the hot paths find the container through it
        await hot(scope, receive, send)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               container: Container | None = None) -> FastAPI:
    settings = settings or load_settings()
    container = container or build_container(settings, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = (start_in_process(contexts.background_rounds(container))
                  if settings.run_background_in_process else None)
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            for module in contexts.CONTEXTS:  # e.g. signing's upload-validation worker must not outlive us
                if module.stop is not None:
                    module.stop()

    app = EgovApp(
        title="egov",
        version="0.1.0",
        description="Nền tảng chính phủ điện tử — e-government platform API",
        lifespan=lifespan,
        dependencies=[Depends(csrf_protect)],
        docs_url=None,  # web/ops.py serves /api/docs with its assets from the package (no CDN, CSP kept)
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.container = container
    templates.env.globals["nav"] = contexts.nav_entries()
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(ops_router)
    for module in contexts.CONTEXTS:
        for router in module.routers:
            app.include_router(router)
    errors.install(app)
    openapi.install(app)
    from egov.auth import PRINCIPAL_COOKIES, resolve_principal_for

    app.add_middleware(
        RequestContextMiddleware,
        resolver=resolve_principal_for(container),
        trusted_proxies=settings.trusted_proxies,
        secure_cookies=bool(settings.cookie_secure),
        principal_cookies=PRINCIPAL_COOKIES,
    )
    # Hot paths (ADR 0003) in front of everything, the framework's own middleware included (machine
    # clients' plain client_credentials and introspection requests, and OCSP); what they do not answer
    # reaches the app.
    framework: ASGIApp = super(EgovApp, app).__call__  # the whole framework, without the look-up
    hot = HotPathContext(framework=framework, container=container)
    for module in contexts.CONTEXTS:
        if module.hot_paths is not None:
            for path, handler in module.hot_paths(hot).items():
                if path in app.hot_paths:
                    raise ValueError(f"hot path {path} is claimed twice ({module.name})")
                app.hot_paths[path] = handler
    return app
