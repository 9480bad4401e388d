"""Signing tables: signing identities (key + certificate), signatures made, B-LTA archives, remote approvals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from egov.platform.db import Base, UtcDateTime
from egov.platform.ids import new_id


class SigningIdentityRecord(Base):
    """A key in the key store and the certificate the pki context issued for it.

    `holder` is "account:<id>" for an officer's (remote) signing key or "agency:<id>" for a seal.
    The private key is never here: `key_name` names it in the key store.
    """

    __tablename__ = "signing_identities"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    holder: Mapped[str] = mapped_column(String(80), index=True)
    key_name: Mapped[str] = mapped_column(String(64))
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    chain_der: Mapped[str] = mapped_column(Text)  # JSON list of base64 DER, issuing CA first
    display_name: Mapped[str] = mapped_column(String(300))
    position: Mapped[str] = mapped_column(String(300), default="")
    agency_name: Mapped[str] = mapped_column(String(300), default="")
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SignatureRecord(Base):
    """One signature the platform made: what, by whom, over which bytes (hash), at which level."""

    __tablename__ = "signing_signatures"
    __table_args__ = (Index("ix_signing_signatures_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str | None] = mapped_column(String(36))
    identity_id: Mapped[str] = mapped_column(String(36), ForeignKey("signing_identities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # pdf | xml | cms
    level: Mapped[str] = mapped_column(String(10))
    document_sha256: Mapped[str] = mapped_column(String(64), index=True)  # what was presented
    signed_sha256: Mapped[str] = mapped_column(String(64))  # the result (signed PDF/XML, or the CMS)
    approval_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ArchivedDocument(Base):
    """A B-LTA document the platform keeps alive: its archive time-stamp is renewed before it weakens."""

    __tablename__ = "signing_archives"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    signature_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("signing_signatures.id"))
    title: Mapped[str] = mapped_column(String(300), default="")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_sha256: Mapped[str] = mapped_column(String(64))
    renewals: Mapped[int] = mapped_column(Integer, default=0)
    # when the newest document time-stamp's TSA certificate expires; renewal is due well before
    last_timestamp_expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    renew_after: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    renewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RemoteApproval(Base):
    """A user's approval to sign one document (by its SHA-256) with their platform-held key.

    Created when the document is shown; approved by a fresh second factor; consumed by exactly one
    signature. The activation token handed to the user is a MAC under the platform secret (not in the
    database), and only its hash is stored: a database row alone activates nothing.
    """

    __tablename__ = "signing_remote_approvals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    identity_id: Mapped[str] = mapped_column(String(36), ForeignKey("signing_identities.id"))
    document_sha256: Mapped[str] = mapped_column(String(64))
    document_kind: Mapped[str] = mapped_column(String(10))
    document_name: Mapped[str] = mapped_column(String(300), default="")
    # The web flow keeps the shown bytes so that exactly they are signed; the API re-sends them instead.
    document: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    approved_with: Mapped[str | None] = mapped_column(String(20))  # otp | passkey
    token_hash: Mapped[str | None] = mapped_column(String(64))
    consumed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
