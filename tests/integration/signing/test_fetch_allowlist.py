"""URLs from an uploaded certificate (CRL distribution point, OCSP, CA issuers) are fetched only when
they are on the trust source's allowlist: a real local HTTP server counts who knocks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from tests.factories.certs import TestPki, der
from tests.factories.signing import make_pdf

from egov.platform.keys import FileKeyStore, KeyAlgorithm
from egov.signing.interfaces import RevocationData, SigningIdentity, TrustSource
from egov.signing.pades import PadesLevel, sign_pdf
from egov.signing.trust import url_allowed
from egov.signing.validation import Indication, validate_pdf


class Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []
    crls: dict[str, bytes] = {}

    def do_GET(self) -> None:
        Recorder.hits.append(self.path)
        body = Recorder.crls.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        Recorder.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_url_allowed_is_a_strict_match() -> None:
    allow = ["http://pki.egov.vn/crl/"]
    assert url_allowed("http://pki.egov.vn/crl/issuing.crl", allow)
    assert not url_allowed("http://pki.egov.vn/other", allow)
    assert not url_allowed("http://pki.egov.vn.evil.example/crl/x", allow)
    assert not url_allowed("http://user@pki.egov.vn/crl/x", allow)
    assert not url_allowed("file:///etc/passwd", ["file:///"])
    assert not url_allowed("http://169.254.169.254/latest/meta-data", allow)
    assert not url_allowed("http://pki.egov.vn/crl/x", [])
    # an entry without a trailing slash is one exact URL (the pki trust list names whole URLs)
    exact = ["http://pki.egov.vn/pki/ocsp"]
    assert url_allowed("http://pki.egov.vn/pki/ocsp", exact)
    assert not url_allowed("http://pki.egov.vn/pki/ocsp/../../admin", exact)
    assert not url_allowed("http://pki.egov.vn/pki/ocspx", exact)


def test_certificate_urls_are_not_fetched_unless_allowlisted(server: str, tmp_path: Path) -> None:
    pki = TestPki.create(label="có URL cục bộ", aia_base=server)
    keys = FileKeyStore(tmp_path / "keys", b"allowlist-test")
    info = keys.create("officer", KeyAlgorithm.ECDSA_P256)
    cert = pki.issue(info.public_key_der, common_name="Võ Thị Hạnh")
    ident = SigningIdentity(keys.signer("officer"), der(cert), pki.chain_der)
    signed = sign_pdf(make_pdf(), ident, signing_time=datetime.now(UTC), level=PadesLevel.B_B)
    Recorder.crls = {"/crl/issuing.crl": pki.crl_der(), "/crl/root.crl": pki.crl_der(issuer=pki.root)}
    assert x509.load_der_x509_certificate(der(cert)).extensions  # the CDP/AIA point at our server

    # 1. no allowlist: nothing fetched, no revocation data -> TRY_LATER
    closed = TrustSource(roots_der=[pki.root.der], revocation=RevocationData())
    report = validate_pdf(signed, closed)
    assert report.signatures[0].sub_indication == "TRY_LATER"
    assert Recorder.hits == []

    # 2. an allowlist that does not cover the certificate's URLs: still nothing fetched
    elsewhere = TrustSource(roots_der=[pki.root.der], fetch_allowlist=[f"{server}/only-this/"])
    report = validate_pdf(signed, elsewhere)
    assert report.signatures[0].indication is not Indication.TOTAL_PASSED
    assert Recorder.hits == []

    # 3. the CRL path allowlisted: fetched, and the signature passes on the fetched CRLs
    allowed = TrustSource(roots_der=[pki.root.der], fetch_allowlist=[f"{server}/crl/"])
    report = validate_pdf(signed, allowed)
    assert report.signatures[0].indication is Indication.TOTAL_PASSED, report.to_dict()
    assert Recorder.hits and all(h.startswith("/crl/") for h in Recorder.hits)
