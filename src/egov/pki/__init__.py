"""PKI: the platform's CAs (offline root, specialised and public issuing CAs), certificates, CRL, OCSP, TSA."""

from egov.pki.audit import PkiAudit
from egov.pki.ceremony import CeremonyError
from egov.pki.interfaces import IssuedCert, PkiNotReady, TrustAnchors
from egov.pki.permissions import PkiPermission
from egov.pki.profiles import Issuer, Profile
from egov.pki.runtime import (
    ca_service,
    cached_certificate_status,
    certificate_status,
    endpoints,
    issue_certificate,
    ocsp_responder,
    time_stamp_authority,
    timestamp,
    trust_anchors,
)
from egov.pki.services import PKI_SYSTEM, CertificateAuthorityService
from egov.pki.tasks import maintenance_round
from egov.pki.tsa import TSA_POLICY

__all__ = [
    "PKI_SYSTEM",
    "TSA_POLICY",
    "CeremonyError",
    "CertificateAuthorityService",
    "IssuedCert",
    "Issuer",
    "PkiAudit",
    "PkiNotReady",
    "PkiPermission",
    "Profile",
    "TrustAnchors",
    "ca_service",
    "cached_certificate_status",
    "certificate_status",
    "endpoints",
    "issue_certificate",
    "maintenance_round",
    "ocsp_responder",
    "time_stamp_authority",
    "timestamp",
    "trust_anchors",
]
