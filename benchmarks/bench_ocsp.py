#!/usr/bin/env python3
"""OCSP responses/s on one core: `egov serve` beside `openssl ocsp` as a responder on the same CA data.

CA data: made by our own CA on the production path (PostgreSQL, the application role, the real
file key store): the two-custodian root ceremony and the specialised issuing CA through the CLI,
100 TLS-client certificates, 5 revoked. The peer gets the same data as an `openssl ca` index.txt
(the 100 serials, the 5 revocations with time and reason), the same issuing CA, and its own ECDSA
P-256 OCSP signer certified by our CA (its key must be a PEM file; ours stays in the key store).

Load: ApacheBench (`ab`, C, HTTP/1.0, a new connection per request, as the peer closes each one)
on CPU 1, the server on CPU 0 (ours shares CPU 0 with PostgreSQL), POSTs of one DER OCSP request
(SHA-1 CertID, like openssl's client), -c levels, --duration seconds, --reps runs, medians. Shown:
Ours runs twice: the web app (`egov serve`, the ASGI hot path) and the stand-alone responder
(`egov pki ocsp-serve`, uvloop + httptools, the same OcspResponder).
  no-nonce   the same request bytes each time: we answer from the pre-signed cache (hot path)
  nonce      a request with a nonce: we look the serial up and sign afresh every time
  raw        `cryptography` ECDSA P-256 sign/s on one core: the signing limit for the nonce path
The peer signs every answer either way. `openssl ocsp` (OpenSSL 3.0) listens on every address and
spins forever after a client connects and closes without a request (openssl#23934), so each peer
run gets a fresh responder inside a private network namespace (`unshare -n`, only lo), with ab in
the same namespace, and a real OCSP POST as its readiness probe (see ../shared/peers/anchors).

  .venv/bin/python benchmarks/bench_ocsp.py [--reps 3] [--duration 8] [-c 8,32]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import common
from common import log

TARGET_RATIO = 1.0
LEAVES = 100
REVOKED = (5, 17, 42, 77, 99)


def build_ca(env: dict[str, str], work: Path) -> dict[str, Any]:
    """Root ceremony and issuing CA via the CLI; leaves, revocations and the peer's files in-process."""
    shares = work / "shares"
    shares.mkdir(parents=True, exist_ok=True)
    common.run_egov(["pki", "ceremony", "init", "--share-a-out", str(shares / "a"), "--share-b-out",
                     str(shares / "b")], env, timeout=120)
    common.run_egov(["pki", "ceremony", "certify", "specialised", "--share-a-file", str(shares / "a"),
                     "--share-b-file", str(shares / "b")], env, timeout=120)
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return _populate(work)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _populate(work: Path) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509 import ocsp
    from cryptography.x509.oid import NameOID

    from egov.bootstrap import build_container
    from egov.contexts import load_settings
    from egov.pki import PKI_SYSTEM, ca_service
    from egov.pki.profiles import PROFILES, Profile
    from egov.pki.services import SubjectPlan
    from egov.pki.x509build import vn_name
    from egov.platform.context import RequestContext, use_context
    from egov.platform.ids import request_id
    from egov.registry.services import SYSTEM_PRINCIPAL, create_agency

    container = build_container(load_settings())
    service = ca_service(container)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    csr_pem = csr.public_bytes(serialization.Encoding.PEM)
    peer_key = ec.generate_private_key(ec.SECP256R1())
    with use_context(RequestContext(request_id=request_id(), principal=PKI_SYSTEM, channel="cli")), \
            container.db.session() as s:
        create_agency(s, container.clock, code="000.00.00.H29", name_vi="Ủy ban nhân dân Thành phố Hồ Chí Minh",
                      opened_on=date(2020, 1, 1), by=SYSTEM_PRINCIPAL)
        s.flush()
        leaves = [service.issue(s, profile="tls_client", csr=csr_pem, subject_ref="000.00.00.H29", by=PKI_SYSTEM)
                  for _ in range(LEAVES)]
        s.flush()
        for i in REVOKED:
            service.revoke(s, leaves[i - 1].id, reason="key_compromise", by=PKI_SYSTEM)
        ca = service._ca(s, "specialised")
        plan = SubjectPlan(vn_name((NameOID.COMMON_NAME, "openssl ocsp peer")), "service", "peer", None, [])
        peer_row = service._issue(s, PROFILES[Profile.OCSP_SIGNER], ca, peer_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo), plan, PKI_SYSTEM,
            request_id=None, days=30)
        root_der = service._ca(s, "root").cert_der
        rows = [(c.serial, c.not_after, c.status, c.revoked_at, c.subject) for c in leaves]
        issuer_der = ca.cert_der
        peer_der = peer_row.cert_der
    issuer = x509.load_der_x509_certificate(issuer_der)
    pem = serialization.Encoding.PEM
    ca_dir = work / "ca"
    (ca_dir / "req").mkdir(parents=True, exist_ok=True)
    (ca_dir / "issuer.pem").write_bytes(issuer.public_bytes(pem))
    (ca_dir / "chain.pem").write_bytes(issuer.public_bytes(pem) + x509.load_der_x509_certificate(root_der)
                                       .public_bytes(pem))
    (ca_dir / "peer-ocsp.pem").write_bytes(x509.load_der_x509_certificate(peer_der).public_bytes(pem))
    (ca_dir / "peer-ocsp.key").write_bytes(peer_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    lines = []
    for serial, not_after, status, revoked_at, subject in rows:
        hexs = serial.upper()
        hexs = ("0" + hexs) if len(hexs) % 2 else hexs
        dn = "/" + "/".join(reversed(subject.split(",")))  # display only; openssl ocsp does not read it
        exp = not_after.strftime("%y%m%d%H%M%SZ")
        if status == "revoked":
            lines.append(f"R\t{exp}\t{revoked_at.strftime('%y%m%d%H%M%SZ')},keyCompromise\t{hexs}\tunknown\t{dn}")
        else:
            lines.append(f"V\t{exp}\t\t{hexs}\tunknown\t{dn}")
    (ca_dir / "index.txt").write_text("\n".join(lines) + "\n")
    (ca_dir / "index.txt.attr").write_text("unique_subject = no\n")

    def request(serial: int, nonce: bytes | None = None) -> bytes:
        from egov.pki.ocsp import _issuer_hashes

        b = ocsp.OCSPRequestBuilder().add_certificate_by_hash(*_issuer_hashes(issuer, hashes.SHA1()), serial,
                                                              hashes.SHA1())
        if nonce:
            b = b.add_extension(x509.OCSPNonce(nonce), critical=False)
        return b.build().public_bytes(serialization.Encoding.DER)

    bodies = {
        "good": request(int(rows[0][0], 16)),
        "revoked": request(int(rows[41][0], 16)),
        "unknown": request(int(rows[0][0], 16) ^ 0xFFFF),
        "nonce": request(int(rows[0][0], 16), os.urandom(16)),
    }
    for name, der in bodies.items():
        (ca_dir / "req" / f"{name}.der").write_bytes(der)
    for i, row in ((1, rows[0]), (42, rows[41])):
        (ca_dir / f"leaf{i}.pem").write_bytes(x509.load_der_x509_certificate(
            next(c.cert_der for c in leaves if c.serial == row[0])).public_bytes(pem))
    container.db.dispose()
    return {"dir": str(ca_dir), "leaves": LEAVES, "revoked": len(REVOKED)}


def verify_answers(url: str, ca_dir: Path, label: str) -> dict[str, str]:
    """good / revoked / unknown fetched with curl, checked by `openssl ocsp -respin`."""
    out: dict[str, str] = {}
    for name, cert in (("good", "leaf1.pem"), ("revoked", "leaf42.pem"), ("unknown", None)):
        resp = ca_dir / f"resp-{label}-{name}.der"
        curl = (f"curl -s --max-time 5 --data-binary @{ca_dir}/req/{name}.der "
                f"-H 'Content-Type: application/ocsp-request' {url} -o {resp}")
        subprocess.run(curl, shell=True, check=True, timeout=10)
        args = ["openssl", "ocsp", "-respin", str(resp), "-CAfile", str(ca_dir / "chain.pem"), "-resp_text"]
        if cert:
            args += ["-issuer", str(ca_dir / "issuer.pem"), "-cert", str(ca_dir / cert)]
        text = subprocess.run(args, capture_output=True, text=True, timeout=10)
        joined = text.stdout + text.stderr
        status = re.search(r"Cert Status: (\w+)", joined)
        out[name] = ("verify OK, " if "Response verify OK" in joined else "VERIFY FAILED, ") + (
            status.group(1) if status else "?")
    log(f"  {label} answers: {out}")
    return out


AB_RE = {
    "rps": re.compile(r"Requests per second:\s+([\d.]+)"),
    "complete": re.compile(r"Complete requests:\s+(\d+)"),
    "failed": re.compile(r"Failed requests:\s+(\d+)"),
    "non2xx": re.compile(r"Non-2xx responses:\s+(\d+)"),
    "p50": re.compile(r"\s50%\s+(\d+)"),
    "p99": re.compile(r"\s99%\s+(\d+)"),
    "exceptions": re.compile(r"Exceptions: (\d+)"),
    "length": re.compile(r"Length: (\d+)"),
    "body_bytes": re.compile(r"HTML transferred:\s+(\d+)"),
}


def parse_ab(text: str) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for k, rx in AB_RE.items():
        m = rx.search(text)
        row[k] = float(m.group(1)) if m else 0.0
    # ab counts a response whose length differs from the first as "failed (Length)"; ECDSA signatures
    # vary by a byte or two, so those are not errors. Connect/receive/exception failures are.
    row["errors"] = row["non2xx"] + row["exceptions"]
    # A full ECDSA answer with the signer certificate is ~900-1,000 bytes; an error answer is 5.
    row["bytes_per_response"] = row["body_bytes"] / row["complete"] if row["complete"] else 0.0
    return row


def ab_cmd(url: str, body: Path, c: int, duration: float, keepalive: bool = False) -> str:
    return (f"taskset -c {common.CLIENT_CPU} ab -q -s 10 -t {duration} -n 5000000 -c {c} -p {body} "
            f"{'-k ' if keepalive else ''}-T application/ocsp-request {url}")


def run_peer(ca_dir: Path, body: Path, c: int, duration: float, port: int) -> dict[str, Any]:
    """One fresh `openssl ocsp` responder in a private network namespace, loaded by ab in the same one."""
    url = f"http://127.0.0.1:{port}/"
    probe = (f"curl -s --max-time 2 --data-binary @{ca_dir}/req/good.der "
             f"-H 'Content-Type: application/ocsp-request' {url} -o /dev/null")
    script = f"""
set -e
ip link set lo up
cd {shlex.quote(str(ca_dir))}
taskset -c {common.SERVER_CPU} openssl ocsp -index index.txt -port {port} -rsigner peer-ocsp.pem \\
  -rkey peer-ocsp.key -CA issuer.pem -nmin 60 > peer.log 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
for i in $(seq 50); do {probe} && break; sleep 0.1; done
for r in good revoked unknown; do
  curl -s --max-time 5 --data-binary @req/$r.der -H 'Content-Type: application/ocsp-request' {url} \\
    -o resp-peer-$r.der
done
{ab_cmd(url, body, c, duration)}
"""
    proc = subprocess.run(["unshare", "-n", "bash", "-c", script], capture_output=True, text=True,
                          timeout=duration + 60)
    if proc.returncode != 0 and "Requests per second" not in proc.stdout:
        raise RuntimeError(f"peer run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return parse_ab(proc.stdout)


def raw_sign_rate(seconds: float = 2.0) -> float:
    """cryptography ECDSA P-256 sign/s, one process pinned to the server CPU."""
    code = ("import time\nfrom cryptography.hazmat.primitives import hashes\n"
            "from cryptography.hazmat.primitives.asymmetric import ec\n"
            "k=ec.generate_private_key(ec.SECP256R1());a=ec.ECDSA(hashes.SHA256());m=b'm'*300\n"
            "for _ in range(200): k.sign(m,a)\n"
            f"n=0;t0=time.perf_counter();end=t0+{seconds}\n"
            "while True:\n for _ in range(100): k.sign(m,a)\n n+=100\n t=time.perf_counter()\n"
            " if t>=end: break\nprint(n/(t-t0))")
    out = subprocess.run(["taskset", "-c", str(common.SERVER_CPU), sys.executable, "-c", code],
                         capture_output=True, text=True, timeout=seconds + 30, check=True)
    return float(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("-c", "--concurrency", default="8,32")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--name", default="ocsp")
    a = ap.parse_args()
    common.bound_time(a.timeout)
    levels = [int(x) for x in a.concurrency.split(",")]
    work = common.WORK / f"ocsp-{int(time.time())}"
    data_dir = work / "var"
    result: dict[str, Any] = {"benchmark": "ocsp", "levels": levels, "duration_s": a.duration, "reps": a.reps,
                              "generator": "ab (HTTP/1.0, new connection per request)"}
    series = ("peer_no_nonce", "peer_nonce", "ours_no_nonce", "ours_nonce", "ours_no_nonce_keepalive",
              "va_no_nonce", "va_nonce", "va_no_nonce_keepalive")
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {s: {c: [] for c in levels} for s in series}
    with common.pinned() as pin, common.bench_database() as db:
        result["pinning"] = pin
        common.migrate(db, data_dir)
        env = db.egov_env(data_dir)
        conn = db.connect()
        result["machine"] = common.machine_info(conn)
        log("building the CA (ceremony via the CLI, 100 leaves, 5 revoked)")
        result["ca"] = build_ca(env, work)
        ca_dir = Path(result["ca"]["dir"])
        port, peer_port = common.free_port(), common.free_port()
        egov = str(common.VENV_BIN / "egov")
        for rep in range(1, a.reps + 1):
            for c in levels:
                for kind, body in (("no_nonce", "good"), ("nonce", "nonce")):
                    row = run_peer(ca_dir, ca_dir / "req" / f"{body}.der", c, a.duration, peer_port)
                    runs[f"peer_{kind}"][c].append(row)
                    log(f"rep {rep} peer {kind} c={c}: {row['rps']:,.0f}/s (errors {row['errors']:.0f}, "
                        f"{row['bytes_per_response']:.0f} B/answer)")
            # ours twice: the web app (`egov serve`, its ASGI hot path) and the stand-alone responder
            # (`egov pki ocsp-serve`), each alone on the server CPU
            va_port = common.free_port()
            for prefix, name, argv, srv_port in (
                    ("ours", "egov serve", [egov, "serve", "--host", "127.0.0.1", "--port", str(port)], port),
                    ("va", "egov pki ocsp-serve", [egov, "pki", "ocsp-serve", "--host", "127.0.0.1",
                                                   "--port", str(va_port)], va_port)):
                srv_url = f"http://127.0.0.1:{srv_port}/pki/ocsp"
                with common.server(name, argv, env, cpu=common.SERVER_CPU, log_path=work / f"{prefix}.log",
                                   ready=lambda p=srv_port: common.port_open(p)) as _srv:
                    if rep == 1:
                        result[f"{prefix}_answers"] = verify_answers(srv_url, ca_dir, prefix)
                    for c in levels:
                        for kind, body, keep in (("no_nonce", "good", False), ("nonce", "nonce", False),
                                                 ("no_nonce_keepalive", "good", True)):
                            proc = subprocess.run(ab_cmd(srv_url, ca_dir / "req" / f"{body}.der", c, a.duration,
                                                         keep), shell=True, capture_output=True, text=True,
                                                  timeout=a.duration + 60)
                            row = parse_ab(proc.stdout)
                            runs[f"{prefix}_{kind}"][c].append(row)
                            log(f"rep {rep} {prefix} {kind} c={c}: {row['rps']:,.0f}/s (errors "
                                f"{row['errors']:.0f}, {row['bytes_per_response']:.0f} B/answer)")
        result["peer_answers"] = {}
        for name in ("good", "revoked", "unknown"):
            resp = ca_dir / f"resp-peer-{name}.der"
            args = ["openssl", "ocsp", "-respin", str(resp), "-CAfile", str(ca_dir / "chain.pem"), "-resp_text"]
            text = subprocess.run(args, capture_output=True, text=True, timeout=10)
            m = re.search(r"Cert Status: (\w+)", text.stdout)
            result["peer_answers"][name] = ("verify OK, " if "Response verify OK" in text.stdout + text.stderr
                                            else "VERIFY FAILED, ") + (m.group(1) if m else "?")
        log(f"  peer answers: {result['peer_answers']}")
        result["audit_events"] = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    rates = [raw_sign_rate() for _ in range(3)]
    result["raw_ecdsa_p256_sign_per_s"] = {"runs": rates, "median": statistics.median(rates)}
    result["runs"] = {s: {str(c): v for c, v in by.items()} for s, by in runs.items()}
    result["median_rps"] = {s: {str(c): statistics.median(r["rps"] for r in v) for c, v in by.items()}
                            for s, by in runs.items()}
    result["ratio"] = {kind: {str(c): result["median_rps"][f"ours_{kind}"][str(c)]
                              / max(result["median_rps"][f"peer_{kind}"][str(c)], 1e-9) for c in levels}
                       for kind in ("no_nonce", "nonce")}
    # the stand-alone responder against the peer, and within each rep (the runs of one rep are minutes
    # apart at most, so a ratio within a rep is less exposed to a shared machine's drift)
    result["ratio_standalone"] = {kind: {str(c): result["median_rps"][f"va_{kind}"][str(c)]
                                         / max(result["median_rps"][f"peer_{kind}"][str(c)], 1e-9) for c in levels}
                                  for kind in ("no_nonce", "nonce")}
    result["target_ratio"] = TARGET_RATIO
    result["when_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    common.write_result(a.name, result)
    print_summary(result, levels)
    return 0


def print_summary(result: dict[str, Any], levels: list[int]) -> None:
    m = result["median_rps"]
    print("\n| request | c | ours responses/s | openssl ocsp responses/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for prefix, where in (("va", "stand-alone responder"), ("ours", "web app hot path")):
        for kind, label in (("no_nonce", "no nonce (ours pre-signed)"), ("nonce", "nonce (signed each time)")):
            for c in levels:
                o, p = m[f"{prefix}_{kind}"][str(c)], m[f"peer_{kind}"][str(c)]
                print(f"| {where}: {label} | {c} | {o:,.0f} | {p:,.0f} | {o / max(p, 1e-9):.2f}x |")
        for c in levels:
            o = m[f"{prefix}_no_nonce_keepalive"][str(c)]
            print(f"| {where}: no nonce, HTTP keep-alive (openssl ocsp closes every connection) | {c} | "
                  f"{o:,.0f} | - | - |")
    raw = result["raw_ecdsa_p256_sign_per_s"]["median"]
    print(f"\nraw limit: cryptography ECDSA P-256 sign {raw:,.0f}/s on one core; "
          f"answers ours {result.get('ours_answers')}, peer {result.get('peer_answers')}")


if __name__ == "__main__":
    sys.exit(main())
