"""PKI API models: certificate requests in, certificates and requests out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, Field

from egov.pki.models import CertificateRequest, IssuedCertificate


class CertificateRequestIn(BaseModel):
    profile: str = Field(description="agency_seal | officer_signing | citizen_signing | tls_server | tls_client")
    csr: str = Field(description="PKCS#10 request, PEM", max_length=16_384)
    subject_ref: str = Field(description="position id (officer_signing), agency code (agency_seal, tls_*), "
                                         "personal ID (citizen_signing)", max_length=100)
    dns_names: list[str] = Field(default_factory=list, max_length=20)


class RequestOut(BaseModel):
    id: str
    profile: str
    subject: str
    status: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    reason: str | None
    certificate_id: str | None

    @classmethod
    def of(cls, r: CertificateRequest) -> RequestOut:
        return cls(id=r.id, profile=r.profile, subject=r.subject, status=r.status, requested_by=r.requested_by,
                   requested_at=r.requested_at, decided_by=r.decided_by, reason=r.reason,
                   certificate_id=r.certificate_id)


class CertificateOut(BaseModel):
    id: str
    serial: str
    profile: str
    subject: str
    status: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
    revocation_reason: str | None
    certificate_pem: str

    @classmethod
    def of(cls, c: IssuedCertificate) -> CertificateOut:
        pem = x509.load_der_x509_certificate(c.cert_der).public_bytes(serialization.Encoding.PEM).decode()
        return cls(id=c.id, serial=c.serial, profile=c.profile, subject=c.subject, status=c.status,
                   not_before=c.not_before, not_after=c.not_after, revoked_at=c.revoked_at,
                   revocation_reason=c.revocation_reason, certificate_pem=pem)


class StatusChangeIn(BaseModel):
    action: Literal["suspend", "unsuspend", "revoke"]
    reason: str = "unspecified"


class RejectIn(BaseModel):
    reason: str = Field(max_length=500)
