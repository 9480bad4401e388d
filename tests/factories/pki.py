"""The PKI set up for tests: a root made in a two-custodian ceremony, both issuing CAs, CSR helpers, openssl."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from egov.bootstrap import Container
from egov.pki import CertificateAuthorityService
from egov.pki.models import CertificateAuthority


@dataclass
class PkiSetup:
    service: CertificateAuthorityService
    root_dir: Path
    share_a: str
    share_b: str
    root: CertificateAuthority
    specialised: CertificateAuthority
    public: CertificateAuthority
    workdir: Path

    def pem(self, der: bytes, name: str) -> Path:
        path = self.workdir / name
        path.write_bytes(x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM))
        return path

    def chain_file(self, ca: CertificateAuthority, name: str = "chain.pem") -> Path:
        """root + issuing CA, PEM, for openssl -CAfile."""
        path = self.workdir / name
        path.write_bytes(b"".join(x509.load_der_x509_certificate(d).public_bytes(serialization.Encoding.PEM)
                                  for d in (self.root.cert_der, ca.cert_der)))
        return path

    def crl_file(self, session: Session, ca_name: str, name: str) -> Path:
        der = self.service.latest_crl(session, ca_name)
        assert der is not None
        path = self.workdir / name
        path.write_bytes(x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM))
        return path


def make_csr(common_name: str | None = None, *, organisation: str | None = None, key: object | None = None,
             curve: ec.EllipticCurve | None = None, rsa_bits: int | None = None) -> tuple[bytes, object]:
    if key is None:
        key = (rsa.generate_private_key(65537, rsa_bits) if rsa_bits
               else ec.generate_private_key(curve or ec.SECP256R1()))
    attrs = []
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if common_name:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs)).sign(key, hashes.SHA256())  # type: ignore[arg-type]
    return csr.public_bytes(serialization.Encoding.PEM), key


def openssl(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out


@pytest.fixture
def pki(container: Container, session: Session, tmp_path: Path) -> PkiSetup:
    """Root (two shares) + the specialised and public issuing CAs, committed."""
    service = CertificateAuthorityService(container.keys, container.clock, container.settings)
    root_dir = tmp_path / "pki-root"
    root, share_a, share_b = service.init_root(session, root_dir)
    specialised = service.certify_issuing_ca(session, "specialised", share_a, share_b, root_dir)
    public = service.certify_issuing_ca(session, "public", share_a, share_b, root_dir)
    session.commit()
    work = tmp_path / "pki-work"
    work.mkdir()
    return PkiSetup(service, root_dir, share_a, share_b, root, specialised, public, work)
