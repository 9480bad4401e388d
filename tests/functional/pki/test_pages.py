"""The back-office approval workflow as officers click through it, in Vietnamese."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.pki import PkiSetup, make_csr
from tests.factories.registry import make_agency

from egov.platform.clock import FixedClock
from egov.platform.permissions import GLOBAL


def _as(client: Any, session: Session, name: str, role: str) -> str:
    client.cookies.clear()
    make_account(session, username=name, roles=[(role, GLOBAL)])
    login(client, name)
    return csrf_token(client)


def test_file_approve_then_revoke_through_the_pages(client: Any, session: Session, pki: PkiSetup,
                                                    clock: FixedClock) -> None:
    agency = make_agency(session, clock, "000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    session.commit()
    token = _as(client, session, "ra_page", "pki_registrar")
    page = client.get("/back-office/pki/requests/new")
    assert page.status_code == 200 and "Tiếp nhận yêu cầu chứng thư" in page.text
    bad = client.post("/back-office/pki/requests/new", data={
        "csrf_token": token, "profile": "agency_seal", "subject_ref": "000.00.00.H29",
        "csr": make_csr(rsa_bits=1024)[0].decode()})
    assert bad.status_code == 422 and "quá yếu" in bad.text and 'aria-invalid="true"' in bad.text
    wrong = client.post("/back-office/pki/requests/new", data={
        "csrf_token": token, "profile": "agency_seal", "subject_ref": "000.00.00.H29",
        "csr": make_csr("Công ty Khác")[0].decode()})
    assert wrong.status_code == 422 and "không khớp" in wrong.text
    ok = client.post("/back-office/pki/requests/new", follow_redirects=False, data={
        "csrf_token": token, "profile": "agency_seal", "subject_ref": "000.00.00.H29",
        "csr": make_csr(agency.name_vi)[0].decode()})
    assert ok.status_code == 303
    request_id = ok.headers["location"].split("/")[-2]

    token = _as(client, session, "approver_page", "pki_approver")
    listing = client.get("/back-office/pki")
    assert "Yêu cầu chờ phê duyệt" in listing.text and request_id in listing.text
    # The subject in words: "Mã định danh tổ chức: VN:…" and "Tên: …", never "2.5.4.97=…" or "CN=…".
    request_page = client.get(f"/back-office/pki/requests/{request_id}").text
    for text in (listing.text, request_page):
        assert "Mã định danh tổ chức" in text and "000.00.00.H29" in text and "Tên:" in text
        assert "2.5.4.97=" not in text and "CN=" not in text
    done = client.post(f"/back-office/pki/requests/{request_id}/decide", follow_redirects=False,
                       data={"csrf_token": token, "decision": "approve"})
    assert done.status_code == 303
    cert_page = client.get(done.headers["location"])
    assert "Đã cấp chứng thư." in cert_page.text and "BEGIN CERTIFICATE" in cert_page.text
    assert "Mã định danh tổ chức" in cert_page.text and "2.5.4.97=" not in cert_page.text
    assert "Con dấu số của cơ quan" in cert_page.text and "agency_seal" not in cert_page.text  # the profile in words
    cert_id = done.headers["location"].split("/")[-1].split("?")[0]

    token = _as(client, session, "ra_page2", "pki_registrar")
    asked = client.post(f"/back-office/pki/certificates/{cert_id}/status", follow_redirects=True,
                        data={"csrf_token": token, "action": "revoke", "reason": "key_compromise"})
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text  # asks once more first
    assert "Đã thu hồi" not in client.get(f"/back-office/pki/certificates/{cert_id}").text
    r = client.post(f"/back-office/pki/certificates/{cert_id}/status", follow_redirects=True,
                    data={"csrf_token": token, "action": "revoke", "reason": "key_compromise", "confirmed": "yes"})
    # the status in words, not the internal value
    assert r.status_code == 200 and "Đã thu hồi" in r.text and "Lộ khóa bí mật" in r.text
    assert "<dd>revoked" not in r.text
