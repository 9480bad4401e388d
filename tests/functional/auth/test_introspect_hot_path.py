"""The introspection hot path (auth/oidc/hotpath/introspect.py): for opaque tokens it answers what the full
path answers, byte for byte; JWTs, unusual requests and failing callers reach the full path."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.auth import login, make_account
from tests.factories.concurrency import run_apart
from tests.factories.oidc import RP, CodeFlow, basic, make_client
from tests.functional.auth.test_oidc import _code, _exchange

from egov.auth.models import OidcClient
from egov.platform.clock import FixedClock
from egov.platform.throttle import ThrottleBucket
from egov.settings import Settings
from egov.soc.models import AuditEvent

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
    first, full = _introspect(client, rp, token), _introspect(client, rp, token, **FULL)
    client.cookies.clear()  # the full path's CSRF cookie would send the next request the full way
    assert first.status_code == full.status_code == 200
    assert ("set-cookie" not in first.headers) is hot and "egov_csrf=" in full.headers.get("set-cookie", "")
    assert first.headers["cache-control"] == "no-store" and first.headers.get("content-security-policy")
    return first.json(), full.json()


def test_opaque_tokens_get_the_full_paths_answer(client: Any, session: Session, settings: Settings,
                                                 clock: FixedClock) -> None:
    opaque = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                         redirect_uri="", access_token_format="opaque")
    api = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                      redirect_uri="")  # a resource server asking about another client's token
    token = _token(client, opaque)
    hot, full = _both(client, api, token)
    assert hot == full and hot["active"] is True and hot["client_id"] == opaque.client_id
    assert hot["scope"] == "registry.read" and hot["token_type"] == "Bearer"
    assert _both(client, api, "no-such-token") == ({"active": False}, {"active": False})
    clock.advance(minutes=6)  # past the 5-minute access-token lifetime
    assert _both(client, api, token) == ({"active": False}, {"active": False})
    clock.advance(minutes=-6)
    assert client.post("/oidc/revoke", data={"token": token}, headers=basic(opaque)).status_code == 200
    assert _both(client, api, token) == ({"active": False}, {"active": False})


def test_a_users_opaque_tokens_get_the_full_paths_answer(client: Any, session: Session, settings: Settings,
                                                         clock: FixedClock) -> None:
    """A citizen's opaque access token (pairwise sub, acr, amr, auth_time) and refresh token: the answer is
    `OidcProvider.describe`'s on both paths, field for field."""
    citizen = make_account(session, kind="citizen", username="079203001234", display_name="Nguyễn Thị Lan")
    rp = make_client(session, settings, clock, access_token_format="opaque")
    login(client, citizen.username)
    flow = CodeFlow(rp, scope="openid profile")
    tokens = _exchange(client, flow, _code(client, flow)).json()
    client.cookies.clear()  # the hot path serves machine clients, which send no cookies
    access, full = _both(client, rp, tokens["access_token"])
    assert access == full and access["active"] is True and access["token_type"] == "Bearer"
    assert access["sub"] != citizen.id and access["acr"] == "urn:vn:egov:loa:1" and access["amr"] == ["pwd"]
    refresh, full = _both(client, rp, tokens["refresh_token"])
    assert refresh == full and refresh["active"] is True and refresh["token_type"] == "refresh_token"


def test_jwts_and_failing_callers_reach_the_full_path(client: Any, session: Session, settings: Settings,
                                                      clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    jwt = _token(client, rp)
    hot, full = _both(client, rp, jwt, hot=False)  # its signature is checked on the full path
    assert hot == full and hot["active"] is True and hot["jti"]

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


def test_callers_the_hot_path_does_not_serve_get_the_full_paths_answer(client: Any, session: Session,
                                                                       settings: Settings, clock: FixedClock) -> None:
    """DPoP-bound or disabled clients, two Authorization headers, a form client_id that is not the Basic
    one: the full path decides, so the answer is its own (refusals counted and audited there)."""
    opaque = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                         redirect_uri="", access_token_format="opaque")
    token = _token(client, opaque)
    dpop = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                       redirect_uri="", require_dpop=True)
    no_proof = _introspect(client, dpop, token)  # DPoP binds the client's own tokens, not its introspection
    assert no_proof.status_code == 200 and no_proof.json()["active"] is True
    assert "egov_csrf=" in no_proof.headers.get("set-cookie", "")  # answered by the full path
    client.cookies.clear()
    other = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                        redirect_uri="")
    two_ids = client.post("/oidc/introspect", data={"token": token, "client_id": other.client_id},
                          headers=basic(opaque))
    assert two_ids.status_code == 400 and two_ids.json()["error"] == "invalid_request"  # one method only
    assert "active" not in two_ids.json()
    # Two Authorization headers, the first wrong: the framework reads the first, so must the answer.
    wrong = basic(RP(opaque.client_id, "guess"))["Authorization"]
    twice = client.post("/oidc/introspect", data={"token": token},
                        headers=[("Authorization", wrong), ("Authorization", basic(opaque)["Authorization"])])
    assert twice.status_code == 401 and twice.json()["error"] == "invalid_client"
    row = session.get(OidcClient, opaque.client_id)
    assert row is not None
    row.status = "disabled"
    session.commit()
    disabled = _introspect(client, opaque, token)
    assert disabled.status_code == 401 and disabled.json()["error"] == "invalid_client"


def test_a_batch_that_cannot_be_decided_goes_to_the_full_path(app: Any, client: Any, session: Session,
                                                              settings: Settings, clock: FixedClock) -> None:
    """A worker that fails (or answers the wrong number of requests) hands every request to the full path."""
    opaque = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                         redirect_uri="", access_token_format="opaque")
    token = _token(client, opaque)
    batches = app.hot_paths["/oidc/introspect"]._batches
    for broken in (lambda asks: 1 / 0, lambda asks: []):
        batches.decide = broken
        resp = _introspect(client, opaque, token)
        client.cookies.clear()
        assert resp.status_code == 200 and resp.json()["active"] is True
        assert "egov_csrf=" in resp.headers.get("set-cookie", "")  # answered by the full path


def test_a_commit_never_waits_for_a_thread_behind_requests_waiting_for_it(app: Any, session: Session,
                                                                          settings: Settings,
                                                                          clock: FixedClock) -> None:
    """The unit of work commits on a limiter of its own: with one worker thread for the endpoints, requests
    that each write (a refused client authentication is counted and audited) all finish, none waits for the
    others' database lock for good (on SQLite each holds the one writer lock until it commits); and on
    PostgreSQL, failures racing on one address's backoff bucket (to create it, or to count in it) are all
    counted, none is a 500."""
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    limiter = anyio.to_thread.current_default_thread_limiter

    async def run() -> list[Any]:
        limiter().total_tokens = 1
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as ac:
            return list(await asyncio.gather(*(
                ac.post("/oidc/introspect", data={"token": "x"}, headers={**basic(RP(rp.client_id, "guess")), **FULL})
                for _ in range(4))))

    def failures() -> int:
        n = session.scalar(select(ThrottleBucket.failures).where(ThrottleBucket.key == "oidc-ip:127.0.0.1")) or 0
        session.rollback()
        return n

    before = failures()
    started = time.monotonic()
    answers = run_apart(run())
    assert [r.status_code for r in answers] == [401] * 4
    assert time.monotonic() - started < 10
    assert failures() == before + 4  # concurrent first failures on one address are all counted
    answers = run_apart(run())  # and with the bucket there (each request checks it before it counts)
    assert [r.status_code for r in answers] == [401] * 4
    assert failures() == before + 8
