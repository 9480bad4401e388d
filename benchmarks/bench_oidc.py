#!/usr/bin/env python3
"""OIDC token endpoint beside node oidc-provider: client_credentials tokens/s and introspection, one core each.

Peer: panva's `oidc-provider` from `../shared/peers/node-oidc` (copied to benchmarks/.work/peers and
installed with its own setup.sh: npm ci + the load generator's venv), ES256 JWT access tokens,
in-memory storage (it writes nothing durable).
Ours: `egov serve` (one uvicorn process) on the production path: PostgreSQL, the application role,
client secret checked, backoff consulted, token row and audit event written in one transaction,
ES256 from the real file key store.

Same load generator for both (peers/load_token.py, aiohttp + uvloop, keep-alive), same pinning:
the server on CPU 0 (ours shares it with PostgreSQL: its figure includes the database's work),
the generator on CPU 1. Levels -c (default 1,8,32), --duration seconds each after a warm-up,
--reps runs; medians. Printed: tokens/s, p50/p99 latency, server CPU ms per token, and the
ratio ours/peer. Target: client_credentials at least 1.0x the peer.

  .venv/bin/python benchmarks/bench_oidc.py [--reps 3] [--duration 10] [-c 1,8,32]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common
from common import log

TARGET_RATIO = 1.0
# The workplace keeps the peer harness beside the project (../shared/peers); EGOV_BENCH_PEERS overrides.
PEERS_SRC = Path(os.environ.get("EGOV_BENCH_PEERS", str(common.ROOT.parent / "shared" / "peers")))


def prepare_peers() -> Path:
    """A private copy of the peer harness with node_modules and its venv (shared/ may be read-only)."""
    dest = common.WORK / "peers"
    if not (dest / "node-oidc" / "node_modules" / "oidc-provider").exists() or not (dest / ".venv").exists():
        if not PEERS_SRC.exists():
            raise SystemExit(f"peer harness not found at {PEERS_SRC}")
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(PEERS_SRC, dest, ignore=shutil.ignore_patterns("node_modules", ".venv", "results"))
        log("installing the peer harness (npm ci, venv)")
        subprocess.run(["bash", str(dest / "setup.sh")], cwd=dest, check=True, timeout=900)
    return dest


def load(peers: Path, url: str, client_id: str, secret: str, *, mode: str, levels: str, duration: float,
         server_pids: list[int], label: str, out: Path, token_url: str | None = None) -> list[dict[str, Any]]:
    out.unlink(missing_ok=True)
    cmd = [str(peers / ".venv" / "bin" / "python"), str(peers / "load_token.py"), url, "--client-id", client_id,
           f"--client-secret={secret}", "--mode", mode, "-c", levels, "-d", str(duration), "--warmup", "2",
           "--cpu", str(common.CLIENT_CPU), "--label", label, "--json", str(out)]
    if token_url:
        cmd += ["--token-url", token_url]
    for pid in server_pids:
        cmd += ["--server-pid", str(pid)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=duration * 10 + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"load_token failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    for r in rows:
        r["error_count"] = sum(r.get("errors", {}).values())
    for r in rows:
        log(f"  {label} {mode} c={r.get('concurrency')}: {r.get('ok_per_s', 0):,.0f}/s, "
            f"p50 {r.get('p50_ms', 0):.2f} ms, p99 {r.get('p99_ms', 0):.2f} ms, "
            f"server {r.get('server_cpu_ms_per_req') or 0:.2f} ms/req, errors {r['error_count']}")
    return rows


def pg_backend_pids(conn: Any) -> list[int]:
    return [int(r[0]) for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]


def medians(runs: list[list[dict[str, Any]]]) -> dict[int, dict[str, float]]:
    by_level: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        for row in run:
            by_level.setdefault(int(row["concurrency"]), []).append(row)
    out: dict[int, dict[str, float]] = {}
    for level, rows in sorted(by_level.items()):
        out[level] = {k: statistics.median(float(r.get(k) or 0) for r in rows)
                      for k in ("ok_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_req", "error_count")}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--concurrency", default="1,8,32,64")  # the peer harness's levels
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--name", default="oidc")
    ap.add_argument("--profile", action="store_true",
                    help="py-spy our server through one client_credentials load run at the highest level and "
                         "print where its time goes, then stop (pip install -e '.[profile]')")
    a = ap.parse_args()
    common.bound_time(a.timeout)
    peers = prepare_peers()
    work = common.WORK / f"oidc-{int(time.time())}"
    data_dir = work / "var"
    result: dict[str, Any] = {"benchmark": "oidc", "levels": a.concurrency, "duration_s": a.duration, "reps": a.reps}
    runs: dict[str, list[list[dict[str, Any]]]] = {"peer_token": [], "peer_introspect": [],
                                                   "ours_token": [], "ours_introspect": []}
    with common.pinned() as pin, common.bench_database() as db:
        result["pinning"] = pin
        common.migrate(db, data_dir)
        env = db.egov_env(data_dir)
        conn = db.connect()
        result["machine"] = common.machine_info(conn)
        made = {}
        for label, extra in (("jwt", []), ("opaque", ["--opaque"])):
            proc = common.run_egov(["oidc", "clients", "create", "--name", f"Bench {label}", "--grant",
                                    "client_credentials", "--scope", "api:read", *extra], env, timeout=120)
            fields = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
            made[label] = (fields["client_id"].strip(), fields["client_secret"].strip())
        node_port, our_port = common.free_port(), common.free_port()
        node_env = {**os.environ, "PORT": str(node_port), "ACCESS_TOKEN_ALG": "ES256", "TOKEN_TTL": "300"}
        egov = str(common.VENV_BIN / "egov")

        def serve_ours() -> Any:
            return common.server("egov serve", [egov, "serve", "--host", "127.0.0.1", "--port", str(our_port)],
                                 env, cpu=common.SERVER_CPU, log_path=work / "serve.log",
                                 ready=lambda: common.port_open(our_port))

        if a.profile:
            with serve_ours() as srv:
                top = a.concurrency.split(",")[-1]
                common.profile_server(srv.pid, work / "oidc.pyspy", lambda: load(
                    peers, f"http://127.0.0.1:{our_port}/oidc/token", *made["jwt"], mode="token", levels=top,
                    duration=a.duration, server_pids=[srv.pid], label="ours", out=work / "ours_token.jsonl"))
            return 0
        for rep in range(1, a.reps + 1):
            log(f"rep {rep}/{a.reps}: node oidc-provider")
            with common.server("node oidc-provider", ["node", "server.mjs"], node_env, cpu=common.SERVER_CPU,
                               log_path=work / "node.log", ready=lambda: common.port_open(node_port),
                               cwd=peers / "node-oidc") as srv:
                base = f"http://127.0.0.1:{node_port}"
                runs["peer_token"].append(load(peers, base + "/token", "peer-jwt", "peer-secret", mode="token",
                                               levels=a.concurrency, duration=a.duration, server_pids=[srv.pid],
                                               label="peer", out=work / "peer_token.jsonl"))
                runs["peer_introspect"].append(load(
                    peers, base + "/token/introspection", "peer-opaque", "peer-secret", mode="introspect",
                    levels=a.concurrency, duration=a.duration, server_pids=[srv.pid], label="peer",
                    out=work / "peer_introspect.jsonl", token_url=base + "/token"))
            log(f"rep {rep}/{a.reps}: egov serve")
            with serve_ours() as srv:
                base = f"http://127.0.0.1:{our_port}"
                pids = [srv.pid]
                # PostgreSQL's backends serving this app count as server CPU too: they are on CPU 0.
                runs["ours_token"].append(load(peers, base + "/oidc/token", *made["jwt"], mode="token",
                                               levels=a.concurrency, duration=a.duration,
                                               server_pids=[*pids, common.postmaster_pid()], label="ours",
                                               out=work / "ours_token.jsonl"))
                runs["ours_introspect"].append(load(
                    peers, base + "/oidc/introspect", *made["opaque"], mode="introspect", levels=a.concurrency,
                    duration=a.duration, server_pids=[*pids, common.postmaster_pid()], label="ours",
                    out=work / "ours_introspect.jsonl", token_url=base + "/oidc/token"))
        result["audit_events"] = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        result["tokens_stored"] = conn.execute("SELECT count(*) FROM oidc_tokens").fetchone()[0]
    result["runs"] = runs
    result["median"] = {k: medians(v) for k, v in runs.items()}
    common.write_result(a.name, result)
    print_summary(result)
    return 0


def print_summary(result: dict[str, Any]) -> None:
    m = result["median"]
    print("\n| client_credentials, ES256 JWT | conc | ours tokens/s | peer tokens/s | ratio | ours p99 ms | "
          "peer p99 ms | ours server ms/token | peer server ms/token |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in ("token", "introspect"):
        ours, peer = m[f"ours_{kind}"], m[f"peer_{kind}"]
        for level in sorted(ours):
            o, p = ours[level], peer.get(level, {})
            ratio = common.ratio(o["ok_per_s"], p.get("ok_per_s", 0))
            print(f"| {kind} | {level} | {o['ok_per_s']:,.0f} | {p.get('ok_per_s', 0):,.0f} | **{ratio:.2f}** | "
                  f"{o['p99_ms']:.1f} | {p.get('p99_ms', 0):.1f} | {o['server_cpu_ms_per_req']:.2f} | "
                  f"{p.get('server_cpu_ms_per_req', 0):.2f} |")
    best_ours = max(v["ok_per_s"] for v in m["ours_token"].values())
    best_peer = max(v["ok_per_s"] for v in m["peer_token"].values())
    ratio = common.ratio(best_ours, best_peer)
    print(f"\nclient_credentials best level: ours {best_ours:,.0f}/s vs peer {best_peer:,.0f}/s = {ratio:.2f}x; "
          f"target >= {TARGET_RATIO}: {common.verdict(ratio >= TARGET_RATIO)}")


if __name__ == "__main__":
    sys.exit(main())
