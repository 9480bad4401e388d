"""What the OAuth hot paths (ADR 0003) share: a bare ASGI route for one endpoint's plain success.

Machine clients call the token and introspection endpoints many times a second; through the full
stack (middleware, form parsing, dependency injection, ORM unit of work) each call cost milliseconds
of CPU, nearly all of it framework and round trips, not security. A hot path does the same security
work with less around it, and only ever says what the full path would say:

- it takes a request only when it is plain: a form POST without cookies or DPoP, no parameter
  repeated, client_secret_basic or client_secret_post, and what the endpoint itself wants (`wants`);
- the client **and** its backoff (per source address and per client id, the full path's keys) are
  read from the database for every batch, never cached; then each secret is checked (HMAC, constant
  time) with the client's status, method and type;
- anything else, or anything that would fail in any way, is handed unchanged to the full path, which
  answers with the right error, counts the failure and audits it.

Batches (`platform.batching.GroupCommit`): requests that arrive while the database is busy with
earlier ones wait for one worker thread, which serves all that are waiting together (one read of
their clients, buckets and rows; for tokens, one statement for every row and event, so one commit).
Alone, a request is a batch of one: nothing waits on purpose.
"""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple, Protocol
from urllib.parse import parse_qsl, unquote

from sqlalchemy import Connection, bindparam, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from egov.auth.models import OidcClient
from egov.auth.oidc.clients import secret_accepted, throttle_keys
from egov.platform.batching import GroupCommit
from egov.platform.context import RequestContext
from egov.platform.db import table_of
from egov.platform.ids import request_id as new_request_id
from egov.platform.throttle import ThrottleBucket
from egov.web.middleware import client_ip, security_headers

if TYPE_CHECKING:
    from egov.platform.container import Container

MAX_BODY = 16 * 1024
_CLIENTS = table_of(OidcClient)
_BUCKETS = table_of(ThrottleBucket)
_READ_CLIENTS = select(_CLIENTS).where(_CLIENTS.c.id.in_(bindparam("ids", expanding=True)))
_READ_BUCKETS = select(_BUCKETS.c.key, _BUCKETS.c.blocked_until).where(
    _BUCKETS.c.key.in_(bindparam("keys", expanding=True)))


class Ask(NamedTuple):
    """One request for the batch worker: what it sent, and its request context."""

    ctx: RequestContext
    form: dict[str, str]
    authorization: str | None


class Credentials(NamedTuple):
    """A request's secret-based client authentication (RFC 6749 §2.3.1)."""

    client_id: str
    secret: str
    method: str  # client_secret_basic or client_secret_post
    form_client_id: str | None  # the form's client_id, which the full path's throttle keys name


class ClientRow(Protocol):
    """What the hot paths read of a client: a Core row of oidc_clients (an OidcClient would do as well)."""

    id: str
    name: str
    status: str
    client_type: str
    auth_method: str
    secret_hash: str | None
    require_dpop: bool
    grant_types: str  # JSON list
    scopes: str  # JSON list
    access_token_format: str


@dataclass(slots=True)
class Caller:
    """A request's client authentication, checked against the client row and its backoff."""

    client_id: str
    secret: str
    method: str
    row: ClientRow | None  # None for an unknown id
    blocked_until: datetime | None

    def authenticated(self, secret_key: bytes, now: datetime) -> bool:
        """What the full path's client authentication accepts (and, for the hot paths, only confidential
        clients without DPoP): the same HMAC work for unknown ids."""
        row = self.row
        accepted = secret_accepted(row, secret_key, self.secret, self.method)  # HMAC work for unknown ids too
        return (accepted and row is not None and row.client_type == "confidential" and not row.require_dpop
                and (self.blocked_until is None or self.blocked_until <= now))


