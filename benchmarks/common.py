"""Shared benchmark harness: a throw-away PostgreSQL database, CPU pinning, median-of-3 runs, JSON results."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
WORK = HERE / ".work"  # scratch files (CSV, logs, key stores); ignored by git, removed by the scripts
VENV_BIN = Path(os.path.abspath(sys.executable)).parent

# PostgreSQL admin (superuser) connection: 127.0.0.1 only; the benchmark refuses any other host.
PG_ADMIN = os.environ.get("EGOV_BENCH_PG", "host=127.0.0.1 port=5432 user=postgres")
SERVER_CPU = int(os.environ.get("EGOV_BENCH_SERVER_CPU", "0"))
CLIENT_CPU = int(os.environ.get("EGOV_BENCH_CLIENT_CPU", "1"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------------
# Time bound: every script stops itself, cleaning up, after its --timeout
# --------------------------------------------------------------------------------------------------


class BenchTimeout(Exception):
    """The script ran past its time bound; raised in the main thread so every `finally` still runs."""


def bound_time(seconds: float) -> None:
    """Raise BenchTimeout in the main thread after `seconds`, and turn SIGTERM/SIGHUP into SystemExit.

    Both unwind the stack, so the database is dropped, servers are stopped and PostgreSQL is unpinned
    by the `finally`/`with` blocks that started them.
    """

    def on_alarm(signum: int, frame: Any) -> None:
        raise BenchTimeout(f"time bound of {seconds:.0f} s reached")

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.setitimer(signal.ITIMER_REAL, seconds)


# --------------------------------------------------------------------------------------------------
# PostgreSQL: DSNs, a database per run
# --------------------------------------------------------------------------------------------------


def _kv(dsn: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in dsn.split())


def _check_local(dsn: str) -> None:
    host = _kv(dsn).get("host", "127.0.0.1")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"benchmarks only talk to 127.0.0.1, not {host!r}")


def admin_dsn(dbname: str = "postgres") -> str:
    _check_local(PG_ADMIN)
    return f"{PG_ADMIN} dbname={dbname}"


@dataclass
class BenchDatabase:
    """A database `egov_bench_<random>` and its application role, created for one benchmark run."""

    name: str
    app_role: str
    app_password: str
    host: str = "127.0.0.1"
    port: str = "5432"
    owner: str = "postgres"

    @property
    def owner_url(self) -> str:  # SQLAlchemy URL; migrations and grants run as the owner
        return f"postgresql+psycopg://{self.owner}@{self.host}:{self.port}/{self.name}"

    @property
    def app_url(self) -> str:  # the application's own non-superuser role, as in production
        return f"postgresql+psycopg://{self.app_role}:{self.app_password}@{self.host}:{self.port}/{self.name}"

    @property
    def owner_dsn(self) -> str:  # libpq keyword DSN for psycopg and psql
        return f"{PG_ADMIN} dbname={self.name}"

    @property
    def app_dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.app_role} password={self.app_password} dbname={self.name}"

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.owner_dsn, autocommit=autocommit)

    def egov_env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        """Environment for `egov …` subprocesses: the PostgreSQL profile, production settings, real key store."""
        # EGOV_AUTH__ARGON2_* (and the old EGOV_ARGON2_*) pass through: bench_password.py with cheap
        # hashing shows a sign-in's own overhead.
        cheap = ("EGOV_AUTH__ARGON2_", "EGOV_ARGON2_")
        env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_") or k.startswith(cheap)}
        env.update({
            "EGOV_ENVIRONMENT": "production",
            "EGOV_COOKIE_SECURE": "true",
            "EGOV_DATA_DIR": str(data_dir),
            "EGOV_DATABASE_URL": self.app_url,
            "EGOV_DATABASE_OWNER_URL": self.owner_url,
            "EGOV_KEYSTORE_PASSPHRASE": f"file:{data_dir / 'keystore.secret'}",
            "EGOV_SECRET_KEY": f"file:{data_dir / 'platform.secret'}",
            "EGOV_SMTP_HOST": "127.0.0.1",  # nothing is mailed in the benchmarks; production needs a host
            "EGOV_SMS_SENDER": "none",
            "EGOV_LOG_LEVEL": "WARNING",
            "EGOV_LOG_JSON": "true",
            "EGOV_RUN_BACKGROUND_IN_PROCESS": "false",
        })
        env.update(extra)
        return env


@contextlib.contextmanager
def bench_database(keep: bool = False) -> Iterator[BenchDatabase]:
    """Create `egov_bench_<hex>` (and role `egov_bench_app_<hex>`); drop both at the end, whatever happens."""
    suffix = secrets.token_hex(4)
    kv = _kv(PG_ADMIN)
    db = BenchDatabase(name=f"egov_bench_{suffix}", app_role=f"egov_bench_app_{suffix}",
                       app_password=secrets.token_hex(16), host=kv.get("host", "127.0.0.1"),
                       port=kv.get("port", "5432"), owner=kv.get("user", "postgres"))
    with psycopg.connect(admin_dsn(), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{db.name}"')
    log(f"created database {db.name}")
    try:
        yield db
    finally:
        if keep:
            log(f"kept database {db.name} (--keep-db); drop it with: DROP DATABASE {db.name} WITH (FORCE)")
        else:
            drop_database(db)


def drop_database(db: BenchDatabase, attempts: int = 5) -> None:
    """DROP … WITH (FORCE), retried: PostgreSQL 15 waits in DROP DATABASE for every backend of the
    cluster to absorb a signal barrier, and a backend stuck elsewhere (e.g. a hung COPY of another
    database) can hold it for minutes; each try gives up after 60 s instead of hanging the run."""
    for attempt in range(1, attempts + 1):
        try:
            with psycopg.connect(admin_dsn(), autocommit=True) as c:
                c.execute("SET statement_timeout = '60s'")
                c.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
                c.execute(f'DROP ROLE IF EXISTS "{db.app_role}"')
            log(f"dropped database {db.name} and role {db.app_role}")
            return
        except psycopg.errors.QueryCanceled:
            log(f"DROP DATABASE {db.name} still waiting after 60 s (attempt {attempt}/{attempts}): another "
                "backend of the cluster is not answering the signal barrier (see pg_stat_activity)")
    log(f"could NOT drop {db.name}; drop it by hand: DROP DATABASE {db.name} WITH (FORCE); DROP ROLE {db.app_role}")


def migrate(db: BenchDatabase, data_dir: Path, timeout: float = 300) -> None:
    """`egov db upgrade` as an operator would run it: migrations as the owner, grants for the app role."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("keystore.secret", "platform.secret"):
        secret = data_dir / name
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(32))
            secret.chmod(0o600)
    proc = run_egov(["db", "upgrade"], db.egov_env(data_dir), timeout=timeout, check=False)
    if proc.returncode == 0:
        return
    if "PASSWORD $1" not in proc.stderr + proc.stdout:
        raise RuntimeError(f"egov db upgrade failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    # Known defect (reported): ensure_app_role binds the password as a server-side parameter, which
    # CREATE/ALTER ROLE does not accept. Create the role with a literal password, then grant exactly
    # what ensure_app_role grants, so the benchmark still runs as a non-superuser app role.
    log("egov db upgrade failed in ensure_app_role (PASSWORD $1); creating the app role by hand")
    from psycopg import sql

    with psycopg.connect(db.owner_dsn, autocommit=True) as c:
        role = sql.Identifier(db.app_role)
        c.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
            role, sql.Literal(db.app_password)))
    run_egov(["db", "upgrade"], db.egov_env(data_dir, EGOV_DATABASE_URL=db.owner_url), timeout=timeout)
    grant_app_role(db)


