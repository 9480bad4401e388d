"""The introspection hot path (auth/oidc/fast_introspect.py): for opaque tokens it answers what the full
path answers, byte for byte; JWTs, unusual requests and failing callers reach the full path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.oidc import RP, basic, make_client

from egov.platform.clock import FixedClock
from egov.settings import Settings
from egov.soc import AuditEvent

FULL = {"cookie": "egov_lang=vi"}  # a request with a cookie goes through the whole stack


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


def _token(client: Any, rp: RP) -> str:
    resp = client.post("/oidc/token", data={"grant_type": "client_credentials", "scope": "registry.read"},
                       headers=basic(rp))
    assert resp.status_code == 200
    return str(resp.json()["access_token"])


def _introspect(client: Any, rp: RP, token: str, **headers: str) -> Any:
    return client.post("/oidc/introspect", data={"token": token}, headers={**basic(rp), **headers})


def _both(client: Any, rp: RP, token: str, *, hot: bool = True) -> tuple[Any, Any]:
    """The answers without and with a cookie (the hot path, if it takes the request, and the full path)."""
    fast, full = _introspect(client, rp, token), _introspect(client, rp, token, **FULL)
    client.cookies.clear()  # the full path's CSRF cookie would send the next request the full way
    assert fast.status_code == full.status_code == 200
    assert ("set-cookie" not in fast.headers) is hot and "egov_csrf=" in full.headers.get("set-cookie", "")
    assert fast.headers["cache-control"] == "no-store" and fast.headers.get("content-security-policy")
    return fast.json(), full.json()


def test_opaque_tokens_get_the_full_paths_answer(client: Any, session: Session, settings: Settings,
                                                 clock: FixedClock) -> None:
    opaque = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                         redirect_uri="", access_token_format="opaque")
    api = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                      redirect_uri="")  # a resource server asking about another client's token
    token = _token(client, opaque)
    fast, full = _both(client, api, token)
    assert fast == full and fast["active"] is True and fast["client_id"] == opaque.client_id
    assert fast["scope"] == "registry.read" and fast["token_type"] == "Bearer"
    assert _both(client, api, "no-such-token") == ({"active": False}, {"active": False})
    clock.advance(minutes=6)  # past the 5-minute access-token lifetime
    assert _both(client, api, token) == ({"active": False}, {"active": False})
    clock.advance(minutes=-6)
    assert client.post("/oidc/revoke", data={"token": token}, headers=basic(opaque)).status_code == 200
    assert _both(client, api, token) == ({"active": False}, {"active": False})


def test_jwts_and_failing_callers_reach_the_full_path(client: Any, session: Session, settings: Settings,
                                                      clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    jwt = _token(client, rp)
    fast, full = _both(client, rp, jwt, hot=False)  # its signature is checked on the full path
    assert fast == full and fast["active"] is True and fast["jti"]

    def refusals() -> int:
        session.rollback()
        n = session.scalar(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.event_type == "auth:oauth:refused")) or 0
        session.rollback()  # hold no read open while the app writes (SQLite has one writer)
        return n

    before = refusals()
    wrong = _introspect(client, RP(rp.client_id, "guess"), "no-such-token")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    public = make_client(session, settings, clock, client_type="public", auth_method="none")
    by_public = client.post("/oidc/introspect", data={"token": "x", "client_id": public.client_id})
    assert by_public.status_code == 401 and by_public.json()["error"] == "unauthorized_client"
    assert refusals() == before + 2  # refused and audited by the full path
    for _ in range(11):  # past the free failures of this address: even the right secret is slowed down
        _introspect(client, RP(rp.client_id, "guess"), "x")
    throttled = _introspect(client, rp, "no-such-token")
    assert throttled.status_code == 429 and throttled.json()["error"] == "slow_down"
