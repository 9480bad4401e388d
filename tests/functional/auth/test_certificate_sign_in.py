"""Certificate sign-in at level 2 with certificates from the platform's own CA: a person through the TLS proxy
(header believed only from the allowed proxy), an agency system by signing a one-time challenge."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import make_account
from tests.factories.oidc import make_client
from tests.factories.pki import PkiSetup, make_csr
from tests.factories.registry import RegistryTree, make_citizen, make_officer
from tests.functional.auth.conftest import audit

from egov import pki as pki_context
from egov.auth.models import Account, OidcClient
from egov.auth.settings import AuthSettings
from egov.bootstrap import Container
from egov.pki import PKI_SYSTEM
from egov.platform.clock import FixedClock
from egov.settings import Settings

PROXY = "10.0.0.5"
HEADER = "x-ssl-client-cert"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_section(AuthSettings, client_cert_proxies=[f"{PROXY}/32"])


def _browser(app: Any, peer: str) -> TestClient:
    return TestClient(app, base_url="http://localhost", client=(peer, 40000))


@pytest.fixture
def via_proxy(app: Any) -> Iterator[TestClient]:
    with _browser(app, PROXY) as c:
        yield c


def _header(der: bytes) -> dict[str, str]:
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()
    return {HEADER: quote(pem)}  # as nginx's $ssl_client_escaped_cert


def _citizen_cert(container: Container, session: Session, personal_id: str, name: str = "Trần Thị Lan") -> bytes:
    csr, _key = make_csr(name)
    issued = pki_context.issue_certificate(container, session, profile="citizen_signing", csr=csr,
                                           subject_ref=personal_id)
    session.commit()
    return issued.cert_der


def test_a_citizen_signs_in_with_a_certificate_at_level_2(
        via_proxy: TestClient, app: Any, session: Session, container: Container, clock: FixedClock,
        pki: PkiSetup, registry_tree: RegistryTree) -> None:
    lan = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Trần Thị Lan", sex="female")
    session.commit()
    der = _citizen_cert(container, session, lan.personal_id)
    assert "/login/certificate?next=" in via_proxy.get("/login").text  # offered once a proxy is configured
    resp = via_proxy.get("/login/certificate?next=/account", headers=_header(der), follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/account", resp.text
    me = via_proxy.get("/api/auth/me").json()
    assert me["acr"] == "2" and me["amr"] == ["sc", "mfa"] and me["kind"] == "citizen"
    account = session.scalar(select(Account).where(Account.username == lan.personal_id))
    assert account is not None and account.password_hash is None  # made for the holder on first use
    (_, details), = audit(session, "auth:login:succeeded")
    assert details["second_factor"].startswith("certificate:") and details["acr"] == "2"
    # The same header from anyone but the proxy is ignored.
    with _browser(app, "10.0.0.99") as elsewhere:
        forged = elsewhere.get("/login/certificate", headers=_header(der), follow_redirects=False)
        assert forged.status_code == 401 and "egov_session" not in forged.headers.get("set-cookie", "")


def test_revoked_foreign_and_malformed_certificates_are_refused_and_audited(
        via_proxy: TestClient, session: Session, container: Container, clock: FixedClock, pki: PkiSetup,
        registry_tree: RegistryTree) -> None:
    lan = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Trần Thị Lan", sex="female")
    session.commit()
    der = _citizen_cert(container, session, lan.personal_id)
    foreign = _foreign_certificate(lan.personal_id)  # from a CA that is not on the trust list
    refused = via_proxy.get("/login/certificate", headers=_header(foreign), follow_redirects=False)
    assert refused.status_code == 401 and "NO_CERTIFICATE_CHAIN_FOUND" in refused.text, refused.text[-1500:]
    issued_id = _issued_id(session, der)
    pki.service.revoke(session, issued_id, reason="key_compromise", by=PKI_SYSTEM)
    session.commit()
    clock.advance(minutes=1)  # a sign-in after the revocation (and its new CRL)
    revoked = via_proxy.get("/login/certificate", headers=_header(der), follow_redirects=False)
    assert revoked.status_code == 401 and "REVOKED" in revoked.text
    reasons = [d["reason"] for _, d in audit(session, "auth:login:failed")]
    assert reasons[0] == "certificate:NO_CERTIFICATE_CHAIN_FOUND" and reasons[1].startswith("certificate:REVOKED")
    assert session.scalar(select(Account).where(Account.username == lan.personal_id)) is None


def _foreign_certificate(personal_id: str) -> bytes:
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA lạ (không có trong danh sách tin cậy)")])
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Trần Thị Lan"),
                      x509.NameAttribute(NameOID.USER_ID, f"CCCD:{personal_id}")])
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=400))
            .not_valid_after(now + timedelta(days=400)).sign(ca_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER))


def _issued_id(session: Session, der: bytes) -> str:
    from egov.pki.models import IssuedCertificate

    serial = format(x509.load_der_x509_certificate(der).serial_number, "x")
    rows = [r for r in session.scalars(select(IssuedCertificate)) if r.serial.lower().lstrip("0") == serial]
    assert len(rows) == 1
    return str(rows[0].id)


def _officer_with_certificate(session: Session, container: Container, clock: FixedClock,
                              registry_tree: RegistryTree, **account: Any) -> tuple[Any, Any, Any]:
    """Trần Văn Bình, an officer of the root agency with an account and an officer-signing certificate."""
    binh = make_citizen(session, clock, agency=registry_tree.root, full_name="Trần Văn Bình")
    officer, position = make_officer(session, clock, citizen=binh, agency=registry_tree.root, title="Chuyên viên")
    session.commit()
    row = make_account(session, kind="officer", username="binh.tv", subject_id=officer.id, **account)
    csr, _key = make_csr("Trần Văn Bình")
    issued = pki_context.issue_certificate(container, session, profile="officer_signing", csr=csr,
                                           subject_ref=position.id)
    session.commit()
    return row, position, issued


def test_an_officers_certificate_signs_in_the_officer_account(
        via_proxy: TestClient, session: Session, container: Container, clock: FixedClock, pki: PkiSetup,
        registry_tree: RegistryTree) -> None:
    account, _position, issued = _officer_with_certificate(
        session, container, clock, registry_tree, roles=[("registry_clerk", registry_tree.root.id)],
        primary_agency_id=registry_tree.root.id)
    resp = via_proxy.get("/login/certificate", headers=_header(issued.cert_der), follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/back-office"
    me = via_proxy.get("/api/auth/me").json()
    assert me["account_id"] == account.id and me["acr"] == "2" and me["grants"]


def test_an_officer_who_left_the_post_cannot_sign_in_with_its_certificate(
        via_proxy: TestClient, session: Session, container: Container, clock: FixedClock, pki: PkiSetup,
        registry_tree: RegistryTree) -> None:
    from egov.registry.services import SYSTEM_PRINCIPAL, end_position

    _account, position, issued = _officer_with_certificate(session, container, clock, registry_tree)
    end_position(session, clock, position.id, ends_on=clock.now().date() - timedelta(days=1), by=SYSTEM_PRINCIPAL)
    session.commit()  # the registry says so; the certificate itself is not revoked yet
    resp = via_proxy.get("/login/certificate", headers=_header(issued.cert_der), follow_redirects=False)
    assert resp.status_code == 401 and "agency_mismatch" in resp.text


def _agency_system(session: Session, container: Container, settings: Settings, clock: FixedClock,
                   registry_tree: RegistryTree) -> tuple[Any, bytes, ec.EllipticCurvePrivateKey]:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="", name="Hệ thống quản lý văn bản Sở A")
    row = session.get(OidcClient, rp.client_id)
    assert row is not None
    row.agency_id = registry_tree.dept_a.id
    session.commit()
    csr, key = make_csr()
    issued = pki_context.issue_certificate(container, session, profile="tls_client", csr=csr,
                                           subject_ref=registry_tree.dept_a.code)
    session.commit()
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return rp, issued.cert_der, key


def _sign(key: ec.EllipticCurvePrivateKey, challenge: str) -> str:
    return base64.urlsafe_b64encode(key.sign(challenge.encode(), ec.ECDSA(hashes.SHA256()))).rstrip(b"=").decode()


def test_an_agency_system_signs_a_challenge_and_gets_a_level_2_token(
        client: Any, session: Session, container: Container, settings: Settings, clock: FixedClock, pki: PkiSetup,
        registry_tree: RegistryTree) -> None:
    rp, cert, key = _agency_system(session, container, settings, clock, registry_tree)
    challenge = client.post("/api/auth/certificate/challenge").json()["challenge"]
    body = {"challenge": challenge, "certificate": base64.b64encode(cert).decode(), "alg": "ES256",
            "signature": _sign(key, challenge)}
    resp = client.post("/api/auth/certificate/token", json=body)
    assert resp.status_code == 200, resp.text
    token = resp.json()["access_token"]
    jwks = client.get("/oidc/jwks").json()
    header = pyjwt.get_unverified_header(token)
    signing_key = pyjwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = pyjwt.decode(token, signing_key, algorithms=["ES256"], audience="http://localhost:8000/api",
                          options={"verify_exp": False, "verify_iat": False})
    assert claims["sub"] == rp.client_id and claims["acr"] == "urn:vn:egov:loa:2" and claims["amr"] == ["sc"]
    (event, details), = audit(session, "auth:certificate:signed_in")
    assert event.object_id == rp.client_id and details["agency_code"] == registry_tree.dept_a.code
    # The challenge works once.
    again = client.post("/api/auth/certificate/token", json=body)
    assert again.status_code == 401 and again.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("tamper", ["other_data", "person_certificate", "garbage"])
def test_a_wrong_signature_or_certificate_gets_no_token(
        client: Any, session: Session, container: Container, settings: Settings, clock: FixedClock, pki: PkiSetup,
        registry_tree: RegistryTree, tamper: str) -> None:
    _rp, cert, key = _agency_system(session, container, settings, clock, registry_tree)
    challenge = client.post("/api/auth/certificate/challenge").json()["challenge"]
    body = {"challenge": challenge, "certificate": base64.b64encode(cert).decode(), "alg": "ES256",
            "signature": _sign(key, challenge)}
    if tamper == "other_data":
        body["signature"] = _sign(key, "not the challenge")
    elif tamper == "person_certificate":
        lan = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Trần Thị Lan", sex="female")
        session.commit()
        body["certificate"] = base64.b64encode(_citizen_cert(container, session, lan.personal_id)).decode()
    else:
        body["certificate"] = "!!not base64!!"
    resp = client.post("/api/auth/certificate/token", json=body)
    assert resp.status_code == 401 and "access_token" not in resp.text
    expected = {"other_data": "certificate:SIG_CRYPTO_FAILURE", "person_certificate": "certificate:not_an_agency",
                "garbage": "certificate:format"}[tamper]
    assert [d["reason"] for _, d in audit(session, "auth:login:failed")] == [expected]
