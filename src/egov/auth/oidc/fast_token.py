"""The client_credentials hot path: a bare ASGI route in front of the framework for machine clients.

Agencies' systems ask for tokens many times a second; through the full stack (middleware, form
parsing, dependency injection, ORM unit of work) a token cost about 6 ms of CPU, nearly all of it
framework and round trips, not security. This path does the same security work with less around it:

- one SELECT reads the client **and** its throttle state (the backoff per source address and per
  client id that the full path applies), then the secret is checked (HMAC, constant time);
- the token row (for introspection and revocation) and the audit event (the same row `record_event`
  writes, leaf hash included) are inserted in the same transaction, which commits before the answer.

It serves only the plain success: any request that is not `grant_type=client_credentials` with
client_secret_basic or client_secret_post, or that carries DPoP or cookies, or that would fail in
any way (unknown client, wrong secret, throttled, scope not allowed, disabled, DPoP required), is
handed unchanged to the full path, which answers with the right error, counts the failure and audits
it. So the fast path can only ever say yes where the full path would have said yes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

import anyio
from sqlalchemy import Table, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from egov.auth.audit import AuthAudit
from egov.auth.models import OidcClient, OidcToken
from egov.auth.oidc.clients import secret_hash, throttle_keys
from egov.auth.oidc.provider import SCOPES, OidcProvider, _hash
from egov.platform.context import RequestContext, use_context
from egov.platform.ids import new_id, new_token
from egov.platform.ids import request_id as new_request_id
from egov.platform.keys.jose import sign_compact
from egov.platform.throttle import ThrottleBucket
from egov.soc import event_values, insert_with_event
from egov.web.middleware import client_ip, security_headers

if TYPE_CHECKING:
    from egov.bootstrap import Container

PATH = "/oidc/token"
MAX_BODY = 16 * 1024
_CLIENTS: Table = OidcClient.__table__  # type: ignore[assignment]
_TOKENS: Table = OidcToken.__table__  # type: ignore[assignment]
_BUCKETS: Table = ThrottleBucket.__table__  # type: ignore[assignment]


def _credentials(form: dict[str, str], authorization: str | None) -> tuple[str, str, str, str | None] | None:
    """(client_id, secret, method, form client_id) for secret-based client authentication, else None."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic" or "client_secret" in form:
            return None
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
        return client_id, unquote(password.replace("+", " ")), "client_secret_basic", form.get("client_id")
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"], "client_secret_post", form["client_id"]
    return None


