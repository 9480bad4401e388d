#!/usr/bin/env python3
"""PAdES B-T and XAdES signing through the signing service (audit on, PostgreSQL, FileKeyStore key)
beside the best plain pyHanko / signxml script doing the same work, in the same run.

Set-up: a fresh PostgreSQL database migrated with `egov db upgrade`; an ECDSA P-256 officer key in a
real FileKeyStore (scrypt-encrypted on disk, unlocked once), its certificate from the test PKI
(tests/factories/certs.py, the stand-in for the pki context's CA), registered as a signing identity.
Both sides time-stamp with the same in-process RFC 3161 TSA (pyHanko's DummyTimeStamper with its RSA
key loaded once, so the TSA is not what is measured).

  ours (library): SigningService.sign_now(identity, "pdf", doc, level="B-T", visible=False): the
                  signature row and its audit event durable before it returns (one statement on
                  PostgreSQL); beside it `sign` inside a caller's unit of work (BEGIN, two INSERTs, COMMIT).
  peer (plain):   pyhanko PdfSigner + SimpleSigner (key object loaded once), bytes_reserved, same TSA.
  XML:            SigningService.sign_now(..., "xml", level="B-B") vs signxml XAdESSigner with a loaded key.
  HTTP:           POST /api/signing/seal through the whole ASGI app in-process (session cookie, CSRF,
                  multipart, permission, audit, commit), one request at a time: the PDF with the
                  visible seal at B-T, the XML at B-B.
  raw:            cryptography ECDSA P-256 sign/s.

Targets: PAdES B-T and XML >= 0.9x the plain script. Medians of 3 runs.

  .venv/bin/python benchmarks/bench_signing.py [--seconds 4] [--reps 3]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import common
from common import log

sys.path.insert(0, str(common.ROOT))  # tests.factories: the test PKI

TARGET = 0.9
BATCH = 50  # documents per transaction in the batch figures


def rate(fn: Callable[[], object], seconds: float, per_call: int = 1) -> float:
    """Documents per second: `fn` signs `per_call` documents."""
    fn()  # warm
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += per_call
    return n / (time.perf_counter() - t0)


def rate_threads(fn: Callable[[], object], seconds: float, threads: int) -> float:
    """Documents per second with `threads` callers at once (a web server's concurrent requests):
    the database round trips of one overlap the signing of another."""
    import threading

    fn()
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(i: int) -> None:
        while time.perf_counter() < stop:
            fn()
            counts[i] += 1

    t0 = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def per_rep_ratios(runs: dict[str, list[float]]) -> dict[str, float]:
    suffixes = ("", "uow", "batch50", "4threads")
    pairs = {f"pades_bt_service_{suffix}": "pades_bt_plain_pyhanko" for suffix in suffixes}
    pairs.update({f"xades_bb_service_{suffix}": "xades_bb_plain_signxml" for suffix in suffixes})
    out = {}
    for ours, peer in pairs.items():
        ours = ours.rstrip("_")
        if ours in runs and peer in runs:
            out[ours] = statistics.median(o / p for o, p in zip(runs[ours], runs[peer], strict=True) if p)
    return out


def cached_tsa(world: Any) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.general import get_pyca_cryptography_hash, simple_cms_attribute
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    tsa_cert, tsa_key = world.pki.tsa_asn1()
    key = serialization.load_der_private_key(tsa_key.dump(), password=None)

    class CachedKeyTSA(DummyTimeStamper):
        def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime) -> Any:
            from asn1crypto import cms, core
            from cryptography.hazmat.primitives import hashes
            from pyhanko.sign import general

            md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
            md.update(tst_info_data)
            attrs = cms.CMSAttributes([
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                simple_cms_attribute("signing_certificate", general.as_signing_certificate(self.tsa_cert)),
                simple_cms_attribute("message_digest", md.finalize()),
            ])
            return key.sign(attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())), attrs

    from asn1crypto import x509 as ax

    return CachedKeyTSA(tsa_cert=tsa_cert, tsa_key=tsa_key,
                        certs_to_embed=[ax.Certificate.load(c) for c in world.pki.chain_der])


def profile(container: Any, service: Any, officer: Any, xml: bytes, pdf: bytes, tsa: Any,
            ours_xml: Callable[[], None], ours_pdf: Callable[[], None], peer_xml: Callable[[], None],
            peer_pdf: Callable[[], None]) -> None:
    """Where a document's time goes: each part timed alone, then cProfile of sign_now for PDF and XML."""
    import cProfile
    import pstats

    from sqlalchemy import event

    from egov.platform.db.raw import _COMBINED
    from egov.platform.ids import new_id
    from egov.signing.pades import PadesLevel, sign_pdf
    from egov.signing.services import _SIGNATURES
    from egov.signing.xades import sign_xml
    from egov.soc import event_values, insert_with_event

    seen: list[str] = []
    event.listen(container.db.engine, "before_cursor_execute",
                 lambda conn, cur, stmt, *a: seen.append(stmt.split("(")[0][:80]))
    ours_xml()
    log(f"statements for one document: {seen}")
    identity = service._identity(officer)
    now = datetime.now(UTC)
    audit = event_values("signing:document:signed", object_type="signature", object_id="x", details={"kind": "xml"})

    def row() -> dict[str, Any]:
        return {"id": new_id(), "account_id": None, "identity_id": officer.id, "kind": "xml", "level": "B-B",
                "document_sha256": "0" * 64, "signed_sha256": "0" * 64, "approval_id": None, "created_at": now}

    def write() -> None:
        with container.db.write_once() as conn:
            insert_with_event(conn, _SIGNATURES, row(), dict(audit, event_id=new_id()))

    write()
    sql = next(iter(_COMBINED.values()))
    raw_conn = container.db.engine.raw_connection()
    raw_conn.driver_connection.autocommit = True

    def raw_write() -> None:
        params = {f"b_{k}": v for k, v in row().items()}
        params.update({f"e_{k}": v for k, v in dict(audit, event_id=new_id()).items()})
        raw_conn.driver_connection.execute(sql, params)

    def lib_pdf() -> None:
        sign_pdf(pdf, identity, signing_time=now, level=PadesLevel.B_T, timestamper=tsa,
                 signer=service._signer(identity))

    def lib_pdf_write() -> None:
        lib_pdf()
        write()

    parts: list[tuple[str, Callable[[], object]]] = [
        ("plain pyHanko", peer_pdf), ("sign_pdf alone", lib_pdf), ("sign_now pdf", ours_pdf),
        ("sign_pdf + write", lib_pdf_write), ("raw psycopg, the combined statement", raw_write),
        ("write_once + insert_with_event", write), ("plain signxml", peer_xml),
        ("sign_xml alone", lambda: sign_xml(xml, identity, signing_time=now)), ("sign_now xml", ours_xml)]
    for label, fn in parts * 2:
        log(f"{label:38s} {1e3 / rate(fn, 2.0):8.3f} ms")
    for fn, n in ((ours_pdf, 60), (ours_xml, 300)):
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            fn()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--profile", action="store_true",
                    help="time each part of a signature alone, cProfile sign_now (PDF, XML), stop")
    args = ap.parse_args()
    common.bound_time(args.timeout)

    from asn1crypto import keys as ak
    from asn1crypto import x509 as ax
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from fastapi.testclient import TestClient
    from lxml import etree
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore
    from signxml import DigestAlgorithm, SignatureMethod, methods
    from signxml.xades import XAdESSigner
    from tests.factories.auth import DEFAULT_PASSWORD, make_account
    from tests.factories.certs import der
    from tests.factories.signing import build_world, make_pdf

    from egov.app import create_app
    from egov.auth import build_step_up_verifier
    from egov.bootstrap import build_container
    from egov.contexts import settings_class
    from egov.platform.clock import SystemClock
    from egov.platform.db import Database
    from egov.signing.services import SigningService

    work = common.WORK / "signing"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results: dict[str, Any] = {"name": "signing", "started": datetime.now(UTC).isoformat(), "seconds": args.seconds,
                               "reps": args.reps}
    try:
        with common.bench_database() as bdb:
            data_dir = work / "var"
            common.migrate(bdb, data_dir)
            world = build_world(work / "world")
            tsa = cached_tsa(world)
            settings = settings_class()(environment="test", data_dir=data_dir, database_url=bdb.app_url,
                                database_owner_url=bdb.owner_url, keystore_passphrase="bench-signing",  # type: ignore[arg-type]
                                run_background_in_process=False, log_json=True, log_level="WARNING")
            container = build_container(settings, clock=SystemClock(), db=Database(bdb.app_url))

            class Trust:
                def trust_source(self) -> Any:
                    return world.trust_with()

            service = SigningService(clock=container.clock, keys=world.keys, secret_key=settings.secret_key_bytes(),
                                     trust=Trust(), timestamper=tsa, step_up=build_step_up_verifier(container),
                                     db=container.db)
            container.override(SigningService, service)
            with container.db.session() as s:
                officer = service.register_identity(
                    s, holder="account:bench", key_name="officer-an", certificate_der=world.officer.certificate_der,
                    chain_der=world.officer.chain_der, display_name="Nguyễn Văn An")
                service.register_identity(
                    s, holder="agency:agency-bench", key_name="seal-stttt", certificate_der=world.seal.certificate_der,
                    chain_der=world.seal.chain_der, display_name="Sở TT&TT")
                make_account(s, username="vanthu.bench", roles=[("seal_keeper", "agency-bench")], commit=False)
                s.commit()
                s.expunge_all()
            pdf = make_pdf(text="Quyet dinh benchmark")
            xml = ('<?xml version="1.0" encoding="UTF-8"?><HoSo xmlns="urn:egov:hoso:1"><MaHoSo>1</MaHoSo>'
                   + "".join(f"<Dong so=\"{i}\">Nguyễn Văn An — giấy tờ kèm theo số {i}</Dong>" for i in range(60))
                   + "</HoSo>").encode()

            # --- ours: the library call, audit on, durable on return -----------------------------------
            def ours_pdf() -> None:
                service.sign_now(officer, "pdf", pdf, level="B-T", visible=False)

            def ours_xml() -> None:
                service.sign_now(officer, "xml", xml, level="B-B")

            def ours_xml_uow() -> None:
                with container.db.session() as s:
                    service.sign(s, officer, "xml", xml, level="B-B")
                    s.commit()

            def ours_pdf_uow() -> None:
                with container.db.session() as s:
                    service.sign(s, officer, "pdf", pdf, level="B-T", visible=False)
                    s.commit()

            def ours_pdf_batch() -> None:
                with container.db.session() as s:
                    service.sign_batch(s, officer, "pdf", [pdf] * BATCH, level="B-T", visible=False)
                    s.commit()

            def ours_xml_batch() -> None:
                with container.db.session() as s:
                    service.sign_batch(s, officer, "xml", [xml] * BATCH, level="B-B")
                    s.commit()

            # --- peer: the best plain scripts ---------------------------------------------------------
            key_obj = ec.generate_private_key(ec.SECP256R1())
            peer_cert = world.pki.issue(key_obj.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo), common_name="Peer")

            class CachedSimpleSigner(signers.SimpleSigner):
                def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
                    return key_obj.sign(data, ec.ECDSA(hashes.SHA256()))

            simple = CachedSimpleSigner(
                signing_cert=ax.Certificate.load(der(peer_cert)),
                signing_key=ak.PrivateKeyInfo.load(key_obj.private_bytes(
                    serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
                cert_registry=SimpleCertificateStore.from_certs([ax.Certificate.load(c) for c in world.pki.chain_der]))
            meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                                subfilter=fields.SigSeedSubFilter.PADES)
            pdf_signer = signers.PdfSigner(meta, simple, timestamper=tsa)

            def peer_pdf() -> None:
                out = io.BytesIO()
                pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out, bytes_reserved=16384)

            xsigner = XAdESSigner(method=methods.enveloped, signature_algorithm=SignatureMethod.ECDSA_SHA256,
                                  digest_algorithm=DigestAlgorithm.SHA256)
            # the same certificate chain in KeyInfo as ours (signer + issuing CA + root)
            peer_pem = [peer_cert.public_bytes(serialization.Encoding.PEM).decode(),
                        *(world.pki.issuing.cert.public_bytes(serialization.Encoding.PEM).decode(),
                          world.pki.root.cert.public_bytes(serialization.Encoding.PEM).decode())]

            def peer_xml() -> None:
                signed = xsigner.sign(etree.fromstring(xml), key=key_obj, cert=peer_pem)
                etree.tostring(signed, xml_declaration=True, encoding="UTF-8")

            raw_key = ec.generate_private_key(ec.SECP256R1())
            digest_input = b"x" * 200

            def raw() -> None:
                raw_key.sign(digest_input, ec.ECDSA(hashes.SHA256()))

            # --- HTTP: the seal endpoint through the whole ASGI app -------------------------------------
            app = create_app(settings, container=container)
            client = TestClient(app, base_url="http://localhost")
            client.get("/login")
            client.post("/login", data={"username": "vanthu.bench", "password": DEFAULT_PASSWORD, "next": "/",
                                        "csrf_token": client.cookies.get("egov_csrf")}, follow_redirects=False)

            def seal_over_http(name: str, data: bytes, media: str, level: str) -> Callable[[], None]:
                def post() -> None:
                    resp = client.post("/api/signing/seal", files={"file": (name, data, media)},
                                       data={"agency_id": "agency-bench", "level": level},
                                       headers={"X-CSRF-Token": client.cookies.get("egov_csrf") or ""})
                    if resp.status_code != 200:
                        raise RuntimeError(f"seal {name}: {resp.status_code} {resp.text[:300]}")
                return post

            http_seal = seal_over_http("d.pdf", pdf, "application/pdf", "B-T")
            http_seal_xml = seal_over_http("d.xml", xml, "application/xml", "B-B")

            if args.profile:
                profile(container, service, officer, xml, pdf, tsa, ours_xml, ours_pdf, peer_xml, peer_pdf)
                return
            cases = {"pades_bt_service": ours_pdf, "pades_bt_service_uow": ours_pdf_uow,
                     f"pades_bt_service_batch{BATCH}": ours_pdf_batch,
                     "pades_bt_service_4threads": ours_pdf, "pades_bt_plain_pyhanko": peer_pdf,
                     "xades_bb_service": ours_xml, "xades_bb_service_uow": ours_xml_uow,
                     "xades_bb_service_4threads": ours_xml,
                     f"xades_bb_service_batch{BATCH}": ours_xml_batch, "xades_bb_plain_signxml": peer_xml,
                     "pades_bt_http_seal": http_seal, "xades_bb_http_seal": http_seal_xml,
                     "raw_ecdsa_p256_sign": raw}
            runs: dict[str, list[float]] = {k: [] for k in cases}
            for rep in range(args.reps):
                for name, fn in cases.items():
                    if name.endswith("_4threads"):
                        r = rate_threads(fn, args.seconds, 4)
                    else:
                        r = rate(fn, args.seconds if name != "raw_ecdsa_p256_sign" else 1.0,
                                 BATCH if "batch" in name else 1)
                    runs[name].append(r)
                    log(f"rep {rep + 1}: {name:26s} {r:10.1f}/s")
            med = {k: statistics.median(v) for k, v in runs.items()}
            results.update({
                "runs": runs, "median_per_second": med,
                "ratio_pades_service_vs_plain": common.ratio(med["pades_bt_service"], med["pades_bt_plain_pyhanko"]),
                "ratio_xml_service_vs_plain": common.ratio(med["xades_bb_service"], med["xades_bb_plain_signxml"]),
                "ratio_pades_batch_vs_plain": common.ratio(med[f"pades_bt_service_batch{BATCH}"],
                                                           med["pades_bt_plain_pyhanko"]),
                "ratio_xml_batch_vs_plain": common.ratio(med[f"xades_bb_service_batch{BATCH}"],
                                                         med["xades_bb_plain_signxml"]),
                # the cases of one rep run back to back, so a ratio within a rep is less exposed to the
                # load of a shared machine than a ratio of medians; both are kept
                "ratio_per_rep_median": per_rep_ratios(runs),
                "target": TARGET,
                "notes": "library = sign_now, durable on return (SignatureRecord + audit event in one "
                         "statement on PostgreSQL); uow = sign in a caller's transaction (BEGIN, two INSERTs, "
                         "COMMIT); visible stamp off on both sides; HTTP = in-process ASGI (TestClient), "
                         "visible seal stamp on; no CPU pinning (shared 2-core machine).",
                "machine": common.machine_info(),
            })
            client.close()
            container.db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    common.write_result("signing", results)
    m = results["median_per_second"]
    print()
    print(f"{'case':34s} {'per s (median)':>15s}")
    for k, v in m.items():
        print(f"{k:34s} {v:15.1f}")
    rp, rx = results["ratio_pades_service_vs_plain"], results["ratio_xml_service_vs_plain"]
    print(f"\nPAdES B-T service / plain pyHanko: {rp:.2f}x (target {TARGET}x: {common.verdict(rp >= TARGET)})")
    print(f"XAdES service / plain signxml:     {rx:.2f}x (target {TARGET}x: {common.verdict(rx >= TARGET)})")
    print(f"batches of {BATCH} in one transaction: PAdES {results['ratio_pades_batch_vs_plain']:.2f}x, "
          f"XAdES {results['ratio_xml_batch_vs_plain']:.2f}x")
    print("ratios within each rep, median: " + ", ".join(
        f"{k} {v:.2f}x" for k, v in results["ratio_per_rep_median"].items()))


if __name__ == "__main__":
    main()
