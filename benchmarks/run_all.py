#!/usr/bin/env python3
"""`make bench`: the Foundation benchmarks (import, name search, audit) and the identity ones (OIDC
token endpoint beside node oidc-provider, password sign-in beside raw Argon2id) in turn, then a
markdown table of the Foundation figures and ratios.

Each benchmark runs as its own process with its own time bound (it creates and drops its own
database, pins PostgreSQL to CPU 0 and itself to CPU 1, and stops every server it started);
this script only starts them one after another and reads their JSON results back from
benchmarks/results/. The table goes to stdout and to benchmarks/results/summary.md.

  .venv/bin/python benchmarks/run_all.py                 # full: 1M citizens, 1M audit events (~25 min)
  .venv/bin/python benchmarks/run_all.py --rows 100000   # quick: 100k citizens, proofs up to 100k
  .venv/bin/python benchmarks/run_all.py --only import,audit
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def run(script: str, args: list[str], timeout: float) -> int:
    cmd = [sys.executable, str(HERE / script), *args, "--timeout", str(int(timeout))]
    print(f"\n=== {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    try:
        # The child bounds itself (--timeout) and cleans up; the extra minute here is only a backstop.
        rc = subprocess.run(cmd, timeout=timeout + 60).returncode
    except subprocess.TimeoutExpired:
        rc = 124
    print(f"=== {script}: exit {rc} after {time.perf_counter() - t0:.0f} s", flush=True)
    return rc


def load(name: str) -> dict[str, Any] | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None


def fmt(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def med(d: dict[str, Any], k: str) -> float:
    return float(d[k]["median"])


def summary(names: dict[str, str], started: float) -> str:
    out: list[str] = []
    machine: dict[str, Any] = {}
    rows: list[str] = []
    notes: list[str] = []
    imp, srch, aud = load(names["import"]), load(names["search"]), load(names["audit"])
    for r in (imp, srch, aud):
        if r and not machine:
            machine = r.get("machine", {})
    if imp:
        o, p = imp["ours"]["median"], imp["peer"]["median"]
        rows.append(f"| Import {imp['rows']:,} citizens (validation, name keys, audit) | rows/s | "
                    f"{fmt(med(o, 'rows_per_s'))} | psql `\\copy` of the same rows into the same tables: "
                    f"{fmt(med(p, 'rows_per_s'))} | **{imp['ratio']:.2f}** | ≥ 0.5 | {verdict(imp['met'])} |")
    if srch:
        sets = srch["sets"]
        n1, i1 = sets.get("name_c1", {}).get("median"), sets.get("by_id_c1", {}).get("median")
        runs1 = sets.get("name_c1", {}).get("runs", [])
        sent = [r["n"] for r in runs1 if r.get("of") and r["n"] < r["of"]]
        if sent:
            notes.append(f"Name search at c=1: the slow runs stopped at their time limit after {min(sent):,}–"
                         f"{max(sent):,} of {runs1[0]['of']:,} requests; percentiles are over the requests sent "
                         "(the query list is a fixed random mix, so its head is representative).")
        if n1 and i1:
            rows.append(f"| Name search over {srch['rows']:,} citizens, API, c=1 | p95 ms | "
                        f"{med(n1, 'p95_ms'):.2f} (p50 {med(n1, 'p50_ms'):.2f}, p99 {med(n1, 'p99_ms'):.2f}, "
                        f"{fmt(med(n1, 'req_per_s'))} req/s) | exact-ID lookup, same run: p95 {med(i1, 'p95_ms'):.2f} "
                        f"(p50 {med(i1, 'p50_ms'):.2f}, {fmt(med(i1, 'req_per_s'))} req/s) | "
                        f"**{srch['ratio_name_to_id_p95']:.2f}** (name/ID p95) | p95 < 20 ms | "
                        f"{verdict(srch['met'])} |")
        n8, i8 = sets.get("name_c8", {}).get("median"), sets.get("by_id_c8", {}).get("median")
        if n8 and i8:
            rows.append(f"| Name search, API, c=8 | req/s | {fmt(med(n8, 'req_per_s'))} "
                        f"(p95 {med(n8, 'p95_ms'):.1f} ms) "
                        f"| exact-ID: {fmt(med(i8, 'req_per_s'))} (p95 {med(i8, 'p95_ms'):.1f} ms) | "
                        f"{med(n8, 'req_per_s') / med(i8, 'req_per_s'):.2f} | — | — |")
    if aud:
        for key, lab in (("appends", "per batch"), ("appends_per_request", "per event")):
            ap = aud.get(key)
            if ap:
                o, p = ap["ours"]["median"], ap["peer"]["median"]
                rows.append(f"| Audit appends, {ap['rows']:,} events, commit {lab} ({ap['batch']}) | events/s | "
                            f"{fmt(med(o, 'rows_per_s'))} sustained (append {fmt(med(o, 'append_rows_per_s'))}, "
                            f"sequencer {fmt(med(o, 'sequence_rows_per_s'))}) | plain executemany INSERT: "
                            f"{fmt(med(p, 'rows_per_s'))} | **{ap['ratio']:.2f}** | ≥ 0.5 | {verdict(ap['met'])} |")
        pr = aud.get("proofs")
        if pr:
            cells = ", ".join(f"{r['size']:,}: {r['inclusion_ms']['median']:.2f} / {r['consistency_ms']['median']:.2f}"
                              for r in pr["per_size"])
            g = pr.get("growth")
            grow = (f"n ×{g['n_ratio']:,.0f}, log₂n ×{g['log2_ratio']:.2f}, time ×{g['inclusion_time_ratio']:.2f} / "
                    f"×{g['consistency_time_ratio']:.2f}") if g else ""
            ok = bool(g) and bool(g.get("met"))
            rows.append(f"| Proofs (inclusion / consistency), median ms | ms | {cells} | {grow} | — | O(log n) | "
                        f"{verdict(ok) if g else '—'} |")
        v = aud.get("verify")
        if v:
            m = v["median"]
            own = f", {fmt(med(m, 'reported_events_per_s'))} by its own clock" if "reported_events_per_s" in m else ""
            rows.append(f"| `egov audit verify` of {v['events']:,} events | events/s | "
                        f"{fmt(med(m, 'events_per_s'))} ({med(m, 'seconds'):.1f} s wall with start-up{own}) | — | — | "
                        f"reported | — |")
    out.append(f"# Benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}\n")
    out.append(f"Machine: {machine.get('cpu_model', '?')}, {machine.get('cpus', '?')} CPUs, "
               f"{machine.get('mem_gb', '?')} GB; {str(machine.get('postgres', '?')).split(' on ')[0]}; "
               f"Python {machine.get('python', '?')}; git {machine.get('git', '?')}. PostgreSQL pinned to CPU 0, "
               "clients to CPU 1 (the app server and worker beside PostgreSQL on CPU 0). "
               "Every figure is the median of 3 runs; ours and the peer/limit ran in the same run.\n")
    out.append("| benchmark | unit | ours | peer / limit (same run) | ratio | target | result |")
    out.append("|---|---|---|---|---:|---|---|")
    out += rows
    noisy = [r.get("benchmark", "?") for r in (imp, srch, aud) if r and _noisy(r)]
    if noisy:
        notes.append("Other work ran on the shared PostgreSQL server / CPUs during some runs of: "
                     + ", ".join(noisy) + " (`load1`, `other_active_backends` in the JSON); compare ratios.")
    out += [f"\n{n}" for n in notes]
    out.append("\nRaw runs (min / median / max, CPU, WAL, plans): `benchmarks/results/*.json`; "
               "profiles: `benchmarks/results/profiles/`.")
    return "\n".join(out) + "\n"


def _noisy(result: dict[str, Any]) -> bool:
    """True if any run saw other active backends or a load average above the 2 cores."""
    found = False

    def walk(x: Any) -> None:
        nonlocal found
        if isinstance(x, dict):
            busy, load = x.get("other_active_backends", 0), x.get("load1", 0)
            if isinstance(busy, int | float) and isinstance(load, int | float) and (busy > 0 or load > 2.5):
                found = True
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    for key in ("ours", "peer", "sets", "appends", "appends_per_request"):
        walk(result.get(key))
    return found


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="citizens for import and name search")
    ap.add_argument("--audit-rows", type=int, default=100_000, help="events per audit append run")
    ap.add_argument("--proof-sizes", default=None,
                    help="audit log sizes for proofs (default 10000,100000,1000000; up to 100000 when --rows < 1M)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="import,search,audit,oidc,password,signing",
                    help="comma list of: import, search, audit (foundation), oidc, password (identity), signing")
    ap.add_argument("--profile", action="store_true", help="also write profiles to results/profiles/")
    ap.add_argument("--summary-only", action="store_true", help="only rebuild results/summary.md from the JSON")
    a = ap.parse_args()
    started = time.time()
    names = {"import": "import", "search": "name_search", "audit": "audit"}
    if a.summary_only:
        text = summary(names, min((RESULTS / f"{n}.json").stat().st_mtime for n in names.values()
                                  if (RESULTS / f"{n}.json").exists()))
        (RESULTS / "summary.md").write_text(text, encoding="utf-8")
        print(text)
        return 0
    only = set(a.only.split(","))
    sizes = a.proof_sizes or ("10000,100000,1000000" if a.rows >= 1_000_000 else "10000,100000")
    common = ["--reps", str(a.reps)] + (["--profile"] if a.profile else [])
    rcs = {}
    if "import" in only:
        rcs["import"] = run("bench_import.py", ["--rows", str(a.rows), *common], timeout=1200)
    if "search" in only:
        rcs["search"] = run("bench_name_search.py", ["--rows", str(a.rows), *common], timeout=900)
    if "audit" in only:
        rcs["audit"] = run("bench_audit.py", ["--rows", str(a.audit_rows), "--proof-sizes", sizes, *common],
                           timeout=1200)
    # Identity: tables printed by the scripts themselves (results/oidc.json, results/password.json).
    if "oidc" in only:
        rcs["oidc"] = run("bench_oidc.py", ["--reps", str(a.reps)], timeout=1800)
    if "oidc" in only:
        rcs["oidc_flow"] = run("bench_oidc_flow.py", ["--reps", str(a.reps)], timeout=900)
    if "password" in only:
        rcs["password"] = run("bench_password.py", ["--reps", str(a.reps)], timeout=900)
    if "signing" in only:  # table printed by the script (results/signing.json)
        rcs["signing"] = run("bench_signing.py", ["--reps", str(a.reps)], timeout=900)
    text = summary(names, started)
    if any(rcs.values()):
        text += "\nFailed this run (older results may be shown above): " + ", ".join(
            f"{k} (exit {v})" for k, v in rcs.items() if v) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.md").write_text(text, encoding="utf-8")
    print("\n" + text)
    return 1 if any(rcs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
