"""The client_credentials hot path (auth/oidc/hotpath/token.py): it answers only what the full path would answer
yes to, with the same token, token row and audit event; everything else reaches the full path unchanged."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from tests.factories.concurrency import run_apart
from tests.factories.oidc import RP, basic, make_client, verify_jwt

from egov.auth.models import OidcClient, OidcToken
from egov.auth.oidc.hotpath import token as hot_token
from egov.bootstrap import Container
from egov.platform.clock import FixedClock
from egov.settings import Settings
from egov.soc.audit.sequencer import sequence_pending
from egov.soc.audit.verify import verify_log
from egov.soc.models import AuditEvent

API = "http://localhost:8000/api"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))  # PyJWT checks exp against the real time


def _token(client: Any, rp: RP, **headers: str) -> Any:
    return client.post("/oidc/token", data={"grant_type": "client_credentials", "scope": "registry.read"},
                       headers={**basic(rp), **headers})


def test_hot_and_full_paths_issue_the_same_token_row_and_event(client: Any, session: Session, settings: Settings,
                                                                  clock: FixedClock, container: Container) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    hot = _token(client, rp)
    # A request with a cookie goes through the whole stack (which also hands out a CSRF cookie).
    full = _token(client, rp, cookie="egov_lang=vi")
    assert hot.status_code == full.status_code == 200
    assert "set-cookie" not in hot.headers and "egov_csrf=" in full.headers.get("set-cookie", "")
    for name in ("cache-control", "pragma", "x-content-type-options", "x-frame-options", "content-security-policy",
                 "x-request-id"):
        assert hot.headers.get(name), name
    claims = [verify_jwt(client, r.json()["access_token"], audience=API, typ="at+jwt") for r in (hot, full)]
    assert set(claims[0]) == set(claims[1]) and claims[0]["sub"] == claims[1]["sub"] == rp.client_id
    assert {k: v for k, v in hot.json().items() if k != "access_token"} == \
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
    # The leaf hashes the hot path wrote verify like any other event's.
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


def test_what_the_hot_path_does_not_serve_reaches_the_full_path(client: Any, session: Session,
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


def test_requests_the_full_path_refuses_are_not_granted_by_the_hot_path(
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
    assert two_ids.status_code == 400 and two_ids.json()["error"] == "invalid_request"  # one method only
    assert "access_token" not in two_ids.text
    session.rollback()
    assert session.scalars(select(OidcToken)).all() == []


async def _concurrently(app: Any, rp: RP, n: int) -> list[Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as ac:
        return list(await asyncio.gather(*(
            ac.post("/oidc/token", data={"grant_type": "client_credentials", "scope": "registry.read"},
                    headers=basic(rp)) for _ in range(n))))


def _hold_first_batch(writer: Any, total: int) -> list[int]:
    """Make the writer's first batch wait until all `total` requests have arrived, so the next batch
    surely holds the rest; returns the sizes of the batches it decides."""
    sizes: list[int] = []
    issue = writer.decide

    def held(batch: list[Any]) -> Any:
        if not sizes:
            deadline = time.monotonic() + 10
            while len(batch) + len(writer.waiting) < total and time.monotonic() < deadline:
                time.sleep(0.005)
        sizes.append(len(batch))
        return issue(batch)

    writer.decide = held
    return sizes


def test_requests_that_arrive_together_are_written_together(app: Any, client: Any, session: Session,
                                                             settings: Settings, clock: FixedClock) -> None:
    """Group commit: the requests queued behind a batch go in one statement, and each still gets its own
    token, token row and audit event."""
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    sizes = _hold_first_batch(app.hot_paths["/oidc/token"]._batches, total=8)
    answers = run_apart(_concurrently(app, rp, 8))
    assert [r.status_code for r in answers] == [200] * 8
    assert sum(sizes) == 8 and len(sizes) <= 2  # what queued behind the first batch went in one
    jtis = {verify_jwt(client, r.json()["access_token"], audience=API, typ="at+jwt")["jti"] for r in answers}
    assert len(jtis) == 8
    session.rollback()
    rows = session.scalars(select(OidcToken).where(OidcToken.client_id == rp.client_id)).all()
    assert {json.loads(r.claims)["jti"] for r in rows} == jtis
    events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth:token:issued")).all()
    assert sorted(json.loads(e.details)["jti"] for e in events) == sorted(jtis)
    assert len({e.request_id for e in events}) == 8  # each event names its own request


def test_a_batch_the_database_refuses_is_served_by_the_full_path(app: Any, session: Session, settings: Settings,
                                                                  clock: FixedClock,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing of a refused batch is written, and every request in it still gets its answer (from the full
    path, one by one): one token row and one event per answer, none twice."""
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("registry.read",),
                     redirect_uri="")
    real = hot_token.insert_many_with_events
    calls: list[int] = []

    def refuse_first(conn: Any, table: Any, rows: list[Any], events: list[Any]) -> None:
        calls.append(len(rows))
        if len(calls) == 1:
            raise DBAPIError("INSERT …", None, RuntimeError("the database went away"))
        real(conn, table, rows, events)

    monkeypatch.setattr(hot_token, "insert_many_with_events", refuse_first)
    answers = run_apart(_concurrently(app, rp, 3))
    assert [r.status_code for r in answers] == [200] * 3 and calls[0] >= 1
    session.rollback()
    rows = session.scalars(select(OidcToken).where(OidcToken.client_id == rp.client_id)).all()
    events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth:token:issued")).all()
    assert len(rows) == len(events) == 3
