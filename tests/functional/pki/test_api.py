"""The RA API through HTTP: four eyes (request, then another officer approves), problem+json on bad input."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.pki import PkiSetup, make_csr, openssl
from tests.factories.registry import make_agency, make_citizen, make_officer

from egov.pki import PKI_SYSTEM
from egov.pki.models import IssuedCertificate
from egov.platform.clock import FixedClock
from egov.platform.permissions import GLOBAL


def _position(session: Session, clock: FixedClock) -> str:
    agency = make_agency(session, clock, "000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    citizen = make_citizen(session, clock, agency=agency, full_name="Phạm Văn Cường")
    _, position = make_officer(session, clock, citizen=citizen, agency=agency, title="Chánh Văn phòng")
    session.commit()
    return position.id


def _as(client: Any, session: Session, name: str, role: str) -> dict[str, str]:
    client.cookies.clear()
    make_account(session, username=name, roles=[(role, GLOBAL)])
    login(client, name)
    return {"X-CSRF-Token": csrf_token(client)}


def test_request_then_another_officer_approves(client: Any, session: Session, pki: PkiSetup,
                                               clock: FixedClock) -> None:
    position = _position(session, clock)
    headers = _as(client, session, "ra1", "pki_registrar")
    csr = make_csr("Phạm Văn Cường")[0].decode()
    r = client.post("/api/pki/requests", headers=headers,
                    json={"profile": "officer_signing", "csr": csr, "subject_ref": position})
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    assert r.json()["status"] == "pending"
    # the registrar cannot approve (no permission)
    assert client.post(f"/api/pki/requests/{request_id}/approve", headers=headers).status_code == 403
    headers = _as(client, session, "approver1", "pki_approver")
    assert [x["id"] for x in client.get("/api/pki/requests").json()] == [request_id]
    r = client.post(f"/api/pki/requests/{request_id}/approve", headers=headers)
    assert r.status_code == 201, r.text
    pem = r.json()["certificate_pem"]
    cert = x509.load_pem_x509_certificate(pem.encode())
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "Phạm Văn Cường"
    leaf = pki.workdir / "leaf.pem"
    leaf.write_text(pem)
    out = openssl("verify", "-CAfile", str(pki.chain_file(pki.specialised)), str(leaf))
    assert ": OK" in out.stdout, out.stdout + out.stderr
    again = client.post(f"/api/pki/requests/{request_id}/approve", headers=headers)
    assert again.status_code == 409


def test_self_approval_is_refused(client: Any, session: Session, pki: PkiSetup, clock: FixedClock) -> None:
    position = _position(session, clock)
    headers = _as(client, session, "admin1", "platform_admin")  # holds both permissions
    r = client.post("/api/pki/requests", headers=headers, json={
        "profile": "officer_signing", "csr": make_csr()[0].decode(), "subject_ref": position})
    r = client.post(f"/api/pki/requests/{r.json()['id']}/approve", headers=headers)
    assert r.status_code == 409 and "bốn mắt" in r.json()["detail"]
    assert session.scalar(select(func.count()).select_from(IssuedCertificate)) == 0


def test_bad_csr_is_a_problem_naming_the_field(client: Any, session: Session, pki: PkiSetup,
                                               clock: FixedClock) -> None:
    position = _position(session, clock)
    headers = _as(client, session, "ra2", "pki_registrar")
    for csr, rule in ((make_csr(rsa_bits=1024)[0].decode(), "csr.key_weak"),
                      ("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", "csr.malformed"),
                      (make_csr("Người Khác")[0].decode(), "csr.subject_mismatch")):
        r = client.post("/api/pki/requests", headers=headers,
                        json={"profile": "officer_signing", "csr": csr, "subject_ref": position})
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == "csr" and r.json()["errors"][0]["rule"] == rule
    r = client.post("/api/pki/requests", headers=headers,
                    json={"profile": "root", "csr": make_csr()[0].decode(), "subject_ref": position})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "profile"


def test_status_change_and_public_crl_and_ca_endpoints(client: Any, session: Session, pki: PkiSetup,
                                                       clock: FixedClock) -> None:
    position = _position(session, clock)
    cert = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position,
                             by=PKI_SYSTEM)
    session.commit()
    headers = _as(client, session, "ra3", "pki_registrar")
    r = client.post(f"/api/pki/certificates/{cert.id}/status", headers=headers,
                    json={"action": "revoke", "reason": "key_compromise"})
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = client.post(f"/api/pki/certificates/{cert.id}/status", headers=headers,
                    json={"action": "revoke", "reason": "because"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = client.post(f"/api/pki/certificates/{cert.id}/status", headers=headers,
                    json={"action": "unsuspend"})
    assert r.status_code == 409  # revoked is final
    client.cookies.clear()
    crl = client.get("/pki/crl/specialised.crl")
    assert crl.headers["content-type"] == "application/pkix-crl"
    parsed = x509.load_der_x509_crl(crl.content)
    assert parsed.get_revoked_certificate_by_serial_number(int(cert.serial, 16)) is not None
    ca = client.get("/pki/ca/specialised.crt")
    assert ca.content == pki.specialised.cert_der
    assert client.get("/pki/ca/nope.crt").status_code == 404
