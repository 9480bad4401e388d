"""What auth contributes: sign-in, accounts, MFA, delegation, the OIDC provider and federation; its jobs,
commands and the OAuth hot paths."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp

from egov.auth import api, cli, permissions, tasks
from egov.auth.federation import cli as federation_cli
from egov.auth.federation import views as federation_views
from egov.auth.federation.service import Federation
from egov.auth.interfaces import StepUpVerifier
from egov.auth.oidc import admin as oidc_admin
from egov.auth.oidc import cli as oidc_cli
from egov.auth.oidc import routes as oidc_routes
from egov.auth.oidc.hotpath import ClientCredentialsHotPath, IntrospectionHotPath
from egov.auth.oidc.provider import OidcProvider
from egov.auth.services.mfa import build_step_up_verifier
from egov.auth.services.sign_in import SignInService
from egov.auth.settings import AuthSettings
from egov.auth.views import certificates, delegation, identity, mfa, organisations, sign_in
from egov.platform.container import Container
from egov.platform.module import CommandGroup, ContextModule, HotPathContext


def _build(container: Container) -> None:
    container.provide(OidcProvider, OidcProvider.build)
    container.provide(SignInService, SignInService.build)
    container.provide(Federation, Federation.build)
    # What other contexts ask of auth, by its Protocol: signing's remote approval checks a fresh second factor.
    container.provide(StepUpVerifier, build_step_up_verifier)  # type: ignore[type-abstract]  # Protocol key


def _hot_paths(ctx: HotPathContext) -> Mapping[str, ASGIApp]:
    s = ctx.container.settings
    return {hot.path: hot(ctx.framework, container=ctx.container, trusted_proxies=s.trusted_proxies,
                          secure=bool(s.cookie_secure))
            for hot in (ClientCredentialsHotPath, IntrospectionHotPath)}


module = ContextModule(
    name="auth",
    roles=permissions.ROLES,
    settings=("auth", AuthSettings),
    routers=(sign_in.router, api.router, mfa.router, identity.router, delegation.router, federation_views.router,
             organisations.router, certificates.router, oidc_routes.router, oidc_admin.router),
    commands=(
        CommandGroup("accounts", cli.app, "Accounts and roles: create officers and administrators, grant roles."),
        CommandGroup("oidc", oidc_cli.app, "OpenID Connect provider: register relying parties, rotate signing keys."),
        CommandGroup("federation", federation_cli.app,
                     "Upstream identity providers (VNeID-style): add, list, disable."),
    ),
    jobs=tasks.job_handlers,
    models="egov.auth.models",
    build=_build,
    hot_paths=_hot_paths,
)
