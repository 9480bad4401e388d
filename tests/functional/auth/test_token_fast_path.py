"""The client_credentials hot path (auth/oidc/fast_token.py): it answers only what the full path would answer
yes to, with the same token, token row and audit event; everything else reaches the full path unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.oidc import RP, basic, make_client, verify_jwt

from egov.auth.models import OidcClient, OidcToken
from egov.bootstrap import Container
from egov.platform.clock import FixedClock
from egov.settings import Settings
from egov.soc import AuditEvent
from egov.soc.sequencer import sequence_pending
from egov.soc.verify import verify_log

API = "http://localhost:8000/api"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))  # PyJWT checks exp against the real time


def _token(client: Any, rp: RP, **headers: str) -> Any:
    return client.post("/oidc/token", data={"grant_type": "client_credentials", "scope": "registry.read"},
                       headers={**basic(rp), **headers})


def test_fast_and_full_paths_issue_the_same_token_row_and_event(client: Any, session: Session, settings: Settings,
                                                                  clock: FixedClock, container: Container) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    fast = _token(client, rp)
    # A request with a cookie goes through the whole stack (which also hands out a CSRF cookie).
    full = _token(client, rp, cookie="egov_lang=vi")
    assert fast.status_code == full.status_code == 200
    assert "set-cookie" not in fast.headers and "egov_csrf=" in full.headers.get("set-cookie", "")
    for name in ("cache-control", "pragma", "x-content-type-options", "x-frame-options", "content-security-policy",
                 "x-request-id"):
        assert fast.headers.get(name), name
    claims = [verify_jwt(client, r.json()["access_token"], audience=API, typ="at+jwt") for r in (fast, full)]
    assert set(claims[0]) == set(claims[1]) and claims[0]["sub"] == claims[1]["sub"] == rp.client_id
    assert {k: v for k, v in fast.json().items() if k != "access_token"} == \
        {k: v for k, v in full.json().items() if k != "access_token"}
    session.rollback()
    rows = session.scalars(select(OidcToken).where(OidcToken.client_id == rp.client_id)
                           .order_by(OidcToken.issued_at)).all()
    assert len(rows) == 2 and {json.dumps(sorted(json.loads(r.claims))) for r in rows} == {
        json.dumps(sorted(["sub", "aud", "jti", "represented"]))}
    events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth:token:issued")
                             .order_by(AuditEvent.id)).all()
    assert len(events) == 2
    shape = [(e.actor_id, e.actor_kind, e.actor_name, e.object_type, e.object_id, e.channel,
              sorted(json.loads(e.details))) for e in events]
    assert shape[0] == shape[1] and events[0].source_ip and events[0].request_id != events[1].request_id
    # The leaf hashes the fast path wrote verify like any other event's.
    sequence_pending(container.db, clock)
    assert verify_log(container.db, container.keys, container.settings, now=clock.now()).ok


def test_a_throttled_caller_is_refused_even_with_the_right_secret(client: Any, session: Session,
                                                                    settings: Settings, clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    wrong = RP(rp.client_id, "guess")
    for _ in range(11):  # past the free failures of this source address
        assert _token(client, wrong).status_code == 401
    right = _token(client, rp)
    assert right.status_code == 429 and right.json()["error"] == "slow_down"
    session.rollback()
    assert session.scalars(select(OidcToken)).all() == []


def test_what_the_fast_path_does_not_serve_reaches_the_full_path(client: Any, session: Session,
                                                                  settings: Settings, clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    other_scope = client.post("/oidc/token", data={"grant_type": "client_credentials", "scope": "registry.write"},
                              headers=basic(rp))
    assert other_scope.status_code == 400 and other_scope.json()["error"] == "invalid_scope"
    row = session.get(OidcClient, rp.client_id)
    assert row is not None
    row.status = "disabled"
    session.commit()
    assert _token(client, rp).json()["error"] == "invalid_client"
    refusals = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth:oauth:refused")).all()
    assert len(refusals) == 2


def test_requests_the_full_path_refuses_are_not_granted_by_the_fast_path(
        client: Any, session: Session, settings: Settings, clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    other = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                        redirect_uri="")
    repeated = client.post("/oidc/token", content="grant_type=client_credentials&scope=registry.read&scope=x",
                           headers={**basic(rp), "content-type": "application/x-www-form-urlencoded"})
    assert repeated.status_code == 400 and repeated.json()["error"] == "invalid_request"
    two_ids = client.post("/oidc/token", data={"grant_type": "client_credentials", "client_id": other.client_id},
                          headers=basic(rp))
    assert two_ids.status_code in (400, 401) and "access_token" not in two_ids.text
    session.rollback()
    assert session.scalars(select(OidcToken)).all() == []
