"""`egov audit …` as an operator runs it, against the test database, in a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.soc import event_pk_at_leaf, make_events, tamper, truncate_tail

from egov.bootstrap import Container
from egov.platform.db import Database
from egov.soc.models import AuditEvent
from egov.soc.settings import SocSettings


@pytest.fixture
def egov(container: Container) -> Any:
    s = container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({
        "EGOV_ENVIRONMENT": "test",
        "EGOV_DATA_DIR": str(s.data_dir),
        "EGOV_DATABASE_URL": s.database_url,
        "EGOV_DATABASE_OWNER_URL": s.database_owner_url,
        "EGOV_KEYSTORE_PASSPHRASE": s.keystore_passphrase.get_secret_value(),
        "EGOV_LOG_JSON": "false",
        "COLUMNS": "200",  # rich wraps tables and messages at 80 columns when not on a terminal
    })

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "egov", "audit", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    return run


def test_help_teaches_what_the_log_is(egov: Any) -> None:
    out = egov("--help")
    assert out.returncode == 0
    for word in ("verify", "sequence", "checkpoint", "proof", "search", "truncated"):
        assert word in out.stdout


def test_sequence_checkpoint_proofs_and_verify(egov: Any, session: Session, container: Container) -> None:
    make_events(session, 12)
    assert "sequenced 12 event(s); tree size 12" in egov("sequence").stdout
    made = egov("checkpoint", "--now")
    assert made.returncode == 0 and "signed checkpoint of size 12" in made.stderr
    assert made.stdout.startswith("egov.local/audit\n12\n")
    assert (Path(str(container.settings.section(SocSettings).checkpoint_dir)) / "checkpoint.12").exists()
    inc = egov("proof", "inclusion", "5")
    assert inc.returncode == 0 and json.loads(inc.stdout)["leaf_index"] == 5
    assert "verified against the signed checkpoint" in inc.stderr
    make_events(session, 3)
    egov("checkpoint", "--now")  # 12 + 3 + the audit event of the first --now
    con = egov("proof", "consistency", "12", "16")
    assert con.returncode == 0 and "new checkpoint and proof: verified" in con.stderr, con.stderr
    ok = egov("verify")
    assert ok.returncode == 0 and "audit log intact" in ok.stdout and "events/s" in ok.stdout
    assert egov("proof", "inclusion", "99").returncode == 2


def test_verify_exits_1_and_names_the_altered_event(egov: Any, session: Session, owner_db: Database) -> None:
    make_events(session, 10)
    egov("checkpoint", "--now")
    pk = event_pk_at_leaf(owner_db, 4)
    tamper(owner_db, ("UPDATE audit_events SET object_id = 'x' WHERE id = :id", {"id": pk}))
    out = egov("verify")
    assert out.returncode == 1
    assert f"altered: event id {pk} at leaf 4" in out.stderr and "Traceback" not in out.stderr


def test_verify_against_an_auditors_copy_catches_truncation(
    egov: Any, session: Session, owner_db: Database, container: Container, tmp_path: Path
) -> None:
    make_events(session, 10)
    egov("checkpoint", "--now")
    copy = tmp_path / "auditor-copy"
    copy.mkdir()
    for f in Path(str(container.settings.section(SocSettings).checkpoint_dir)).iterdir():
        (copy / f.name).write_text(f.read_text())
    for f in Path(str(container.settings.section(SocSettings).checkpoint_dir)).iterdir():
        f.unlink()  # the attacker also wiped the server's own published files
    truncate_tail(owner_db, 6)
    assert egov("verify").returncode == 0  # nothing left on the server to contradict the database
    out = egov("verify", "--checkpoint-dir", str(copy))
    assert out.returncode == 1 and "truncated" in out.stderr and "log has only 6" in out.stderr


def test_search_prints_a_table_and_is_audited(egov: Any, session: Session) -> None:
    make_events(session, 3, event_type="auth:login:failed")
    out = egov("search", "--type", "auth:", "--since", "25/11/2026")
    assert out.returncode == 0 and out.stdout.count("auth:login:failed") == 3
    session.rollback()
    searched = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "soc:audit:searched")).one()
    assert searched.channel == "cli" and searched.actor_id and searched.actor_id.startswith("os:")
    bad = egov("search", "--since", "2026/31/12")
    assert bad.returncode == 2 and "--since" in bad.stderr
