"""`egov accounts …` as an operator runs it: officers, admins, roles, passwords — audited with channel cli."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.registry import RegistryTree

from egov.auth import AuthAudit, SignInService
from egov.bootstrap import Container
from egov.settings import Settings
from egov.soc.models import AuditEvent

PASSWORD = "mật khẩu dòng lệnh đủ dài"
NEW_PASSWORD = "một mật khẩu khác cũng dài"


def egov(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({"EGOV_DATABASE_URL": settings.database_url, "EGOV_DATA_DIR": str(tmp_path / "cli"),
                "EGOV_KEYSTORE_PASSPHRASE": "cli-test-passphrase", "EGOV_ENVIRONMENT": "test"})
    return subprocess.run([sys.executable, "-m", "egov", "accounts", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_officer_lifecycle_from_the_command_line(settings: Settings, container: Container, session: Session,
                                                 tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n", encoding="utf-8")
    made = egov(settings, tmp_path, "create-officer", "Nguyen.An", "--name", "Nguyễn Văn An", "--agency-id",
                "agency-1", "--role", "registry_clerk", "--password-file", str(pw))
    assert made.returncode == 0, made.stderr
    granted = egov(settings, tmp_path, "grant", "nguyen.an", "auditor", "--agency-id", "agency-2")
    assert granted.returncode == 0, granted.stderr
    listed = egov(settings, tmp_path, "list", "--kind", "officer")
    assert "nguyen.an" in listed.stdout and "registry_clerk@agency-1" in listed.stdout
    assert "auditor@agency-2" in listed.stdout
    assert egov(settings, tmp_path, "revoke", "nguyen.an", "auditor", "--agency-id", "agency-2").returncode == 0

    sign_in = SignInService.from_container(container)
    signed = sign_in.sign_in(session, "nguyen.an", PASSWORD, ip="127.0.0.1", user_agent="test")
    session.commit()
    principal = sign_in.principal_for(session, signed.token)
    assert principal is not None and principal.grants == frozenset(
        (p, "agency-1") for p in principal.permissions)

    pw.write_text(NEW_PASSWORD, encoding="utf-8")
    assert egov(settings, tmp_path, "set-password", "nguyen.an", "--password-file", str(pw)).returncode == 0
    session.rollback()
    assert sign_in.principal_for(session, signed.token) is None  # a reset ends every session

    types = [e.event_type for e in session.scalars(select(AuditEvent).where(AuditEvent.channel == "cli")
                                                   .order_by(AuditEvent.id))]
    assert types == [AuthAudit.ACCOUNT_CREATED, AuthAudit.ROLE_GRANTED, AuthAudit.ROLE_GRANTED,
                     AuthAudit.ROLE_REVOKED, AuthAudit.PASSWORD_CHANGED]
    dump = "".join(e.details for e in session.scalars(select(AuditEvent)))
    assert PASSWORD not in dump and NEW_PASSWORD not in dump


def test_agencies_are_named_by_code(settings: Settings, session: Session, registry_tree: RegistryTree,
                                   tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD, encoding="utf-8")
    made = egov(settings, tmp_path, "create-officer", "canbo.a", "--name", "Lê Thị Hoa", "--agency-code",
                registry_tree.dept_a.code, "--role", "registry_editor", "--password-file", str(pw))
    assert made.returncode == 0, made.stderr
    listed = egov(settings, tmp_path, "list").stdout
    assert f"{registry_tree.dept_a.id}\tregistry_editor@{registry_tree.dept_a.id}" in listed
    unknown = egov(settings, tmp_path, "grant", "canbo.a", "auditor", "--agency-code", "999.99.99.H99")
    assert unknown.returncode == 1 and "Không có cơ quan đang hoạt động với mã này." in unknown.stderr


def test_admin_and_refusals_are_one_clear_message(settings: Settings, db: object, tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("ngắn", encoding="utf-8")
    weak = egov(settings, tmp_path, "create-admin", "root", "--name", "Quản trị", "--password-file", str(pw))
    assert weak.returncode == 1 and "Mật khẩu phải có ít nhất 12 ký tự." in weak.stderr
    assert "Traceback" not in weak.stderr
    pw.write_text(PASSWORD, encoding="utf-8")
    ok = egov(settings, tmp_path, "create-admin", "root", "--name", "Quản trị", "--password-file", str(pw))
    assert ok.returncode == 0, ok.stderr
    assert "platform_admin@*" in egov(settings, tmp_path, "list").stdout
    dup = egov(settings, tmp_path, "create-admin", "ROOT", "--name", "Lại", "--password-file", str(pw))
    assert dup.returncode == 1 and "Tên đăng nhập này đã được sử dụng." in dup.stderr
    both = egov(settings, tmp_path, "grant", "root", "auditor", "--agency-id", "a", "--agency-code", "000.00.00.H29")
    assert both.returncode == 2
    missing = egov(settings, tmp_path, "grant", "nobody", "auditor", "--global")
    assert missing.returncode == 1 and "Không tìm thấy tài khoản." in missing.stderr
