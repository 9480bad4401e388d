"""Composition root: create_app(settings) wires every context's routes, middleware and error pages."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from egov.bootstrap import Container, build_container
from egov.platform.clock import Clock
from egov.settings import Settings, load_settings
from egov.web import errors
from egov.web.csrf import csrf_protect
from egov.web.middleware import RequestContextMiddleware
from egov.web.ops import router as ops_router
from egov.web.templating import STATIC_DIR

# Each context offers `router` in views.py (HTML) and api.py (JSON) when it has pages or an API.
CONTEXT_ROUTERS = (
    "egov.auth.views",
    "egov.auth.api",
    "egov.auth.mfa_views",
    "egov.auth.identity_views",
    "egov.auth.delegation_views",
    "egov.auth.federation.views",
    "egov.auth.organisation_views",
    "egov.auth.certificate_views",
    "egov.auth.oidc.routes",
    "egov.auth.oidc.admin",
    "egov.registry.views",
    "egov.registry.api",
    "egov.soc.views",
    "egov.soc.api",
    "egov.pki.views",
    "egov.pki.api",
    "egov.signing.views",
    "egov.signing.api",
)


class EgovApp(FastAPI):
    """FastAPI with the hot paths of ADR 0003 checked first: one dictionary look-up for every other request."""

    hot_paths: dict[str, ASGIApp] = {}

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
        from egov import jobs
        from egov.pki import maintenance_round
        from egov.soc import background

        runner = (background.start_in_process(container, extra=[jobs.runner(container).round,
                                                                maintenance_round(container)])
                  if settings.run_background_in_process else None)
        try:
            yield
        finally:
            if runner is not None:
                runner.stop()
            from egov.signing import close_shared_validators

            close_shared_validators()  # the upload-validation worker must not outlive the server

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
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.include_router(ops_router)
    for module_name in CONTEXT_ROUTERS:
        module = importlib.import_module(module_name)
        app.include_router(module.router)
    errors.install(app)
    from egov.auth import PRINCIPAL_COOKIES, resolve_principal_for

    app.add_middleware(
        RequestContextMiddleware,
        resolver=resolve_principal_for(container),
        trusted_proxies=settings.trusted_proxies,
        secure_cookies=bool(settings.cookie_secure),
        principal_cookies=PRINCIPAL_COOKIES,
    )
    from egov.auth.oidc.fast_introspect import IntrospectionFastPath
    from egov.auth.oidc.fast_token import ClientCredentialsFastPath
    from egov.pki.ocsp import OcspFastPath

    # Hot paths (ADR 0003) in front of everything, the framework's own middleware included: machine
    # clients' plain client_credentials and introspection requests, and OCSP. What they do not answer
    # reaches the app.
    framework: ASGIApp = super(EgovApp, app).__call__  # the whole framework, without the look-up
    oauth = {hot.path: hot(framework, container=container, trusted_proxies=settings.trusted_proxies,
                           secure=bool(settings.cookie_secure))
             for hot in (ClientCredentialsFastPath, IntrospectionFastPath)}
    app.hot_paths = {**oauth, "/pki/ocsp": OcspFastPath(framework)}
    return app