def grant_app_role(db: BenchDatabase) -> None:
    """The grants of egov.platform.db.roles.ensure_app_role, for the workaround above."""
    from psycopg import sql

    role = sql.Identifier(db.app_role)
    with psycopg.connect(db.owner_dsn, autocommit=True) as c:
        for stmt in (
            "GRANT CONNECT ON DATABASE {db} TO {r}",
            "GRANT USAGE ON SCHEMA public TO {r}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}",
            "REVOKE UPDATE, DELETE, TRUNCATE ON alembic_version FROM {r}",
            "REVOKE INSERT ON alembic_version FROM {r}",
        ):
            c.execute(sql.SQL(stmt).format(db=sql.Identifier(db.name), r=role))
        from egov.platform.db.roles import APPEND_ONLY_TABLES

        for t in APPEND_ONLY_TABLES:
            c.execute(sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM {}").format(sql.Identifier(t), role))


def run_egov(args: Sequence[str], env: dict[str, str], *, timeout: float, cpu: int | None = CLIENT_CPU,
             input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the `egov` CLI of this venv, pinned to `cpu`, bounded by `timeout`."""
    cmd = [str(VENV_BIN / "egov"), *args]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          input=input_text)
    if check and proc.returncode != 0:
        raise RuntimeError(f"egov {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def pg_settings(conn: psycopg.Connection) -> dict[str, str]:
    rows = conn.execute(
        "SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers','synchronous_commit','wal_level',"
        "'max_wal_size','fsync','wal_compression','work_mem','maintenance_work_mem','checkpoint_timeout')"
    ).fetchall()
    return dict(rows)


def checkpoint(conn: psycopg.Connection) -> None:
    conn.execute("CHECKPOINT")


def wal_lsn(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])  # type: ignore[index]


def truncate(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """Empty tables, audit tables included: as superuser with triggers off (the append-only guard)."""
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")


# --------------------------------------------------------------------------------------------------
# CPU pinning (root): PostgreSQL on one core, clients on the other; undone at the end
# --------------------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(st[st.rindex(")") + 2:].split()[1]), []).append(int(d))
    return kids


def postmaster_pid() -> int:
    with psycopg.connect(admin_dsn()) as c:
        ddir = c.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
    return int(Path(ddir, "postmaster.pid").read_text().splitlines()[0])


def _tree(root: int) -> list[int]:
    kids, todo, out = _children(), [root], []
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def pin_pids(pids: Sequence[int], cpus: set[int] | None) -> list[int]:
    cpus = cpus or set(range(os.cpu_count() or 1))
    done = []
    for p in pids:
        try:
            os.sched_setaffinity(p, cpus)
            done.append(p)
        except (ProcessLookupError, PermissionError):
            continue
    return done


def pin_server(cpu: int | None) -> int:
    """Pin the postmaster and every process under it (new backends inherit it); None = all CPUs."""
    return len(pin_pids(_tree(postmaster_pid()), {cpu} if cpu is not None else None))


def pin_self(cpu: int | None) -> None:
    if cpu is not None and cpu >= 0:
        os.sched_setaffinity(0, {cpu})


@contextlib.contextmanager
def pinned(server_cpu: int = SERVER_CPU, client_cpu: int = CLIENT_CPU, enabled: bool = True) -> Iterator[dict]:
    """PostgreSQL on `server_cpu`, this process on `client_cpu`; both back on every CPU afterwards."""
    info: dict[str, Any] = {"server_cpu": None, "client_cpu": None}
    if not enabled or (os.cpu_count() or 1) < 2:
        yield info
        return
    n = pin_server(server_cpu)
    pin_self(client_cpu)
    info.update(server_cpu=server_cpu, client_cpu=client_cpu, server_processes_pinned=n)
    log(f"PostgreSQL pinned to CPU {server_cpu} ({n} processes), this client to CPU {client_cpu}")
    try:
        yield info
    finally:
        pin_server(None)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        log("PostgreSQL unpinned")


def proc_cpu_seconds(pids: Sequence[int], reaped: bool = False) -> float:
    """User+system CPU of `pids` (with the CPU of their reaped children when `reaped`)."""
    clk = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            st = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fl = st[st.rindex(")") + 2:].split()
        total += int(fl[11]) + int(fl[12]) + ((int(fl[13]) + int(fl[14])) if reaped else 0)
    return total / clk


def server_cpu_seconds() -> float:
    """CPU used so far by the whole PostgreSQL server, including backends that already exited."""
    root = postmaster_pid()
    tree = _tree(root)
    return proc_cpu_seconds([root], reaped=True) + proc_cpu_seconds([p for p in tree if p != root])


def client_cpu_seconds() -> float:
    """CPU of this process plus its waited-for children (psql, egov CLI)."""
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def other_activity() -> dict[str, float]:
    """Noise check: 1-minute load average and backends busy in databases other than a benchmark's.

    The PostgreSQL server and the two cores are shared with whatever else runs (test suites of
    other engineers): runs with other activity are flagged in the JSON, and medians absorb a few.
    """
    out: dict[str, float] = {"load1": float(Path("/proc/loadavg").read_text().split()[0])}
    try:
        with psycopg.connect(admin_dsn(), autocommit=True, connect_timeout=5) as c:
            out["other_active_backends"] = float(c.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
                "AND datname IS NOT NULL AND datname NOT LIKE 'egov_bench_%'").fetchone()[0])  # type: ignore[index]
    except psycopg.Error:
        pass
    return out


@dataclass
class Meter:
    """Wall time, this client's CPU and the server's CPU over one measured block.

    Server CPU is the whole PostgreSQL cluster's (every backend, also other databases'): on a shared
    server it over-counts, which `noise` (other activity at start and end) makes visible.
    """

    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    noise: dict[str, float] = field(default_factory=dict)
    _t: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0), repr=False)

    def __enter__(self) -> Meter:
        self.noise = other_activity()
        self._t = (time.perf_counter(), client_cpu_seconds(), server_cpu_seconds())
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._t[0]
        time.sleep(0.2)  # let the postmaster reap a backend that just exited, so its CPU is counted
        self.client_cpu = client_cpu_seconds() - self._t[1]
        self.server_cpu = server_cpu_seconds() - self._t[2]
        end = other_activity()
        self.noise = {k: max(v, end.get(k, 0.0)) for k, v in self.noise.items()}


# --------------------------------------------------------------------------------------------------
# Servers started by a benchmark: pinned, bounded, stopped by PID
# --------------------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pids(self) -> list[int]:
        return _tree(self.proc.pid) if self.proc.poll() is None else []

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to this PID, then SIGKILL to it (and any child it left) after `grace` seconds."""
        if self.proc.poll() is not None:
            return
        tree = self.pids()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"{self.name} (pid {self.pid}) ignored SIGTERM; killing it")
            self.proc.kill()
            self.proc.wait(timeout=10)
        for p in tree[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        log(f"stopped {self.name} (pid {self.pid}, exit {self.proc.returncode})")


@contextlib.contextmanager
def server(name: str, cmd: Sequence[str], env: dict[str, str], *, cpu: int | None, log_path: Path,
           ready: Callable[[], bool] | None = None, ready_timeout: float = 60,
           cwd: Path | None = None) -> Iterator[Server]:
    """Start `cmd` pinned to `cpu`, wait until `ready()` is true, stop it by PID on the way out."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full = ["taskset", "-c", str(cpu), *cmd] if cpu is not None else list(cmd)
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(full, env=env, cwd=cwd or ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    srv = Server(name, proc, log_path)
    log(f"started {name} (pid {proc.pid}, CPU {cpu}): {' '.join(cmd)}")
    try:
        if ready is not None:
            deadline = time.monotonic() + ready_timeout
            while not ready():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; log:\n{tail(log_path)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} not ready after {ready_timeout:.0f} s; log:\n{tail(log_path)}")
                time.sleep(0.2)
        yield srv
    finally:
        srv.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    """Readiness probe for a server started with `server()`: something accepts on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------------------------------
# Statistics, medians of 3, results
# --------------------------------------------------------------------------------------------------


def pct(sorted_xs: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_xs:
        return float("nan")
    return sorted_xs[min(len(sorted_xs) - 1, round(p / 100.0 * (len(sorted_xs) - 1)))]


def summary(xs: Sequence[float]) -> dict[str, Any]:
    """min / median / max over runs, plus the runs themselves."""
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs), "runs": list(xs)}


