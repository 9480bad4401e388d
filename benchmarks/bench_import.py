#!/usr/bin/env python3
"""Citizen import into PostgreSQL (validation + audit) against `psql \\copy` of the same rows into the same tables.

Both sides, in the same run and the same database, starting each run from empty tables
(TRUNCATE + CHECKPOINT) and loading exactly the same rows:

  ours   `egov.registry.CitizenImporter(session, clock).import_rows(<CSV file>)` then commit, in
         this process as the application role: parse the CSV, validate every row (personal ID
         structure against birth date and sex, name rules), fold the names for search, write
         every table the importer fills (citizens and their name-word rows) and its audit
         event(s), one transaction.
  peer   `psql -1 -c '\\copy <table> FROM <csv>'` for each of those tables, in one transaction,
         as the owner, from CSV files holding exactly the rows our first run wrote (dumped with
         COPY TO): the same tables with the same indexes, constraints and triggers, minus the
         validation, the name folding and the audit event. That is the physical limit of a bulk
         load on this machine.

PostgreSQL runs on CPU 0, this client (and psql) on CPU 1. Figures: rows/s (citizens per
second), client and server CPU seconds, WAL written; median of --reps runs; ratio ours / peer.
Target (issue "Foundation"): ratio >= 0.5 at 1,000,000 rows.

  .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--reps 3] [--timeout 1500]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import adapters
import common
from common import log

TARGET_RATIO = 0.5
# The citizen CSV header the importer reads; mapped from citizens_data.Citizen fields.
CSV_COLUMNS = {
    "personal_id": "personal_id",
    "full_name": "full_name",
    "birth_date": "birth_date",
    "sex": "sex",
    "managing_agency_code": "managing_agency_code",
}


def csv_columns(agency_column: bool) -> dict[str, str]:
    """The CSV header → Citizen field map. Without the agency column every row takes the import's
    default agency (the province) instead of one of its 24 district units."""
    return {k: v for k, v in CSV_COLUMNS.items() if agency_column or k != "managing_agency_code"}


def table_counts(conn: Any, tables: list[str]) -> dict[str, int]:
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def fk_order(conn: Any, tables: list[str]) -> list[str]:
    """Parents before children, so COPY into the peer's tables satisfies foreign keys."""
    deps = {t: set() for t in tables}
    for child, parent in conn.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c WHERE c.contype = 'f'"
    ).fetchall():
        child, parent = child.strip('"'), parent.strip('"')
        if child in deps and parent in deps and child != parent:
            deps[child].add(parent)
    out: list[str] = []
    while deps:
        ready = sorted(t for t, d in deps.items() if not d - set(out))
        if not ready:
            raise RuntimeError(f"foreign-key cycle among {sorted(deps)}")
        out += ready
        for t in ready:
            del deps[t]
    return out


def run_ours(db: common.BenchDatabase, csv_path: Path, agency_column: bool) -> Any:
    import citizens_data

    default = None if agency_column else citizens_data.PROVINCE_AGENCY[0]
    return adapters.import_citizens(db, csv_path, default_agency_code=default)


