"""auth's settings (EGOV_AUTH__…): sessions, password hashing, sign-in backoff, certificates, OIDC."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field

from egov.settings import Section

if TYPE_CHECKING:
    from egov.settings import Settings


# OWASP Password Storage Cheat Sheet: Argon2id configurations of equal strength, as
# (time cost t) -> least memory in KiB; from t=5 on, 7 MiB. Production refuses anything below.
OWASP_ARGON2_MIN_MEMORY_KIB = {1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}


def owasp_argon2_min_memory_kib(time_cost: int) -> int:
    """The least Argon2id memory (KiB) OWASP accepts with this many passes."""
    return OWASP_ARGON2_MIN_MEMORY_KIB[min(max(time_cost, 1), 5)]


class AuthSettings(Section):
    """Sessions and sign-in, the TLS client-certificate proxy, and the OpenID Connect provider."""

    legacy_prefix = ""

    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=72)
    # Argon2id cost. The test suite lowers it (argon2's own floor is 8 KiB per lane); production
    # refuses anything cheaper than OWASP's minimum (OWASP_ARGON2_MIN_MEMORY_KIB).
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19 * 1024, ge=8)
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

    def production_problems(self) -> list[str]:
        least = owasp_argon2_min_memory_kib(self.argon2_time_cost)
        if self.argon2_memory_kib >= least:
            return []
        return [f"EGOV_AUTH__ARGON2_MEMORY_KIB >= {least} with EGOV_AUTH__ARGON2_TIME_COST={self.argon2_time_cost} "
                "(OWASP's minimum Argon2id cost; the default m=19456, t=2 meets it)"]
