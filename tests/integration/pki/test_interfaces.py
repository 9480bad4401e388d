"""What the signing context relies on: trust anchors with a fetch allowlist, issuing a signing certificate,
the in-process TSA (checked by openssl ts -verify)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from asn1crypto import tsp
from sqlalchemy.orm import Session
from tests.factories.pki import PkiSetup, make_csr, openssl
from tests.factories.registry import make_agency, make_citizen

from egov import pki as pki_api
from egov.bootstrap import Container
from egov.platform.clock import FixedClock
from egov.platform.errors import ValidationFailed


def test_trust_anchors_include_ours_and_the_trust_list(container: Container, session: Session, pki: PkiSetup,
                                                       clock: FixedClock, tmp_path: Path) -> None:
    # an "external" CA: another root made by openssl
    key, cert = tmp_path / "ext.key", tmp_path / "ext.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
            "-out", str(cert), "-days", "3650", "-subj", "/C=VN/O=VNPT (thử)/CN=External Test CA", "-addext",
            "basicConstraints=critical,CA:TRUE", check=True)
    pki.service.add_trusted_ca(session, name="VNPT-CA (test)", cert_pem=cert.read_bytes(),
                               fetch_urls=["http://ocsp.ext.example.vn/"], by=pki_api.PKI_SYSTEM)
    session.commit()
    anchors = pki_api.trust_anchors(container, session)
    assert pki.root.cert_der in anchors.roots and len(anchors.roots) == 2
    assert pki.specialised.cert_der in anchors.intermediates
    assert anchors.allows("http://ocsp.ext.example.vn/")
    assert anchors.allows("http://localhost:8000/pki/ocsp")
    assert not anchors.allows("http://attacker.example/crl")
    with pytest.raises(ValidationFailed):
        pki.service.add_trusted_ca(session, name="x", cert_pem=cert.read_bytes(), fetch_urls=["file:///etc/passwd"],
                                   by=pki_api.PKI_SYSTEM)


def test_issue_a_signing_certificate_and_stamp_in_process(container: Container, session: Session, pki: PkiSetup,
                                                         clock: FixedClock, tmp_path: Path) -> None:
    agency = make_agency(session, clock, "000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    citizen = make_citizen(session, clock, agency=agency, full_name="Võ Thị Sáu")
    session.commit()
    issued = pki_api.issue_certificate(container, session, profile="citizen_signing",
                                       csr=make_csr("Võ Thị Sáu")[0], subject_ref=citizen.personal_id)
    session.commit()
    assert issued.chain_der == [pki.public.cert_der, pki.root.cert_der]
    digest = hashlib.sha256(b"document").digest()
    req = tsp.TimeStampReq({"version": "v1", "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                                                   "hashed_message": digest},
                            "nonce": 42, "cert_req": True}).dump()
    resp = pki_api.timestamp(container, req)
    (tmp_path / "q.tsq").write_bytes(req)
    (tmp_path / "r.tsr").write_bytes(resp)
    out = openssl("ts", "-verify", "-in", str(tmp_path / "r.tsr"), "-queryfile", str(tmp_path / "q.tsq"),
                  "-CAfile", str(pki.chain_file(pki.specialised)), "-attime", str(int(clock.now().timestamp()) + 1))
    assert "Verification: OK" in out.stdout, out.stdout + out.stderr
    assert set(pki_api.endpoints("https://egov.example.vn")) >= {"ocsp", "tsa", "crl_specialised"}
