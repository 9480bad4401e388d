"""The pki parts a process builds once (CA service, OCSP responder, TSA), provided on the container."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from egov.pki.interfaces import IssuedCert, TrustAnchors
from egov.pki.ocsp import OcspResponder
from egov.pki.services import PKI_SYSTEM, CertificateAuthorityService
from egov.pki.settings import PkiSettings
from egov.pki.tsa import TimeStampAuthority

if TYPE_CHECKING:
    from egov.platform.container import Container


def ca_service(container: Container) -> CertificateAuthorityService:
    return container.get(CertificateAuthorityService)


def ocsp_responder(container: Container) -> OcspResponder:
    return container.get(OcspResponder)


def time_stamp_authority(container: Container) -> TimeStampAuthority:
    return container.get(TimeStampAuthority)


def provide(container: Container) -> None:
    """Register the pki's services on the container: each built once per process, on first use."""
    container.provide(CertificateAuthorityService,
                      lambda c: CertificateAuthorityService(c.keys, c.clock, c.settings))
    container.provide(OcspResponder, lambda c: OcspResponder(
        c.db, ca_service(c), c.clock, validity_minutes=c.settings.section(PkiSettings).ocsp_validity_minutes))
    container.provide(TimeStampAuthority, lambda c: TimeStampAuthority(c.db, ca_service(c), c.clock))


# --- what other contexts (signing) call ------------------------------------------------------------------


def trust_anchors(container: Container, session: Session) -> TrustAnchors:
    """Roots to build chains to (ours and the trust list's) and the only URLs a validator may fetch."""
    return ca_service(container).trust_anchors(session)


def issue_certificate(container: Container, session: Session, *, profile: str, csr: bytes | str, subject_ref: str,
                      dns_names: list[str] | None = None, days: int | None = None) -> IssuedCert:
    """Issue at once as the PKI system (audited), e.g. a signing certificate for a test or a demo;
    people go through the four-eyes request. Raises ValidationFailed on a bad CSR or subject."""
    service = ca_service(container)
    row = service.issue(session, profile=profile, csr=csr, subject_ref=subject_ref, dns_names=dns_names,
                        by=PKI_SYSTEM, days=days)
    return service.as_issued(session, row)


_STATUS_CACHE: dict[bytes, tuple[str | None, float, int]] = {}


def certificate_status(session: Session | Connection, certificate_der: bytes, *,
                       max_age_seconds: float = 0.0) -> str | None:
    """"valid", "suspended" or "revoked" for a certificate our CAs issued (None for anyone else's).

    With `max_age_seconds`, an answer read that recently is reused, unless a status changed in this
    process since (the same freshness rule as the OCSP responder's pre-signed answers): the signing
    context asks before every signature, so a revocation stops signing at once here and within that
    many seconds in other processes, without a query per document."""
    import hashlib
    import time

    from cryptography import x509
    from sqlalchemy import select

    from egov.pki.models import IssuedCertificate
    from egov.pki.ocsp import _local_changes

    key = hashlib.sha256(certificate_der).digest()
    if max_age_seconds > 0:
        found, status = cached_certificate_status(certificate_der, max_age_seconds=max_age_seconds, key=key)
        if found:
            return status
    changes = _local_changes[0]
    serial = format(x509.load_der_x509_certificate(certificate_der).serial_number, "x")
    row = session.scalar(select(IssuedCertificate.status).where(IssuedCertificate.serial == serial,
                                                                IssuedCertificate.cert_der == certificate_der))
    status = str(row) if row is not None else None
    if len(_STATUS_CACHE) > 10_000:
        _STATUS_CACHE.clear()
    _STATUS_CACHE[key] = (status, time.monotonic(), changes)
    return status


def cached_certificate_status(certificate_der: bytes, *, max_age_seconds: float,
                              key: bytes | None = None) -> tuple[bool, str | None]:
    """(True, status) when `certificate_status` read this certificate's status within `max_age_seconds`
    and nothing changed in this process since; (False, None) when it must read the database."""
    import hashlib
    import time

    from egov.pki.ocsp import _local_changes

    hit = _STATUS_CACHE.get(key or hashlib.sha256(certificate_der).digest())
    if hit is not None and time.monotonic() - hit[1] < max_age_seconds and hit[2] == _local_changes[0]:
        return True, hit[0]
    return False, None


def timestamp(container: Container, request_der: bytes, session: Session | None = None) -> bytes:
    """RFC 3161 in-process: a DER TimeStampReq in, a DER TimeStampResp out (same as POST /pki/tsa); with
    `session`, audited in the caller's transaction."""
    return time_stamp_authority(container).respond(request_der, session)


def endpoints(public_url: str) -> dict[str, str]:
    """Where our PKI answers over HTTP (the same URLs the certificates carry in AIA and CDP)."""
    base = public_url.rstrip("/")
    return {
        "ocsp": f"{base}/pki/ocsp",
        "tsa": f"{base}/pki/tsa",
        "crl_specialised": f"{base}/pki/crl/specialised.crl",
        "crl_public": f"{base}/pki/crl/public.crl",
        "crl_root": f"{base}/pki/crl/root.crl",
        "ca_root": f"{base}/pki/ca/root.crt",
        "ca_specialised": f"{base}/pki/ca/specialised.crt",
        "ca_public": f"{base}/pki/ca/public.crt",
    }
