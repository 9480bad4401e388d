"""The stand-alone OCSP responder (`egov pki ocsp-serve`): openssl's OCSP client against it, the GET form,
keep-alive and pipelining, and every refusal of the small HTTP server in front of the responder."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.x509 import ocsp
from sqlalchemy.orm import Session
from tests.factories.pki import PkiSetup
from tests.functional.pki.test_ocsp_tsa import _issue_two, _request, openssl_client_checks

from egov.bootstrap import Container
from egov.pki import PKI_SYSTEM
from egov.pki.ocsp_server import run
from egov.pki.runtime import ocsp_responder
from egov.platform.clock import FixedClock


class Counting:
    """The real responder, counting the answers it is asked for."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def presigned(self, der: bytes) -> bytes | None:
        self.calls += 1
        return self.inner.presigned(der)  # type: ignore[no-any-return]

    def respond(self, der: bytes, *, may_read: bool = True) -> bytes | None:
        self.calls += 1
        return self.inner.respond(der, may_read=may_read)  # type: ignore[no-any-return]

    def poll_epochs(self) -> None:
        self.inner.poll_epochs()


@pytest.fixture
def counting(container: Container, pki: PkiSetup) -> Counting:
    return Counting(ocsp_responder(container))


@pytest.fixture
def responder_port(counting: Counting) -> Iterator[int]:
    started: list[tuple[int, Callable[[], None]]] = []
    thread = threading.Thread(target=run, args=(counting, "127.0.0.1", 0), daemon=True,
                              kwargs={"request_seconds": 1.0, "ready": lambda p, stop: started.append((p, stop))})
    thread.start()
    for _ in range(200):
        if started:
            break
        time.sleep(0.02)
    assert started, "the responder did not start"
    port, stop = started[0]
    yield port
    stop()
    thread.join(10)
    assert not thread.is_alive()