def latency_summary(lat_ms: Sequence[float], elapsed: float) -> dict[str, float]:
    s = sorted(lat_ms)
    return {"n": len(s), "p50_ms": pct(s, 50), "p95_ms": pct(s, 95), "p99_ms": pct(s, 99), "max_ms": s[-1],
            "mean_ms": statistics.fmean(s), "req_per_s": len(s) / elapsed if elapsed else float("nan")}


def median_of_runs(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per numeric key, the median over runs (and min/max), so every figure is a median of 3."""
    out: dict[str, Any] = {}
    for k in runs[0]:
        vals = [r[k] for r in runs if isinstance(r.get(k), int | float) and not isinstance(r.get(k), bool)]
        if len(vals) == len(runs):
            out[k] = summary(vals)
    return out


def run_reps(label: str, fn: Callable[[int], dict[str, Any]], reps: int) -> list[dict[str, Any]]:
    """Run `fn(rep)` `reps` times (3 by default), logging each run's figures."""
    runs = []
    for rep in range(1, reps + 1):
        r = fn(rep)
        runs.append(r)
        shown = ", ".join(f"{k}={v:,.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items()
                          if isinstance(v, int | float))
        log(f"{label} run {rep}/{reps}: {shown}")
    return runs


def machine_info(conn: psycopg.Connection | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "psycopg": psycopg.__version__,
    }
    with contextlib.suppress(OSError):
        cpu = Path("/proc/cpuinfo").read_text()
        m = re.search(r"model name\s*:\s*(.+)", cpu)
        info["cpu_model"] = m.group(1).strip() if m else None
        flags = re.search(r"flags\s*:\s*(.+)", cpu)
        if flags:
            fl = flags.group(1).split()
            info["cpu_flags"] = [f for f in ("avx2", "avx512f", "avx512ifma", "sha_ni") if f in fl]
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text()
        m = re.search(r"MemTotal:\s+(\d+)", mem)
        info["mem_gb"] = round(int(m.group(1)) / 1024 / 1024, 1) if m else None
    with contextlib.suppress(Exception):
        import sqlalchemy

        info["sqlalchemy"] = sqlalchemy.__version__
    with contextlib.suppress(Exception):
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10)
        info["git"] = rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    if conn is not None:
        info["postgres"] = conn.execute("SELECT version()").fetchone()[0]  # type: ignore[index]
        info["postgres_settings"] = pg_settings(conn)
    return info


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")
    return path


