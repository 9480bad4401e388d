"""`egov registry import/export citizens` as an operator runs them: progress, a row report, audit as the system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.registry import RegistryTree

from egov.registry.identifiers import make_personal_id
from egov.registry.models import Citizen
from egov.settings import Settings
from egov.soc.models import AuditEvent


def fetch(session: Session, stmt: Any) -> list[Any]:
    """Read in a transaction of its own, holding no lock afterwards (the CLI is another process)."""
    session.rollback()
    try:
        rows = list(session.scalars(stmt))
        for row in rows:  # detached, so reading them later does not reopen a transaction
            if hasattr(row, "_sa_instance_state"):
                session.expunge(row)
        return rows
    finally:
        session.rollback()


def egov(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({
        "EGOV_DATABASE_URL": settings.database_url,
        "EGOV_DATABASE_OWNER_URL": settings.database_owner_url,
        "EGOV_DATA_DIR": str(settings.data_dir),
        "EGOV_KEYSTORE_PASSPHRASE": "test-passphrase-not-secret",
        "EGOV_ENVIRONMENT": "test",
        "COLUMNS": "200",
    })
    return subprocess.run([sys.executable, "-m", "egov", "registry", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_import_then_export(tmp_path: Path, settings: Settings, session: Session,
                            registry_tree: RegistryTree) -> None:
    good = make_personal_id("079", date(1990, 5, 17), "male", 11)
    bad = make_personal_id("079", date(1990, 5, 17), "male", 12)
    source = tmp_path / "in.csv"
    source.write_text("personal_id,full_name,birth_date,sex\n"
                      f"{good},Nguyễn Văn Một,17/05/1990,male\n"
                      f"{bad},Nguyễn Văn Hai,17/05/1991,male\n", encoding="utf-8")
    refused = egov(["import", "citizens", str(source), "--agency-code", "000.00.01.H29",
                    "--report", str(tmp_path / "report.csv")], settings)
    assert refused.returncode == 1, refused.stderr
    assert "personal_id.year" in refused.stderr and "nothing imported" in refused.stderr
    assert "personal_id.year" in (tmp_path / "report.csv").read_text(encoding="utf-8")
    kept = egov(["import", "citizens", str(source), "--agency-code", "000.00.01.H29", "--skip-invalid"], settings)
    assert kept.returncode == 1 and "imported 1, skipped 1" in kept.stderr, kept.stderr
    assert fetch(session, select(Citizen.full_name)) == ["Nguyễn Văn Một"]

    out = tmp_path / "out.csv"
    exported = egov(["export", "citizens", str(out)], settings)
    assert exported.returncode == 0, exported.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[1] == f"{good},Nguyễn Văn Một,1990-05-17,male,,,000.00.01.H29,"
    assert egov(["export", "citizens", str(out)], settings).returncode == 2  # no silent overwrite
    audited = {(e.event_type, e.actor_kind, e.channel) for e in fetch(
        session, select(AuditEvent).where(AuditEvent.event_type.like("registry:citizen:%")))}
    assert audited == {("registry:citizen:imported", "system", "cli"), ("registry:citizen:exported", "system", "cli")}
    imported = fetch(session, select(AuditEvent).where(AuditEvent.event_type == "registry:citizen:imported"))
    assert [json.loads(e.details)["imported"] for e in imported] == [0, 1]


def test_broken_file_is_one_clear_line(tmp_path: Path, settings: Settings, registry_tree: RegistryTree) -> None:
    source = tmp_path / "windows-1258.csv"  # what an old Excel in Vietnam may save
    source.write_bytes("personal_id,full_name,birth_date,sex\n079090000001,Lê Văn Tú,17/05/1990,male\n"
                       .encode("cp1258"))
    out = egov(["import", "citizens", str(source)], settings)
    assert out.returncode == 1
    assert "not UTF-8: line 2" in out.stderr and "Traceback" not in out.stderr
