"""The client_credentials hot path: the full path's token (`OidcProvider.mint`), written a batch at a time.

It serves only the plain success: `grant_type=client_credentials` from a confidential client with a
secret, for scopes it may have (`check_machine_scopes`, the full path's rule). The token, its row (for
introspection and revocation) and its audit event are what `OidcProvider.mint` makes for the full path
too; they are durable before the answer goes back: a batch's rows and events are one statement
(`insert_many_with_events`), so one commit (one WAL flush) answers the lot. Anything that would fail
in any way (unknown client, wrong secret, throttled, scope not allowed, disabled, DPoP required) is
handed unchanged to the full path, which answers with the right error, counts the failure and audits
it. A batch the database refuses is handed over whole: the full path then serves each request on its own.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, cast

from egov.auth.audit import AuthAudit
from egov.auth.models import OidcClient, OidcToken
from egov.auth.oidc.errors import OAuthError
from egov.auth.oidc.hotpath.asgi import Ask, Caller, ClientHotPath, json_list
from egov.auth.oidc.provider import Grant, Issued, OidcProvider, check_machine_scopes
from egov.platform.context import use_context
from egov.platform.db import table_of
from egov.platform.ids import new_id
from egov.soc import event_values, insert_many_with_events

log = logging.getLogger(__name__)
PATH = "/oidc/token"
_TOKENS = table_of(OidcToken)


class ClientCredentialsHotPath(ClientHotPath):
    """POST /oidc/token for the plain client_credentials success; everything else reaches the route."""

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
                    issued = self._grant(ask, caller, provider, now)
                except Exception:  # one odd request (or client row) goes to the full path, not its batch
                    log.warning("client_credentials request handed to the full path", exc_info=True)
                    continue
                if issued is not None:
                    answers[i] = json.dumps(issued.body, separators=(",", ":")).encode()
                    token_rows.extend(issued.rows)
                    with use_context(ask.ctx):  # the event names this request (id, source address)
                        events.append(event_values(AuthAudit.TOKEN_ISSUED, **issued.event))
            insert_many_with_events(conn, _TOKENS, token_rows, events)
        return answers

    @staticmethod
    def _grant(ask: Ask, caller: Caller | None, provider: OidcProvider, now: datetime) -> Issued | None:
        """What the full path issues for this request (`OidcProvider.token` → `_client_credentials`), or
        None where the full path would refuse or do anything else."""
        if caller is None or not caller.authenticated(provider.clients.secret_key, now):
            return None
        row = caller.row
        if row is None or "client_credentials" not in json_list(row.grant_types):
            return None
        try:
            scopes = check_machine_scopes(json_list(row.scopes), ask.form.get("scope", "").split())
        except OAuthError:
            return None
        # The Core row has OidcClient's columns as attributes, which is all that minting reads.
        grant = Grant(client=cast(OidcClient, row), account=None, scopes=scopes, acr=None, amr=None,
                       auth_time=None, session_id=None, family_id=new_id(), code_id=None, jkt=None, nonce=None)
        return provider.mint(grant, "client_credentials", now, refresh=False)
