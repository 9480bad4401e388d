"""OCSP and TSA over HTTP, checked by openssl: `openssl ocsp` against a live server, `-respin` and `ts -verify`."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.pki import PkiSetup, make_csr, openssl
from tests.factories.registry import make_agency

from egov.pki import PKI_SYSTEM, PkiAudit
from egov.platform.clock import FixedClock
from egov.soc.models import AuditEvent

AGENCY = "000.00.00.H29"


def _issue_two(pki: PkiSetup, session: Session, clock: FixedClock) -> tuple[Any, Any]:
    make_agency(session, clock, AGENCY, "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    session.commit()
    good = pki.service.issue(session, profile="tls_client", csr=make_csr()[0], subject_ref=AGENCY, by=PKI_SYSTEM)
    bad = pki.service.issue(session, profile="tls_client", csr=make_csr()[0], subject_ref=AGENCY, by=PKI_SYSTEM)
    session.commit()
    pki.service.revoke(session, bad.id, reason="key_compromise", by=PKI_SYSTEM)
    session.commit()
    return good, bad


def _request(cert_der: bytes, issuer_der: bytes, nonce: bytes | None = None) -> bytes:
    b = ocsp.OCSPRequestBuilder().add_certificate(x509.load_der_x509_certificate(cert_der),
                                                  x509.load_der_x509_certificate(issuer_der), hashes.SHA1())
    if nonce:
        b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
    return b.build().public_bytes(serialization.Encoding.DER)


def _respin(pki: PkiSetup, der: bytes, cert_der: bytes, name: str, *extra: str) -> str:
    resp = pki.workdir / f"{name}.der"
    resp.write_bytes(der)
    out = openssl("ocsp", "-respin", str(resp), "-CAfile", str(pki.chain_file(pki.specialised)),
                  "-issuer", str(pki.pem(pki.specialised.cert_der, "issuer.pem")),
                  "-cert", str(pki.pem(cert_der, f"{name}.pem")), *extra)
    return out.stdout + out.stderr


def test_ocsp_post_and_get_good_revoked_unknown(client: Any, pki: PkiSetup, session: Session,
                                                clock: FixedClock) -> None:
    good, bad = _issue_two(pki, session, clock)
    r = client.post("/pki/ocsp", content=_request(good.cert_der, pki.specialised.cert_der),
                    headers={"Content-Type": "application/ocsp-request"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/ocsp-response"
    out = _respin(pki, r.content, good.cert_der, "good")
    assert "Response verify OK" in out and ": good" in out, out
    encoded = quote(base64.b64encode(_request(bad.cert_der, pki.specialised.cert_der)).decode(), safe="")
    r = client.get(f"/pki/ocsp/{encoded}")
    out = _respin(pki, r.content, bad.cert_der, "revoked", "-resp_text")
    assert "Response verify OK" in out and ": revoked" in out and "keyCompromise" in out, out
    parsed = ocsp.load_der_ocsp_response(r.content)
    assert parsed.revocation_time_utc == bad.revoked_at
    assert parsed.next_update_utc is not None and parsed.next_update_utc > parsed.this_update_utc
    # a certificate from another CA with the same issuer name/key is impossible; an unissued serial is "unknown"
    fake = x509.load_der_x509_certificate(good.cert_der)
    req = (ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        fake.fingerprint(hashes.SHA1()), fake.fingerprint(hashes.SHA1()), 1, hashes.SHA1()).build())
    r = client.post("/pki/ocsp", content=req.public_bytes(serialization.Encoding.DER),
                    headers={"Content-Type": "application/ocsp-request"})
    assert ocsp.load_der_ocsp_response(r.content).response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED
    r = client.post("/pki/ocsp", content=b"\x30\x03garbage", headers={"Content-Type": "application/ocsp-request"})
    assert ocsp.load_der_ocsp_response(r.content).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_ocsp_unknown_serial_and_nonce_echo(client: Any, pki: PkiSetup, session: Session,
                                            clock: FixedClock) -> None:
    good, _ = _issue_two(pki, session, clock)
    issuer = x509.load_der_x509_certificate(pki.specialised.cert_der)
    leaf = x509.load_der_x509_certificate(good.cert_der)
    req = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        *_hashes(issuer), leaf.serial_number + 1, hashes.SHA1()).add_extension(
        x509.OCSPNonce(b"0123456789abcdef"), critical=False).build()
    r = client.post("/pki/ocsp", content=req.public_bytes(serialization.Encoding.DER),
                    headers={"Content-Type": "application/ocsp-request"})
    resp = ocsp.load_der_ocsp_response(r.content)
    assert resp.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    assert resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"0123456789abcdef"


def test_presigned_answer_changes_when_the_status_changes(client: Any, pki: PkiSetup, session: Session,
                                                          clock: FixedClock) -> None:
    good, _ = _issue_two(pki, session, clock)
    body = _request(good.cert_der, pki.specialised.cert_der)
    first = client.post("/pki/ocsp", content=body, headers={"Content-Type": "application/ocsp-request"}).content
    again = client.post("/pki/ocsp", content=body, headers={"Content-Type": "application/ocsp-request"}).content
    assert first == again  # pre-signed
    pki.service.suspend(session, good.id, by=PKI_SYSTEM)
    session.commit()
    after = client.post("/pki/ocsp", content=body, headers={"Content-Type": "application/ocsp-request"}).content
    out = _respin(pki, after, good.cert_der, "held", "-resp_text")
    assert ": revoked" in out and "certificateHold" in out, out


def _hashes(issuer: x509.Certificate) -> tuple[bytes, bytes]:
    from egov.pki.ocsp import _issuer_hashes

    return _issuer_hashes(issuer, hashes.SHA1())


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def openssl_client_checks(url: str, pki: PkiSetup, session: Session, clock: FixedClock) -> None:
    """openssl's OCSP client asks `url` about a good and a revoked certificate, with its default nonce."""
    good, bad = _issue_two(pki, session, clock)
    chain = pki.chain_file(pki.specialised)
    issuer = pki.pem(pki.specialised.cert_der, "issuer.pem")
    for cert, expect in ((good, ": good"), (bad, ": revoked")):
        out = openssl("ocsp", "-issuer", str(issuer), "-cert", str(pki.pem(cert.cert_der, "c.pem")),
                      "-url", url, "-CAfile", str(chain), "-resp_text")
        text = out.stdout + out.stderr
        assert "Response verify OK" in text and expect in text, text
        assert "WARNING: no nonce in response" not in text  # openssl sends a nonce by default; we echo it


