"""A stand-alone OCSP responder: the validation authority a CA runs apart from its web front end.

The same `OcspResponder` as `/pki/ocsp` in the web app (pre-signed answers for repeated requests
without a nonce, fresh signatures otherwise, statuses followed within a second), served by a small
HTTP/1.1 server of its own on uvloop with httptools (llhttp) doing all the parsing. It exists for
speed and isolation: an OCSP answer is a dictionary look-up, and a general web stack spends three
quarters of a request on building scopes, tasks and messages it does not need. Run as many as the
traffic needs (`--reuse-port` lets several processes share one port), behind the address the
certificates' AIA extension names.

It answers only:
  POST /pki/ocsp                 application/ocsp-request body (at most 8 KiB)
  GET  /pki/ocsp/{base64 DER}    RFC 6960 A.1, URL-encoded
  GET  /healthz                  "ok"
Anything else gets 404 or 405; a malformed HTTP message 400 and the connection closed. A request must
arrive whole within `request_seconds` of the connection opening or of the previous answer (no
slow-loris), and at most `max_connections` are open at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import logging
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote_to_bytes

import httptools

from egov.pki.ocsp import MAX_REQUEST_BYTES, OcspResponder

log = logging.getLogger("egov.pki.ocsp_server")

PATH = b"/pki/ocsp"
MAX_URL_BYTES = 2 * MAX_REQUEST_BYTES  # base64 and percent-encoding of the largest request
REQUEST_SECONDS = 10.0
MAX_CONNECTIONS = 4096
EPOCH_POLL_SECONDS = 0.5
_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed",
            413: b"Content Too Large", 503: b"Service Unavailable"}
_DATE: list[Any] = [0, b""]


def _date() -> bytes:
    """The Date header's value, made once a second."""
    now = int(time.time())
    if _DATE[0] != now:
        _DATE[0], _DATE[1] = now, email.utils.formatdate(now, usegmt=True).encode()
    return bytes(_DATE[1])


def response(status: int, body: bytes, content_type: bytes, *, close: bool, cache: bytes | None = None,
             keep_alive_1_0: bool = False) -> bytes:
    head = [b"HTTP/1.1 %d %s" % (status, _REASONS[status]), b"Date: " + _date(),
            b"Content-Type: " + content_type, b"Content-Length: %d" % len(body),
            b"X-Content-Type-Options: nosniff"]
    if cache is not None:
        head.append(b"Cache-Control: " + cache)
    if close:
        head.append(b"Connection: close")
    elif keep_alive_1_0:  # an HTTP/1.0 client that asked to keep the connection must be told it may
        head.append(b"Connection: keep-alive")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def _plain(status: int, text: bytes) -> bytes:
    return response(status, text, b"text/plain; charset=utf-8", close=status >= 400)


MAX_PIPELINE = 16  # answers queued on one connection before it stops being read


