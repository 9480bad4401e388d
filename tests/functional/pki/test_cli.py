"""`egov pki …` as operators run it: the two-custodian ceremony, issuing from a CSR, revocation, the trust list.

The issuing CAs' keys live on a SoftHSM2 token here (EGOV_KEY_STORE=pkcs11), so the whole CA runs
on the PKCS#11 key store, and openssl checks the result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from sqlalchemy.orm import Session
from tests.factories.pki import make_csr, openssl
from tests.factories.registry import make_agency
from tests.factories.softhsm import SoftHsmToken

from egov.platform.clock import FixedClock
from egov.settings import Settings


def _egov(args: list[str], settings: Settings, token: SoftHsmToken, **env_extra: str
          ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({
        "EGOV_DATABASE_URL": settings.database_url,
        "EGOV_DATABASE_OWNER_URL": settings.database_owner_url,
        "EGOV_DATA_DIR": str(settings.data_dir),
        "EGOV_ENVIRONMENT": "test",
        "EGOV_KEY_STORE": "pkcs11",
        "EGOV_PKCS11_MODULE": token.module,
        "EGOV_PKCS11_TOKEN_LABEL": token.label,
        "EGOV_PKCS11_PIN": token.pin,
        "SOFTHSM2_CONF": str(token.conf),
        "COLUMNS": "200",
        **env_extra,
    })
    return subprocess.run([sys.executable, "-m", "egov", "pki", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_ceremony_issue_revoke_with_keys_on_a_token(settings: Settings, session: Session, clock: FixedClock,
                                                    softhsm_token: SoftHsmToken, tmp_path: Path) -> None:
    a, b = tmp_path / "share-a.txt", tmp_path / "share-b.txt"
    r = _egov(["ceremony", "init", "--share-a-out", str(a), "--share-b-out", str(b)], settings, softhsm_token)
    assert r.returncode == 0, r.stderr
    assert oct(a.stat().st_mode & 0o777) == "0o600"
    # one custodian alone (their share twice, or a made-up second share) cannot certify
    r = _egov(["ceremony", "certify", "specialised", "--share-a-file", str(a), "--share-b-file", str(a)],
              settings, softhsm_token)
    assert r.returncode == 1 and "expected custodian share B" in r.stdout + r.stderr
    fake = tmp_path / "fake-b.txt"
    from egov.pki.ceremony import split_new_passphrase

    fake.write_text(split_new_passphrase()[2])
    r = _egov(["ceremony", "certify", "specialised", "--share-a-file", str(a), "--share-b-file", str(fake)],
              settings, softhsm_token)
    assert r.returncode == 1 and "do not unlock" in r.stdout + r.stderr
    from sqlalchemy import select as _select

    from egov.pki import PkiAudit
    from egov.soc.models import AuditEvent

    session.rollback()
    failures = session.scalars(_select(AuditEvent.event_type).where(
        AuditEvent.event_type == PkiAudit.CEREMONY_FAILED)).all()
    session.rollback()
    assert len(failures) == 2  # both refused attempts are on the record
    r = _egov(["ceremony", "certify", "specialised"], settings, softhsm_token,
              EGOV_PKI_SHARE_A=a.read_text(), EGOV_PKI_SHARE_B=b.read_text())
    assert r.returncode == 0, r.stderr
    # the issuing CA's key is on the token, not in a file
    assert not (settings.data_dir / "keys" / "pki-ca-specialised").exists()

    make_agency(session, clock, "000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    session.commit()
    csr = tmp_path / "req.pem"
    csr.write_bytes(make_csr()[0])
    chain = tmp_path / "chain.pem"
    r = _egov(["issue", "--profile", "tls_server", "--csr", str(csr), "--subject", "000.00.00.H29",
               "--dns", "axis.hcm.gov.vn", "--out", str(chain)], settings, softhsm_token)
    assert r.returncode == 0, r.stderr
    pems = chain.read_bytes().split(b"-----END CERTIFICATE-----\n")
    leaf, ca_file = tmp_path / "leaf.pem", tmp_path / "ca.pem"
    leaf.write_bytes(pems[0] + b"-----END CERTIFICATE-----\n")
    ca_file.write_bytes(b"-----END CERTIFICATE-----\n".join(pems[1:]))
    out = openssl("verify", "-purpose", "sslserver", "-CAfile", str(ca_file), str(leaf))
    assert ": OK" in out.stdout, out.stdout + out.stderr

    bad = tmp_path / "bad.pem"
    bad.write_bytes(make_csr(rsa_bits=1024)[0])
    r = _egov(["issue", "--profile", "tls_server", "--csr", str(bad), "--subject", "000.00.00.H29",
               "--dns", "axis.hcm.gov.vn", "--out", str(tmp_path / "x.pem")], settings, softhsm_token)
    assert r.returncode == 1 and "csr.key_weak" in r.stdout + r.stderr and not (tmp_path / "x.pem").exists()

    serial = format(x509.load_pem_x509_certificate(leaf.read_bytes()).serial_number, "x")
    from sqlalchemy import select

    from egov.pki.models import IssuedCertificate

    session.rollback()
    cert_id = session.scalar(select(IssuedCertificate.id).where(IssuedCertificate.serial == serial))
    session.rollback()
    r = _egov(["status", str(cert_id), "revoke", "--reason", "key_compromise"], settings, softhsm_token)
    assert r.returncode == 0 and "revoked" in r.stdout, r.stderr
    r = _egov(["trust", "add", "--name", "Test CA", "--cert", str(ca_file), "--url", "http://ca.example.vn/ocsp"],
              settings, softhsm_token)
    assert r.returncode == 0 and "trusted Test CA" in r.stdout, r.stderr + r.stdout
    r = _egov(["trust", "add", "--name", "Leaf", "--cert", str(leaf)], settings, softhsm_token)
    assert r.returncode == 1 and "not a CA certificate" in r.stdout + r.stderr
