#!/usr/bin/env python3
"""Audit log: sustained appends against plain INSERTs of the same rows; proof times at 10k-1M; verify rate.

1. Appends, same run, same rows, batches of --batch events with one commit per batch:
     ours   `egov.soc.record_event(session, …)` for each event + commit (SQLAlchemy ORM, app role),
            then the sequencer until every event has its leaf index, leaf hash and Merkle nodes.
            Sustained rate = events / (append time + sequencing time), both on the client core.
     peer   psycopg `executemany` INSERT of exactly the rows our first run stored (every column but
            the id) into `bench_plain_events`, created `LIKE audit_events INCLUDING ALL` (same columns,
            defaults and indexes), without leaves, nodes or triggers; one commit per batch.
   Target: ratio ours / peer >= 0.5.
2. Proofs: the log is grown to each of --proof-sizes (default 10k, 100k, 1M events): events loaded
   with COPY (the rows record_event writes), leaves and nodes by the production sequencer; a
   checkpoint is signed at each size; then --proofs inclusion proofs (random leaves) and consistency proofs
   (random older sizes) are generated from the database as the API does, timed one by one, and
   verified (outside the timing) with egov.soc.audit.merkle.verify_*. O(log n): the time per proof
   should grow with log2(n), not n.
3. `egov audit verify` of the whole log (1M events by default), as a subprocess pinned to the client
   CPU: wall time and events/s.

PostgreSQL on CPU 0, this client on CPU 1. Medians of --reps runs.

  .venv/bin/python benchmarks/bench_audit.py [--rows 100000] [--proof-sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import adapters
import common
from common import log

TARGET_RATIO = 0.5
EVENT_TYPES = [
    ("registry:citizen:viewed", "citizen"), ("registry:citizen:searched", "citizen"),
    ("auth:login:succeeded", "account"), ("auth:login:failed", "account"), ("registry:citizen:updated", "citizen"),
    ("portal:application:submitted", "application"), ("signing:document:signed", "document"),
]
AGENCIES = ["000.00.00.H29", "000.00.15.H29", "000.01.15.H29", "000.00.00.H01", "000.00.07.H01"]
PEER_COLUMNS = ("event_id", "occurred_at", "event_type", "outcome", "actor_id", "actor_kind", "actor_name",
                "represented_party", "agency_id", "assurance_level", "source_ip", "request_id", "channel",
                "object_type", "object_id", "details", "leaf_version")


def make_events(n: int, seed: int = 5) -> list[dict[str, Any]]:
    """Realistic audit events (~330 B of details), built before timing as a request would have them."""
    rnd = random.Random(seed)
    base = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        et, ot = rnd.choice(EVENT_TYPES)
        officer = f"{rnd.randrange(10**11, 10**12):012d}"
        out.append({
            "event_type": et,
            "object_type": ot,
            "object_id": f"{rnd.randrange(10**11, 10**12):012d}",
            "outcome": rnd.choice(["success", "success", "success", "failure", "denied"]),
            "actor_id": f"0190{rnd.getrandbits(112):028x}"[:36],
            "actor_name": f"Cán bộ {officer[-4:]} — Nguyễn Văn Bình",
            "actor_kind": "officer",
            "agency_id": rnd.choice(AGENCIES),
            "at": base + timedelta(milliseconds=i),
            "source_ip": f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
            "request_id": f"{rnd.getrandbits(64):016x}",
            "details": {
                "query": rnd.choice(["nguyen van a", "tran thi h", "le van", "pham"]),
                "results": rnd.randrange(0, 21),
                "resource": f"/api/registry/citizens/{rnd.randrange(10**8):08d}",
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64) CongDichVuCong/1.0",
                "reason": "Xem hồ sơ công dân theo yêu cầu của cán bộ một cửa",
                "password": "never stored",  # scrubbed by record_event
            },
        })
    return out


def append_ours(database: Any, events: list[dict[str, Any]], batch: int) -> None:
    """The production path: record_event in the caller's transaction, one commit per batch."""
    from egov.platform.context import RequestContext, use_context
    from egov.soc import record_event

    for i in range(0, len(events), batch):
        session = database.sessions()
        try:
            for e in events[i:i + batch]:
                with use_context(RequestContext(request_id=e["request_id"], source_ip=e["source_ip"], channel="web")):
                    record_event(session, e["event_type"], object_type=e["object_type"], object_id=e["object_id"],
                                 details=e["details"], outcome=e["outcome"], agency_id=e["agency_id"],
                                 actor_id=e["actor_id"], actor_name=e["actor_name"], actor_kind=e["actor_kind"],
                                 at=e["at"])
            session.commit()
        finally:
            session.close()


