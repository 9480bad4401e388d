#!/usr/bin/env python3
"""The whole authorization-code + PKCE flow and refresh, in requests/s, through `egov serve` on one core.

Set-up: PostgreSQL bench database, production settings, a citizen account, a confidential client
(registered with the CLI) whose consent the citizen has already given. The client (CPU 1) runs,
on keep-alive connections for `--duration` s after a warm-up, flows of:
  GET /oidc/authorize (signed-in browser, PKCE S256, remembered consent) -> 303 with a code,
  POST /oidc/token (authorization_code + code_verifier) -> access, ID and refresh token,
  POST /oidc/token (refresh_token) -> rotated tokens,
and reports flows/s and requests/s (3 requests per flow), with p50/p99 per flow, medians of --reps.
No peer is run for this one: the issue asks for the figure, not a ratio.

  .venv/bin/python benchmarks/bench_oidc_flow.py [--duration 15] [--reps 3] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import secrets
import statistics
import sys
import time
import urllib.parse
from typing import Any

import adapters
import common
import httpload
from common import log

REDIRECT = "https://rp.bench.example/cb"
PASSWORD = "một cụm mật khẩu thử tải đủ dài"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def sign_in(port: int, username: str) -> dict[str, str]:
    conn = httpload.Connection("127.0.0.1", port)
    try:
        csrf = (await conn.request("GET", "/login")).set_cookies()["egov_csrf"]
        body = urllib.parse.urlencode({"username": username, "password": PASSWORD, "next": "/",
                                       "csrf_token": csrf}).encode()
        resp = await conn.request("POST", "/login", headers=[
            ("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", f"egov_csrf={csrf}")], body=body)
        cookies = resp.set_cookies()
        return {"egov_session": cookies["egov_session"], "egov_csrf": cookies.get("egov_csrf", csrf)}
    finally:
        await conn.close()


async def flows(port: int, cookies: dict[str, str], client_id: str, secret: str, seconds: float,
                concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    auth = basic(client_id, secret)

    async def worker() -> None:
        nonlocal failures
        conn = httpload.Connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                verifier = secrets.token_urlsafe(48)
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": REDIRECT,
                                                "response_type": "code", "scope": "openid offline_access",
                                                "state": "s", "code_challenge": challenge,
                                                "code_challenge_method": "S256"})
                t0 = time.perf_counter()
                first = await conn.request("GET", f"/oidc/authorize?{query}", headers=[("Cookie", cookie)])
                location = first.header("location") or ""
                code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code", [""])[0]
                form = [("Content-Type", "application/x-www-form-urlencoded"), ("Authorization", auth)]
                tok = await conn.request("POST", "/oidc/token", headers=form, body=urllib.parse.urlencode({
                    "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                    "code_verifier": verifier}).encode())
                refresh = json.loads(tok.body or b"{}").get("refresh_token", "")
                again = await conn.request("POST", "/oidc/token", headers=form, body=urllib.parse.urlencode({
                    "grant_type": "refresh_token", "refresh_token": refresh}).encode())
                if first.status == 303 and code and tok.status == 200 and again.status == 200:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    failures += 1
        finally:
            await conn.close()

    t_start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t_start
    lat = sorted(latencies)
    return {"flows_per_s": len(lat) / elapsed, "requests_per_s": 3 * len(lat) / elapsed, "failures": failures,
            "p50_ms": common.pct(lat, 50) if lat else None, "p99_ms": common.pct(lat, 99) if lat else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=15.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--name", default="oidc_flow")
    a = ap.parse_args()
    common.bound_time(a.timeout)
    work = common.WORK / f"oidc-flow-{int(time.time())}"
    data_dir = work / "var"
    result: dict[str, Any] = {"benchmark": "oidc_flow", "duration_s": a.duration, "reps": a.reps, "runs": []}
    with common.pinned() as pin, common.bench_database() as db:
        result["pinning"] = pin
        common.migrate(db, data_dir)
        env = db.egov_env(data_dir)
        result["machine"] = common.machine_info(db.connect())
        app = adapters.App(db, data_dir)
        try:
            username = adapters.create_citizen_accounts(app, 1, PASSWORD)[0]
        finally:
            app.close()
        made = common.run_egov(["oidc", "clients", "create", "--name", "Bench RP", "--redirect-uri", REDIRECT,
                                "--scope", "openid", "--scope", "offline_access"], env, timeout=120)
        fields = dict(line.split(": ", 1) for line in made.stdout.splitlines() if ": " in line)
        client_id, secret = fields["client_id"].strip(), fields["client_secret"].strip()
        with db.connect() as conn:  # the citizen consented before (the consent screen is not what is measured)
            account_id = conn.execute("SELECT id FROM auth_accounts WHERE username = %s", (username,)).fetchone()[0]
            conn.execute("INSERT INTO oidc_consents (account_id, client_id, scopes, granted_at) "
                         "VALUES (%s, %s, %s, now())", (account_id, client_id, '["offline_access", "openid"]'))
        port = common.free_port()
        egov = str(common.VENV_BIN / "egov")
        for rep in range(1, a.reps + 1):
            with common.server("egov serve", [egov, "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                               cpu=common.SERVER_CPU, log_path=work / "serve.log",
                               ready=lambda: common.port_open(port)):
                cookies = asyncio.run(sign_in(port, username))
                asyncio.run(flows(port, cookies, client_id, secret, 2.0, a.concurrency))  # warm-up
                run = asyncio.run(flows(port, cookies, client_id, secret, a.duration, a.concurrency))
            result["runs"].append(run)
            log(f"rep {rep}: {run['flows_per_s']:.1f} flows/s ({run['requests_per_s']:.0f} requests/s), "
                f"p50 {run['p50_ms'] or 0:.1f} ms per flow, failures {run['failures']}")
    result["median"] = {k: statistics.median(r[k] for r in result["runs"]) for k in ("flows_per_s", "requests_per_s")}
    common.write_result(a.name, result)
    m = result["median"]
    print(f"\n| authorization code + PKCE + refresh, c={a.concurrency} | flows/s | requests/s |")
    print("|---|---:|---:|")
    print(f"| median of {a.reps} | {m['flows_per_s']:.1f} | {m['requests_per_s']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
