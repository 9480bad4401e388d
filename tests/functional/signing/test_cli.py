"""`egov signing validate` as an operator runs it, against the trust directory; exit codes say the verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from tests.factories.signing import SigningWorld, make_pdf

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
