#!/usr/bin/env python3
"""Password sign-in through the real app beside the raw Argon2id verify rate, on the same core.

Set-up: a fresh PostgreSQL database, `--accounts` citizen accounts with the production Argon2id
parameters (OWASP: m=19 MiB, t=2, p=1), `egov serve` (one process) pinned to CPU 0 beside
PostgreSQL. The load client (CPU 1) signs in as a browser does, round-robin over the accounts
(so the per-account backoff is never what is measured, and every sign-in succeeds): GET /login
for the CSRF cookie, POST /login, expect 303 and a session cookie. Each sign-in is the whole
production path: backoff checks, one Argon2id verify, session row, audit event, commit.

Limit, same run, same core: argon2-cffi `PasswordHasher.verify` of the same hash in a loop in a
process pinned to CPU 0. Target: sign-ins/s >= 0.8x that rate, at every level (-c).

  .venv/bin/python benchmarks/bench_password.py [--accounts 200] [--duration 15] [--reps 3] [-c 1,2]

The sign-in's own overhead, without Argon2's cost hiding it: run with cheap hashing, e.g.
  EGOV_AUTH__ARGON2_MEMORY_KIB=8192 EGOV_AUTH__ARGON2_TIME_COST=1 .venv/bin/python benchmarks/bench_password.py --reps 1
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import urllib.parse
from typing import Any

import adapters
import common
import httpload
from common import log

TARGET_RATIO = 0.8
PASSWORD = "một cụm mật khẩu thử tải đủ dài"
RAW_VERIFY = """
import sys, time
from argon2 import PasswordHasher
ph = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
h = ph.hash(sys.argv[1])
ph.verify(h, sys.argv[1])
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < float(sys.argv[2]):
    ph.verify(h, sys.argv[1]); n += 1
