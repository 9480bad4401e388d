"""Certificates, CRLs and CSR checks with `cryptography`; every signature comes from the key store."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from egov.pki.keys import as_private_key
from egov.pki.profiles import CA_KEY_USAGE, CA_POLICY, ORGANIZATION_IDENTIFIER, ProfileSpec, key_usage
from egov.platform.errors import FieldError, ValidationFailed
from egov.platform.keys import Signer

MAX_CSR_BYTES = 16 * 1024
RSA_MIN_BITS = 2048
RSA_MAX_BITS = 8192
ALLOWED_CURVES = (ec.SECP256R1, ec.SECP384R1)
_DNS_RE = re.compile(r"(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}")
# Backdating absorbs small clock differences between us and relying parties (RFC 5280 allows any notBefore).
BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class CaUrls:
    ca_cert: str
    crl: str
    ocsp: str


def ca_urls(public_url: str, ca_name: str) -> CaUrls:
    base = public_url.rstrip("/")
    return CaUrls(ca_cert=f"{base}/pki/ca/{ca_name}.crt", crl=f"{base}/pki/crl/{ca_name}.crl", ocsp=f"{base}/pki/ocsp")


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def key_hash_sha1(cert: x509.Certificate) -> str:
    """SHA-1 of the subjectPublicKey BIT STRING contents: OCSP's issuerKeyHash (RFC 6960 4.1.1)."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha1(_bit_string_of_spki(spki), usedforsecurity=False).hexdigest()


def _bit_string_of_spki(spki: bytes) -> bytes:
    from asn1crypto import keys as akeys

    return bytes(akeys.PublicKeyInfo.load(spki)["public_key"].contents[1:])  # skip the unused-bits byte


def _policies(oid: x509.ObjectIdentifier) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(oid, None)])


def vn_name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
                     + [x509.NameAttribute(oid, value) for oid, value in pairs])


def build_root(signer: Signer, common_name: str, organisation: str, now: datetime, days: int) -> x509.Certificate:
    key = as_private_key(signer)
    name = vn_name((NameOID.ORGANIZATION_NAME, organisation), (NameOID.COMMON_NAME, common_name))
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def build_issuing_ca(root_signer: Signer, root_cert: x509.Certificate, ca_public_key_der: bytes, common_name: str,
                     organisation: str, now: datetime, days: int, root_urls: CaUrls) -> x509.Certificate:
    public = serialization.load_der_public_key(ca_public_key_der)
    not_after = min(now + timedelta(days=days), root_cert.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(vn_name((NameOID.ORGANIZATION_NAME, organisation), (NameOID.COMMON_NAME, common_name)))
        .issuer_name(root_cert.subject).public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)  # type: ignore[arg-type]
        .add_extension(_aki(root_cert), critical=False)
        .add_extension(_policies(CA_POLICY), critical=False)
        .add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(root_urls.ca_cert))]), critical=False)
        .add_extension(_cdp(root_urls.crl), critical=False)
        .sign(as_private_key(root_signer), hashes.SHA256())
    )


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _cdp(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None)])


def build_leaf(issuer_signer: Signer, issuer_cert: x509.Certificate, spec: ProfileSpec, public_key_der: bytes,
               subject: x509.Name, dns_names: list[str], not_before: datetime, not_after: datetime,
               urls: CaUrls) -> x509.Certificate:
    public = serialization.load_der_public_key(public_key_der)
    not_after = min(not_after, issuer_cert.not_valid_after_utc)  # never past the issuer's
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(issuer_cert.subject).public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())  # 159 random bits (RFC 5280 allows up to 20 octets)
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(spec.key_usage, rsa=isinstance(public, rsa.RSAPublicKey)), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(spec.eku)), critical=spec.eku_critical)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)  # type: ignore[arg-type]
        .add_extension(_aki(issuer_cert), critical=False)
        .add_extension(_policies(spec.policy_oid), critical=False)
    )
    access = [x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                     x509.UniformResourceIdentifier(urls.ca_cert))]
    if spec.profile.value == "ocsp_signer":
        # RFC 6960 4.2.2.2.1: clients need not check the responder's own status.
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    else:
        access.insert(0, x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                                x509.UniformResourceIdentifier(urls.ocsp)))
        builder = builder.add_extension(_cdp(urls.crl), critical=False)
    builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns_names]),
                                        critical=False)
    return builder.sign(as_private_key(issuer_signer), hashes.SHA256())


