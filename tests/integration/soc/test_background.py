"""Background audit work: the in-process thread (embedded profile) and `egov worker`, both stopping gracefully."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.orm import Session
from tests.factories.soc import make_events

from egov.bootstrap import Container, build_container
from egov.contexts import background_rounds
from egov.platform import worker
from egov.soc.audit.checkpoints import latest_checkpoint
from egov.soc.audit.tree import tree_size
from egov.soc.settings import SocSettings
from egov.soc.tasks import AuditRounds


def _wait_for(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _size(session: Session) -> int:
    """A fresh read each time, ended at once: on SQLite an open transaction holds the write lock."""
    try:
        return tree_size(session)
    finally:
        session.commit()


def _checkpointed(session: Session, size: int) -> bool:
    try:
        cp = latest_checkpoint(session)
    finally:
        session.commit()
    return cp is not None and cp.size >= size


def test_in_process_runner_sequences_checkpoints_and_stops(container: Container, session: Session) -> None:
    runner = worker.start_in_process(background_rounds(container), interval=0.05)
    try:
        make_events(session, 7)
        assert _wait_for(lambda: _checkpointed(session, 7))
        published = Path(str(container.settings.section(SocSettings).checkpoint_dir)) / "checkpoint"
        assert _wait_for(published.exists)  # written just after the row commits
        assert container.keys.list()[0].name == container.settings.section(SocSettings).audit_key_name  # made on use
    finally:
        runner.stop()
    assert not runner.alive


def test_run_worker_once_and_until_stopped(container: Container, session: Session) -> None:
    make_events(session, 4)
    worker.run_worker(background_rounds(container), once=True)
    assert _size(session) == 4 and _checkpointed(session, 4)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_worker, args=(background_rounds(container),),
                              kwargs={"interval": 0.05, "stop": stop})
    thread.start()
    try:
        make_events(session, 2)
        assert _wait_for(lambda: _size(session) == 6)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_failing_round_does_not_kill_the_loop(container: Container, session: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rounds = AuditRounds(container)
    calls = []

    def broken(**_: object) -> None:
        calls.append(1)
        raise RuntimeError("database went away")

    monkeypatch.setattr(rounds.sequencer, "run", broken)
    rounds.round()  # logged, not raised
    assert calls == [1]


def test_egov_worker_stops_gracefully_on_sigterm(container: Container, session: Session) -> None:
    s = container.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({"EGOV_ENVIRONMENT": "test", "EGOV_DATA_DIR": str(s.data_dir), "EGOV_DATABASE_URL": s.database_url,
                "EGOV_KEYSTORE_PASSPHRASE": s.keystore_passphrase.get_secret_value(), "EGOV_LOG_JSON": "false"})
    make_events(session, 5)
    proc = subprocess.Popen([sys.executable, "-m", "egov", "worker"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: _checkpointed(session, 5), timeout=30)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_the_app_runs_the_background_work_in_process_when_configured(container: Container, session: Session) -> None:
    from fastapi.testclient import TestClient

    from egov.app import create_app

    settings = container.settings.model_copy(update={"run_background_in_process": True})
    embedded = build_container(settings, clock=container.clock, db=container.db)
    with TestClient(create_app(settings, container=embedded)):
        make_events(session, 3)
        assert _wait_for(lambda: _checkpointed(session, 3))
    # Leaving the client ran the lifespan's shutdown: the runner thread is gone.
    assert not any(t.name == "egov-audit" for t in threading.enumerate())
