"""The client_credentials hot path (ADR 0003; what it shares with the others: `hot_path`).

It serves only the plain success: `grant_type=client_credentials` from a confidential client with a
secret, for scopes it may have. The token row (for introspection and revocation) and the audit event
(the same row `record_event` writes, leaf hash included) are durable before the answer goes back:
a batch's rows and events are one statement (`insert_many_with_events`), so one commit (one WAL
flush) answers the lot. Anything that would fail in any way (unknown client, wrong secret, throttled,
scope not allowed, disabled, DPoP required) is handed unchanged to the full path, which answers with
the right error, counts the failure and audits it. A batch the database refuses is handed over whole:
the full path then serves each request on its own.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from egov.auth.audit import AuthAudit
from egov.auth.models import OidcToken
from egov.auth.oidc.hot_path import Ask, Caller, ClientHotPath, json_list
from egov.auth.oidc.provider import SCOPES, OidcProvider, _hash
from egov.platform.context import use_context
from egov.platform.ids import new_id, new_token
from egov.platform.keys.jose import sign_compact
from egov.soc import event_values, insert_many_with_events

log = logging.getLogger(__name__)
PATH = "/oidc/token"
_TOKENS: Table = OidcToken.__table__  # type: ignore[assignment]


class ClientCredentialsFastPath(ClientHotPath):
    path = PATH

    def wants(self, form: dict[str, str]) -> bool:
        return form.get("grant_type") == "client_credentials"

    def decide(self, asks: list[Ask]) -> list[bytes | None]:
        """The answer for each request of a batch (None: the full path takes it), after the batch's token
        rows and audit events are written in one statement (atomic by itself: autocommit on PostgreSQL)."""
        provider = OidcProvider.from_container(self.container)
        now = provider.clock.now()
        answers: list[bytes | None] = [None] * len(asks)
        token_rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        with self.container.db.write_once() as conn:
            for i, (ask, caller) in enumerate(zip(asks, self.callers(conn, asks), strict=True)):
                try:
                    found = self._grant(ask, caller, provider, now)
                except Exception:  # one odd request (or client row) goes to the full path, not its batch
                    log.warning("client_credentials request handed to the full path", exc_info=True)
                    continue
                if found is not None:
                    answers[i], token_row, audit_row = found
                    token_rows.append(token_row)
                    events.append(audit_row)
            insert_many_with_events(conn, _TOKENS, token_rows, events)
        return answers

    @staticmethod
    def _grant(ask: Ask, caller: Caller | None, provider: OidcProvider, now: datetime
               ) -> tuple[bytes, dict[str, Any], dict[str, Any]] | None:
        if caller is None or not caller.authenticated(provider.clients.secret_key, now):
            return None
        row = caller.row
        if "client_credentials" not in json_list(row.grant_types):
            return None
        allowed = [s for s in json_list(row.scopes) if s not in SCOPES]
        asked = ask.form.get("scope", "").split() or allowed
        if any(s not in allowed for s in asked):
            return None
        with use_context(ask.ctx):
            return _token(provider, row, asked, now)


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
