"""A real `egov serve` as an operator runs it: metrics that count, a clean stop, a taken port said in one line."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

EGOV = [sys.executable, "-m", "egov"]
ON_POSTGRES = os.environ.get("EGOV_TEST_DATABASE", "sqlite") == "postgresql"


def _env(data_dir: Path, urls: tuple[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({"EGOV_DATA_DIR": str(data_dir), "EGOV_LOG_JSON": "false", "EGOV_RUN_BACKGROUND_IN_PROCESS": "false"})
    if urls is not None:
        env.update({"EGOV_DATABASE_URL": urls[0], "EGOV_DATABASE_OWNER_URL": urls[1]})
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(pid: int) -> dict[int, str]:
    """pid -> command line of every process below `pid`, read from /proc (no psutil)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                found[child] = (Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
            todo.append(child)
    return found


def _alive(pid: int, cmdline: str) -> bool:
    """Still running (not a zombie) and still the same program (pids are reused)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        now = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return state != "Z" and now == cmdline


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    log = Path(env["EGOV_DATA_DIR"]) / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*EGOV, "serve", "--host", "127.0.0.1", "--port", str(port), *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    if proc.poll() is not None:
                        break
                    time.sleep(0.1)
            else:
                raise AssertionError("server did not start: " + log.read_text()[-2000:])
            assert proc.poll() is None, log.read_text()[-2000:]
            yield proc, base
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=20)


def _requests_counted(text: str, route: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("egov_http_requests_total{") and f'route="{route}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _count_healthz(base: str, n: int) -> float:
    with httpx.Client(base_url=base, timeout=10) as client:  # new connections: several workers share them out
        for _ in range(n):
            assert client.get("/healthz", headers={"Connection": "close"}).status_code == 200
        page = client.get("/metrics")
    assert page.status_code == 200
    return _requests_counted(page.text, "/healthz")


def test_metrics_count_requests_under_egov_serve_with_one_worker(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([*EGOV, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    with serving(env) as (_proc, base):
        assert _count_healthz(base, 5) >= 5


@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="several workers need PostgreSQL (EGOV_TEST_DATABASE=postgresql)")
def test_metrics_add_up_across_two_workers(tmp_path: Path, migrated: tuple[str, str]) -> None:
    env = _env(tmp_path, migrated)
    with serving(env, "--workers", "2") as (proc, base):
        workers = [pid for pid, cmd in _descendants(proc.pid).items() if "spawn_main" in cmd]
        assert len(workers) >= 2  # the supervisor really spawned two serving processes
        assert _count_healthz(base, 20) >= 20  # whichever worker answered /metrics, it counts them all
        files = list((tmp_path / "metrics").glob("*.db"))
        assert files, "no multiprocess metric files were written"
        _stop_and_expect_no_survivor(proc, base)


def _stop_and_expect_no_survivor(proc: subprocess.Popen[bytes], base: str) -> None:
    """Start the isolated validation worker (an upload does), SIGTERM the server, and find no child alive."""
    refused = httpx.post(f"{base}/api/signing/validate", timeout=60,
                         files={"file": ("x.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")})
    assert refused.status_code == 422
    children = _descendants(proc.pid)
    assert any("spawn_main" in cmd for cmd in children.values()), children
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid, cmd) for pid, cmd in children.items()):
        time.sleep(0.2)
    survivors = {pid: cmd for pid, cmd in children.items() if _alive(pid, cmd)}
    for pid in survivors:  # do not leave them to the next run either
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"still running after the server stopped: {survivors}"


def test_sigterm_leaves_no_child_process_behind(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([*EGOV, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    with serving(env) as (proc, base):
        _stop_and_expect_no_survivor(proc, base)


def test_a_taken_port_is_one_line_naming_port_before_any_work(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(tmp_path / "fresh")  # not migrated: the port is what must be said first
        out = subprocess.run([*EGOV, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2
        assert f"port {port} is already in use" in out.stderr
        assert f"PORT={port + 1}" in out.stderr and f"--port {port + 1}" in out.stderr
        assert "Traceback" not in out.stderr and "egov db upgrade" not in out.stderr
        check = subprocess.run([sys.executable, "-m", "egov.platform.serve", "127.0.0.1", str(port)],
                               capture_output=True, text=True, timeout=60)
        assert check.returncode == 1 and re.search(rf"PORT={port + 1}", check.stderr)


def test_localhost_is_served_on_ipv4_and_ipv6(tmp_path: Path) -> None:
    from egov.platform.serve import bind

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    port = _free_port()
    sockets = bind("localhost", port)
    try:
        assert {s.getsockname()[0] for s in sockets} == {"127.0.0.1", "::1"}
    finally:
        for s in sockets:
            s.close()
