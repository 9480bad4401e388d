"""OpenID Connect provider: relying parties sign citizens and officers in through it (see provider.py)."""

from egov.auth.oidc.clients import ClientRegistry, ClientView
from egov.auth.oidc.errors import OAuthError
from egov.auth.oidc.logout import job_handlers
from egov.auth.oidc.provider import (
    ACR_PREFIX,
    SCOPES,
    AuthorizationRequest,
    NotRedirectable,
    OidcProvider,
    RedirectError,
)

__all__ = [
    "ACR_PREFIX",
    "SCOPES",
    "AuthorizationRequest",
    "ClientRegistry",
    "ClientView",
    "NotRedirectable",
    "OAuthError",
    "OidcProvider",
    "RedirectError",
    "job_handlers",
]