class OcspServer:
    """What every connection shares: the responder, the limits, the open connections."""

    def __init__(self, responder: OcspResponder, *, request_seconds: float = REQUEST_SECONDS,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.responder = responder
        self.request_seconds = request_seconds
        self.max_connections = max_connections
        self.connections: set[_Connection] = set()

    def protocol(self) -> _Connection:
        return _Connection(self)

    def stop(self) -> None:
        """Close idle connections now, the others once their answers are out."""
        for connection in list(self.connections):
            connection.stop()


class _Connection(asyncio.Protocol):
    """One client connection; answers leave in the order their requests arrived (HTTP pipelining).

    Flow control: reading stops while a worker thread prepares an answer, while more than
    MAX_PIPELINE answers wait, and while the client is not reading what was written (the transport's
    high-water mark), so a client cannot make the server hold more than a few answers for it.
    """

    def __init__(self, server: OcspServer) -> None:
        self.server = server
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []
        self.size = 0
        self.too_large = False
        self.keep_1_0 = False
        # each entry: [answer bytes or None while a worker thread signs it, close after it]
        self.queue: deque[list[Any]] = deque()
        self.closing = False
        self.stopping = False
        self.working = False  # a worker thread is preparing an answer for this connection
        self.jobs: deque[tuple[list[Any], bytes, bool, bytes | None, bool]] = deque()
        self.write_paused = False
        self.reading = True
        self.deadline: asyncio.TimerHandle | None = None

    # --- asyncio -----------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is one, without the subclass
        self.server.connections.add(self)
        if len(self.server.connections) > self.server.max_connections:
            self.transport.write(_plain(503, b"busy"))
            self._close()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.closing = True
        if self.deadline is not None:
            self.deadline.cancel()

    def pause_writing(self) -> None:
        self.write_paused = True
        self._regulate()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._regulate()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._finish(_plain(400, b"no upgrades"), close=True)
        except httptools.HttpParserCallbackError:
            log.exception("OCSP request handling failed")
            self._finish(_plain(503, b"try later"), close=True)
        except httptools.HttpParserError:
            self._finish(_plain(400, b"malformed request"), close=True)

    # --- httptools callbacks -------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url, self.body, self.size, self.too_large = b"", [], 0, False

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > MAX_URL_BYTES:
            self.too_large = True
            self.url = b""

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_REQUEST_BYTES:
            self.too_large = True
            self.body = []
        elif not self.too_large:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.closing:
            return  # the rest of a chunk read before the connection was condemned: ignored
        if self.parser.should_upgrade():
            self._finish(_plain(400, b"no upgrades"), close=True)
            return
        if len(self.queue) >= MAX_PIPELINE:
            self._finish(_plain(503, b"too many pipelined requests"), close=True)
            return
        close = not self.parser.should_keep_alive() or self.stopping
        self.keep_1_0 = not close and self.parser.get_http_version() == "1.0"
        if self.too_large:
            self._finish(_plain(413, b"request too large"), close=True)
            return
        method = self.parser.get_method()
        path = self.url.split(b"?", 1)[0]
        if path == PATH or path.startswith(PATH + b"/"):
            if method == b"POST" and path == PATH:
                self._answer(b"".join(self.body), close, cache=None)
            elif method == b"GET" and path != PATH:
                try:
                    der = base64.b64decode(unquote_to_bytes(path[len(PATH) + 1:]), validate=True)
                except (binascii.Error, ValueError):
                    der = b""
                self._answer(der, close, cache=b"public, max-age=60")
            else:
                self._finish(_plain(405, b"method not allowed"), close=True)
        elif path == b"/healthz" and method == b"GET":
            self._finish(response(200, b"ok", b"text/plain; charset=utf-8", close=close,
                                  keep_alive_1_0=self.keep_1_0), close=close)
        else:
            self._finish(_plain(404, b"not found"), close=True)

    # --- answering -----------------------------------------------------------------------------------

    def _answer(self, der: bytes, close: bool, cache: bytes | None) -> None:
        responder = self.server.responder
        keep_1_0 = self.keep_1_0
        # Pre-signed answers, and fresh signatures for statuses in memory, here on the loop (CPU only);
        # whatever must read the database in a worker thread, the loop going on with other clients.
        answer = (responder.presigned(der) or responder.respond(der, may_read=False)) if der else responder.respond(der)
        if answer is not None:
            self._finish(response(200, answer, b"application/ocsp-response", close=close, cache=cache,
                                  keep_alive_1_0=keep_1_0), close)
            return
        entry: list[Any] = [None, close]
        self.queue.append(entry)
        # One worker-thread answer per connection at a time, in order; the others wait their turn (at
        # most MAX_PIPELINE: reading has stopped, so only requests already received can wait).
        self.jobs.append((entry, der, close, cache, keep_1_0))
        if self.deadline is not None:  # the request arrived whole: the answer may take its time
            self.deadline.cancel()
        if not self.working:
            self._next_job()
        self._regulate()

    def _next_job(self) -> None:
        if not self.jobs or self.closing:
            self.jobs.clear()
            return
        entry, der, close, cache, keep_1_0 = self.jobs.popleft()
        self.working = True
        future = asyncio.get_running_loop().run_in_executor(None, self.server.responder.respond, der)

        def done(f: asyncio.Future[bytes | None]) -> None:
            failed = f.cancelled() or f.exception() is not None
            if failed and not f.cancelled():
                log.error("OCSP answer failed", exc_info=f.exception())
            body = None if failed else f.result()
            entry[0] = (response(200, body, b"application/ocsp-response", close=close, cache=cache,
                                 keep_alive_1_0=keep_1_0)
                        if body is not None else _plain(503, b"try later"))
            self.working = False
            self._flush()
            self._next_job()
            self._regulate()

        future.add_done_callback(done)

    def _finish(self, data: bytes, close: bool) -> None:
        self.queue.append([data, close])
        self._flush()

    def _flush(self) -> None:
        transport = self.transport
        while self.queue and self.queue[0][0] is not None and not self.closing:
            data, close = self.queue.popleft()
            assert transport is not None
            transport.write(data)
            if close or (self.stopping and not self.queue):
                self._close()
                return
        if not self.queue and not self.closing:
            self._arm()
        self._regulate()

    def _regulate(self) -> None:
        """Read only while nothing holds answers back (a worker thread, a long queue, a full socket)."""
        if self.transport is None or self.closing:
            return
        wanted = not (self.working or self.write_paused or len(self.queue) >= MAX_PIPELINE)
        if wanted != self.reading:
            self.reading = wanted
            (self.transport.resume_reading if wanted else self.transport.pause_reading)()

    def _arm(self) -> None:
        """The next request must arrive whole within the limit; data trickling in does not extend it."""
        if self.deadline is not None:
            self.deadline.cancel()
        self.deadline = asyncio.get_running_loop().call_later(self.server.request_seconds, self._close)

    def stop(self) -> None:
        self.stopping = True
        if not self.queue:
            self._close()

    def _close(self) -> None:
        self.closing = True
        if self.deadline is not None:
            self.deadline.cancel()
        if self.transport is not None:
            self.transport.close()


Ready = Callable[[int, Callable[[], None]], None]


def run(responder: OcspResponder, host: str, port: int, *, reuse_port: bool = False,
        request_seconds: float = REQUEST_SECONDS, ready: Ready | None = None) -> None:
    """Serve until SIGTERM/SIGINT; open connections then get up to five seconds to finish.

    `ready(port, stop)` is called once listening, with the bound port and a function any thread may
    call to stop the server (how the tests run it in a thread)."""
    import uvloop

    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(_serve(responder, host, port, reuse_port, request_seconds, ready))
    finally:
        loop.close()


async def _serve(responder: OcspResponder, host: str, port: int, reuse_port: bool, request_seconds: float,
                 ready: Ready | None) -> None:
    state = OcspServer(responder, request_seconds=request_seconds)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(state.protocol, host, port, reuse_port=reuse_port or None, backlog=4096)
    stop = asyncio.Event()
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    except (RuntimeError, ValueError):  # not the main thread (tests): only `ready`'s stop ends it
        pass
    bound = server.sockets[0].getsockname()[1]
    log.info("OCSP responder listening", extra={"host": host, "port": bound})
    if ready is not None:
        def stop_soon() -> None:
            loop.call_soon_threadsafe(stop.set)

        ready(bound, stop_soon)
    poller = asyncio.ensure_future(_poll_epochs(responder))
    await stop.wait()
    poller.cancel()
    server.close()
    state.stop()
    for _ in range(50):
        if not state.connections:
            break
        await asyncio.sleep(0.1)
    log.info("OCSP responder stopped")


async def _poll_epochs(responder: OcspResponder) -> None:
    """Keep the CAs' status epochs fresh from a worker thread, so answers on the loop never wait for
    the database (a revocation elsewhere still shows within the responder's poll, about a second)."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            await loop.run_in_executor(None, responder.poll_epochs)
        except Exception:  # a database hiccup: answers go to worker threads until it is back
            log.exception("OCSP status epoch poll failed")
        await asyncio.sleep(EPOCH_POLL_SECONDS)