def build_crl(signer: Signer, issuer_cert: x509.Certificate, number: int, this_update: datetime,
              next_update: datetime, revoked: list[tuple[int, datetime, str]]) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer_cert.subject).last_update(this_update).next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(_aki(issuer_cert), critical=False)
    )
    for serial, when, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason != "unspecified":  # RFC 5280 5.3.1: omit the extension rather than say unspecified
            entry = entry.add_extension(x509.CRLReason(x509.ReasonFlags[reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(as_private_key(signer), hashes.SHA256())


# --- CSR checks ----------------------------------------------------------------------------------------


def _csr_error(rule: str, vi: str, en: str) -> ValidationFailed:
    return ValidationFailed([FieldError("csr", rule, vi, en)])


def parse_csr(data: bytes | str) -> x509.CertificateSigningRequest:
    """A PKCS#10 request (PEM or DER) whose self-signature verifies and whose key is strong enough."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    if not raw.strip():
        raise _csr_error("csr.missing", "Chưa có yêu cầu chứng thư (CSR)", "No certificate request (CSR) given")
    if len(raw) > MAX_CSR_BYTES:
        raise _csr_error("csr.too_large", "Yêu cầu chứng thư quá lớn", "The certificate request is too large")
    try:
        csr = (x509.load_pem_x509_csr(raw) if raw.lstrip().startswith(b"-----BEGIN")
               else x509.load_der_x509_csr(raw))
        public = csr.public_key()
    except (ValueError, TypeError):
        raise _csr_error("csr.malformed", "Yêu cầu chứng thư (CSR PKCS#10) không đọc được",
                         "The certificate request is not a readable PKCS#10 CSR") from None
    except Exception:  # noqa: BLE001 - unsupported key types raise UnsupportedAlgorithm
        raise _csr_error("csr.key_unsupported", "Loại khóa trong yêu cầu không được hỗ trợ",
                         "The key type in the request is not supported") from None
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < RSA_MIN_BITS:
            raise _csr_error("csr.key_weak", f"Khóa RSA {public.key_size} bit quá yếu (tối thiểu {RSA_MIN_BITS} bit)",
                             f"RSA key of {public.key_size} bits is too weak (at least {RSA_MIN_BITS})")
        if public.key_size > RSA_MAX_BITS:
            raise _csr_error("csr.key_unsupported", "Khóa RSA quá lớn", "The RSA key is too large")
    elif isinstance(public, ec.EllipticCurvePublicKey):
        if not isinstance(public.curve, ALLOWED_CURVES):
            raise _csr_error("csr.key_unsupported",
                             f"Đường cong {public.curve.name} không được hỗ trợ (dùng P-256 hoặc P-384)",
                             f"Curve {public.curve.name} is not supported (use P-256 or P-384)")
    else:  # Ed25519/Ed448/DSA: not in the Vietnamese signature profiles
        raise _csr_error("csr.key_unsupported", "Loại khóa không được hỗ trợ (dùng RSA ≥ 2048 bit hoặc ECDSA P-256)",
                         "Key type not supported (use RSA ≥ 2048 bits or ECDSA P-256)")
    if not csr.is_signature_valid:
        raise _csr_error("csr.signature", "Chữ ký của yêu cầu chứng thư không hợp lệ",
                         "The certificate request's signature does not verify")
    return csr


def public_key_der(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _norm(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


def check_subject_matches(csr: x509.CertificateSigningRequest, expected: x509.Name) -> None:
    """What the CSR says about its subject must agree with what the registry says (the CA writes the
    registry's version into the certificate; a disagreeing request is refused, not silently fixed)."""
    for oid, label in ((NameOID.COMMON_NAME, "CN"), (NameOID.ORGANIZATION_NAME, "O"),
                       (ORGANIZATION_IDENTIFIER, "organizationIdentifier")):
        asked = [str(a.value) for a in csr.subject.get_attributes_for_oid(oid)]
        want = [str(a.value) for a in expected.get_attributes_for_oid(oid)]
        if asked and [_norm(a) for a in asked] != [_norm(w) for w in want]:
            raise _csr_error(
                "csr.subject_mismatch",
                f"Tên chủ thể trong yêu cầu ({label}={asked[0]}) không khớp với dữ liệu đăng ký "
                f"({label}={want[0] if want else '∅'})",
                f"The request's subject ({label}={asked[0]}) does not match the registry "
                f"({label}={want[0] if want else '-'})",
            )


def check_dns_names(names: list[str]) -> list[str]:
    clean = []
    for n in names:
        n = n.strip().lower().rstrip(".")
        if not n:
            continue
        if not _DNS_RE.fullmatch(n):
            raise ValidationFailed.single("dns_names", "dns.invalid", f"Tên miền không hợp lệ: {n}",
                                          f"Not a valid DNS name: {n}")
        clean.append(n)
    return clean