def fill_copy(database: Any, events: list[dict[str, Any]], chunk: int = 50_000) -> None:
    """Fill the log fast for the proof sizes: the rows record_event would write, loaded with the
    platform's bulk_load (COPY). Only the filling is faster; the production sequencer still builds
    every leaf and node, and the append path itself is what part 1 measures."""
    from egov.platform.db import bulk_load
    from egov.platform.ids import new_id
    from egov.soc.audit.leaf import LEAF_VERSION, canonical_json
    from egov.soc.audit.recorder import scrub
    from egov.soc.models import AuditEvent

    for i in range(0, len(events), chunk):
        rows = [(new_id(), e["at"], e["event_type"], e["outcome"], e["actor_id"], e["actor_kind"], e["actor_name"],
                 None, e["agency_id"], None, e["source_ip"], e["request_id"], "web", e["object_type"],
                 e["object_id"], canonical_json(scrub(e["details"])), LEAF_VERSION)
                for e in events[i:i + chunk]]
        with database.session() as s:
            bulk_load(s, AuditEvent.__table__, PEER_COLUMNS, rows)


def append_peer(dsn: str, rows: list[tuple], batch: int) -> None:
    import psycopg

    sql = (f"INSERT INTO bench_plain_events ({', '.join(PEER_COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(PEER_COLUMNS))})")
    with psycopg.connect(dsn) as c, c.cursor() as cur:
        for i in range(0, len(rows), batch):
            cur.executemany(sql, rows[i:i + batch])
            c.commit()


def audit_counts(conn: Any) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("audit_events", "audit_leaves", "audit_tree_nodes")}


def setup_peer_table(db: common.BenchDatabase, conn: Any) -> None:
    conn.execute("CREATE TABLE bench_plain_events (LIKE audit_events INCLUDING ALL)")
    conn.execute(f'GRANT SELECT, INSERT ON bench_plain_events TO "{db.app_role}"')
    conn.execute(f'GRANT USAGE ON SEQUENCE audit_events_id_seq TO "{db.app_role}"')