class ClientHotPath(ABC):
    """A bare ASGI route for the plain success of one client-authenticated OAuth endpoint.

    Subclasses say which forms they serve (`wants`) and decide a batch (`decide`, in the worker thread):
    the JSON answer for each request, or None to hand it to the full path."""

    path = ""

    def __init__(self, app: ASGIApp, container: Container, trusted_proxies: list[str], secure: bool) -> None:
        self.app = app
        self.container = container
        self.trusted_proxies = trusted_proxies
        self._batches: GroupCommit[Ask, bytes] = GroupCommit(self.decide, name=f"egov-hotpath{self.path}")
        self._headers = [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                         (b"pragma", b"no-cache"), *security_headers(secure)]

    @abstractmethod
    def wants(self, form: dict[str, str]) -> bool:
        """Whether this endpoint's hot path may take a request with this form at all."""

    @abstractmethod
    def decide(self, asks: list[Ask]) -> list[bytes | None]:
        """The answer for each request of a batch, by position; None hands that one to the full path."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or []
        headers = dict(raw_headers)
        chunks: list[bytes] = []
        size, more, too_big = 0, True, False
        while more and not too_big:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            too_big = size > MAX_BODY  # hand the rest, unread, to the full path
        body = b"".join(chunks)
        answer: bytes | None = None
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        # A repeated header (two Authorization headers, say) is read first-wins by the framework: never
        # decide one here.
        if (not more and not too_big and len(headers) == len(raw_headers) and b"cookie" not in headers
                and b"dpop" not in headers and media_type == b"application/x-www-form-urlencoded"):
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            form = dict(pairs)
            # A repeated parameter is the full path's invalid_request: never decide it here.
            if len(form) == len(pairs) and self.wants(form):
                rid = new_request_id()
                ctx = RequestContext(request_id=rid, source_ip=client_ip(scope, self.trusted_proxies),
                                     user_agent=headers.get(b"user-agent", b"").decode("latin-1") or None,
                                     channel="web")
                auth = headers.get(b"authorization", b"").decode("latin-1") or None
                answer = await self._batches.submit(Ask(ctx, form, auth))
        if answer is None:
            await self.app(scope, _replay(body, more, receive), send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-length", str(len(answer)).encode()), (b"x-request-id", rid.encode()), *self._headers]})
        await send({"type": "http.response.body", "body": answer})

    @staticmethod
    def callers(conn: Connection, asks: list[Ask]) -> list[Caller | None]:
        """Each request's client authentication with its client row and backoff, read in two queries for
        the whole batch; None where the request does not use a client secret (the full path's case)."""
        creds = [_credentials_or_none(a.form, a.authorization) for a in asks]
        # The same throttle keys as the full path, so a throttled caller is handed over (and refused there).
        keys = [throttle_keys(a.ctx.source_ip, c.form_client_id) if c else []
                for a, c in zip(asks, creds, strict=True)]
        client_ids = sorted({c.client_id for c in creds if c})
        if not client_ids:
            return [None] * len(asks)
        clients = {row.id: row for row in conn.execute(_READ_CLIENTS, {"ids": client_ids})}
        wanted = sorted({k for ks in keys for k in ks})
        blocked: dict[str, datetime] = {key: until for key, until in conn.execute(_READ_BUCKETS, {"keys": wanted})}
        return [Caller(c.client_id, c.secret, c.method, clients.get(c.client_id),
                       max((blocked[k] for k in ks if k in blocked), default=None))
                if c else None for c, ks in zip(creds, keys, strict=True)]


def _credentials(form: dict[str, str], authorization: str | None) -> Credentials | None:
    """The secret-based client authentication of a request, else None (the full path's case)."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic" or "client_secret" in form or "client_assertion" in form:
            return None  # two authentication methods: the full path's invalid_request
        try:
            user, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not sep:
            return None
        # RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
        client_id = unquote(user.replace("+", " "))
        if "client_id" in form and form["client_id"] != client_id:
            return None  # two different client ids: the full path refuses it, so must we
        return Credentials(client_id, unquote(password.replace("+", " ")), "client_secret_basic",
                           form.get("client_id"))
    if "client_id" in form and "client_secret" in form and "client_assertion" not in form:
        return Credentials(form["client_id"], form["client_secret"], "client_secret_post", form["client_id"])
    return None


def _credentials_or_none(form: dict[str, str], authorization: str | None) -> Credentials | None:
    found = _credentials(form, authorization)
    # A NUL cannot be stored or looked up in PostgreSQL: one such request would fail its whole batch.
    if found is None or "\x00" in found.client_id or (found.form_client_id is not None
                                                      and "\x00" in found.form_client_id):
        return None
    return found


@lru_cache(maxsize=1024)
def json_list(text: str) -> tuple[str, ...]:
    """A client's grant types or scopes (JSON lists, the same few texts request after request)."""
    return tuple(json.loads(text))


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A receive that hands the full path the body already read (and, if it was cut short, the rest)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return again
