"""PKI tables: certificate authorities, issued certificates, requests awaiting approval, CRLs, the trust list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from egov.platform.db import Base, UtcDateTime

Id = String(36).with_variant(String(36, collation="C"), "postgresql")
Serial = String(42).with_variant(String(42, collation="C"), "postgresql")  # lower-case hex, no leading zeros


class CertificateAuthority(Base):
    """A CA of the platform: the offline root or an online issuing CA (its key in the platform key store)."""

    __tablename__ = "pki_cas"
    __table_args__ = (
        CheckConstraint("kind IN ('root', 'issuing')", name="kind"),
        CheckConstraint("status IN ('active', 'retired')", name="status"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)  # root | specialised | public
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[str | None] = mapped_column(Id, ForeignKey("pki_cas.id"))
    subject: Mapped[str] = mapped_column(String(500))  # RFC 4514, for people
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    key_name: Mapped[str] = mapped_column(String(64))
    key_version: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(Serial)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    # SHA-1 of the subjectPublicKey BIT STRING (OCSP CertID.issuerKeyHash, RFC 6960 4.1.1)
    key_hash_sha1: Mapped[str] = mapped_column(String(40), index=True)
    crl_number: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped in the transaction of every status change of a certificate this CA issued: OCSP
    # responders in any process drop their pre-signed answers when it moves.
    status_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IssuedCertificate(Base):
    """A certificate one of our CAs issued, with its revocation state (RFC 5280 reason codes)."""

    __tablename__ = "pki_certificates"
    __table_args__ = (
        UniqueConstraint("ca_id", "serial", name="ca_serial"),
        CheckConstraint("status IN ('valid', 'suspended', 'revoked')", name="status"),
        Index("ix_pki_certificates_subject_ref", "subject_kind", "subject_ref"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    ca_id: Mapped[str] = mapped_column(Id, ForeignKey("pki_cas.id"))
    serial: Mapped[str] = mapped_column(Serial)
    profile: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(500))
    # What the subject is in the registry: officer position, agency, citizen, host name, service.
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_ref: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[str | None] = mapped_column(Id, index=True)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(10))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(String(30))
    renewed_from_id: Mapped[str | None] = mapped_column(Id, ForeignKey("pki_certificates.id"))
    renewal_count: Mapped[int] = mapped_column(Integer, default=0)
    request_id: Mapped[str | None] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CertificateRequest(Base):
    """A PKCS#10 request awaiting a second officer's decision (four eyes) before anything is issued."""

    __tablename__ = "pki_requests"
    __table_args__ = (CheckConstraint("status IN ('pending', 'issued', 'rejected')", name="status"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    profile: Mapped[str] = mapped_column(String(30))
    csr_der: Mapped[bytes] = mapped_column(LargeBinary)
    subject_ref: Mapped[str] = mapped_column(String(100))
    dns_names: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(500))
    agency_id: Mapped[str | None] = mapped_column(Id, index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    requested_by: Mapped[str] = mapped_column(String(36))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reason: Mapped[str | None] = mapped_column(String(500))
    certificate_id: Mapped[str | None] = mapped_column(Id, ForeignKey("pki_certificates.id"))


class PublishedCrl(Base):
    """Every CRL a CA published; the newest one is served at the CA's distribution point."""

    __tablename__ = "pki_crls"
    __table_args__ = (UniqueConstraint("ca_id", "crl_number", name="ca_number"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    ca_id: Mapped[str] = mapped_column(Id, ForeignKey("pki_cas.id"))
    crl_number: Mapped[int] = mapped_column(Integer)
    this_update: Mapped[datetime] = mapped_column(UtcDateTime())
    next_update: Mapped[datetime] = mapped_column(UtcDateTime())
    entries: Mapped[int] = mapped_column(Integer)
    crl_der: Mapped[bytes] = mapped_column(LargeBinary)


class TrustedCa(Base):
    """An external CA (another Vietnamese CA) trusted for validating signatures, and where we may fetch from."""

    __tablename__ = "pki_trusted_cas"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    cert_der: Mapped[bytes] = mapped_column(LargeBinary)
    # Newline-separated http(s) URLs (OCSP, CRL, caIssuers) the validator may fetch; nothing else.
    fetch_urls: Mapped[str] = mapped_column(Text, default="")
    not_after: Mapped[datetime] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(default=True)
    added_by: Mapped[str] = mapped_column(String(36))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