def ratio(ours: float, peer: float) -> float:
    return ours / peer if peer else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


@contextlib.contextmanager
def profiled(path: Path | None, interval: float = 0.001) -> Iterator[None]:
    """pyinstrument the block into `path` (text) when a path is given and pyinstrument is installed.

    pyinstrument and py-spy are developer tools, not project dependencies: `.venv/bin/pip install
    pyinstrument py-spy`. Profiled runs are extra runs, never the timed ones.
    """
    if path is None:
        yield
        return
    try:
        from pyinstrument import Profiler
    except ImportError:
        log("pyinstrument is not installed (.venv/bin/pip install pyinstrument); no profile written")
        yield
        return
    prof = Profiler(interval=interval)
    prof.start()
    try:
        yield
    finally:
        prof.stop()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(prof.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
        log(f"profile written to {path.relative_to(ROOT)}")


def profile_path(name: str, part: str) -> Path:
    return RESULTS / "profiles" / f"{name}-{part}.txt"


def profile_server(pid: int, out: Path, load: Callable[[], object], top: int = 40) -> None:
    """Sample `pid` with py-spy while `load()` runs; print the functions with the most samples, by
    themselves (self) and with what they call (inclusive), as shares of all samples."""
    import collections
    import shutil

    spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install -e '.[profile]'")
    # EGOV_BENCH_PROFILE_GIL=1: only samples holding the GIL (Python's own CPU, without the time threads
    # spend waiting for it or inside C code that released it, such as Argon2); EGOV_BENCH_PROFILE_RATE: Hz.
    gil = ["--gil"] if os.environ.get("EGOV_BENCH_PROFILE_GIL") else []
    rate = os.environ.get("EGOV_BENCH_PROFILE_RATE", "250")
    rec = subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", rate,
                            "--format", "raw", "--nonblocking", "--threads", *gil, "-o", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)
    load()
    rec.send_signal(2)
    rec.wait(timeout=60)
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].rstrip(")") for f in stack.split(";")[1:]]
        if not frames or frames[-1].startswith(("select ", "epoll_wait", "_worker ", "wait ")):
            continue  # an idle thread waiting for work
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
    log(f"{total} busy samples")
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"\n--- {title} ---")
        for name, n in counter.most_common(top):
            print(f"{100 * n / max(total, 1):5.1f}%  {name}")
