"""The introspection hot path (RFC 7662): the full path's answer (`OidcProvider.describe`) in batches of reads.

Resource servers ask about every opaque token they are shown, so introspection is the provider's
busiest read. This path answers exactly what `OidcProvider.introspect` answers for opaque tokens, for
confidential clients authenticating with a secret: the batch's clients, backoff and token rows are
read in three queries, nothing is written (the full path writes nothing for a successful call either).
JWT access tokens (verified by signature first), anything unusual and any failure of the caller go to
the full path unchanged.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import bindparam, select

from egov.auth.models import OidcToken
from egov.auth.oidc.hotpath.asgi import Ask, ClientHotPath
from egov.auth.oidc.provider import OidcProvider, handle_hash
from egov.platform.db import table_of

log = logging.getLogger(__name__)
PATH = "/oidc/introspect"
_TOKENS = table_of(OidcToken)
_READ_TOKENS = select(_TOKENS).where(_TOKENS.c.id.in_(bindparam("ids", expanding=True)))


class IntrospectionHotPath(ClientHotPath):
    """POST /oidc/introspect for opaque tokens from confidential clients; everything else reaches the route."""

    path = PATH

    def wants(self, form: dict[str, str]) -> bool:
        token = form.get("token", "")
        return bool(token) and token.count(".") != 2  # JWTs need their signature checked: the full path's

    def decide(self, asks: list[Ask]) -> list[bytes | None]:
        provider = OidcProvider.from_container(self.container)
        now = provider.clock.now()
        answers: list[bytes | None] = [None] * len(asks)
        with self.container.db.read_once() as conn:  # reads only: no writer lock on SQLite
            callers = self.callers(conn, asks)
            token_ids = [handle_hash(a.form["token"]) for a in asks]
            ids = sorted({t for t, c in zip(token_ids, callers, strict=True) if c is not None})
            rows = {row.id: row for row in conn.execute(_READ_TOKENS, {"ids": ids})} if ids else {}
        for i, (token_id, caller) in enumerate(zip(token_ids, callers, strict=True)):
            try:
                if caller is not None and caller.authenticated(provider.clients.secret_key, now):
                    # The full path's own answer builder (introspect → describe): one rule for both.
                    answers[i] = json.dumps(provider.describe(rows.get(token_id), now),
                                            separators=(",", ":"), ensure_ascii=False).encode()
            except Exception:  # one odd request (or row) goes to the full path, not its batch
                log.warning("introspection request handed to the full path", exc_info=True)
        return answers