def dump_tables(conn: Any, tables: list[str], out_dir: Path) -> dict[str, Path]:
    """COPY each table's rows (all columns) to a CSV: the peer loads exactly what our import wrote."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for t in tables:
        p = out_dir / f"{t}.csv"
        with open(p, "wb") as f, conn.cursor().copy(f'COPY "{t}" TO STDOUT (FORMAT csv)') as cp:
            for chunk in cp:
                f.write(chunk)
        paths[t] = p
    return paths


def run_peer(db: common.BenchDatabase, files: dict[str, Path], order: list[str], timeout: float) -> None:
    cmd = ["taskset", "-c", str(common.CLIENT_CPU), "psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1",
           db.owner_dsn]
    for t in order:
        cmd += ["-c", f"\\copy \"{t}\" FROM '{files[t].resolve()}' WITH (FORMAT csv)"]
    subprocess.run(cmd, check=True, timeout=timeout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1500, help="stop (cleaning up) after this many seconds")
    ap.add_argument("--no-pin", action="store_true", help="do not pin PostgreSQL and the client to CPUs")
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--profile", action="store_true", help="pyinstrument one extra run into results/profiles/")
    ap.add_argument("--no-agency-column", dest="agency_column", action="store_false",
                    help="leave managing_agency_code out of the CSV (every citizen in the province's default agency)")
    ap.add_argument("--name", default="import", help="result file benchmarks/results/<name>.json")
    a = ap.parse_args()
    common.bound_time(a.timeout)
    import citizens_data

    work = common.WORK / f"import-{int(time.time())}"
    csv_path = work / "citizens.csv"
    t0 = time.perf_counter()
    cols = csv_columns(a.agency_column)
    n = citizens_data.write_csv(csv_path, citizens_data.generate(a.rows), list(cols), list(cols.values()))
    log(f"generated {n:,} citizens into {csv_path.name} ({csv_path.stat().st_size / 1e6:.1f} MB) in "
        f"{time.perf_counter() - t0:.1f} s")

    result: dict[str, Any] = {"benchmark": "import", "rows": a.rows, "reps": a.reps,
                              "csv_mb": csv_path.stat().st_size / 1e6, "csv_columns": list(cols)}
    try:
        with common.pinned(enabled=not a.no_pin) as pin, common.bench_database(keep=a.keep_db) as db:
            common.migrate(db, work / "var")
            conn = db.connect()
            result["machine"] = common.machine_info(conn)
            result["pinning"] = pin
            app = adapters.App(db, work / "var")
            try:
                agencies = adapters.create_agencies(app)
            finally:
                app.close()
            log(f"created {len(agencies)} agencies (the managing agencies of the citizens)")
            all_tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            ).fetchall()]
            audit = [t for t in all_tables if t.startswith("audit_")]
            common.truncate(conn, audit)
            before = table_counts(conn, all_tables)
            ours_runs: list[dict[str, Any]] = []
            peer_runs: list[dict[str, Any]] = []
            written: list[str] = []  # business tables our import fills (found on the first run)
            files: dict[str, Path] = {}
            for rep in range(1, a.reps + 1):
                # --- ours
                common.truncate(conn, written + audit)
                common.checkpoint(conn)
                w0 = common.wal_lsn(conn)
                with common.Meter() as m:
                    report = run_ours(db, csv_path, a.agency_column)
                wal = (common.wal_lsn(conn) - w0) / 1e6
                counts = table_counts(conn, all_tables)
                delta = {t: counts[t] - before[t] for t in all_tables if counts[t] != before[t]}
                if rep == 1:
                    written = fk_order(conn, [t for t in delta if t not in audit])
                    files = dump_tables(conn, written, work / "peer")
                    result["tables_written_by_import"] = delta
                    result["report"] = repr(report)[:1000]
                    log(f"our import wrote {delta}; the peer loads {written}")
                if delta.get("citizens") != a.rows:
                    raise RuntimeError(f"import stored {delta.get('citizens')} citizens, expected {a.rows}: {report!r}")
                r = {"seconds": m.wall, "rows_per_s": a.rows / m.wall, "client_cpu_s": m.client_cpu,
                     "server_cpu_s": m.server_cpu, "wal_mb": wal, **m.noise,
                     "audit_events": sum(v for t, v in delta.items() if t == "audit_events")}
                ours_runs.append(r)
                log(f"ours run {rep}: {m.wall:.2f} s, {r['rows_per_s']:,.0f} rows/s, client CPU {m.client_cpu:.1f} s, "
                    f"server CPU {m.server_cpu:.1f} s, WAL {wal:.0f} MB, audit events {r['audit_events']}")
                # --- peer
                common.truncate(conn, written + audit)
                common.checkpoint(conn)
                w0 = common.wal_lsn(conn)
                with common.Meter() as m:
                    run_peer(db, files, written, timeout=a.timeout)
                wal = (common.wal_lsn(conn) - w0) / 1e6
                pcounts = table_counts(conn, written)
                if any(pcounts[t] != counts[t] for t in written):
                    raise RuntimeError(f"peer loaded {pcounts}, ours {counts}")
                r = {"seconds": m.wall, "rows_per_s": a.rows / m.wall, "client_cpu_s": m.client_cpu,
                     "server_cpu_s": m.server_cpu, "wal_mb": wal, **m.noise}
                peer_runs.append(r)
                log(f"peer run {rep}: {m.wall:.2f} s, {r['rows_per_s']:,.0f} rows/s, client CPU {m.client_cpu:.1f} s, "
                    f"server CPU {m.server_cpu:.1f} s, WAL {wal:.0f} MB")
            if a.profile:  # one extra, untimed run of ours under pyinstrument
                common.truncate(conn, written + audit)
                with common.profiled(common.profile_path(a.name, "import")):
                    run_ours(db, csv_path, a.agency_column)
            sizes = dict(conn.execute(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'").fetchall())
            result["table_mb"] = {t: sizes[t] / 1e6 for t in written}
            result["indexes"] = {t: [r[0] for r in conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", (t,)).fetchall()]
                for t in written}
            conn.close()
    finally:
        for p in sorted(work.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        if work.exists():
            work.rmdir()

    ours, peer = common.median_of_runs(ours_runs), common.median_of_runs(peer_runs)
    ratio = common.ratio(ours["rows_per_s"]["median"], peer["rows_per_s"]["median"])
    result.update({
        "ours": {"label": "egov.registry CitizenImporter (validation + name keys + audit), one transaction",
                 "runs": ours_runs, "median": ours},
        "peer": {"label": "psql -1 \\copy of the same rows into the same tables", "runs": peer_runs,
                 "median": peer},
        "ratio": ratio, "target_ratio": TARGET_RATIO, "met": ratio >= TARGET_RATIO,
    })
    common.write_result(a.name, result)
    print(f"\n| {a.rows:,} citizens | rows/s (median of {a.reps}) | client CPU s | server CPU s | WAL MB |")
    print("|---|---:|---:|---:|---:|")
    for lab, s in (("ours: CitizenImporter", ours), ("peer: psql \\copy", peer)):
        print(f"| {lab} | {s['rows_per_s']['median']:,.0f} | {s['client_cpu_s']['median']:.1f} | "
              f"{s['server_cpu_s']['median']:.1f} | {s['wal_mb']['median']:.0f} |")
    print(f"\nratio ours/peer = {ratio:.2f} (target >= {TARGET_RATIO}): {common.verdict(ratio >= TARGET_RATIO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