def bench_appends(db: common.BenchDatabase, conn: Any, app: Any, a: argparse.Namespace, result: dict[str, Any],
                  *, rows: int, batch: int, key: str) -> None:
    """One append configuration (rows, events per commit): ours and the peer, --reps runs each."""
    events = make_events(rows)
    ours_runs, peer_runs = [], []
    peer_rows: list[tuple] = []
    # One small untimed round of each side first: connections, catalog caches and plans warm.
    warm = events[: max(batch, len(events) // 20)]
    adapters.reset_log(app, conn)
    append_ours(app.database, warm, batch)
    adapters.sequence_all(app)
    append_peer(db.app_dsn, conn.execute(f"SELECT {', '.join(PEER_COLUMNS)} FROM audit_events").fetchall(), batch)
    for rep in range(1, a.reps + 1):
        adapters.reset_log(app, conn)
        common.checkpoint(conn)
        with common.Meter() as m_app:
            append_ours(app.database, events, batch)
        with common.Meter() as m_seq:
            sequenced = adapters.sequence_all(app)
        counts = audit_counts(conn)
        if counts["audit_events"] != rows or counts["audit_leaves"] != rows:
            raise RuntimeError(f"expected {rows} events and leaves, found {counts} (sequenced {sequenced})")
        total = m_app.wall + m_seq.wall
        r = {"append_s": m_app.wall, "sequence_s": m_seq.wall, "append_rows_per_s": rows / m_app.wall,
             "sequence_rows_per_s": rows / m_seq.wall, "rows_per_s": rows / total,
             "client_cpu_s": m_app.client_cpu + m_seq.client_cpu, "server_cpu_s": m_app.server_cpu + m_seq.server_cpu,
             "append_client_cpu_s": m_app.client_cpu, "sequence_client_cpu_s": m_seq.client_cpu,
             "tree_nodes": counts["audit_tree_nodes"], **m_app.noise}
        ours_runs.append(r)
        log(f"[{key}] ours run {rep}: append {m_app.wall:.2f} s ({r['append_rows_per_s']:,.0f}/s) + sequence "
            f"{m_seq.wall:.2f} s ({r['sequence_rows_per_s']:,.0f}/s) = {r['rows_per_s']:,.0f} events/s sustained; "
            f"client CPU {r['client_cpu_s']:.1f} s, server CPU {r['server_cpu_s']:.1f} s")
        if rep == 1:
            peer_rows = conn.execute(f"SELECT {', '.join(PEER_COLUMNS)} FROM audit_events ORDER BY id").fetchall()
            sizes = [len(row[PEER_COLUMNS.index("details")].encode()) for row in peer_rows[:1000]]
            result["details_bytes"] = [min(sizes), max(sizes)]
        common.truncate(conn, ["bench_plain_events"])
        common.checkpoint(conn)
        with common.Meter() as m:
            append_peer(db.app_dsn, peer_rows, batch)
        n = conn.execute("SELECT count(*) FROM bench_plain_events").fetchone()[0]
        if n != rows:
            raise RuntimeError(f"peer stored {n} rows, expected {rows}")
        r = {"seconds": m.wall, "rows_per_s": rows / m.wall, "client_cpu_s": m.client_cpu,
             "server_cpu_s": m.server_cpu, **m.noise}
        peer_runs.append(r)
        log(f"[{key}] peer run {rep}: {m.wall:.2f} s, {r['rows_per_s']:,.0f} rows/s, client CPU {m.client_cpu:.1f} s, "
            f"server CPU {m.server_cpu:.1f} s")
    if a.profile:  # an extra, untimed run of ours under pyinstrument
        adapters.reset_log(app, conn)
        with common.profiled(common.profile_path(a.name, f"{key}-append")):
            append_ours(app.database, events, batch)
        with common.profiled(common.profile_path(a.name, f"{key}-sequence")):
            adapters.sequence_all(app)
    common.truncate(conn, ["bench_plain_events"])
    adapters.reset_log(app, conn)
    ours, peer = common.median_of_runs(ours_runs), common.median_of_runs(peer_runs)
    ratio = common.ratio(ours["rows_per_s"]["median"], peer["rows_per_s"]["median"])
    result[key] = {
        "rows": rows, "batch": batch,
        "ours": {"label": "record_event + commit per batch, then the sequencer (leaves + nodes)",
                 "runs": ours_runs, "median": ours},
        "peer": {"label": "psycopg executemany INSERT, same rows, identical table, commit per batch",
                 "runs": peer_runs, "median": peer},
        "ratio": ratio, "append_only_ratio": common.ratio(ours["append_rows_per_s"]["median"],
                                                          peer["rows_per_s"]["median"]),
        "target_ratio": TARGET_RATIO, "met": ratio >= TARGET_RATIO,
    }


def bench_proofs(db: common.BenchDatabase, conn: Any, app: Any, a: argparse.Namespace,
                 result: dict[str, Any]) -> None:
    from egov.soc.audit.merkle import verify_consistency, verify_inclusion

    sizes = sorted(int(s) for s in a.proof_sizes.split(",") if s)
    adapters.reset_log(app, conn)
    rnd = random.Random(11)
    grown = 0
    chunk_events = make_events(min(100_000, sizes[-1]), seed=9)
    out: list[dict[str, Any]] = []
    grow_s = 0.0
    for size in sizes:
        t0 = time.perf_counter()
        while grown < size:
            k = min(len(chunk_events), size - grown)
            fill_copy(app.database, chunk_events[:k])
            adapters.sequence_all(app)
            grown += k
            log(f"log grown to {grown:,} events")
        grow_s += time.perf_counter() - t0
        adapters.checkpoint(app)  # proofs are served against signed checkpoints
        root = adapters.root(app, size)
        inc_ms, con_ms, inc_len, con_len = [], [], [], []
        for _ in range(a.proofs):
            idx = rnd.randrange(size)
            t0 = time.perf_counter()
            leaf_hash, proof = adapters.inclusion(app, idx, size)
            inc_ms.append((time.perf_counter() - t0) * 1000)
            verify_inclusion(leaf_hash, idx, size, proof, root)
            inc_len.append(len(proof))
            old = rnd.randrange(1, size)
            t0 = time.perf_counter()
            cproof = adapters.consistency(app, old, size)
            con_ms.append((time.perf_counter() - t0) * 1000)
            verify_consistency(old, size, adapters.root(app, old), root, cproof)
            con_len.append(len(cproof))
        row = {"size": size, "log2_n": math.log2(size),
               "inclusion_ms": {"median": statistics.median(inc_ms), "p95": common.pct(sorted(inc_ms), 95)},
               "consistency_ms": {"median": statistics.median(con_ms), "p95": common.pct(sorted(con_ms), 95)},
               "inclusion_hashes": statistics.mean(inc_len), "consistency_hashes": statistics.mean(con_len)}
        out.append(row)
        log(f"proofs at {size:,}: inclusion median {row['inclusion_ms']['median']:.2f} ms "
            f"({row['inclusion_hashes']:.1f} hashes), consistency median {row['consistency_ms']['median']:.2f} ms "
            f"({row['consistency_hashes']:.1f} hashes)")
    result["proofs"] = {"per_size": out, "proofs_per_size": a.proofs, "grow_s": grow_s}
    if len(out) >= 2:
        first, last = out[0], out[-1]
        g = {
            "n_ratio": last["size"] / first["size"], "log2_ratio": last["log2_n"] / first["log2_n"],
            "inclusion_time_ratio": last["inclusion_ms"]["median"] / first["inclusion_ms"]["median"],
            "consistency_time_ratio": last["consistency_ms"]["median"] / first["consistency_ms"]["median"],
        }
        # O(log n): every proof carries about log2(n) hashes (deterministic), and the time per proof
        # grows far less than n (it is dominated by a few database round trips, not by n).
        hashes_ok = all(abs(r["inclusion_hashes"] - r["log2_n"]) <= 1.5 for r in out)
        time_ok = max(g["inclusion_time_ratio"], g["consistency_time_ratio"]) <= max(2.0, g["n_ratio"] ** 0.5)
        g.update(hashes_track_log2_n=hashes_ok, time_sublinear=time_ok, met=hashes_ok and time_ok)
        result["proofs"]["growth"] = g


def bench_verify(db: common.BenchDatabase, conn: Any, app: Any, a: argparse.Namespace,
                 result: dict[str, Any]) -> None:
    n = conn.execute("SELECT count(*) FROM audit_leaves").fetchone()[0]
    adapters.checkpoint(app)
    runs = []
    for rep in range(1, a.verify_reps + 1):
        with common.Meter() as m:
            proc = common.run_egov(["audit", "verify"], app.env, timeout=a.timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"egov audit verify failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        out = proc.stdout + proc.stderr
        inner = re.search(r"in ([\d.]+) s \(([\d,]+) events/s\)", out)
        if "intact" not in out:
            raise RuntimeError(f"egov audit verify did not report an intact log:\n{out}")
        runs.append({"seconds": m.wall, "events_per_s": n / m.wall, "client_cpu_s": m.client_cpu,
                     "server_cpu_s": m.server_cpu,
                     "reported_seconds": float(inner.group(1)) if inner else float("nan"),
                     "reported_events_per_s": float(inner.group(2).replace(",", "")) if inner else float("nan")})
        log(f"egov audit verify of {n:,} events, run {rep}: {m.wall:.1f} s wall incl. start-up = "
            f"{n / m.wall:,.0f} events/s; it reports: {out.strip().splitlines()[-1]}")
    result["verify"] = {"events": n, "runs": runs, "median": common.median_of_runs(runs)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000, help="events per append run")
    ap.add_argument("--batch", type=int, default=1000, help="events per transaction")
    ap.add_argument("--request-rows", type=int, default=3000,
                    help="events for the one-event-per-transaction configuration (0 to skip)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="pyinstrument one extra run of ours into results/profiles/")
    ap.add_argument("--proof-sizes", default="10000,100000,1000000")
    ap.add_argument("--proofs", type=int, default=200, help="proofs of each kind per size")
    ap.add_argument("--verify-reps", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: appends,per-request,proofs,verify")
    ap.add_argument("--timeout", type=float, default=1500)
    ap.add_argument("--no-pin", action="store_true")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--name", default="audit")
    a = ap.parse_args()
    common.bound_time(a.timeout)
    skip = set(a.skip.split(","))
    work = common.WORK / f"audit-{int(time.time())}"
    result: dict[str, Any] = {"benchmark": "audit"}
    try:
        with common.pinned(enabled=not a.no_pin) as pin, common.bench_database(keep=a.keep_db) as db:
            common.migrate(db, work / "var")
            conn = db.connect()
            result["machine"] = common.machine_info(conn)
            result["pinning"] = pin
            app = adapters.App(db, work / "var")
            try:
                setup_peer_table(db, conn)
                if "appends" not in skip:
                    bench_appends(db, conn, app, a, result, rows=a.rows, batch=a.batch, key="appends")
                if "per-request" not in skip and a.request_rows:
                    bench_appends(db, conn, app, a, result, rows=a.request_rows, batch=1, key="appends_per_request")
                if "proofs" not in skip:
                    bench_proofs(db, conn, app, a, result)
                if "verify" not in skip:
                    bench_verify(db, conn, app, a, result)
            finally:
                app.close()
                conn.close()
    finally:
        for p in sorted(work.rglob("*"), reverse=True) if work.exists() else []:
            p.unlink() if p.is_file() or p.is_symlink() else p.rmdir()
        if work.exists():
            work.rmdir()
    common.write_result(a.name, result)
    print_summary(result)
    return 0


def print_summary(result: dict[str, Any]) -> None:
    for key in ("appends", "appends_per_request"):
        ap = result.get(key)
        if not ap:
            continue
        o, p = ap["ours"]["median"], ap["peer"]["median"]
        print(f"\n| {ap['rows']:,} audit events, {ap['batch']}/commit | events/s (median of "
              f"{len(ap['ours']['runs'])}) | client CPU s | server CPU s |")
        print("|---|---:|---:|---:|")
        print(f"| ours: record_event + commit | {o['append_rows_per_s']['median']:,.0f} | "
              f"{o['append_client_cpu_s']['median']:.1f} | |")
        print(f"| ours: sequencer (leaves + nodes) | {o['sequence_rows_per_s']['median']:,.0f} | "
              f"{o['sequence_client_cpu_s']['median']:.1f} | |")
        print(f"| ours: sustained (append + sequence) | {o['rows_per_s']['median']:,.0f} | "
              f"{o['client_cpu_s']['median']:.1f} | {o['server_cpu_s']['median']:.1f} |")
        print(f"| peer: plain executemany INSERT | {p['rows_per_s']['median']:,.0f} | "
              f"{p['client_cpu_s']['median']:.1f} | {p['server_cpu_s']['median']:.1f} |")
        print(f"\nratio sustained ours/peer = {ap['ratio']:.2f} (append only {ap['append_only_ratio']:.2f}); "
              f"target >= {TARGET_RATIO}: {common.verdict(ap['met'])}")
    pr = result.get("proofs")
    if pr:
        print("\n| log size | log2 n | inclusion ms (median / p95) | hashes | consistency ms (median / p95) | hashes |")
        print("|---:|---:|---:|---:|---:|---:|")
        for r in pr["per_size"]:
            print(f"| {r['size']:,} | {r['log2_n']:.1f} | {r['inclusion_ms']['median']:.2f} / "
                  f"{r['inclusion_ms']['p95']:.2f} | {r['inclusion_hashes']:.1f} | "
                  f"{r['consistency_ms']['median']:.2f} / "
                  f"{r['consistency_ms']['p95']:.2f} | {r['consistency_hashes']:.1f} |")
        g = pr.get("growth")
        if g:
            print(f"\nn grew {g['n_ratio']:,.0f}x, log2 n {g['log2_ratio']:.2f}x; inclusion time "
                  f"{g['inclusion_time_ratio']:.2f}x, consistency time {g['consistency_time_ratio']:.2f}x")
    v = result.get("verify")
    if v:
        m = v["median"]
        print(f"\negov audit verify: {v['events']:,} events in {m['seconds']['median']:.1f} s wall (process "
              f"start-up included) = {m['events_per_s']['median']:,.0f} events/s; the command's own figure "
              f"{m['reported_events_per_s']['median']:,.0f} events/s (median of {len(v['runs'])})")


if __name__ == "__main__":
    sys.exit(main())