def exchange(port: int, raw: bytes, *, read_until_close: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if not read_until_close:
                break
        return b"".join(chunks)


def post(body: bytes, *, version: bytes = b"1.1", extra: bytes = b"") -> bytes:
    return (b"POST /pki/ocsp HTTP/" + version + b"\r\nHost: ocsp.egov.test\r\nContent-Type: application/ocsp-request"
            b"\r\nContent-Length: %d\r\n" % len(body) + extra + b"\r\n" + body)


def split(raw: bytes) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """The HTTP responses in `raw`, in order: (status, headers, body)."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {k.lower(): v for k, v in (line.split(b": ", 1) for line in lines[1:])}
        n = int(headers[b"content-length"])
        out.append((int(lines[0].split()[1]), headers, rest[:n]))
        raw = rest[n:]
    return out


def test_openssl_client_gets_good_and_revoked(responder_port: int, pki: PkiSetup, session: Session,
                                              clock: FixedClock) -> None:
    # openssl's client sends a nonce: answered from a worker thread the first time
    openssl_client_checks(f"http://127.0.0.1:{responder_port}/pki/ocsp", pki, session, clock)


def test_get_keep_alive_pipelining_and_status_changes(responder_port: int, pki: PkiSetup, session: Session,
                                                      clock: FixedClock) -> None:
    good, bad = _issue_two(pki, session, clock)
    good_req = _request(good.cert_der, pki.specialised.cert_der)
    nonce_req = _request(bad.cert_der, pki.specialised.cert_der, nonce=b"0123456789abcdef")
    encoded = quote(base64.b64encode(good_req).decode(), safe="").encode()
    # Three requests in one write on one connection: POST, a nonce POST (signed in a worker thread) and a
    # GET; the answers come back in that order, the last one closing the connection.
    raw = exchange(responder_port, post(good_req) + post(nonce_req) +
                   b"GET /pki/ocsp/" + encoded + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answers = split(raw)
    assert [a[0] for a in answers] == [200, 200, 200]
    assert all(a[1][b"content-type"] == b"application/ocsp-response" for a in answers)
    first, second, third = (ocsp.load_der_ocsp_response(a[2]) for a in answers)
    assert first.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert second.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert second.serial_number == int(bad.serial, 16)
    assert third.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert answers[2][1][b"cache-control"] == b"public, max-age=60" and answers[2][1][b"connection"] == b"close"
    assert answers[0][2] == answers[2][2]  # the same request bytes: the same pre-signed answer
    # HTTP/1.0 closes after one answer; a suspension shows at once (the status epoch moved here)
    pki.service.suspend(session, good.id, by=PKI_SYSTEM)
    session.commit()
    (status, headers, body), = split(exchange(responder_port, post(good_req, version=b"1.0")))
    assert status == 200 and headers[b"connection"] == b"close"
    # HTTP/1.0 with keep-alive (ApacheBench -k): told it may keep the connection, which stays open
    with socket.create_connection(("127.0.0.1", responder_port), timeout=5) as s:
        for _ in range(2):
            s.sendall(post(good_req, version=b"1.0", extra=b"Connection: Keep-Alive\r\n"))
            raw = b""
            while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < int(
                    raw.partition(b"Content-Length: ")[2].split(b"\r\n")[0] or b"1"):
                raw += s.recv(65536)
            (kept_status, kept_headers, _body), = split(raw)
            assert kept_status == 200 and kept_headers[b"connection"] == b"keep-alive"
    held = ocsp.load_der_ocsp_response(body)
    assert held.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert held.revocation_reason is not None and held.revocation_reason.name == "certificate_hold"


def test_nothing_after_a_closing_answer_is_worked_on(responder_port: int, counting: Counting, pki: PkiSetup,
                                                     session: Session, clock: FixedClock) -> None:
    good, _ = _issue_two(pki, session, clock)
    nonce_req = _request(good.cert_der, pki.specialised.cert_der, nonce=b"0123456789abcdef")
    before = counting.calls
    raw = exchange(responder_port, b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n" + post(nonce_req) * 200)
    assert [a[0] for a in split(raw)] == [404]
    time.sleep(0.2)
    assert counting.calls == before  # the 200 pipelined requests behind the 404 were never answered


def test_an_upgrade_gets_one_refusal(responder_port: int) -> None:
    raw = exchange(responder_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                                   b"Upgrade: websocket\r\n\r\n")
    assert [a[0] for a in split(raw)] == [400]


def test_a_client_that_does_not_read_is_not_buffered_without_end(responder_port: int) -> None:
    """Pipelined requests from a client that reads nothing: the server stops reading once answers
    back up, so the client's sends block long before it has pushed 40 MB."""
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    burst = request * 10_000
    sent = 0
    with socket.create_connection(("127.0.0.1", responder_port), timeout=5) as s:
        s.setblocking(False)
        deadline = time.monotonic() + 3
        while sent < 40_000_000 and time.monotonic() < deadline:
            try:
                sent += s.send(burst)
            except BlockingIOError:
                time.sleep(0.01)
    assert sent < 25_000_000, sent


@pytest.mark.parametrize(("raw", "status"), [
    (b"GET /pki/ocsp HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"PUT /pki/ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
    (b"GET /admin HTTP/1.1\r\nHost: x\r\n\r\n", 404),
    (b"POST /pki/ocspx HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 404),
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"GET /pki/ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    (post(b"\x30" * 9000), 413),
    (b"GET /pki/ocsp/" + b"A" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 413),
])
def test_refusals_close_the_connection(responder_port: int, raw: bytes, status: int) -> None:
    answers = split(exchange(responder_port, raw))
    assert [a[0] for a in answers] == [status]
    assert answers[0][1][b"connection"] == b"close"
    assert b"Traceback" not in answers[0][2]


def test_garbage_is_a_malformed_request_answer_and_health(responder_port: int) -> None:
    (status, _h, body), = split(exchange(responder_port, post(b"\x30\x03garbage", version=b"1.0")))
    assert status == 200
    assert ocsp.load_der_ocsp_response(body).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    (status, _h, body), = split(exchange(responder_port, b"GET /pki/ocsp/%%%notbase64 HTTP/1.0\r\n\r\n"))
    assert ocsp.load_der_ocsp_response(body).response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    (status, _h, body), = split(exchange(responder_port, b"GET /healthz HTTP/1.0\r\n\r\n"))
    assert (status, body) == (200, b"ok")


def test_a_slow_client_is_cut_off(responder_port: int) -> None:
    """The whole request must arrive within the limit (1 s here): bytes trickling in do not extend it."""
    with socket.create_connection(("127.0.0.1", responder_port), timeout=5) as s:
        started = time.monotonic()
        s.sendall(b"POST /pki/ocsp HTTP/1.1\r\n")
        closed = False
        for _ in range(30):
            time.sleep(0.1)
            try:
                s.sendall(b"X-Slow: 1\r\n")
            except OSError:
                closed = True
                break
            s.settimeout(0.01)
            try:
                if s.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed and time.monotonic() - started < 2.5


def test_cli_help_teaches() -> None:
    from typer.testing import CliRunner

    from egov.cli import app

    result = CliRunner().invoke(app, ["pki", "ocsp-serve", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "--reuse-port" in result.output and "stand-alone" in result.output
