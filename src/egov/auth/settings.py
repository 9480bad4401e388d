"""auth's settings (EGOV_AUTH__…): sessions, password hashing, sign-in backoff, certificates, OIDC."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field

from egov.settings import Section

if TYPE_CHECKING:
    from egov.settings import Settings


class AuthSettings(Section):
    """Sessions and sign-in, the TLS client-certificate proxy, and the OpenID Connect provider."""

    legacy_prefix = ""

    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=72)
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19 * 1024, ge=8 * 1024)
    argon2_parallelism: int = Field(default=1, ge=1)
    login_backoff_base_seconds: float = Field(default=1.0, ge=0)
    login_backoff_max_seconds: float = Field(default=900.0, ge=1)
    login_free_attempts: int = Field(default=3, ge=0)
    # Officers and administrators act with their roles only in a passkey session (phishing-resistant);
    # a password session lets them set one up and nothing else. Default: on in production.
    staff_require_passkey: bool | None = None
    # TLS client certificates: the reverse proxy that terminated TLS passes the verified certificate
    # (URL-encoded PEM, nginx's $ssl_client_escaped_cert) in this header; believed only from these peers.
    client_cert_proxies: list[str] = Field(default_factory=list)
    client_cert_header: str = "x-ssl-client-cert"
    oidc_key_name: str = "oidc-signing"
    oidc_key_algorithm: Literal["ES256", "RS256", "EdDSA"] = "ES256"
    # A new signing key is published this long before it signs (relying parties cache JWKS).
    oidc_key_publish_ahead_minutes: int = Field(default=60, ge=0)
    oidc_access_token_seconds: int = Field(default=300, ge=30, le=3600)
    oidc_id_token_seconds: int = Field(default=300, ge=30, le=3600)
    oidc_refresh_token_days: int = Field(default=30, ge=1, le=365)
    oidc_code_seconds: int = Field(default=60, ge=10, le=600)

    def resolve(self, settings: Settings) -> Self:
        if self.staff_require_passkey is not None:
            return self
        return self.model_copy(update={"staff_require_passkey": settings.environment == "production"})
