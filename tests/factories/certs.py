"""A small, correct test PKI built at test time with `cryptography`: the stand-in for the pki context's CA.

Until the `pki` context (CA hierarchy, CRL, OCSP responder, RFC 3161 TSA) is merged, the signing
tests get their certificates here: an offline-style root, an issuing CA, officer signing and agency
seal certificates for keys that live in the platform key store (FileKeyStore), a time-stamping unit
(RSA-2048, critical EKU timeStamping; pyHanko's in-process DummyTimeStamper is RSA-only), an OCSP
responder (EKU OCSPSigning) and CRLs. The lead swaps this for the pki context's CA at merge: the
signing context only sees `egov.signing.interfaces` (SigningIdentity, TrustSource, RevocationData).

    pki = TestPki.create()
    cert = pki.issue(key_info.public_key_der, common_name="Nguyễn Văn An", title="Chuyên viên")
    pki.revoke(cert)  ->  pki.crl() and pki.ocsp_response(cert) say revoked
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

AIA_BASE = "http://pki.egov.test"  # never resolvable; tests run with fetching off or through an allowlist

_Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _name(cn: str, *, org: str = "Ban Cơ yếu Chính phủ (thử nghiệm)", title: str | None = None,
          ou: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


@dataclass
class CA:
    cert: x509.Certificate
    key: _Key
    slug: str
    aia_base: str = AIA_BASE

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


@dataclass
class TestPki:
    """Root → issuing CA → end entities; TSA and OCSP responder certified by the issuing CA."""

    __test__ = False  # not a pytest class

    root: CA
    issuing: CA
    tsa_cert: x509.Certificate
    tsa_key: rsa.RSAPrivateKey
    ocsp_cert: x509.Certificate
    ocsp_key: ec.EllipticCurvePrivateKey
    now: datetime
    aia_base: str = AIA_BASE
    revoked: dict[int, tuple[datetime, x509.ReasonFlags]] = field(default_factory=dict)

    @classmethod
    def create(cls, now: datetime | None = None, label: str = "egov", aia_base: str = AIA_BASE) -> TestPki:
        """`label` names the CAs: another label makes an unrelated PKI (an unknown CA to the first)."""
        now = now or datetime.now(UTC)
        root_key = ec.generate_private_key(ec.SECP384R1())
        root_name = _name("Root CA thử nghiệm " + label)
        root_cert = (
            x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=365)).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA384())
        )
        root = CA(root_cert, root_key, "root", aia_base)
        issuing_key = ec.generate_private_key(ec.SECP256R1())
        issuing_cert = _issue(root, issuing_key.public_key(), _name("CA chuyên dùng thử nghiệm " + label),
                              now - timedelta(days=300), now + timedelta(days=3000), ca=True)
        issuing = CA(issuing_cert, issuing_key, "issuing", aia_base)
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa_cert = _issue(issuing, tsa_key.public_key(), _name("TSA thử nghiệm " + label),
                          now - timedelta(days=200), now + timedelta(days=2000),
                          eku=[ExtendedKeyUsageOID.TIME_STAMPING], eku_critical=True,
                          usage=x509.KeyUsage(True, True, False, False, False, False, False, False, False))
        ocsp_key = ec.generate_private_key(ec.SECP256R1())
        ocsp_cert = _issue(issuing, ocsp_key.public_key(), _name("OCSP thử nghiệm " + label),
                           now - timedelta(days=200), now + timedelta(days=2000),
                           eku=[ExtendedKeyUsageOID.OCSP_SIGNING], ocsp_nocheck=True,
                           usage=x509.KeyUsage(True, False, False, False, False, False, False, False, False))
        return cls(root=root, issuing=issuing, tsa_cert=tsa_cert, tsa_key=tsa_key,
                   ocsp_cert=ocsp_cert, ocsp_key=ocsp_key, now=now, aia_base=aia_base)

    # --- end entities --------------------------------------------------------------------------------

    def issue(self, public_key_der: bytes, *, common_name: str, title: str | None = None,
              org: str = "Sở Thông tin và Truyền thông (thử nghiệm)", ou: str | None = None,
              not_before: datetime | None = None, not_after: datetime | None = None,
              issuer: CA | None = None, eku: list[x509.ObjectIdentifier] | None = None) -> x509.Certificate:
        """An officer signing or agency seal certificate: KU digitalSignature + nonRepudiation."""
        public = serialization.load_der_public_key(public_key_der)
        assert isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
        return _issue(issuer or self.issuing, public, _name(common_name, org=org, title=title, ou=ou),
                      not_before or self.now - timedelta(days=30), not_after or self.now + timedelta(days=365),
                      eku=eku if eku is not None else [ExtendedKeyUsageOID.EMAIL_PROTECTION],
                      usage=x509.KeyUsage(True, True, False, False, False, False, False, False, False))

    def revoke(self, cert: x509.Certificate, *, at: datetime | None = None,
               reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise) -> None:
        self.revoked[cert.serial_number] = (at or self.now - timedelta(minutes=5), reason)

    # --- revocation data -----------------------------------------------------------------------------

    def crl(self, *, issuer: CA | None = None, this_update: datetime | None = None,
            next_update: datetime | None = None) -> x509.CertificateRevocationList:
        ca = issuer or self.issuing
        this_update = this_update or self.now - timedelta(minutes=1)
        builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
                   .last_update(this_update).next_update(next_update or this_update + timedelta(days=7))
                   .add_extension(x509.CRLNumber(1), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       ca.key.public_key()), critical=False))
        for serial, (when, reason) in self.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
                .add_extension(x509.CRLReason(reason), critical=False).build())
        return builder.sign(ca.key, hashes.SHA256())

    def crl_der(self, **kw: object) -> bytes:
        return self.crl(**kw).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]

    def ocsp_response(self, cert: x509.Certificate, *, produced_at: datetime | None = None) -> bytes:
        """A DER OCSPResponse for `cert` (issued by the issuing CA), signed by the delegated responder."""
        when = produced_at or self.now - timedelta(minutes=1)
        builder = ocsp.OCSPResponseBuilder()
        if cert.serial_number in self.revoked:
            rev_time, reason = self.revoked[cert.serial_number]
            builder = builder.add_response(cert=cert, issuer=self.issuing.cert, algorithm=hashes.SHA256(),
                                           cert_status=ocsp.OCSPCertStatus.REVOKED, this_update=when,
                                           next_update=when + timedelta(days=1), revocation_time=rev_time,
                                           revocation_reason=reason)
        else:
            builder = builder.add_response(cert=cert, issuer=self.issuing.cert, algorithm=hashes.SHA256(),
                                           cert_status=ocsp.OCSPCertStatus.GOOD, this_update=when,
                                           next_update=when + timedelta(days=1), revocation_time=None,
                                           revocation_reason=None)
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self.ocsp_cert).certificates([self.ocsp_cert])
        return builder.sign(self.ocsp_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    # --- shapes other libraries want -------------------------------------------------------------------

    @property
    def chain_der(self) -> list[bytes]:
        """Issuing CA then root, for embedding beside an end-entity certificate."""
        return [self.issuing.der, self.root.der]

    def tsa_asn1(self) -> tuple[asn1_x509.Certificate, asn1_keys.PrivateKeyInfo]:
        cert = asn1_x509.Certificate.load(self.tsa_cert.public_bytes(serialization.Encoding.DER))
        key = asn1_keys.PrivateKeyInfo.load(self.tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return cert, key

    def write_pem(self, directory: Path) -> Path:
        """root.pem (the trust anchor) for openssl/xmlsec1; returns its path."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "root.pem"
        path.write_bytes(self.root.cert.public_bytes(serialization.Encoding.PEM))
        return path


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                         encipher_only=False, decipher_only=False)


def _issue(issuer: CA, public: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, subject: x509.Name,
           not_before: datetime, not_after: datetime, *, ca: bool = False,
           eku: list[x509.ObjectIdentifier] | None = None, eku_critical: bool = False,
           usage: x509.KeyUsage | None = None, ocsp_nocheck: bool = False) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.cert.subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(min(not_after, issuer.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(_ca_usage() if ca else usage or x509.KeyUsage(
            True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(f"{issuer.aia_base}/crl/{issuer.slug}.crl")], None, None, None)]),
            critical=False)
    )
    if not ca:
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(f"{issuer.aia_base}/ocsp")),
            x509.AccessDescription(x509.AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(f"{issuer.aia_base}/ca/{issuer.slug}.cer")),
        ]), critical=False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=eku_critical)
    if ocsp_nocheck:
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    return builder.sign(issuer.key, hashes.SHA256())
