"""The one place that knows how to drive egov here: sequencer, proofs, checkpoints, accounts, worker, profiler."""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import common
from common import log


def settings_for(db: common.BenchDatabase, data_dir: Path) -> Any:
    """The same production settings `egov` subprocesses get from BenchDatabase.egov_env."""
    from egov.settings import Settings

    return Settings(
        environment="production", cookie_secure=True, data_dir=data_dir, database_url=db.app_url,
        database_owner_url=db.owner_url,
        keystore_passphrase=(data_dir / "keystore.secret").read_text().strip(),  # type: ignore[arg-type]
        secret_key=(data_dir / "platform.secret").read_text().strip(),  # type: ignore[arg-type]
        smtp_host="127.0.0.1", sms_sender="none",
        run_background_in_process=False, log_level="WARNING",
    )


class App:
    """In-process egov parts for one benchmark database: app-role Database, clock, key store, sequencer."""

    def __init__(self, db: common.BenchDatabase, data_dir: Path) -> None:
        from egov.bootstrap import build_container

        self.bench_db = db
        self.data_dir = data_dir
        self.settings = settings_for(db, data_dir)
        self.container = build_container(self.settings)
        self.database = self.container.db
        self.clock = self.container.clock
        self.env = db.egov_env(data_dir)
        self._sequencer: Any = None

    def new_sequencer(self) -> Any:
        from egov.soc.sequencer import Sequencer

        self._sequencer = Sequencer(self.database, self.clock)
        return self._sequencer

    def close(self) -> None:
        self.database.dispose()


AUDIT_TABLES = ["audit_events", "audit_leaves", "audit_tree_nodes", "audit_checkpoints"]


def reset_log(app: App, conn: Any) -> None:
    """Empty the audit log between runs: tables (as superuser, guard triggers off), published
    checkpoints (else verify would rightly report a truncated log) and the sequencer's memory."""
    import shutil

    common.truncate(conn, AUDIT_TABLES)
    if app.settings.checkpoint_dir is not None:
        shutil.rmtree(app.settings.checkpoint_dir, ignore_errors=True)
    app.new_sequencer()


def sequence_all(app: App, *, fresh: bool = False) -> int:
    """Run the production sequencer until no committed event is left without a leaf; returns leaves added."""
    seq = app.new_sequencer() if fresh or app._sequencer is None else app._sequencer
    total = 0
    while True:
        r = seq.run()
        if r.locked_out:
            raise RuntimeError("another sequencer holds the lock (is an `egov worker` running?)")
        total += r.sequenced
        if r.sequenced == 0:
            return total


def import_citizens(db: common.BenchDatabase, csv_path: Path, default_agency_code: str | None = None) -> Any:
    """The production importer, as `egov registry import` runs it: app role, one transaction, system actor."""
    from egov.bootstrap import install_session_hooks
    from egov.platform.clock import SystemClock
    from egov.platform.context import RequestContext, use_context
    from egov.platform.db import Database
    from egov.registry.services.access import SYSTEM_PRINCIPAL
    from egov.registry.services.importer import CitizenImporter

    database = Database(db.app_url, pool_size=1, max_overflow=0)
    install_session_hooks(database)  # as build_container does: the importer's events go in batches
    try:
        with use_context(RequestContext(request_id="bench-import", channel="cli")):
            session = database.sessions()
            try:
                with open(csv_path, "rb") as f:
                    report = CitizenImporter(session, SystemClock(), by=SYSTEM_PRINCIPAL).import_rows(
                        f, skip_invalid=False, default_agency_code=default_agency_code)
                if not report.ok:
                    raise RuntimeError(f"import refused the file: {report.file_error or report.errors[:5]}")
                session.commit()
            finally:
                session.close()
    finally:
        database.dispose()
    return report


def create_agencies(app: App) -> dict[str, str]:
    """The province People's Committee and its 24 (invented) district units; returns {code: id}."""
    from datetime import date

    import citizens_data

    from egov.platform.context import RequestContext, use_context
    from egov.registry.services.access import SYSTEM_PRINCIPAL
    from egov.registry.services.agencies import create_agency

    out = {}
    with use_context(RequestContext(request_id="bench-setup", channel="cli")), app.database.session() as s:
        for code, name in [citizens_data.PROVINCE_AGENCY, *citizens_data.DISTRICT_AGENCIES]:
            a = create_agency(s, app.clock, code=code, name_vi=name, opened_on=date(2020, 1, 1), by=SYSTEM_PRINCIPAL)
            out[code] = a.id
    return out


def officer_principal(agency_id: str) -> Any:
    """What the resolver builds for an officer holding registry_clerk at `agency_id` (service-level runs)."""
    from egov.auth import grants_for
    from egov.platform.permissions import Principal

    return Principal(account_id="bench-officer", kind="officer", display_name="Nguyễn Thị Một Cửa",
                     grants=grants_for([("registry_clerk", agency_id)]), acr="1", agency_id=agency_id)


def service_search(app: App, queries: list[str], principal: Any, deadline_s: float = 1e9) -> list[dict[str, Any]]:
    """Each query through registry search_citizens in its own transaction (audit included), no HTTP:
    latency, plan and row count per query; stops after `deadline_s`."""
    import time

    from egov.platform.context import RequestContext, use_context
    from egov.registry.services.citizens import search_citizens

    out = []
    stop_at = time.perf_counter() + deadline_s
    for q in queries:
        if time.perf_counter() > stop_at:
            break
        with use_context(RequestContext(request_id="bench", channel="api", principal=principal)):
            t0 = time.perf_counter()
            with app.database.session() as s:
                r = search_citizens(s, q, by=principal)
            ms = (time.perf_counter() - t0) * 1000
        out.append({"q": q, "ms": ms, "plan": r.plan.kind, "driver": r.plan.driver, "rows": len(r.items),
                    "estimates": dict(r.plan.estimates)})
    return out


