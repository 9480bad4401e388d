"""Issuance, profiles and revocation, checked by openssl (verify -crl_check, x509 -text)."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.pki import PkiSetup, make_csr, openssl
from tests.factories.registry import make_agency, make_citizen, make_officer

from egov.pki import PKI_SYSTEM, PkiAudit, Profile
from egov.pki.models import IssuedCertificate
from egov.pki.profiles import POLICY_ARC
from egov.platform.clock import FixedClock
from egov.platform.errors import Conflict, ValidationFailed
from egov.soc.models import AuditEvent

AGENCY = "000.00.00.H29"


def _officer(session: Session, clock: FixedClock):  # type: ignore[no-untyped-def]
    agency = make_agency(session, clock, AGENCY, "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    citizen = make_citizen(session, clock, agency=agency, full_name="Trần Thị Bình")
    _officer_row, position = make_officer(session, clock, citizen=citizen, agency=agency, title="Phó Chánh Văn phòng")
    session.commit()
    return agency, citizen, position


def _verify(pki: PkiSetup, session: Session, cert_der: bytes, ca_name: str = "specialised",
            purpose: str | None = None) -> str:
    ca = pki.specialised if ca_name == "specialised" else pki.public
    leaf = pki.pem(cert_der, "leaf.pem")
    args = ["verify", "-crl_check", "-CAfile", str(pki.chain_file(ca)),
            "-CRLfile", str(pki.crl_file(session, ca_name, "crl.pem")),
            "-CRLfile", str(pki.crl_file(session, "root", "root-crl.pem")),
            "-attime", str(int(pki.service.clock.now().timestamp()))]
    if purpose:
        args += ["-purpose", purpose]
    out = openssl(*args, str(leaf))
    return out.stdout + out.stderr


def test_officer_certificate_chain_verifies_and_carries_the_profile(pki: PkiSetup, session: Session,
                                                                      clock: FixedClock) -> None:
    agency, _citizen, position = _officer(session, clock)
    csr, _ = make_csr("Trần Thị Bình")
    cert = pki.service.issue(session, profile="officer_signing", csr=csr, subject_ref=position.id, by=PKI_SYSTEM)
    session.commit()
    assert ": OK" in _verify(pki, session, cert.cert_der)
    text = openssl("x509", "-noout", "-text", "-in", str(pki.pem(cert.cert_der, "o.pem")), check=True).stdout
    assert "Digital Signature, Non Repudiation" in text
    assert "X509v3 Key Usage: critical" in text
    assert "1.3.6.1.5.5.7.3.36" in text or "Document Signing" in text
    assert f"Policy: {POLICY_ARC}.1.2" in text
    assert "OCSP - URI:http://localhost:8000/pki/ocsp" in text
    assert "CA Issuers - URI:http://localhost:8000/pki/ca/specialised.crt" in text
    assert "URI:http://localhost:8000/pki/crl/specialised.crl" in text
    parsed = x509.load_der_x509_certificate(cert.cert_der)
    subject = parsed.subject
    assert subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == "Trần Thị Bình"
    assert subject.get_attributes_for_oid(x509.NameOID.TITLE)[0].value == "Phó Chánh Văn phòng"
    assert subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == agency.name_vi
    assert parsed.serial_number.bit_length() >= 64
    assert parsed.not_valid_after_utc <= x509.load_der_x509_certificate(pki.specialised.cert_der).not_valid_after_utc
    assert (parsed.not_valid_after_utc - parsed.not_valid_before_utc).days <= 5 * 366
    events = session.scalars(select(AuditEvent.event_type).where(AuditEvent.object_id == cert.id)).all()
    assert events == [PkiAudit.CERTIFICATE_ISSUED]


def test_revoked_and_suspended_certificates_fail_openssl_crl_check(pki: PkiSetup, session: Session,
                                                                  clock: FixedClock) -> None:
    _, _, position = _officer(session, clock)
    a = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position.id,
                          by=PKI_SYSTEM)
    b = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position.id,
                          by=PKI_SYSTEM)
    session.commit()
    clock.advance(minutes=1)
    pki.service.revoke(session, a.id, reason="key_compromise", by=PKI_SYSTEM)
    pki.service.suspend(session, b.id, by=PKI_SYSTEM)
    session.commit()
    out = _verify(pki, session, a.cert_der)
    assert "certificate revoked" in out, out
    assert "certificate revoked" in _verify(pki, session, b.cert_der)
    crl = openssl("crl", "-noout", "-text", "-in", str(pki.crl_file(session, "specialised", "c.pem")),
                  check=True).stdout
    assert "Key Compromise" in crl and "Certificate Hold" in crl and "X509v3 CRL Number" in crl
    pki.service.unsuspend(session, b.id, by=PKI_SYSTEM)
    session.commit()
    assert ": OK" in _verify(pki, session, b.cert_der)
    with pytest.raises(Conflict):
        pki.service.unsuspend(session, a.id, by=PKI_SYSTEM)  # revoked is final
    types = session.scalars(select(AuditEvent.event_type).where(AuditEvent.event_type.like("pki:%"))).all()
    assert types.count(PkiAudit.CERTIFICATE_REVOKED) == 1
    assert types.count(PkiAudit.CERTIFICATE_SUSPENDED) == 1
    assert types.count(PkiAudit.CERTIFICATE_UNSUSPENDED) == 1
    assert types.count(PkiAudit.CRL_PUBLISHED) >= 6


def test_profiles_have_their_key_usages(pki: PkiSetup, session: Session, clock: FixedClock) -> None:
    agency = make_agency(session, clock, AGENCY, "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    session.commit()
    tls = pki.service.issue(session, profile="tls_server", csr=make_csr()[0], subject_ref=AGENCY,
                            dns_names=["axis.hcm.gov.vn"], by=PKI_SYSTEM)
    client = pki.service.issue(session, profile="tls_client", csr=make_csr()[0], subject_ref=AGENCY, by=PKI_SYSTEM)
    seal = pki.service.issue(session, profile="agency_seal", csr=make_csr(agency.name_vi)[0], subject_ref=AGENCY,
                             by=PKI_SYSTEM)
    ocsp, _ = pki.service.service_certificate(session, Profile.OCSP_SIGNER)
    tsu, _ = pki.service.service_certificate(session, Profile.TSU)
    session.commit()
    assert ": OK" in _verify(pki, session, tls.cert_der, purpose="sslserver")
    assert "unsuitable certificate purpose" in _verify(pki, session, client.cert_der, purpose="sslserver")
    assert ": OK" in _verify(pki, session, client.cert_der, purpose="sslclient")
    assert "unsuitable certificate purpose" in _verify(pki, session, seal.cert_der, purpose="sslclient")
    assert ": OK" in _verify(pki, session, tsu.cert_der, purpose="timestampsign")
    assert "unsuitable certificate purpose" in _verify(pki, session, tls.cert_der, purpose="timestampsign")
    text = openssl("x509", "-noout", "-text", "-in", str(pki.pem(tsu.cert_der, "t.pem")), check=True).stdout
    assert "X509v3 Extended Key Usage: critical" in text and "Time Stamping" in text
    text = openssl("x509", "-noout", "-text", "-in", str(pki.pem(ocsp.cert_der, "o.pem")), check=True).stdout
    assert "OCSP Signing" in text and "OCSP No Check" in text
    text = openssl("x509", "-noout", "-text", "-in", str(pki.pem(tls.cert_der, "s.pem")), check=True).stdout
    assert "DNS:axis.hcm.gov.vn" in text and "TLS Web Server Authentication" in text


def test_expired_certificate_fails_openssl(pki: PkiSetup, session: Session, clock: FixedClock) -> None:
    _, _, position = _officer(session, clock)
    cert = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position.id,
                             by=PKI_SYSTEM, days=1)
    session.commit()
    clock.advance(days=2)
    pki.service.publish_crl(session, "specialised", by=PKI_SYSTEM)
    session.commit()
    assert "certificate has expired" in _verify(pki, session, cert.cert_der)


def test_validity_never_passes_the_issuer(pki: PkiSetup, session: Session, clock: FixedClock) -> None:
    _, _, position = _officer(session, clock)
    ca_end = x509.load_der_x509_certificate(pki.specialised.cert_der).not_valid_after_utc
    clock.advance(days=(ca_end - clock.now()).days - 10)
    cert = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position.id,
                             by=PKI_SYSTEM)
    assert cert.not_after == ca_end


@pytest.mark.parametrize(("kwargs", "rule"), [
    ({"csr": b"-----BEGIN CERTIFICATE REQUEST-----\nnot base64\n-----END CERTIFICATE REQUEST-----\n"},
     "csr.malformed"),
    ({"csr": b"garbage"}, "csr.malformed"),
    ({"csr": "rsa1024"}, "csr.key_weak"),
    ({"csr": "secp256k1"}, "csr.key_unsupported"),
    ({"csr": "badsig"}, "csr.signature"),
    ({"csr": "wrongname"}, "csr.subject_mismatch"),
    ({"profile": "superuser"}, "profile.unknown"),
    ({"profile": "ocsp_signer"}, "profile.not_requestable"),
    ({"subject_ref": "no-such-position"}, "subject.position"),
])
def test_bad_requests_are_refused_and_nothing_is_issued(pki: PkiSetup, session: Session, clock: FixedClock,
                                                        kwargs: dict[str, object], rule: str) -> None:
    _, _, position = _officer(session, clock)
    csr = kwargs.get("csr", make_csr("Trần Thị Bình")[0])
    if csr == "rsa1024":
        csr = make_csr(rsa_bits=1024)[0]
    elif csr == "secp256k1":
        csr = make_csr(curve=ec.SECP256K1())[0]
    elif csr == "wrongname":
        csr = make_csr("Lê Văn Mạo")[0]
    elif csr == "badsig":
        good = x509.load_pem_x509_csr(make_csr("Trần Thị Bình")[0])
        der = bytearray(good.public_bytes(serialization.Encoding.DER))
        der[-5] ^= 0x01  # flip a bit of the signature
        csr = bytes(der)
    args = {"profile": "officer_signing", "csr": csr, "subject_ref": position.id, **{k: v for k, v in kwargs.items()
                                                                                       if k != "csr"}}
    before = session.scalar(select(func.count()).select_from(IssuedCertificate))
    with pytest.raises(ValidationFailed) as err:
        pki.service.issue(session, by=PKI_SYSTEM, **args)  # type: ignore[arg-type]
    assert err.value.errors[0].rule == rule
    assert err.value.errors[0].message_vi and err.value.errors[0].message_en
    session.rollback()
    after = session.scalar(select(func.count()).select_from(IssuedCertificate))
    assert after == before


def test_registry_changes_revoke_matching_certificates(pki: PkiSetup, session: Session, clock: FixedClock) -> None:
    from egov.registry.services import SYSTEM_PRINCIPAL, end_position, merge

    _agency, _, position = _officer(session, clock)
    make_agency(session, clock, "000.00.01.H29", "Sở Thử nghiệm A")
    make_agency(session, clock, "000.00.02.H29", "Sở Thử nghiệm B")
    session.commit()
    officer_cert = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0],
                                     subject_ref=position.id, by=PKI_SYSTEM)
    seal = pki.service.issue(session, profile="agency_seal", csr=make_csr()[0], subject_ref="000.00.01.H29",
                             by=PKI_SYSTEM)
    other = pki.service.issue(session, profile="agency_seal", csr=make_csr()[0], subject_ref="000.00.02.H29",
                              by=PKI_SYSTEM)
    session.commit()
    assert pki.service.reconcile_with_registry(session) == []
    today = date(2026, 11, 25)
    end_position(session, clock, position.id, ends_on=today, by=SYSTEM_PRINCIPAL)
    merge(session, clock, ["000.00.01.H29"], into="000.00.02.H29", on=today, by=SYSTEM_PRINCIPAL)
    session.commit()
    changed = dict(pki.service.reconcile_with_registry(session))
    session.commit()
    assert changed == {officer_cert.id: "affiliation_changed", seal.id: "cessation_of_operation"}
    assert "certificate revoked" in _verify(pki, session, officer_cert.cert_der)
    assert "certificate revoked" in _verify(pki, session, seal.cert_der)
    assert ": OK" in _verify(pki, session, other.cert_der)
    assert pki.service.reconcile_with_registry(session) == []  # idempotent


def test_renewal_once_only_with_sixty_days_left(pki: PkiSetup, session: Session, clock: FixedClock) -> None:
    _, _, position = _officer(session, clock)
    cert = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position.id,
                             by=PKI_SYSTEM)
    session.commit()
    renewed = pki.service.renew(session, cert.id, by=PKI_SYSTEM, csr=make_csr("Trần Thị Bình")[0])
    session.commit()
    assert renewed.renewed_from_id == cert.id and renewed.renewal_count == 1
    assert (renewed.not_after - renewed.not_before).days <= 3 * 366  # Decree 68/2024: renewal ≤ 3 years
    assert ": OK" in _verify(pki, session, renewed.cert_der)
    with pytest.raises(Conflict, match="once only"):
        pki.service.renew(session, renewed.id, by=PKI_SYSTEM)
    with pytest.raises(Conflict, match="once only"):
        pki.service.renew(session, cert.id, by=PKI_SYSTEM)  # the original cannot be renewed a second time
    short = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position.id,
                              by=PKI_SYSTEM, days=30)
    with pytest.raises(Conflict, match="60"):
        pki.service.renew(session, short.id, by=PKI_SYSTEM)
    other = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position.id,
                              by=PKI_SYSTEM)
    with pytest.raises(ValidationFailed) as err:
        pki.service.renew(session, other.id, by=PKI_SYSTEM, csr=make_csr("Người Khác")[0])
    assert err.value.errors[0].rule == "csr.subject_mismatch"
    events = session.scalars(select(AuditEvent.event_type).where(AuditEvent.object_id == renewed.id)).all()
    assert events == [PkiAudit.CERTIFICATE_RENEWED]


def test_the_worker_round_revokes_on_registry_changes(pki: PkiSetup, session: Session, clock: FixedClock,
                                                      container: object) -> None:
    from egov.pki import maintenance_round
    from egov.registry.services import SYSTEM_PRINCIPAL, end_position

    _, _, position = _officer(session, clock)
    cert = pki.service.issue(session, profile="officer_signing", csr=make_csr()[0], subject_ref=position.id,
                             by=PKI_SYSTEM)
    end_position(session, clock, position.id, ends_on=date(2026, 11, 25), by=SYSTEM_PRINCIPAL)
    session.commit()
    maintenance_round(container)()  # type: ignore[arg-type]
    session.expire_all()
    session.refresh(cert)
    assert cert.status == "revoked" and cert.revocation_reason == "affiliation_changed"
