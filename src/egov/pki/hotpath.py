"""The OCSP hot path (ADR 0003): POST /pki/ocsp answered by the route's own `OcspResponder`, framework skipped."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from egov.pki.ocsp import INTERNAL_ERROR, MAX_REQUEST_BYTES
from egov.pki.runtime import ocsp_responder

PATH = "/pki/ocsp"


class OcspHotPath:
    """ASGI middleware: answers POST /pki/ocsp without the framework (no session, cookie, CSRF or
    principal applies to this public, credential-free endpoint).

    The answer is always built by the same `OcspResponder.respond()` the route (`pki/api.py`) calls, so
    the two cannot say different things: a request whose exact bytes were answered before (no nonce),
    whose answer is fresh and whose CA status epoch has not moved, is answered from the pre-signed cache
    on the event loop; a fresh signature for a status already in memory too; anything that must read the
    database in a worker thread. The route stays declared (public) and serves GET and any deployment
    without this middleware.
    """

    path = PATH

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_REQUEST_BYTES:
                chunks = [b""]  # an empty request: the responder's "malformed", as the route answers
                break
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        responder = ocsp_responder(scope["app"].state.container)
        # Pre-signed answers, and fresh signatures for statuses already in memory, on the event loop
        # (CPU only, ~0.3 ms); anything that must read the database in a worker thread.
        answer = (responder.presigned(body) or responder.respond(body, may_read=False)) if body else None
        if answer is None:
            answer = await run_in_threadpool(responder.respond, body)
        if answer is None:  # may_read=True always answers; never send an empty 200 if that changes
            answer = INTERNAL_ERROR
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/ocsp-response"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})
