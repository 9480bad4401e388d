"""RP-initiated and back-channel logout: the platform session ends everywhere it was used."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt as pyjwt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.oidc import RP, CodeFlow, jwks_of, verify_jwt
from tests.functional.auth.test_oidc import _code, _exchange, _introspect

from egov import jobs
from egov.auth.oidc import ClientRegistry
from egov.platform.clock import FixedClock
from egov.platform.jobs import Job
from egov.settings import Settings

AFTER = "https://rp.example.gov.vn/signed-out"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


class Receiver:
    """A relying party's back-channel endpoint on 127.0.0.1 that records what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, list[str]]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                receiver.bodies.append(parse_qs(self.rfile.read(length).decode()))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def _rp(session: Session, settings: Settings, clock: FixedClock, backchannel: str | None) -> RP:
    client, secret = ClientRegistry(settings.secret_key_bytes()).create(
        session, name="Cổng DVC (thử)", client_type="confidential", redirect_uris=["https://rp.example.gov.vn/cb"],
        grant_types=["authorization_code", "refresh_token"], scopes=["openid", "profile"], now=clock.now(),
        post_logout_redirect_uris=[AFTER], backchannel_logout_uri=backchannel)
    session.commit()
    return RP(client.id, secret, "https://rp.example.gov.vn/cb")


def _signed_in_tokens(client: Any, session: Session, rp: RP) -> dict[str, Any]:
    make_account(session, kind="citizen", username="079203009876", display_name="Trần Văn Bình")
    login(client, "079203009876")
    flow = CodeFlow(rp)
    return dict(_exchange(client, flow, _code(client, flow)).json())


def test_rp_initiated_logout_ends_everything_and_tells_the_relying_parties(
    client: Any, session: Session, settings: Settings, clock: FixedClock, container: Any, receiver: Receiver
) -> None:
    rp = _rp(session, settings, clock, receiver.url)
    tokens = _signed_in_tokens(client, session, rp)
    sid = verify_jwt(client, tokens["id_token"], audience=rp.client_id)["sid"]
    query = urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": AFTER, "state": "st-1"})
    resp = client.get("/oidc/logout?" + query, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == AFTER + "?state=st-1"
    signed_out = client.get("/account", follow_redirects=False)  # signed out here: sent to sign in
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login?next=")
    assert _introspect(client, rp, tokens["access_token"]) == {"active": False}
    assert _introspect(client, rp, tokens["refresh_token"]) == {"active": False}
    session.rollback()
    queued = list(session.scalars(select(Job).where(Job.kind == "oidc.backchannel_logout")))
    assert len(queued) == 1 and queued[0].done_at is None
    assert jobs.runner(container).round() == 1
    assert len(receiver.bodies) == 1
    logout_token = receiver.bodies[0]["logout_token"][0]
    claims = verify_jwt(client, logout_token, audience=rp.client_id, typ="logout+jwt")
    assert claims["sid"] == sid and "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims
    session.rollback()
    assert session.get(Job, queued[0].id).done_at is not None  # type: ignore[union-attr]


def test_a_logout_link_without_a_matching_hint_asks_first(client: Any, session: Session, settings: Settings,
                                                          clock: FixedClock) -> None:
    rp = _rp(session, settings, clock, None)
    tokens = _signed_in_tokens(client, session, rp)
    page = client.get("/oidc/logout?" + urlencode({"post_logout_redirect_uri": AFTER}), follow_redirects=False)
    assert page.status_code == 200 and "Đăng xuất khỏi nền tảng?" in page.text
    assert _introspect(client, rp, tokens["access_token"])["active"] is True  # nothing happened yet
    done = client.post("/oidc/logout", data={"csrf_token": csrf_token(client), "client_id": rp.client_id,
                                             "post_logout_redirect_uri": AFTER}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == AFTER
    assert _introspect(client, rp, tokens["access_token"]) == {"active": False}


def test_an_unregistered_return_address_is_not_followed(client: Any, session: Session, settings: Settings,
                                                        clock: FixedClock) -> None:
    rp = _rp(session, settings, clock, None)
    tokens = _signed_in_tokens(client, session, rp)
    query = urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example/"})
    resp = client.get("/oidc/logout?" + query, follow_redirects=False)
    assert resp.status_code == 200 and "Bạn đã đăng xuất" in resp.text and "location" not in resp.headers


def test_signing_out_of_the_platform_revokes_tokens_and_a_failed_delivery_is_retried(
    client: Any, session: Session, settings: Settings, clock: FixedClock, container: Any, receiver: Receiver
) -> None:
    rp = _rp(session, settings, clock, receiver.url)
    tokens = _signed_in_tokens(client, session, rp)
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}, follow_redirects=False).status_code == 303
    assert _introspect(client, rp, tokens["access_token"]) == {"active": False}
    receiver.status = 500
    runner = jobs.runner(container)
    assert runner.round() == 1
    session.rollback()
    job = session.scalars(select(Job)).one()
    assert job.attempts == 1 and "500" in (job.last_error or "") and job.done_at is None
    assert runner.round() == 0  # not due yet: backoff
    clock.advance(seconds=6)
    receiver.status = 200
    assert runner.round() == 1
    session.rollback()
    assert session.scalars(select(Job)).one().done_at is not None
    assert len(receiver.bodies) == 2
    assert pyjwt.get_unverified_header(receiver.bodies[1]["logout_token"][0])["kid"] in {
        k["kid"] for k in jwks_of(client)["keys"]}


def test_back_channel_uris_follow_the_redirect_rules(session: Session, settings: Settings, clock: FixedClock) -> None:
    from egov.platform.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        _rp(session, settings, clock, "http://rp.example.gov.vn/bc")
    assert exc.value.errors[0].field == "backchannel_logout_uri[0]"
