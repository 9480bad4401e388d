"""Signing through HTTP: the public verify page and API, remote signing by API and by page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.signing import SigningWorld, make_pdf

from egov.auth import SecondFactors, build_step_up_verifier
from egov.bootstrap import Container
from egov.platform.clock import FixedClock
from egov.signing import Indication, SigningService
from egov.signing.pades import PadesLevel, sign_pdf
from egov.signing.services import sha256_hex
from egov.signing.validation import validate_pdf, validate_xml


class WorldTrust:
    def __init__(self, world: SigningWorld) -> None:
        self.world = world

    def trust_source(self):  # type: ignore[no-untyped-def]
        return self.world.trust_with()


@pytest.fixture
def service(container: Container, signing_world: SigningWorld) -> SigningService:
    svc = SigningService(clock=container.clock, keys=signing_world.keys,
                         secret_key=container.settings.secret_key_bytes(), trust=WorldTrust(signing_world),
                         timestamper=signing_world.timestamper, step_up=build_step_up_verifier(container),
                         max_upload_bytes=200_000)
    container.override(SigningService, svc)
    return svc


def test_public_verify_page_in_vietnamese_then_english(client: Any, service: SigningService,
                                                       signing_world: SigningWorld) -> None:
    page = client.get("/verify")
    assert page.status_code == 200
    assert "Kiểm tra chữ ký số" in page.text and 'lang="vi"' in page.text
    signed = sign_pdf(make_pdf(), signing_world.officer, signing_time=datetime.now(UTC), level=PadesLevel.B_T,
                      timestamper=signing_world.timestamper)
    resp = client.post("/verify", files={"file": ("quyet-dinh.pdf", signed, "application/pdf")},
                       data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 200
    assert "Hợp lệ" in resp.text and "Nguyễn Văn An" in resp.text and "B-T" in resp.text
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", resp.text), "dates as dd/MM/yyyy HH:mm:ss"
    tampered = signed.replace(b"Van ban thu nghiem", b"Van ban THU nghiem")
    resp = client.post("/verify", files={"file": ("x.pdf", tampered, "application/pdf")},
                       data={"csrf_token": csrf_token(client)})
    assert "Không hợp lệ" in resp.text and "HASH_FAILURE" in resp.text
    client.post("/language", data={"lang": "en", "next": "/verify", "csrf_token": csrf_token(client)})
    assert "Check the digital signatures" in client.get("/verify").text


def test_public_page_refuses_entities_oversize_and_garbage(client: Any, service: SigningService) -> None:
    xxe = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    resp = client.post("/verify", files={"file": ("a.xml", xxe, "text/xml")}, data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 422 and "DOCTYPE" in resp.text and "root:" not in resp.text
    big = b"%PDF-1.7\n" + b"0" * 300_000
    resp = client.post("/verify", files={"file": ("big.pdf", big, "application/pdf")},
                       data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 422 and "quá lớn" in resp.text
    resp = client.post("/verify", files={"file": ("bad.pdf", b"%PDF-1.4\n1 0 obj <<", "application/pdf")},
                       data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 422


def test_validate_api_is_public_json_and_problem_json(client: Any, service: SigningService,
                                                     signing_world: SigningWorld) -> None:
    signed = sign_pdf(make_pdf(), signing_world.seal, signing_time=datetime.now(UTC), level=PadesLevel.B_B)
    client.cookies.clear()
    resp = client.post("/api/signing/validate", files={"file": ("s.pdf", signed, "application/pdf")})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["indication"] == "TOTAL-PASSED" and body["standard"] == "ETSI EN 319 102-1"
    assert body["signatures"][0]["level"] == "B-B"
    bad = client.post("/api/signing/validate", files={"file": ("x.xml", b"<!DOCTYPE x><x/>", "text/xml")})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["type"] == "urn:egov:problem:unsafe_input"


def test_validate_api_is_rate_limited(client: Any, service: SigningService) -> None:
    pdf = make_pdf()
    codes = [client.post("/api/signing/validate", files={"file": ("u.pdf", pdf, "application/pdf")}).status_code
             for _ in range(23)]
    assert codes[:20] == [200] * 20
    assert 429 in codes[20:]


@pytest.fixture
def officer(client: Any, session: Session, container: Container, clock: FixedClock, service: SigningService,
            signing_world: SigningWorld) -> pyotp.TOTP:
    account = make_account(session, username="pgd.an", display_name="Nguyễn Văn An",
                           roles=[("document_signer", "agency-1")])
    factors = SecondFactors.from_container(container)
    enrol = factors.begin_totp(account)
    totp = pyotp.TOTP(enrol.secret)
    factors.confirm_totp(session, account, enrol.sealed, totp.at(clock.now()))
    w = signing_world
    service.register_identity(session, holder=f"account:{account.id}", key_name="officer-an",
                              certificate_der=w.officer.certificate_der, chain_der=w.officer.chain_der,
                              display_name="Nguyễn Văn An", position="Phó Giám đốc",
                              agency_name="Sở Thông tin và Truyền thông")
    session.commit()
    clock.advance(seconds=31)
    return totp


def _sign_in_with_code(client: Any, totp: pyotp.TOTP, clock: FixedClock) -> None:
    client.get("/login")
    resp = client.post("/login", data={"username": "pgd.an", "password": "mật khẩu thử nghiệm đủ dài", "next": "/",
                                       "csrf_token": csrf_token(client)}, follow_redirects=False)
    if "second-factor" in resp.headers.get("location", ""):
        resp = client.post("/login/second-factor", data={"code": totp.at(clock.now()), "next": "/",
                                                         "csrf_token": csrf_token(client)}, follow_redirects=False)
        clock.advance(seconds=31)
    assert client.cookies.get("egov_session")


def test_remote_signing_over_the_api(client: Any, officer: pyotp.TOTP, clock: FixedClock,
                                     signing_world: SigningWorld) -> None:
    _sign_in_with_code(client, officer, clock)
    headers = {"X-CSRF-Token": csrf_token(client)}
    pdf, other = make_pdf(text="To trinh 7"), make_pdf(text="To trinh 8")
    created = client.post("/api/signing/approvals", files={"file": ("tt7.pdf", pdf, "application/pdf")},
                          headers=headers)
    assert created.status_code == 201, created.text
    approval = created.json()
    assert approval["document_sha256"] == sha256_hex(pdf)
    token = client.post(f"/api/signing/approvals/{approval['approval_id']}/approve", headers=headers,
                        json={"document_sha256": approval["document_sha256"], "code": officer.at(clock.now())})
    assert token.status_code == 200, token.text
    refused = client.post(f"/api/signing/approvals/{approval['approval_id']}/sign", headers=headers,
                          files={"file": ("x.pdf", other, "application/pdf")},
                          data={"token": token.json()["token"]})
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/problem+json")
    signed = client.post(f"/api/signing/approvals/{approval['approval_id']}/sign", headers=headers,
                         files={"file": ("tt7.pdf", pdf, "application/pdf")}, data={"token": token.json()["token"]})
    assert signed.status_code == 200 and signed.headers["content-type"] == "application/pdf"
    report = validate_pdf(signed.content, signing_world.trust_with())
    assert report.indication is Indication.TOTAL_PASSED


def test_remote_signing_through_the_page(client: Any, officer: pyotp.TOTP, clock: FixedClock,
                                         signing_world: SigningWorld) -> None:
    _sign_in_with_code(client, officer, clock)
    page = client.get("/back-office/signing")
    assert page.status_code == 200 and "Ký số văn bản" in page.text
    xml = '<HoSo xmlns="urn:egov:hoso:1"><NguoiNop>Lê Thị Hoa</NguoiNop></HoSo>'.encode()
    posted = client.post("/back-office/signing", files={"file": ("hs.xml", xml, "text/xml")},
                         data={"csrf_token": csrf_token(client)}, follow_redirects=False)
    assert posted.status_code == 303  # a refresh shows the approval again, it does not upload twice
    shown = client.get(posted.headers["location"])
    assert shown.status_code == 200 and sha256_hex(xml) in shown.text
    action = re.search(r'action="(/back-office/signing/[^"]+)"', shown.text).group(1)  # type: ignore[union-attr]
    wrong = client.post(action, data={"csrf_token": csrf_token(client), "document_sha256": sha256_hex(xml),
                                      "code": "000000"})
    assert wrong.status_code == 422 and "Mã xác thực không đúng" in wrong.text
    # the error summary at the top links to the code field (GOV.UK pattern), and the field says it too
    assert 'class="error-summary"' in wrong.text and 'href="#f-code"' in wrong.text
    assert 'id="f-code-error"' in wrong.text
    clock.advance(seconds=31)
    signed = client.post(action, data={"csrf_token": csrf_token(client), "document_sha256": sha256_hex(xml),
                                       "code": officer.at(clock.now())}, follow_redirects=False)
    # Post/redirect/get: a page that says it worked (the old error gone), then the download from it.
    assert signed.status_code == 303 and signed.headers["location"].endswith("/done"), signed.text
    page = client.get(signed.headers["location"])
    assert page.status_code == 200 and 'id="signed-ok"' in page.text and "Mã xác thực không đúng" not in page.text
    assert "hs-da-ky.xml" in page.text
    download = re.search(r'href="(/back-office/signing/[^"]+/download)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.get(download)
    assert done.status_code == 200, done.text
    assert "attachment" in done.headers["content-disposition"]
    assert b"<ds:SignatureValue>" in done.content and "Lê Thị Hoa".encode() in done.content
    again = client.post(action, data={"csrf_token": csrf_token(client), "document_sha256": sha256_hex(xml),
                                      "code": officer.at(clock.now())})
    assert again.status_code == 422  # a repeated post signs nothing twice


def test_a_signer_without_an_authenticator_app_is_told_what_to_set_up(
        client: Any, session: Session, service: SigningService, signing_world: SigningWorld) -> None:
    """Any code was "not valid" for an officer with no authenticator app: the page must say to set one up."""
    account = make_account(session, username="cv.binh", roles=[("document_signer", "agency-1")])
    service.register_identity(session, holder=f"account:{account.id}", key_name="officer-an",
                              certificate_der=signing_world.officer.certificate_der,
                              chain_der=signing_world.officer.chain_der, display_name="Trần Văn Bình")
    session.commit()
    login(client, "cv.binh")
    page = client.get("/back-office/signing")
    assert page.status_code == 200 and 'id="needs-authenticator"' in page.text
    assert 'href="/account/mfa/totp"' in page.text
    xml = b'<HoSo xmlns="urn:egov:hoso:1"><SoHieu>1</SoHieu></HoSo>'
    shown = client.post("/back-office/signing", files={"file": ("hs.xml", xml, "text/xml")},
                        data={"csrf_token": csrf_token(client)})
    assert 'id="needs-authenticator"' in shown.text
    headers = {"X-CSRF-Token": csrf_token(client)}
    created = client.post("/api/signing/approvals", files={"file": ("hs.xml", xml, "text/xml")}, headers=headers)
    assert created.status_code == 201, created.text
    refused = client.post(f"/api/signing/approvals/{created.json()['approval_id']}/approve", headers=headers,
                          json={"document_sha256": sha256_hex(xml), "code": "123456"})
    assert refused.status_code == 403 and "ứng dụng xác thực" in refused.json()["detail"], refused.text


def test_seal_api_needs_the_role_in_that_agency(client: Any, session: Session, service: SigningService,
                                                signing_world: SigningWorld) -> None:
    w = signing_world
    service.register_identity(session, holder="agency:agency-1", key_name="seal-stttt",
                              certificate_der=w.seal.certificate_der, chain_der=w.seal.chain_der,
                              display_name="Sở TT&TT", agency_name="Sở Thông tin và Truyền thông")
    make_account(session, username="vanthu.a", roles=[("seal_keeper", "agency-1")])
    login(client, "vanthu.a")
    headers = {"X-CSRF-Token": csrf_token(client)}
    pdf = make_pdf(text="Cong van 99")
    ok = client.post("/api/signing/seal", headers=headers, data={"agency_id": "agency-1"},
                     files={"file": ("cv.pdf", pdf, "application/pdf")})
    assert ok.status_code == 200, ok.text
    report = validate_pdf(ok.content, w.trust_with())
    assert report.indication is Indication.TOTAL_PASSED and report.signatures[0].level == "B-T"
    other = client.post("/api/signing/seal", headers=headers, data={"agency_id": "agency-2"},
                        files={"file": ("cv.pdf", pdf, "application/pdf")})
    assert other.status_code == 403
    xml = b'<HoSo xmlns="urn:egov:hoso:1"><SoHieu>99/CV</SoHieu></HoSo>'
    sealed_xml = client.post("/api/signing/seal", headers=headers, data={"agency_id": "agency-1", "level": "B-B"},
                             files={"file": ("cv.xml", xml, "application/xml")})
    assert sealed_xml.status_code == 200 and sealed_xml.headers["content-type"] == "application/xml", sealed_xml.text
    x = validate_xml(sealed_xml.content, w.trust_with()).report.signatures[0]
    assert (x.indication, x.format) == (Indication.TOTAL_PASSED, "XAdES"), x
    refused = client.post("/api/signing/seal", headers=headers, data={"agency_id": "agency-1"},
                          files={"file": ("x.bin", b"\x00\x01binary", "application/octet-stream")})
    assert refused.status_code == 422 and "PDF" in refused.text