def root(app: App, size: int) -> bytes:
    from egov.soc.tree import root_at

    with app.database.session() as s:
        return root_at(s, size)


def inclusion(app: App, index: int, size: int) -> tuple[bytes, list[bytes]]:
    """Leaf hash and audit path through egov.soc.proofs (what the proof API calls), in a fresh session."""
    from egov.soc import proofs

    with app.database.session() as s:
        p = proofs.inclusion(s, index, size)
        return p.leaf_hash, p.hashes


def consistency(app: App, old: int, new: int) -> list[bytes]:
    from egov.soc import proofs

    with app.database.session() as s:
        return proofs.consistency(s, old, new).hashes


def checkpoint(app: App) -> Any:
    """Sign (and publish) a checkpoint of the current tree now, as the worker's checkpointer does."""
    from egov.soc.checkpoints import Checkpointer

    return Checkpointer(app.database, app.clock, app.container.keys, app.settings).run(force=True)


def audit_event_count(conn: Any) -> int:
    return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])


def audit_event_types(conn: Any, after_count: int) -> dict[str, int]:
    rows = conn.execute("SELECT event_type, count(*) FROM (SELECT event_type FROM audit_events ORDER BY id "
                        "OFFSET %s) e GROUP BY event_type", (after_count,)).fetchall()
    return dict(rows)


def create_officer(env: dict[str, str], username: str, password: str, timeout: float, *, agency_id: str,
                   work: Path, role: str = "registry_clerk") -> None:
    """An officer account of `agency_id` holding `role` there, through `egov accounts create-officer`."""
    pw = work / "officer.password"
    pw.write_text(password + "\n")
    pw.chmod(0o600)
    try:
        common.run_egov(["accounts", "create-officer", username, "--name", "Nguyễn Thị Một Cửa",
                         "--agency-id", agency_id, "--role", role, "--password-file", str(pw)], env, timeout=timeout)
    finally:
        pw.unlink()


@contextlib.contextmanager
def maybe_worker(env: dict[str, str], cpu: int | None, log_path: Path, enabled: bool = True) -> Iterator[Any]:
    """`egov worker` (audit sequencer + checkpoints) for the length of the block, if it exists."""
    if not enabled or importlib.util.find_spec("egov.soc.background") is None:
        if enabled:
            log("egov worker not available; audit events are sequenced after the load")
        yield None
        return
    with common.server("egov worker", [str(common.VENV_BIN / "egov"), "worker"], env, cpu=cpu,
                       log_path=log_path) as srv:
        yield srv


def start_profile(pid: int, out: Path, rate: int = 250) -> subprocess.Popen[bytes]:
    """py-spy (a developer tool, not a project dependency) sampling `pid` until stop_profile."""
    spy = common.VENV_BIN / "py-spy"
    cmd = [str(spy), "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--output", str(out),
           "--nonblocking"]
    return subprocess.Popen(["taskset", "-c", str(common.CLIENT_CPU), *cmd], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop_profile(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _package(frame: str) -> str:
    """'fn (path/to/pkg/mod.py:12)' -> 'pkg' (egov sub-package for our code)."""
    path = frame[frame.rfind("(") + 1:].split(":")[0]
    if "egov/" in path:
        parts = path.split("egov/", 1)[1].split("/")
        return "egov." + parts[0].removesuffix(".py")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/")[0].removesuffix(".py")
    if "/lib/python3" in path:
        return "stdlib"
    return path or "?"


def summarise_collapsed(path: Path, top: int = 25) -> dict[str, list[tuple[str, float]]]:
    """From a py-spy raw (collapsed) file: self time by package, and inclusive share of egov frames."""
    total = 0
    incl: collections.Counter[str] = collections.Counter()
    self_pkg: collections.Counter[str] = collections.Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        k = int(n)
        total += k
        frames = stack.split(";")
        self_pkg[_package(frames[-1])] += k
        for frame in set(frames):
            if "egov/" in frame:
                incl[frame] += k
    if not total:
        return {"self_by_package": [], "inclusive_egov": []}
    return {"self_by_package": [(p, c / total) for p, c in self_pkg.most_common(top)],
            "inclusive_egov": [(f, c / total) for f, c in incl.most_common(top)]}


def create_citizen_accounts(app: App, n: int, password: str) -> list[str]:
    """`n` active citizen accounts sharing one password, hashed once with the production Argon2id
    parameters (the sign-in benchmark measures verifying, not creating)."""
    from datetime import UTC, datetime

    from egov.auth import Passwords
    from egov.auth.models import Account
    from egov.platform.ids import new_id

    digest = Passwords.from_settings(app.settings).hash(password)
    now = datetime.now(UTC)
    names = [f"0792{i:08d}" for i in range(n)]
    with app.database.session() as s:
        for name in names:
            s.add(Account(id=new_id(), kind="citizen", username=name, display_name=f"Công dân thử {name[-4:]}",
                          password_hash=digest, status="active", created_at=now, password_changed_at=now))
    return names
