"""Certificates as a way to sign in: who a valid certificate names, and proof that the caller holds its key.

The same validation as for signatures (chain to the trust list, validity, key usage, revocation with
hard failure: no revocation data means no sign-in), but for authentication usage: digitalSignature,
and an extended key usage of client authentication or document signing (a citizen's or officer's
signing certificate on a USB token is what people have) when one is present at all.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.validation.settings import KeyUsageConstraints

from egov.signing._sync import loop_safe
from egov.signing.interfaces import SigningError, TrustSource
from egov.signing.validation import certificate_problem

AUTH_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature"},
    extd_key_usage={"client_auth", "email_protection", "1.3.6.1.5.5.7.3.36", "any_extended_key_usage"},
    explicit_extd_key_usage_required=False,
)
PERSONAL_ID_PREFIX = "CCCD:"  # how the platform's CA writes the personal ID in UID (0.9.2342.19200300.100.1.1)
ORGANIZATION_IDENTIFIER = "2.5.4.97"  # X.520 organizationIdentifier: the agency code in agency certificates
UID = "0.9.2342.19200300.100.1.1"
CHALLENGE_ALGORITHMS = ("ES256", "RS256", "PS256")


class CertificateRefused(SigningError):
    """The certificate cannot sign anyone in; `reason` is the EN 319 102-1 sub-indication (or ours)."""

    status = 401
    code = "certificate_refused"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Chứng thư số không dùng được để đăng nhập ({reason}).",
                         f"The certificate cannot be used to sign in ({reason}).")


@dataclass(frozen=True)
class CertificateIdentity:
    personal_id: str | None  # from UID "CCCD:<12 digits>": a person
    agency_code: str | None  # from organizationIdentifier: an agency (seal, TLS client)
    names_a_person: bool  # any UID at all (well-formed or not): never an agency's own certificate
    subject: str
    issuer: str
    serial: str
    thumbprint: str  # RFC 8705 x5t#S256: base64url SHA-256 of the DER certificate


def _identity(der: bytes) -> CertificateIdentity:
    cert = x509.load_der_x509_certificate(der)

    def attr(oid: str) -> str | None:
        found = cert.subject.get_attributes_for_oid(x509.ObjectIdentifier(oid))
        value = found[0].value if found else None
        return value if isinstance(value, str) else None

    uid = attr(UID)
    personal_id = uid[len(PERSONAL_ID_PREFIX):] if uid and uid.startswith(PERSONAL_ID_PREFIX) else None
    return CertificateIdentity(
        personal_id=personal_id if personal_id and personal_id.isdigit() and len(personal_id) == 12 else None,
        agency_code=attr(ORGANIZATION_IDENTIFIER), names_a_person=uid is not None,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(), serial=format(cert.serial_number, "x"),
        thumbprint=base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode())


@loop_safe
def authenticate_certificate(certificate_der: bytes, chain_der: list[bytes], trust: TrustSource, *,
                             moment: datetime | None = None) -> CertificateIdentity:
    """The identity a certificate names, if it chains to the trust list, is valid now, is not revoked
    (revocation data required) and allows authentication; CertificateRefused otherwise."""
    try:
        cert = asn1_x509.Certificate.load(certificate_der)
        chain = [asn1_x509.Certificate.load(c) for c in chain_der]
        cert.native  # noqa: B018 - parse it all now: a malformed certificate is refused here, not deep inside
    except (ValueError, TypeError):
        raise CertificateRefused("FORMAT_FAILURE") from None

    sub = certificate_problem(cert, chain, trust, AUTH_USAGE, moment)
    if sub is not None:
        raise CertificateRefused(sub)
    return _identity(certificate_der)


def verify_possession(certificate_der: bytes, data: bytes, signature: bytes, algorithm: str) -> None:
    """Raise CertificateRefused unless `signature` over `data` was made with the certificate's key.
    ES256 signatures are accepted as JOSE (r||s, 64 bytes) or DER."""
    try:
        key = x509.load_der_x509_certificate(certificate_der).public_key()
    except ValueError:
        raise CertificateRefused("FORMAT_FAILURE") from None
    try:
        if algorithm == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) == 64:
                from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

                signature = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                                 int.from_bytes(signature[32:], "big"))
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif algorithm == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm == "PS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        else:
            raise CertificateRefused("UNSUPPORTED_ALGORITHM")
    except InvalidSignature:
        raise CertificateRefused("SIG_CRYPTO_FAILURE") from None
