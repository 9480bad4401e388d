"""`egov oidc …` as an operator runs it: a client registered from the shell can get a token at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.auth.models import OidcClient
from egov.settings import Settings
from egov.soc.models import AuditEvent


def egov(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({"EGOV_DATABASE_URL": settings.database_url, "EGOV_DATA_DIR": str(settings.data_dir),
                "EGOV_KEYSTORE_PASSPHRASE": settings.keystore_passphrase.get_secret_value(),
                "EGOV_ENVIRONMENT": "test"})
    return subprocess.run([sys.executable, "-m", "egov", "oidc", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_a_client_registered_from_the_shell_gets_a_token(settings: Settings, session: Session,
                                                        client: Any, tmp_path: Path) -> None:
    made = egov(settings, "clients", "create", "--name", "Hệ thống báo cáo (thử)", "--grant", "client_credentials",
                "--scope", "reporting.write")
    assert made.returncode == 0, made.stderr
    client_id = re.search(r"client_id: (\S+)", made.stdout).group(1)  # type: ignore[union-attr]
    secret = re.search(r"client_secret: (\S+)", made.stdout).group(1)  # type: ignore[union-attr]
    stored = session.get(OidcClient, client_id)
    assert stored is not None and stored.secret_hash and secret not in stored.secret_hash
    resp = client.post("/oidc/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert resp.status_code == 200, resp.text
    listed = egov(settings, "clients", "list")
    assert client_id in listed.stdout and secret not in listed.stdout
    rotated = egov(settings, "clients", "rotate-secret", client_id)
    assert rotated.returncode == 0
    assert client.post("/oidc/token", data={"grant_type": "client_credentials"},
                       auth=(client_id, secret)).status_code == 401
    bad = egov(settings, "clients", "create", "--name", "x", "--redirect-uri", "http://evil.example/cb")
    assert bad.returncode == 1 and "https" in bad.stderr
    session.rollback()
    types = list(session.scalars(select(AuditEvent.event_type).where(AuditEvent.channel == "cli")))
    assert types == ["auth:oidc_client:created", "auth:oidc_client:secret_rotated"]
    keys = egov(settings, "keys", "rotate", "--alg", "EdDSA")
    assert keys.returncode == 0 and "signs in 60 minutes" in keys.stdout
    assert egov(settings, "keys", "list").stdout.count("EdDSA") == 2
