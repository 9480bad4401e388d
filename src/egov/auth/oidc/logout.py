"""Logout across relying parties: RP-initiated (OIDC RP-Initiated Logout 1.0) and back-channel (OIDC
Back-Channel Logout 1.0).

Ending the platform session revokes every token issued in it and queues one back-channel
notification per relying party that holds tokens from that session and registered a
`backchannel_logout_uri`. The notification is a job (platform/jobs.py) written in the same
transaction, so it is sent even if the process dies right after the response; the worker signs a
logout token (`typ: logout+jwt`, `sid`, `events`) and POSTs it, retrying with backoff.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.models import OidcClient, OidcToken
from egov.auth.oidc.clients import post_logout_uris_of
from egov.auth.oidc.signing import ALGORITHMS
from egov.platform.ids import new_token
from egov.platform.jobs import Handler, enqueue
from egov.platform.keys.jose import sign_compact
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.auth.oidc.provider import OidcProvider
    from egov.platform.container import Container

BACKCHANNEL_JOB = "oidc.backchannel_logout"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
DELIVERY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class LogoutRequest:
    """What an RP-initiated logout asked for, checked: where to send the browser afterwards."""

    client_id: str | None
    sid: str | None  # from a valid id_token_hint
    redirect: str | None  # registered post_logout_redirect_uri with state, or None (our own page)

    def matches(self, current_sid: str | None) -> bool:
        return self.sid is not None and current_sid is not None and self.sid == current_sid


def parse_logout_request(provider: OidcProvider, session: Session, params: Mapping[str, str]) -> LogoutRequest:
    """Validate the hint and the redirect. A bad hint or an unregistered URI is not an error page:
    the user is still signed out, only without the trip back to the relying party."""
    sid = None
    client_id = params.get("client_id") or None
    hint = params.get("id_token_hint")
    if hint:
        try:
            token = jwt.decode(hint, KeySet.import_key_set({"keys": provider.keys.published()}),  # type: ignore[typeddict-item]
                               algorithms=list(ALGORITHMS))
            claims = token.claims
            if claims.get("iss") == provider.config.issuer:  # expired is fine: it is only a hint
                aud = claims.get("aud")
                hinted = aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else None)
                if client_id in (None, hinted):
                    client_id = hinted
                    sid = claims.get("sid") if isinstance(claims.get("sid"), str) else None
        except (JoseError, ValueError):
            pass
    redirect = None
    target = params.get("post_logout_redirect_uri")
    client = session.get(OidcClient, client_id) if client_id else None
    if target and client is not None and target in post_logout_uris_of(client):
        state = params.get("state")
        redirect = target + (("&" if "?" in target else "?") + urllib.parse.urlencode({"state": state})
                             if state else "")
    return LogoutRequest(client_id, sid, redirect)


def end_sessions_tokens(provider: OidcProvider, session: Session, session_id: str, now: datetime) -> int:
    """Revoke every token issued in the platform session `session_id` and queue back-channel logouts."""
    clients = list(session.scalars(
        select(OidcClient).where(OidcClient.id.in_(select(OidcToken.client_id).where(
            OidcToken.session_id == session_id).distinct()))))
    result = session.execute(update(OidcToken).where(OidcToken.session_id == session_id,
                                                     OidcToken.revoked_at.is_(None)).values(revoked_at=now))
    sid = provider.session_sid(session_id)
    for client in clients:
        if client.backchannel_logout_uri:
            subject = session.scalar(select(OidcToken.claims).where(OidcToken.session_id == session_id,
                                                                    OidcToken.client_id == client.id).limit(1))
            sub = json.loads(subject or "{}").get("sub")
            enqueue(session, BACKCHANNEL_JOB, {"client_id": client.id, "sid": sid, "sub": sub}, now=now)
    record_event(session, AuthAudit.OIDC_LOGOUT, object_type="session", object_id=session_id,
                 details={"revoked_tokens": int(getattr(result, "rowcount", 0) or 0),
                          "backchannel": [c.id for c in clients if c.backchannel_logout_uri]})
    return len(clients)


def logout_token(provider: OidcProvider, client_id: str, sid: str, sub: str | None) -> str:
    now = int(provider.clock.now().timestamp())
    claims: dict[str, Any] = {"iss": provider.config.issuer, "aud": client_id, "iat": now, "exp": now + 120,
                              "jti": new_token(16), "sid": sid, "events": {LOGOUT_EVENT: {}}}
    if sub:
        claims["sub"] = sub
    signer, kid = provider.keys.signer(provider.config.default_alg)
    return sign_compact(signer, kid, claims, typ="logout+jwt")


def job_handlers(container: Container) -> dict[str, Handler]:
    from egov.auth.oidc.provider import OidcProvider

    def deliver(payload: dict[str, Any]) -> None:
        provider = OidcProvider.from_container(container)
        with container.db.session() as session:
            client = session.get(OidcClient, payload["client_id"])
            uri = client.backchannel_logout_uri if client is not None and client.status == "active" else None
        if uri is None:
            return  # the client was removed meanwhile: nothing to tell
        body = urllib.parse.urlencode({"logout_token": logout_token(
            provider, payload["client_id"], payload["sid"], payload.get("sub"))}).encode()
        request = urllib.request.Request(uri, data=body, method="POST", headers={  # noqa: S310 - https/loopback only
            "Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-store"})
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_S) as resp:  # noqa: S310
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        if status not in (200, 204):
            raise RuntimeError(f"back-channel logout to {payload['client_id']} answered {status}")

    return {BACKCHANNEL_JOB: deliver}
