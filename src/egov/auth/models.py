"""Identity tables: accounts, their browser sessions (token hashes only) and role assignments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from egov.platform.db import Base, UtcDateTime
from egov.platform.ids import new_id


class AccountKind(StrEnum):
    CITIZEN = "citizen"  # username: the 12-digit personal ID (số định danh cá nhân)
    ORGANISATION = "organisation"  # username: the tax code (mã số doanh nghiệp)
    OFFICER = "officer"  # username: a login name chosen by the agency
    ADMIN = "admin"  # platform operators; also a login name


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v.value}'" for v in values) + ")"


class Account(Base):
    """Someone who can sign in; `subject_id` links to the registry record the account speaks for.

    `password_hash` is None for an account that has no password yet (or will only use another
    authenticator later): password sign-in is then refused with the usual wording.
    """

    __tablename__ = "auth_accounts"
    __table_args__ = (
        CheckConstraint(_in("kind", AccountKind), name="kind"),
        CheckConstraint(_in("status", AccountStatus), name="status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    subject_id: Mapped[str | None] = mapped_column(String(36), index=True)
    primary_agency_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Identity proofing (Decree 69/2024 in spirit): "1" = the data matches the registry (checked by
    # an operator for accounts they create, or by a code through the contact on record), "2" =
    # verified in person by an officer. See auth/services/proofing.py.
    assurance_level: Mapped[str] = mapped_column(String(1), default="1", server_default="1")

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.ACTIVE


class AuthSession(Base):
    """A signed-in browser. The id is the SHA-256 of the cookie token, so a stolen table opens nothing."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())  # absolute limit, idle or not
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    acr: Mapped[str] = mapped_column(String(16))
    amr: Mapped[str] = mapped_column(String(64), default="pwd", server_default="pwd")  # RFC 8176, space-separated
    # Acting for someone else (a child under 14, an enterprise): "citizen:<id>" / "enterprise:<id>".
    acting_for: Mapped[str | None] = mapped_column(String(64))
    acting_label: Mapped[str | None] = mapped_column(String(300))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Authenticator(Base):
    """Something an account proves itself with besides its password: a TOTP app (its seed sealed,
    never in clear), one single-use recovery code (only its keyed hash), or a passkey (WebAuthn
    credential id, COSE public key and signature counter)."""

    __tablename__ = "auth_authenticators"
    __table_args__ = (CheckConstraint("kind IN ('totp', 'recovery_code', 'passkey')", name="kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100))
    secret_sealed: Mapped[str | None] = mapped_column(Text)  # TOTP seed, sealed with the platform secret
    secret_hash: Mapped[str | None] = mapped_column(String(64))  # recovery code: HMAC-SHA256
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)  # TOTP: a code works once
    credential_id: Mapped[str | None] = mapped_column(String(700), unique=True)  # passkey, base64url
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)  # passkey, COSE
    sign_count: Mapped[int | None] = mapped_column(BigInteger)  # passkey
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Delegation(Base):
    """An enterprise's legal representative lets an employee act for it, for chosen services, until a date."""

    __tablename__ = "auth_delegations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    enterprise_id: Mapped[str] = mapped_column(String(36), index=True)
    delegate_account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"), index=True)
    services: Mapped[str] = mapped_column(Text)  # JSON list of service codes, ["*"] for all
    valid_until: Mapped[date] = mapped_column(Date)  # acts up to and including this day
    granted_by: Mapped[str] = mapped_column(String(36))  # the legal representative's account
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class IdentityProofing(Base):
    """How and by whom an account's identity was proven to a level: kept, never overwritten."""

    __tablename__ = "auth_identity_proofings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"), index=True)
    level: Mapped[str] = mapped_column(String(1))
    method: Mapped[str] = mapped_column(String(32))  # registry_code_email | registry_code_sms | in_person
    evidence_type: Mapped[str | None] = mapped_column(String(32))  # in person: cccd_chip | passport | …
    evidence_ref: Mapped[str | None] = mapped_column(String(64))
    verified_by: Mapped[str | None] = mapped_column(String(36))  # the officer's account id
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OtpChallenge(Base):
    """A one-time code sent to the contact on record (registration): only its keyed hash is kept."""

    __tablename__ = "auth_otp_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    purpose: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(36), index=True)  # the registry citizen id
    channel: Mapped[str] = mapped_column(String(8))
    destination_masked: Mapped[str] = mapped_column(String(260))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RoleAssignment(Base):
    """`role` held by an account in one agency (and, through the registry, its subtree) or "*" for all."""

    __tablename__ = "auth_role_assignments"
    __table_args__ = (UniqueConstraint("account_id", "role", "agency_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    # No index of its own: the unique constraint starts with account_id and serves the lookups.
    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"))
    role: Mapped[str] = mapped_column(String(64))
    agency_id: Mapped[str] = mapped_column(String(36))
    granted_by: Mapped[str | None] = mapped_column(String(36))  # account id; None when granted from the CLI
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())


# --- OpenID Connect provider ------------------------------------------------------------------------
# Codes, tokens and client secrets are stored as hashes only: a copy of these tables opens nothing.


class OidcClient(Base):
    """A relying party (a ministry or provincial portal) or a machine client.

    `secret_hash` is a keyed hash (HMAC-SHA256 with the platform secret): client secrets are
    random and high-entropy, so a slow password hash would buy nothing but CPU per token request.
    """

    __tablename__ = "oidc_clients"
    __table_args__ = (
        CheckConstraint("client_type IN ('confidential', 'public')", name="client_type"),
        CheckConstraint("status IN ('active', 'disabled')", name="status"),
        CheckConstraint("access_token_format IN ('jwt', 'opaque')", name="access_token_format"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client_id
    name: Mapped[str] = mapped_column(String(200))
    client_type: Mapped[str] = mapped_column(String(16))
    auth_method: Mapped[str] = mapped_column(String(32))  # client_secret_basic | …_post | private_key_jwt | none
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    jwks: Mapped[str | None] = mapped_column(Text)  # private_key_jwt: the client's public keys (JSON)
    redirect_uris: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, exact match
    post_logout_redirect_uris: Mapped[str] = mapped_column(Text, default="[]")
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    grant_types: Mapped[str] = mapped_column(Text)  # JSON list
    scopes: Mapped[str] = mapped_column(Text)  # JSON list: what the client may ask for
    access_token_format: Mapped[str] = mapped_column(String(8), default="jwt")
    sector_identifier: Mapped[str] = mapped_column(String(255))  # pairwise subjects are per sector
    require_dpop: Mapped[bool] = mapped_column(Boolean, default=False)
    agency_id: Mapped[str | None] = mapped_column(String(36))  # the agency that runs the relying party
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The level of assurance the service itself requires (Decree 69/2024 level 1 or 2): a weaker
    # session is stepped up (or told how to reach the level), whatever acr_values the request carries.
    min_level: Mapped[str] = mapped_column(String(1), default="1", server_default="1")


class OidcAuthorization(Base):
    """A pushed authorization request (RFC 9126) or an authorization code, by the hash of its handle.

    Both are one-time: `used_at` is set on use, and a second use of a code revokes what it issued.
    """

    __tablename__ = "oidc_authorizations"
    __table_args__ = (CheckConstraint("kind IN ('par', 'code', 'jti', 'dpop', 'chal')", name="kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the handle
    kind: Mapped[str] = mapped_column(String(8))
    client_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("oidc_clients.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("auth_accounts.id"))
    session_id: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[str] = mapped_column(Text)  # JSON: redirect_uri, scope, nonce, code_challenge, acr, amr…
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OidcToken(Base):
    """An issued access or refresh token, by the hash of the opaque token or the JWT's `jti`.

    Refresh tokens rotate: each use issues a new one in the same `family_id`; presenting a used
    one again (a replay) revokes the whole family.
    """

    __tablename__ = "oidc_tokens"
    __table_args__ = (CheckConstraint("kind IN ('access', 'refresh')", name="kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("oidc_clients.id"), index=True)
    account_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("auth_accounts.id"), index=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)
    code_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the code it came from
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text)
    claims: Mapped[str] = mapped_column(Text, default="{}")  # JSON: sub, acr, amr, auth_time, act, jkt…
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # refresh: rotated
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OidcConsent(Base):
    """Scopes an account has allowed a client; remembered so the consent screen is not shown again."""

    __tablename__ = "oidc_consents"
    __table_args__ = (PrimaryKeyConstraint("account_id", "client_id"),)

    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"))
    client_id: Mapped[str] = mapped_column(String(64), ForeignKey("oidc_clients.id"))
    scopes: Mapped[str] = mapped_column(Text)  # JSON list
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())


class UpstreamProvider(Base):
    """An upstream OpenID provider whose sign-ins are accepted (e.g. the national VNeID-style one).

    Its client secret is sealed, not hashed: it has to be sent to the provider. `acr_map` turns the
    provider's acr values into our levels; an acr not in it is refused rather than guessed.
    """

    __tablename__ = "auth_upstream_providers"
    __table_args__ = (CheckConstraint("status IN ('active', 'disabled')", name="status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # a short slug used in URLs: "vneid"
    display_name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500), unique=True)
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret_sealed: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(300))  # space-separated, always with "openid"
    personal_id_claim: Mapped[str] = mapped_column(String(64))
    acr_map: Mapped[str] = mapped_column(Text)  # JSON {"upstream acr": "1" | "2"}
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FederatedIdentity(Base):
    """An upstream subject linked to a local account (found by the personal ID the upstream vouches for)."""

    __tablename__ = "auth_federated_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    provider_id: Mapped[str] = mapped_column(String(32), ForeignKey("auth_upstream_providers.id"))
    subject: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OrganisationMember(Base):
    """A person's account that may act for an organisation account (added by its representative or an admin)."""

    __tablename__ = "auth_organisation_members"
    __table_args__ = (CheckConstraint("role IN ('admin', 'member')", name="role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    organisation_account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"), index=True)
    member_account_id: Mapped[str] = mapped_column(String(36), ForeignKey("auth_accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[str] = mapped_column(String(36))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
