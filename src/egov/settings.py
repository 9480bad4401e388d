"""Typed settings read once from EGOV_* variables; a wrong value stops start-up with what to set."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """Start-up cannot go on; the message says which variable to set and how."""


def _read_file_reference(value: object) -> object:
    """`file:/run/secrets/x` reads the secret from that file, so secrets stay out of the environment."""
    if isinstance(value, str) and value.startswith("file:"):
        path = Path(value[5:])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from exc
    return value


# OWASP Password Storage Cheat Sheet: Argon2id configurations of equal strength, as
# (time cost t) -> least memory in KiB; from t=5 on, 7 MiB. Production refuses anything below.
OWASP_ARGON2_MIN_MEMORY_KIB = {1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}


def owasp_argon2_min_memory_kib(time_cost: int) -> int:
    """The least Argon2id memory (KiB) OWASP accepts with this many passes."""
    return OWASP_ARGON2_MIN_MEMORY_KIB[min(max(time_cost, 1), 5)]


class Settings(BaseSettings):
    """Every setting the platform reads. Defaults are the embedded single-node SQLite profile."""

    model_config = SettingsConfigDict(env_prefix="EGOV_", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    # Migrations and PostgreSQL grants run as the owner; the application connects as its own role.
    database_owner_url: str = ""
    database_app_role: str = "egov_app"
    database_app_password: SecretStr = SecretStr("")
    keystore_dir: Path | None = None
    keystore_passphrase: SecretStr = SecretStr("")
    # Where the platform's keys live: encrypted files (default) or a PKCS#11 token (an HSM).
    key_store: Literal["file", "pkcs11"] = "file"
    pkcs11_module: str = "/usr/lib/softhsm/libsofthsm2.so"
    pkcs11_token_label: str = ""
    pkcs11_pin: SecretStr = SecretStr("")
    # PKI: the offline root's key store (its own directory, unlocked only in a two-custodian
    # ceremony) and certificate validity per profile, in days (Decree 68/2024 Art. 9 caps:
    # subscriber certificates 5 years, renewals 3 years, CA certificates 20 years).
    pki_root_dir: Path | None = None
    pki_root_validity_days: int = Field(default=20 * 365, ge=1, le=20 * 365 + 5)
    pki_issuing_validity_days: int = Field(default=10 * 365, ge=1, le=20 * 365 + 5)
    pki_subscriber_validity_days: int = Field(default=3 * 365, ge=1, le=5 * 365 + 1)
    pki_renewal_validity_days: int = Field(default=2 * 365, ge=1, le=3 * 365 + 1)
    pki_tls_validity_days: int = Field(default=397, ge=1, le=5 * 365 + 1)
    pki_ocsp_validity_days: int = Field(default=90, ge=1, le=5 * 365 + 1)
    pki_tsu_validity_days: int = Field(default=3 * 365, ge=1, le=5 * 365 + 1)
    pki_crl_hours: int = Field(default=24, ge=1, le=24 * 31)
    pki_ocsp_validity_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    public_url: str = "http://localhost:8000"
    cookie_secure: bool | None = None
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=72)
    audit_origin: str = "egov.local/audit"
    audit_key_name: str = "audit-checkpoint"
    checkpoint_interval_seconds: float = Field(default=5.0, gt=0)
    checkpoint_dir: Path | None = None
    trusted_proxies: list[str] = Field(default_factory=list)
    # TLS client certificates: the reverse proxy that terminated TLS passes the verified certificate
    # (URL-encoded PEM, nginx's $ssl_client_escaped_cert) in this header; believed only from these peers.
    client_cert_proxies: list[str] = Field(default_factory=list)
    client_cert_header: str = "x-ssl-client-cert"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    default_locale: Literal["vi", "en"] = "vi"
    # The embedded profile runs background work (audit sequencer, checkpoints) in the web process.
    run_background_in_process: bool | None = None
    # Argon2id cost. The test suite lowers it (argon2's own floor is 8 KiB per lane); production
    # refuses anything cheaper than OWASP's minimum (see OWASP_ARGON2_MIN_MEMORY_KIB).
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19 * 1024, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)
    login_backoff_base_seconds: float = Field(default=1.0, ge=0)
    login_backoff_max_seconds: float = Field(default=900.0, ge=1)
    login_free_attempts: int = Field(default=3, ge=0)
    # Officers and administrators act with their roles only in a passkey session (phishing-resistant);
    # a password session lets them set one up and nothing else. Default: on in production.
    staff_require_passkey: bool | None = None
    # Keyed hashes (client secrets, pairwise subjects): 32+ random bytes; `file:` reference in production.
    secret_key: SecretStr = SecretStr("")
    oidc_key_name: str = "oidc-signing"
    oidc_key_algorithm: Literal["ES256", "RS256", "EdDSA"] = "ES256"
    # A new signing key is published this long before it signs (relying parties cache JWKS).
    oidc_key_publish_ahead_minutes: int = Field(default=60, ge=0)
    oidc_access_token_seconds: int = Field(default=300, ge=30, le=3600)
    oidc_id_token_seconds: int = Field(default=300, ge=30, le=3600)
    oidc_refresh_token_days: int = Field(default=30, ge=1, le=365)
    oidc_code_seconds: int = Field(default=60, ge=10, le=600)
    # E-mail over SMTP; empty host = the development outbox (refused in production).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "Cổng dịch vụ công <no-reply@egov.local>"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # SMS: no gateway exists yet; "outbox" (development) writes to EGOV_DATA_DIR/outbox/sms.jsonl.
    sms_sender: Literal["outbox", "none"] = "outbox"
    # Signing: an RFC 3161 time-stamping URL (empty: B-T and above are refused), the directory of
    # trusted root certificates and CRLs for validation (default EGOV_DATA_DIR/trust), the only URL
    # prefixes the validator may fetch revocation data from, and the public upload limit.
    signing_tsa_url: str = ""
    signing_trust_dir: Path | None = None
    signing_fetch_allowlist: list[str] = Field(default_factory=list)
    signing_max_upload_mb: int = Field(default=10, ge=1, le=100)
    signing_approval_seconds: int = Field(default=300, ge=30, le=1800)

    _check_file_refs = field_validator("keystore_passphrase", "database_app_password", "database_url",
                                       "database_owner_url", "secret_key", "smtp_password", "pkcs11_pin",
                                       mode="before")(
        lambda cls, v: _read_file_reference(v)
    )

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        # frozen: derived defaults are written through object.__setattr__ once, here.
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'egov.db'}")
        if not self.database_owner_url:
            object.__setattr__(self, "database_owner_url", self.database_url)
        if self.keystore_dir is None:
            object.__setattr__(self, "keystore_dir", self.data_dir / "keys")
        if self.pki_root_dir is None:
            object.__setattr__(self, "pki_root_dir", self.data_dir / "pki-root")
        if self.key_store == "pkcs11" and not (self.pkcs11_token_label and self.pkcs11_pin.get_secret_value()):
            raise ValueError("EGOV_KEY_STORE=pkcs11 needs EGOV_PKCS11_TOKEN_LABEL and EGOV_PKCS11_PIN (file:/path)")
        if self.signing_trust_dir is None:
            object.__setattr__(self, "signing_trust_dir", self.data_dir / "trust")
        if self.checkpoint_dir is None:
            object.__setattr__(self, "checkpoint_dir", self.data_dir / "checkpoints")
        if self.cookie_secure is None:
            object.__setattr__(self, "cookie_secure", self.environment == "production")
        if self.staff_require_passkey is None:
            object.__setattr__(self, "staff_require_passkey", self.environment == "production")
        if self.run_background_in_process is None:
            object.__setattr__(self, "run_background_in_process", self.is_sqlite)
        if not self.database_url.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError(
                "EGOV_DATABASE_URL must be sqlite:///path or postgresql+psycopg://user@host/db"
            )
        if self.environment == "production":
            problems = []
            if self.key_store == "file" and not self.keystore_passphrase.get_secret_value():
                problems.append("EGOV_KEYSTORE_PASSPHRASE (use file:/path/to/secret)")
            if len(self.secret_key.get_secret_value()) < 32:
                problems.append("EGOV_SECRET_KEY (32+ random characters; use file:/path/to/secret)")
            if not self.smtp_host:
                problems.append("EGOV_SMTP_HOST (e-mail cannot go to a development outbox)")
            if self.sms_sender == "outbox":
                problems.append("EGOV_SMS_SENDER=none (or a real gateway): the SMS outbox is for development")
            if not self.cookie_secure:
                problems.append("EGOV_COOKIE_SECURE=true (cookies must not travel over plain HTTP)")
            if self.argon2_memory_kib < owasp_argon2_min_memory_kib(self.argon2_time_cost):
                problems.append(
                    f"EGOV_ARGON2_MEMORY_KIB >= {owasp_argon2_min_memory_kib(self.argon2_time_cost)} with "
                    f"EGOV_ARGON2_TIME_COST={self.argon2_time_cost} (OWASP's minimum Argon2id cost; "
                    "the default m=19456, t=2 meets it)")
            if problems:
                raise ValueError("production refuses development-only defaults; set " + ", ".join(problems))
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def keystore_passphrase_bytes(self) -> bytes:
        """The key store passphrase; in development a random one is kept beside the keys (never in production)."""
        value = self.keystore_passphrase.get_secret_value()
        if value:
            return value.encode()
        return self._development_secret("keystore.passphrase")


    def secret_key_bytes(self) -> bytes:
        """The platform secret for keyed hashes; in development a random one is kept in the data directory."""
        value = self.secret_key.get_secret_value()
        if value:
            return value.encode()
        return self._development_secret("secret.key")

    def _development_secret(self, name: str) -> bytes:
        path = self.data_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip().encode()


def load_settings(**overrides: object) -> Settings:
    """Read settings once; turn pydantic's report into one message naming each variable to set."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = "_".join(str(p) for p in err["loc"]).upper()
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"EGOV_{loc}: {msg}" if loc else msg)
        raise SettingsError("invalid configuration: " + "; ".join(lines)) from None
