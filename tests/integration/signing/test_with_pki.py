"""Signing with a certificate from the platform's own CA (the pki context), its CRLs and, on PostgreSQL,
its in-process TSA: the test PKI factory replaced by the real thing, checked by pyHanko, pdfsig, openssl."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session
from tests.factories.pki import PkiSetup
from tests.factories.registry import make_agency, make_citizen, make_officer
from tests.factories.signing import make_nssdb, make_pdf

from egov import pki as pki_context
from egov.bootstrap import Container
from egov.pki import PKI_SYSTEM, IssuedCert
from egov.platform.clock import FixedClock
from egov.platform.db import Database
from egov.signing import Indication, SigningService, certification_request, ensure_remote_key
from egov.signing.models import SigningIdentityRecord
from egov.signing.pki_bridge import PkiTimeStamper, PkiTrust
from egov.signing.validation import validate_cms, validate_pdf, validate_xml

AGENCY = "000.00.00.H29"


def _officer_identity(session: Session, container: Container, clock: FixedClock,
                      service: SigningService) -> tuple[IssuedCert, SigningIdentityRecord]:
    agency = make_agency(session, clock, AGENCY, "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    citizen = make_citizen(session, clock, agency=agency, full_name="Trần Thị Bình")
    _officer, position = make_officer(session, clock, citizen=citizen, agency=agency, title="Phó Chánh Văn phòng")
    session.commit()
    key = ensure_remote_key(container.keys, "account-binh")
    csr = certification_request(container.keys, key, common_name="Trần Thị Bình")
    issued = pki_context.issue_certificate(container, session, profile="officer_signing", csr=csr,
                                           subject_ref=position.id)
    service.validation_moment = clock.now  # the pki's CRLs and certificates follow the test clock
    record = service.register_identity(session, holder="account:account-binh", key_name=key,
                                       certificate_der=issued.cert_der, chain_der=issued.chain_der,
                                       display_name="Trần Thị Bình", position="Phó Chánh Văn phòng",
                                       agency_name="Ủy ban nhân dân Thành phố Hồ Chí Minh")
    session.commit()
    return issued, record


def test_a_certificate_from_the_platform_ca_signs_and_its_revocation_shows(
        pki: PkiSetup, session: Session, container: Container, clock: FixedClock, tmp_path: Path) -> None:
    service = SigningService.from_container(container)
    assert isinstance(service.trust, PkiTrust)
    issued, record = _officer_identity(session, container, clock, service)
    signed = service.sign(session, record, "pdf", make_pdf(text="Quyet dinh 1"), level="B-B")
    session.commit()
    report = validate_pdf(signed.data, service.trust.trust_source(), moment=clock.now())
    sig = report.signatures[0]
    assert (sig.indication, sig.level) == (Indication.TOTAL_PASSED, "B-B"), report.to_dict()
    assert sig.signer_name == "Trần Thị Bình" and sig.signer_title == "Phó Chánh Văn phòng"

    root_pem = tmp_path / "root.pem"
    root_pem.write_bytes(x509.load_der_x509_certificate(pki.root.cert_der).public_bytes(serialization.Encoding.PEM))
    nss = make_nssdb(tmp_path / "nss", root_pem)
    doc = tmp_path / "signed.pdf"
    doc.write_bytes(signed.data)
    out = subprocess.run(["pdfsig", "-no-ocsp", "-nssdir", f"sql:{nss}", str(doc)], capture_output=True, text=True)
    assert "Signature is Valid." in out.stdout and "Certificate is Trusted." in out.stdout, out.stdout

    data = b"bien ban hop"
    cms = service.sign(session, record, "cms", data, level="B-B")
    session.commit()
    (tmp_path / "f.bin").write_bytes(data)
    (tmp_path / "f.p7s").write_bytes(cms.data)
    ok = subprocess.run(["openssl", "cms", "-verify", "-binary", "-content", str(tmp_path / "f.bin"), "-inform",
                         "DER", "-in", str(tmp_path / "f.p7s"), "-CAfile", str(pki.chain_file(pki.specialised)),
                         "-out", "/dev/null", "-attime", str(int(clock.now().timestamp()))],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr

    pki.service.revoke(session, issued.id, reason="key_compromise", by=PKI_SYSTEM)
    session.commit()
    clock.advance(minutes=1)  # validated after the revocation (and its new CRL)
    late = validate_pdf(signed.data, service.trust.trust_source(), moment=clock.now())
    assert late.signatures[0].sub_indication == "REVOKED_NO_POE", late.to_dict()
    # And the revoked certificate signs nothing more, at once (no retirement step needed first).
    from egov.signing import SigningError

    with pytest.raises(SigningError, match="revoked"):
        service.sign(session, record, "pdf", make_pdf(text="Quyet dinh 3"), level="B-B")


def test_b_lt_and_b_t_with_the_platform_tsa(pki: PkiSetup, session: Session, container: Container,
                                            clock: FixedClock, db: Database) -> None:
    # On SQLite too: the TSA's audit events join the signing transaction (one writer, no self-wait).
    service = SigningService.from_container(container)
    assert isinstance(service.timestamper, PkiTimeStamper)
    _issued, record = _officer_identity(session, container, clock, service)
    signed = service.sign(session, record, "pdf", make_pdf(text="Quyet dinh 2"), level="B-LT")
    xml = service.sign(session, record, "xml", '<HoSo xmlns="urn:egov:hoso:1"><A>ý kiến</A></HoSo>'.encode(),
                       level="B-T")
    data = b"bien ban hop"
    cms = service.sign(session, record, "cms", data, level="B-T")
    session.commit()
    trust = service.trust.trust_source()
    p = validate_pdf(signed.data, trust, moment=clock.now()).signatures[0]
    assert (p.indication, p.level, p.timestamp_trusted) == (Indication.TOTAL_PASSED, "B-LT", True), p
    x = validate_xml(xml.data, trust, moment=clock.now()).report.signatures[0]
    assert (x.indication, x.level) == (Indication.TOTAL_PASSED, "B-T"), x
    c = validate_cms(cms.data, data, trust, moment=clock.now()).signatures[0]
    assert (c.indication, c.level) == (Indication.TOTAL_PASSED, "B-T"), c


def test_sign_now_is_durable_on_return_and_stops_at_a_revocation(
        pki: PkiSetup, session: Session, container: Container, clock: FixedClock, db: Database) -> None:
    from sqlalchemy import func, select

    from egov.signing import SigningError
    from egov.signing.models import SignatureRecord
    from egov.soc.models import AuditEvent

    service = SigningService.from_container(container)
    issued, record = _officer_identity(session, container, clock, service)
    session.commit()
    xml = '<HoSo xmlns="urn:egov:hoso:1"><A>ý kiến</A></HoSo>'.encode()
    # B-B: the one-write path (one statement on PostgreSQL); B-T with the platform's own TSA, whose
    # time-stamp is audited too, goes through a transaction of its own.
    fast = service.sign_now(record, "xml", xml, level="B-B")
    stamped = service.sign_now(record, "cms", b"bien ban", level="B-T")

    def recorded(signature_id: str) -> tuple[int, list[str]]:
        with db.session() as s:
            rows = s.scalar(select(func.count()).select_from(SignatureRecord).where(SignatureRecord.id == signature_id))
            types = list(s.scalars(select(AuditEvent.event_type).where(AuditEvent.object_id == signature_id)))
        return rows or 0, types

    assert recorded(fast.signature_id) == (1, ["signing:document:signed"])
    assert recorded(stamped.signature_id) == (1, ["signing:document:signed"])
    with db.session() as s:
        row = s.get(SignatureRecord, fast.signature_id)
        assert row is not None and (row.kind, row.level, row.identity_id) == ("xml", "B-B", record.id)
        assert row.document_sha256 == fast.document_sha256 and row.signed_sha256 == sha256(fast.data)
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.event_type == "pki:timestamp:issued")) == 1
    trust = service.trust.trust_source()
    x = validate_xml(fast.data, trust, moment=clock.now()).report.signatures[0]
    assert (x.indication, x.level) == (Indication.TOTAL_PASSED, "B-B"), x

    def counts() -> tuple[int | None, int | None]:
        with db.session() as s:
            return (s.scalar(select(func.count()).select_from(SignatureRecord)),
                    s.scalar(select(func.count()).select_from(AuditEvent)))

    before = counts()
    with pytest.raises(SigningError):  # not XML at all: refused, nothing written
        service.sign_now(record, "xml", b"<HoSo>", level="B-B")
    assert counts() == before
    with db.session() as s:
        pki.service.revoke(s, issued.id, reason="key_compromise", by=PKI_SYSTEM)
    before = counts()
    with pytest.raises(SigningError, match="revoked"):
        service.sign_now(record, "xml", xml, level="B-B")
    assert counts() == before


def sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
