"""`egov signing validate` as an operator runs it, against the trust directory; exit codes say the verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from sqlalchemy.orm import Session
from tests.factories.pki import PkiSetup
from tests.factories.signing import SigningWorld, make_pdf

from egov.bootstrap import Container
from egov.platform.clock import FixedClock
from egov.settings import Settings
from egov.signing.pades import PadesLevel, sign_pdf


def egov(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({"EGOV_DATABASE_URL": settings.database_url, "EGOV_DATABASE_OWNER_URL": settings.database_owner_url,
                "EGOV_DATA_DIR": str(settings.data_dir), "EGOV_KEYSTORE_PASSPHRASE": "test-passphrase-not-secret",
                "EGOV_ENVIRONMENT": "test", "COLUMNS": "200"})
    return subprocess.run([sys.executable, "-m", "egov", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_validate_command_uses_the_trust_directory(settings: Settings, db: object, signing_world: SigningWorld,
                                                   tmp_path: Path) -> None:
    w = signing_world
    signed = sign_pdf(make_pdf(), w.officer, signing_time=datetime.now(UTC), level=PadesLevel.B_T,
                      timestamper=w.timestamper)
    doc = tmp_path / "signed.pdf"
    doc.write_bytes(signed)
    untrusted = egov(["signing", "validate", str(doc), "--json"], settings)
    assert untrusted.returncode == 1, untrusted.stderr
    assert json.loads(untrusted.stdout)["signatures"][0]["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    trust = settings.data_dir / "trust"
    trust.mkdir(parents=True, exist_ok=True)
    (trust / "root.pem").write_bytes(w.pki.root.cert.public_bytes(serialization.Encoding.PEM))
    (trust / "issuing.crl").write_bytes(w.pki.crl_der())
    (trust / "root.crl").write_bytes(w.pki.crl_der(issuer=w.pki.root))
    trusted = egov(["signing", "validate", str(doc)], settings)
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert "TOTAL-PASSED" in trusted.stdout and "Nguyễn Văn An" in trusted.stdout


def test_seal_command_seals_a_run_and_records_each_file(settings: Settings, pki: PkiSetup, session: Session,
                                                        container: Container, clock: FixedClock,
                                                        tmp_path: Path) -> None:
    from sqlalchemy import func, select
    from tests.factories.registry import make_agency

    from egov import pki as pki_context
    from egov.signing import SigningService, certification_request, ensure_remote_key
    from egov.signing.models import SignatureRecord
    from egov.soc.models import AuditEvent

    agency = make_agency(session, clock, "000.00.00.H29", "Ủy ban nhân dân Thành phố Hồ Chí Minh")
    session.commit()
    key = ensure_remote_key(container.keys, "seal-h29")
    csr = certification_request(container.keys, key, common_name="Ủy ban nhân dân Thành phố Hồ Chí Minh")
    issued = pki_context.issue_certificate(container, session, profile="agency_seal", csr=csr,
                                           subject_ref=agency.code)
    service = SigningService.from_container(container)
    service.validation_moment = clock.now  # the pki's CRLs follow the test clock
    service.register_identity(
        session, holder=f"agency:{agency.id}", key_name=key, certificate_der=issued.cert_der,
        chain_der=issued.chain_der, display_name="Ủy ban nhân dân Thành phố Hồ Chí Minh")
    session.commit()
    docs = []
    for i in range(3):
        doc = tmp_path / f"bien-nhan-{i}.pdf"
        doc.write_bytes(make_pdf(text=f"Bien nhan {i}"))
        docs.append(doc)
    broken = tmp_path / "hong.pdf"
    broken.write_bytes(b"%PDF-1.7 not really")
    out_dir = tmp_path / "sealed"
    run = egov(["signing", "seal", *map(str, docs), str(broken), "--agency", agency.id, "--out-dir", str(out_dir),
                "--level", "B-B"], settings)
    assert run.returncode == 1, run.stdout + run.stderr  # one file could not be sealed
    assert "sealed 3 of 4 files" in run.stdout and "hong.pdf" in run.stderr
    sealed = sorted(out_dir.iterdir())
    assert [p.name for p in sealed] == [f"bien-nhan-{i}.sealed.pdf" for i in range(3)]
    session.expire_all()
    rows = session.scalars(select(SignatureRecord)).all()
    assert len(rows) == 3 and {r.kind for r in rows} == {"pdf"}
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.event_type == "signing:document:sealed", AuditEvent.channel == "cli")) == 3
    out = subprocess.run(["pdfsig", "-nocert", str(sealed[0])], capture_output=True, text=True)
    assert "Signature is Valid." in out.stdout, out.stdout
    again = egov(["signing", "seal", str(docs[0]), "--agency", agency.id, "--out-dir", str(out_dir)], settings)
    assert again.returncode == 1 and "nothing is overwritten" in again.stderr
    nobody = egov(["signing", "seal", str(docs[0]), "--agency", "no-such-agency", "--out-dir", str(out_dir)],
                  settings)
    assert nobody.returncode == 2 and "No valid signing certificate" in nobody.stderr
