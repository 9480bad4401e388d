"""Identity tables: accounts, their browser sessions (token hashes only) and role assignments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
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
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


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
