"""The OAuth hot paths (ADR 0003): client_credentials tokens and introspection as bare ASGI routes."""

from egov.auth.oidc.hotpath.asgi import ClientHotPath
from egov.auth.oidc.hotpath.introspect import IntrospectionHotPath
from egov.auth.oidc.hotpath.token import ClientCredentialsHotPath

__all__ = ["ClientCredentialsHotPath", "ClientHotPath", "IntrospectionHotPath"]
