"""OAuth 2.0 / OpenID Connect errors: the RFC's `error` code, a description, the HTTP status."""

from __future__ import annotations


class OAuthError(Exception):
    """An error answered as RFC 6749 §5.2 JSON (`{"error", "error_description"}`), never a stack trace.

    `error` is the registered code the client's library acts on (invalid_grant, invalid_client…);
    the description is for the integrator's logs and never carries a secret.
    """

    def __init__(self, error: str, description: str, status: int = 400, *,
                 www_authenticate: str | None = None, audit_reason: str | None = None) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.www_authenticate = www_authenticate
        self.audit_reason = audit_reason or error

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_grant(description: str, reason: str | None = None) -> OAuthError:
    return OAuthError("invalid_grant", description, audit_reason=reason)


def invalid_client(description: str = "client authentication failed") -> OAuthError:
    # RFC 6749 §5.2: 401 with a challenge for the scheme the client tried (Basic by default).
    return OAuthError("invalid_client", description, 401, www_authenticate='Basic realm="egov"')


def invalid_token(description: str = "the access token is invalid, expired or revoked",
                  scheme: str = "Bearer") -> OAuthError:
    return OAuthError("invalid_token", description, 401,
                      www_authenticate=f'{scheme} error="invalid_token", error_description="{description}"')