class ClientCredentialsFastPath:
    def __init__(self, app: ASGIApp, container: Container, trusted_proxies: list[str], secure: bool) -> None:
        self.app = app
        self.container = container
        self.trusted_proxies = trusted_proxies
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
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
        if (not more and not too_big and b"cookie" not in headers and b"dpop" not in headers
                and media_type == b"application/x-www-form-urlencoded"):
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            form = dict(pairs)
            # A repeated parameter is the full path's invalid_request: never decide it here.
            if len(form) == len(pairs) and form.get("grant_type") == "client_credentials":
                rid = new_request_id()
                ctx = RequestContext(request_id=rid, source_ip=client_ip(scope, self.trusted_proxies),
                                     user_agent=headers.get(b"user-agent", b"").decode("latin-1") or None,
                                     channel="web")
                auth = headers.get(b"authorization", b"").decode("latin-1") or None
                answer = await anyio.to_thread.run_sync(self._issue, ctx, form, auth)
        if answer is None:
            await self.app(scope, _replay(body, more, receive), send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode()),
            (b"cache-control", b"no-store"), (b"pragma", b"no-cache"), (b"x-request-id", rid.encode()),
            *security_headers(self.secure)]})
        await send({"type": "http.response.body", "body": answer})

    def _issue(self, ctx: RequestContext, form: dict[str, str], authorization: str | None) -> bytes | None:
        creds = _credentials(form, authorization)
        if creds is None:
            return None
        client_id, secret, method, form_client_id = creds
        provider = OidcProvider.from_container(self.container)
        now = provider.clock.now()
        # The same throttle keys as the full path, so a throttled caller is handed over (and refused there).
        keys = throttle_keys(ctx.source_ip, form_client_id)
        blocked = select(func.max(_BUCKETS.c.blocked_until)).where(_BUCKETS.c.key.in_(keys)).scalar_subquery()
        query = select(_CLIENTS, blocked.label("blocked")).where(_CLIENTS.c.id == client_id)
        db = self.container.db
        # Autocommit on PostgreSQL: the read needs no transaction, and the token row and its audit event
        # go in one statement (a data-modifying CTE), atomic by itself: two round trips in all.
        with use_context(ctx), db.write_once() as conn:
            found = self._grant(conn.execute(query).first(), form, secret, method, provider, now)
            if found is None:
                return None
            body, token_row, audit_row = found
            insert_with_event(conn, _TOKENS, token_row, audit_row)
        return body


    @staticmethod
    def _grant(row: Any, form: dict[str, str], secret: str, method: str, provider: OidcProvider, now: datetime
               ) -> tuple[bytes, dict[str, Any], dict[str, Any]] | None:
        if row is None or not _acceptable(row, secret, method, provider, now):
            return None
        allowed = [s for s in json.loads(row.scopes) if s not in SCOPES]
        asked = form.get("scope", "").split() or allowed
        if any(s not in allowed for s in asked):
            return None
        return _token(provider, row, asked, now)


def _acceptable(row: Any, secret: str, method: str, provider: OidcProvider, now: datetime) -> bool:
    expected = row.secret_hash or "0" * 64
    return (hmac.compare_digest(expected, secret_hash(provider.clients.secret_key, secret))
            and row.status == "active" and row.auth_method == method and row.client_type == "confidential"
            and not row.require_dpop and "client_credentials" in json.loads(row.grant_types)
            and (row.blocked is None or row.blocked <= now))


def _token(provider: OidcProvider, row: Any, scopes: list[str], now: datetime
           ) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    """The same token, token row and audit event as OidcProvider._issue makes for client_credentials."""
    cfg = provider.config
    exp = now + cfg.access_ttl
    jti = new_token(18)
    scope = " ".join(scopes)
    claims = {"iss": cfg.issuer, "sub": row.id, "aud": cfg.api_audience, "client_id": row.id, "scope": scope,
              "iat": int(now.timestamp()), "exp": int(exp.timestamp()), "jti": jti}
    if row.access_token_format == "jwt":
        signer, kid = provider.keys.signer(cfg.default_alg)
        access_token = sign_compact(signer, kid, claims, typ="at+jwt")
        token_id = _hash("jti:" + jti)
    else:
        access_token = new_token(32)
        token_id = _hash(access_token)
    family = new_id()
    token_row = {"id": token_id, "kind": "access", "client_id": row.id, "account_id": None, "family_id": family,
                 "code_id": None, "session_id": None, "scope": scope,
                 "claims": json.dumps({"sub": row.id, "aud": cfg.api_audience, "jti": jti, "represented": None}),
                 "issued_at": now, "expires_at": exp, "used_at": None, "revoked_at": None}
    audit_row = event_values(
        AuthAudit.TOKEN_ISSUED, object_type="oidc_client", object_id=row.id, actor_id=row.id, actor_kind="client",
        actor_name=row.name, details={"grant_type": "client_credentials", "scope": scope, "jti": jti,
                                      "format": row.access_token_format, "dpop": False, "refresh": False,
                                      "family": family})
    body = json.dumps({"access_token": access_token, "token_type": "Bearer",
                       "expires_in": int(cfg.access_ttl.total_seconds()), "scope": scope},
                      separators=(",", ":")).encode()
    return body, token_row, audit_row


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
