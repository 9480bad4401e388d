"""Signing: PAdES, XAdES and detached CMS signatures with key-store keys; ETSI validation reports."""

from egov.signing.audit import SigningAudit
from egov.signing.authentication import (
    CertificateIdentity,
    CertificateRefused,
    authenticate_certificate,
    verify_possession,
)
from egov.signing.enrolment import certification_request, ensure_remote_key
from egov.signing.interfaces import (
    ApprovalRefused,
    RevocationData,
    SigningError,
    SigningIdentity,
    TrustProvider,
    TrustSource,
    UnsafeInput,
)
from egov.signing.isolation import close_shared_validators
from egov.signing.pades import PadesLevel, VisibleSignature
from egov.signing.permissions import SigningPermission
from egov.signing.pki_bridge import PkiTrust
from egov.signing.services import SignedDocument, SigningService
from egov.signing.tasks import job_handlers
from egov.signing.validation import Indication, SignatureReport, ValidationReport

__all__ = [
    "ApprovalRefused",
    "CertificateIdentity",
    "CertificateRefused",
    "Indication",
    "PadesLevel",
    "PkiTrust",
    "RevocationData",
    "SignatureReport",
    "SignedDocument",
    "SigningAudit",
    "SigningError",
    "SigningIdentity",
    "SigningPermission",
    "SigningService",
    "TrustProvider",
    "TrustSource",
    "UnsafeInput",
    "ValidationReport",
    "VisibleSignature",
    "authenticate_certificate",
    "certification_request",
    "close_shared_validators",
    "ensure_remote_key",
    "job_handlers",
    "verify_possession",
]
