"""Fixtures for the signing context: the test PKI (tests/factories/certs.py), key-store identities, a TSA.

The identities' private keys live in a real FileKeyStore; their certificates come from the test PKI
until the pki context's CA replaces it.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from egov.platform.keys import FileKeyStore, KeyAlgorithm
from egov.signing.interfaces import RevocationData, SigningIdentity, TrustSource
from tests.factories.certs import TestPki, der, pem


@dataclass
class SigningWorld:
    pki: TestPki
    keys: FileKeyStore
    officer: SigningIdentity
    seal: SigningIdentity
    timestamper: DummyTimeStamper
    trust: TrustSource
    root_pem: Path
    nssdb: Path | None

    def identity(self, key_name: str, *, common_name: str, algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256,
                 **issue: object) -> SigningIdentity:
        info = self.keys.ensure(key_name, algorithm)
        cert = self.pki.issue(info.public_key_der, common_name=common_name, **issue)  # type: ignore[arg-type]
        return SigningIdentity(signer=self.keys.signer(key_name), certificate_der=der(cert),
                               chain_der=self.pki.chain_der, display_name=common_name)

    def trust_with(self, **kw: object) -> TrustSource:
        """The trust source with fresh revocation data (after pki.revoke, say)."""
        base = dict(roots_der=[self.pki.root.der], revocation=self.revocation())
        base.update(kw)
        return TrustSource(**base)  # type: ignore[arg-type]

    def revocation(self) -> RevocationData:
        return RevocationData(crls=[self.pki.crl_der(), self.pki.crl_der(issuer=self.pki.root)])


def make_pdf(text: str = "Van ban thu nghiem", pages: int = 1) -> bytes:
    w = PdfFileWriter()
    font = w.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Font"), pdf_name("/Subtype"): pdf_name("/Type1"),
        pdf_name("/BaseFont"): pdf_name("/Helvetica")}))
    res = generic.DictionaryObject({pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})})
    for i in range(pages):
        content = w.add_object(generic.StreamObject(
            stream_data=f"BT /F1 18 Tf 72 760 Td ({text} {i + 1}) Tj ET".encode("latin-1")))
        w.insert_page(PageObject(contents=content, media_box=[0, 0, 595, 842], resources=res))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def seal_png() -> bytes:
    """A red round seal image, drawn here (an agency uploads its real seal image)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (240, 240), (255, 255, 255, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((6, 6, 234, 234), outline=(200, 0, 0, 255), width=10)
    d.ellipse((40, 40, 200, 200), outline=(200, 0, 0, 255), width=4)
    d.regular_polygon((120, 120, 40), 5, fill=(200, 0, 0, 255))
    out = io.BytesIO()
    img.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def make_nssdb(directory: Path, root_pem: Path) -> Path | None:
    if shutil.which("certutil") is None:
        return None
    # A fresh directory each time: certutil -N on an existing database prompts for its password and,
    # reading EOF, prompts again without end.
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    quiet: dict[str, Any] = {"check": True, "capture_output": True, "stdin": subprocess.DEVNULL, "timeout": 60}
    subprocess.run(["certutil", "-N", "-d", f"sql:{directory}", "--empty-password"], **quiet)
    subprocess.run(["certutil", "-A", "-d", f"sql:{directory}", "-n", "egov-test-root", "-t", "C,C,C",
                    "-i", str(root_pem)], **quiet)
    return directory


def build_world(base: Path) -> SigningWorld:
    """The test PKI, a key store with an officer's key and an agency seal key, a TSA and the trust source."""
    pki = TestPki.create()
    keys = FileKeyStore(base / "keys", b"signing-test-passphrase")
    world = SigningWorld(pki=pki, keys=keys, officer=None, seal=None, timestamper=None, trust=None,  # type: ignore[arg-type]
                         root_pem=pki.write_pem(base / "pem"), nssdb=None)
    officer = world.identity("officer-an", common_name="Nguyễn Văn An", title="Phó Giám đốc",
                             org="Sở Thông tin và Truyền thông (thử nghiệm)")
    world.officer = SigningIdentity(signer=officer.signer, certificate_der=officer.certificate_der,
                                    chain_der=officer.chain_der, display_name="Nguyễn Văn An",
                                    position="Phó Giám đốc", agency_name="Sở Thông tin và Truyền thông")
    seal = world.identity("seal-stttt", common_name="Sở Thông tin và Truyền thông (thử nghiệm)")
    world.seal = SigningIdentity(signer=seal.signer, certificate_der=seal.certificate_der,
                                 chain_der=seal.chain_der, display_name="Sở Thông tin và Truyền thông",
                                 agency_name="Sở Thông tin và Truyền thông Thành phố Hồ Chí Minh")
    tsa_cert, tsa_key = pki.tsa_asn1()
    from asn1crypto import x509 as ax

    world.timestamper = DummyTimeStamper(tsa_cert=tsa_cert, tsa_key=tsa_key,
                                         certs_to_embed=[ax.Certificate.load(c) for c in pki.chain_der])
    world.trust = world.trust_with()
    world.nssdb = make_nssdb(base / "nssdb", world.root_pem)
    return world


@pytest.fixture(scope="session")
def signing_world(tmp_path_factory: pytest.TempPathFactory) -> SigningWorld:
    return build_world(tmp_path_factory.mktemp("signing"))


@pytest.fixture
def pdf_factory() -> Callable[..., bytes]:
    return make_pdf


__all__ = ["SigningWorld", "build_world", "make_nssdb", "make_pdf", "pem", "seal_png"]