def test_openssl_ocsp_client_against_a_live_server(live_server: str, pki: PkiSetup, session: Session,
                                                   clock: FixedClock) -> None:
    openssl_client_checks(f"{live_server}/pki/ocsp", pki, session, clock)


def test_time_stamp_verifies_with_openssl_ts(client: Any, pki: PkiSetup, session: Session, tmp_path: Path) -> None:
    data = tmp_path / "document.pdf"
    data.write_bytes(b"%PDF-1.7 a document to stamp")
    query = tmp_path / "q.tsq"
    openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query), check=True)
    r = client.post("/pki/tsa", content=query.read_bytes(), headers={"Content-Type": "application/timestamp-query"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/timestamp-reply"
    reply = tmp_path / "r.tsr"
    reply.write_bytes(r.content)
    chain = pki.chain_file(pki.specialised)
    out = openssl("ts", "-verify", "-in", str(reply), "-queryfile", str(query), "-CAfile", str(chain))
    assert "Verification: OK" in out.stdout, out.stdout + out.stderr
    out = openssl("ts", "-verify", "-in", str(reply), "-data", str(data), "-CAfile", str(chain))
    assert "Verification: OK" in out.stdout, out.stdout + out.stderr
    text = openssl("ts", "-reply", "-in", str(reply), "-text", check=True).stdout
    from egov.pki.tsa import TSA_POLICY

    assert f"Policy OID: {TSA_POLICY}" in text and "Nonce: 0x" in text and "Accuracy: 0x01 seconds" in text
    # tampered data fails
    data.write_bytes(b"%PDF-1.7 a document to stamp!")
    out = openssl("ts", "-verify", "-in", str(reply), "-data", str(data), "-CAfile", str(chain))
    assert "Verification: OK" not in out.stdout
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.event_type == PkiAudit.TIMESTAMP_ISSUED)
                          .limit(1)) is not None


def _reply_text(client: Any, body: bytes, tmp_path: Path) -> str:
    r = client.post("/pki/tsa", content=body, headers={"Content-Type": "application/timestamp-query"})
    assert r.status_code == 200
    (tmp_path / "r.tsr").write_bytes(r.content)
    return openssl("ts", "-reply", "-in", str(tmp_path / "r.tsr"), "-text", check=True).stdout


def test_time_stamp_bad_requests_are_rejected(client: Any, pki: PkiSetup, tmp_path: Path) -> None:
    text = _reply_text(client, b"not der", tmp_path)
    assert "Status: Rejected" in text and "the data submitted has the wrong format" in text
    data = tmp_path / "d"
    data.write_bytes(b"x")
    query = tmp_path / "q.tsq"
    openssl("ts", "-query", "-data", str(data), "-sha1", "-out", str(query), check=True)
    text = _reply_text(client, query.read_bytes(), tmp_path)
    assert "Status: Rejected" in text and "unrecognized or unsupported algorithm" in text.lower(), text
    openssl("ts", "-query", "-data", str(data), "-sha256", "-tspolicy", "1.2.3.4", "-out", str(query), check=True)
    text = _reply_text(client, query.read_bytes(), tmp_path)
    assert "Status: Rejected" in text and "policy" in text.lower(), text