print(n / (time.perf_counter() - t0))
"""


def raw_rate(seconds: float) -> float:
    proc = subprocess.run(["taskset", "-c", str(common.SERVER_CPU), sys.executable, "-c", RAW_VERIFY, PASSWORD,
                           str(seconds)], capture_output=True, text=True, check=True, timeout=seconds + 60)
    return float(proc.stdout.strip())


async def sign_ins(port: int, usernames: list[str], seconds: float, concurrency: int,
                   with_form: bool, app_pids: list[int] | None = None) -> dict[str, Any]:
    """Sign-ins for `seconds` on `concurrency` keep-alive connections, round-robin over the accounts.

    with_form=True: each sign-in loads the form first (GET /login + POST /login), as a person does.
    with_form=False: the sign-in request alone; the CSRF cookie the previous response renewed is
    echoed, as a browser that stays on the page would (the form was loaded once per connection).
    """
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        nonlocal failures
        conn = httpload.Connection("127.0.0.1", port)
        csrf = (await conn.request("GET", "/login")).set_cookies()["egov_csrf"]
        try:
            while time.perf_counter() < deadline:
                user = usernames[next(counter) % len(usernames)]
                t0 = time.perf_counter()
                if with_form:
                    csrf = (await conn.request("GET", "/login")).set_cookies().get("egov_csrf", csrf)
                body = urllib.parse.urlencode({"username": user, "password": PASSWORD, "next": "/",
                                               "csrf_token": csrf}).encode()
                resp = await conn.request("POST", "/login", headers=[
                    ("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", f"egov_csrf={csrf}")],
                    body=body)
                cookies = resp.set_cookies()
                if resp.status == 303 and "egov_session" in cookies:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    csrf = cookies.get("egov_csrf", csrf)  # sign-in renews the CSRF token
                else:
                    failures += 1
        finally:
            await conn.close()

    app_cpu0, pg_cpu0 = common.proc_cpu_seconds(app_pids or []), common.server_cpu_seconds()
    t_start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t_start
    app_cpu, pg_cpu = common.proc_cpu_seconds(app_pids or []) - app_cpu0, common.server_cpu_seconds() - pg_cpu0
    lat = sorted(latencies)
    per = 1000 / max(len(lat), 1)
    return {"concurrency": concurrency, "ok": len(lat), "failures": failures, "per_s": len(lat) / elapsed,
            "p50_ms": common.pct(lat, 50) if lat else None, "p99_ms": common.pct(lat, 99) if lat else None,
            "app_cpu_ms": app_cpu * per if app_pids else None, "pg_cpu_ms": pg_cpu * per}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("-c", "--concurrency", default="1,2",
                    help="levels (concurrent sign-ins), each measured in every rep; the target holds at each")
    ap.add_argument("--timeout", type=float, default=1500)
    ap.add_argument("--name", default="password")
    ap.add_argument("--profile", action="store_true",
                    help="py-spy the server through one load run and print where its time goes, then stop "
                         "(pip install -e '.[profile]')")
    a = ap.parse_args()
    common.bound_time(a.timeout)
    work = common.WORK / f"password-{int(time.time())}"
    data_dir = work / "var"
    result: dict[str, Any] = {"benchmark": "password", "accounts": a.accounts, "duration_s": a.duration,
                              "reps": a.reps, "runs": []}
    with common.pinned() as pin, common.bench_database() as db:
        result["pinning"] = pin
        common.migrate(db, data_dir)
        env = db.egov_env(data_dir)
        result["machine"] = common.machine_info(db.connect())
        app = adapters.App(db, data_dir)
        try:
            usernames = adapters.create_citizen_accounts(app, a.accounts, PASSWORD)
        finally:
            app.close()
        log(f"created {len(usernames)} accounts")
        port = common.free_port()
        egov = str(common.VENV_BIN / "egov")

        levels = [int(c) for c in a.concurrency.split(",")]
        for rep in range(1, a.reps + 1):
            raw = raw_rate(a.duration / 2)
            run: dict[str, Any] = {"raw_verify_per_s": raw, "levels": {}}
            with common.server("egov serve", [egov, "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                               cpu=common.SERVER_CPU, log_path=work / "serve.log",
                               ready=lambda: common.port_open(port)) as srv:
                asyncio.run(sign_ins(port, usernames, 2.0, levels[-1], with_form=False))  # warm-up
                if a.profile:
                    common.profile_server(srv.proc.pid, work / "password.pyspy", lambda: asyncio.run(
                        sign_ins(port, usernames, a.duration, levels[-1], with_form=False)))
                    return 0
                for level in levels:
                    ours = asyncio.run(sign_ins(port, usernames, a.duration, level, with_form=False,
                                                app_pids=srv.pids()))
                    full = asyncio.run(sign_ins(port, usernames, a.duration / 2, level, with_form=True))
                    run["levels"][str(level)] = {**ours, "ratio": common.ratio(ours["per_s"], raw),
                                                 "with_form_per_s": full["per_s"],
                                                 "with_form_ratio": common.ratio(full["per_s"], raw)}
                    log(f"rep {rep}, c={level}: sign-ins {ours['per_s']:.1f}/s (p50 {ours['p50_ms'] or 0:.0f} ms, "
                        f"failures {ours['failures']}; CPU per sign-in: app {ours['app_cpu_ms']:.1f} ms, "
                        f"PostgreSQL {ours['pg_cpu_ms']:.1f} ms, Argon2 alone {1000 / raw:.1f} ms; with the form "
                        f"loaded each time {full['per_s']:.1f}/s) vs raw Argon2id verify {raw:.1f}/s on the same "
                        f"core: {ours['per_s'] / raw:.2f}x")
            result["runs"].append(run)
    keys = ("per_s", "ratio", "with_form_per_s", "with_form_ratio", "p50_ms", "app_cpu_ms", "pg_cpu_ms")
    result["median"] = {
        "raw_verify_per_s": statistics.median(r["raw_verify_per_s"] for r in result["runs"]),
        "levels": {str(c): {k: statistics.median(r["levels"][str(c)][k] for r in result["runs"]) for k in keys}
                   for c in levels}}
    common.write_result(a.name, result)
    m = result["median"]
    print("\n| password sign-in | sign-ins/s | raw Argon2id verify/s, same core | ratio | app / PostgreSQL CPU ms "
          "per sign-in | target |")
    print("|---|---:|---:|---:|---:|---|")
    for c, lv in m["levels"].items():
        print(f"| POST /login, c={c}, median of {a.reps} | {lv['per_s']:.1f} | {m['raw_verify_per_s']:.1f} | "
              f"**{lv['ratio']:.2f}** | {lv['app_cpu_ms']:.1f} / {lv['pg_cpu_ms']:.1f} | >= {TARGET_RATIO}: "
              f"{common.verdict(lv['ratio'] >= TARGET_RATIO)} |")
    for c, lv in m["levels"].items():
        print(f"| GET /login + POST /login, c={c} | {lv['with_form_per_s']:.1f} | {m['raw_verify_per_s']:.1f} | "
              f"{lv['with_form_ratio']:.2f} | | (reported) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
