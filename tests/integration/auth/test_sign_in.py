"""SignInService on the real database: sessions, failures that survive rollback, backoff, rehash, timeouts."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session
from tests.factories.auth import DEFAULT_PASSWORD, make_account

from egov.auth import INVALID_CREDENTIALS_VI, AuthAudit, InvalidCredentials, Passwords, SignInService
from egov.auth.models import Account, AuthSession
from egov.auth.sessions import session_id_for
from egov.bootstrap import Container
from egov.platform.clock import FixedClock
from egov.platform.db import Database
from egov.platform.errors import TooManyAttempts
from egov.platform.throttle import ThrottleBucket
from egov.soc.models import AuditEvent

IP = "203.0.113.7"


@pytest.fixture
def sign_in(container: Container) -> SignInService:
    return SignInService.from_container(container)


def failures(session: Session) -> list[dict[str, str]]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.event_type == AuthAudit.LOGIN_FAILED)
                           .order_by(AuditEvent.id))
    return [json.loads(e.details) for e in rows]


def test_success_opens_a_session_storing_only_the_token_hash(
        session: Session, sign_in: SignInService, owner_db: Database, clock: FixedClock) -> None:
    a = make_account(session, username="canbo01", roles=[("registry_clerk", "agency-1")],
                     primary_agency_id="agency-1", subject_id="officer-1")
    result = sign_in.sign_in(session, "CanBo01", DEFAULT_PASSWORD, ip=IP, user_agent="Firefox")
    session.commit()
    row = session.get(AuthSession, result.session_id)
    assert row is not None and row.id == session_id_for(result.token) and row.account_id == a.id
    assert row.expires_at - row.created_at == sign_in.policy.absolute and row.acr == "1"
    with owner_db.engine.connect() as conn:  # the token appears nowhere in the database
        for table in ("auth_sessions", "audit_events"):
            dump = " ".join(str(v) for r in conn.execute(text(f"SELECT * FROM {table}")) for v in r)
            assert result.token not in dump
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.event_type == AuthAudit.LOGIN_SUCCEEDED))
    assert (event.actor_id, event.agency_id, event.occurred_at) == (a.id, "agency-1", clock.now())
    p = sign_in.principal_for(session, result.token)
    assert p is not None
    assert (p.account_id, p.kind, p.subject_id, p.agency_id, p.acr, p.amr) == (
        a.id, "officer", "officer-1", "agency-1", "1", ("pwd",))
    assert p.session_id == result.session_id and p.can("registry:citizen:read", "agency-1")


@pytest.mark.parametrize("case", ["unknown", "wrong", "disabled", "no_password"])
def test_every_refusal_is_the_same_error_and_is_committed(
        session: Session, sign_in: SignInService, case: str) -> None:
    make_account(session, username="canbo01", status="disabled" if case == "disabled" else "active",
                 password=None if case == "no_password" else DEFAULT_PASSWORD)
    username = "khongco01" if case == "unknown" else "canbo01"
    password = "sai mật khẩu rồi" if case == "wrong" else DEFAULT_PASSWORD
    with pytest.raises(InvalidCredentials) as info:
        sign_in.sign_in(session, username, password, ip=IP, user_agent="ua")
    assert info.value.detail("vi") == INVALID_CREDENTIALS_VI and info.value.status == 401
    session.rollback()  # what the request's unit of work does with an error
    reason = {"unknown": "unknown_account", "wrong": "bad_password", "disabled": "disabled",
              "no_password": "no_password"}[case]
    assert failures(session) == [{"reason": reason, "username": username}]
    assert session.get(ThrottleBucket, f"acct:{username}").failures == 1  # type: ignore[union-attr]
    assert session.get(ThrottleBucket, f"ip:{IP}").failures == 1  # type: ignore[union-attr]
    assert session.scalar(select(AuthSession)) is None


def test_text_that_is_not_username_shaped_is_not_recorded(session: Session, sign_in: SignInService) -> None:
    typed = "mật khẩu gõ nhầm ô"
    with pytest.raises(InvalidCredentials):
        sign_in.sign_in(session, typed, "x" * 20, ip=IP, user_agent="ua")
    assert failures(session) == [{"reason": "unknown_account", "username": None}]
    dump = " ".join(e.details for e in session.scalars(select(AuditEvent)))
    dump += " ".join(b.key for b in session.scalars(select(ThrottleBucket)))
    assert "mật khẩu" not in dump and "x" * 20 not in dump


def test_backoff_per_account_expires(session: Session, sign_in: SignInService, clock: FixedClock) -> None:
    make_account(session, username="canbo01")
    for _ in range(3):  # the free attempts
        with pytest.raises(InvalidCredentials):
            sign_in.sign_in(session, "canbo01", "sai mật khẩu rồi", ip=IP, user_agent="ua")
    with pytest.raises(InvalidCredentials):
        sign_in.sign_in(session, "canbo01", "sai mật khẩu rồi", ip=IP, user_agent="ua")
    with pytest.raises(TooManyAttempts) as info:  # even the right password waits
        sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip="198.51.100.1", user_agent="ua")
    assert info.value.retry_after == 1
    assert failures(session)[-1] == {"reason": "throttled", "username": "canbo01"}
    assert session.get(ThrottleBucket, "acct:canbo01").failures == 4  # type: ignore[union-attr]
    clock.advance(seconds=1)
    sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip="198.51.100.1", user_agent="ua")
    session.commit()
    assert session.get(ThrottleBucket, "acct:canbo01") is None  # success forgets the account's count
    assert session.get(ThrottleBucket, f"ip:{IP}") is not None  # but not the address's


def test_rehash_on_sign_in_when_parameters_changed(session: Session, sign_in: SignInService) -> None:
    a = make_account(session, username="canbo01", password=None)
    a.password_hash = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(DEFAULT_PASSWORD)
    session.commit()
    # The production cost (the suite's settings use a cheap one): the rehash must reach OWASP's.
    production = SignInService(Passwords(), sign_in.clock, sign_in.policy)
    production.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip=IP, user_agent="ua")
    session.commit()
    session.refresh(a)
    assert a.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # type: ignore[union-attr]


def test_rotation_revokes_the_session_the_browser_had(session: Session, sign_in: SignInService) -> None:
    make_account(session, username="canbo01")
    make_account(session, username="canbo02")
    old = sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip=IP, user_agent="ua")
    session.commit()
    new = sign_in.sign_in(session, "canbo02", DEFAULT_PASSWORD, ip=IP, user_agent="ua", previous_token=old.token)
    session.commit()
    assert new.token != old.token
    assert sign_in.principal_for(session, old.token) is None
    assert sign_in.principal_for(session, new.token) is not None


def test_idle_and_absolute_timeouts_and_the_touch(session: Session, sign_in: SignInService,
                                                  clock: FixedClock) -> None:
    make_account(session, username="canbo01")
    s = sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip=IP, user_agent="ua")
    session.commit()
    start = clock.now()
    clock.advance(seconds=30)
    assert sign_in.principal_for(session, s.token) is not None
    assert session.get(AuthSession, s.session_id).last_seen_at == start  # type: ignore[union-attr]
    clock.advance(seconds=30)
    assert sign_in.principal_for(session, s.token) is not None
    session.commit()
    assert session.get(AuthSession, s.session_id).last_seen_at == clock.now()  # type: ignore[union-attr]
    clock.advance(minutes=29, seconds=59)
    assert sign_in.principal_for(session, s.token) is not None  # touched: idle counts from here
    session.commit()
    clock.advance(minutes=30)
    assert sign_in.principal_for(session, s.token) is None


def test_sign_out_revokes_and_is_audited_once(session: Session, sign_in: SignInService) -> None:
    a = make_account(session, username="canbo01")
    s = sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip=IP, user_agent="ua")
    session.commit()
    sign_in.sign_out(session, s.token)
    sign_in.sign_out(session, s.token)
    sign_in.sign_out(session, None)
    session.commit()
    assert sign_in.principal_for(session, s.token) is None
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.event_type == AuthAudit.LOGOUT))
    assert event.actor_id == a.id and event.object_id == s.session_id


def test_a_disabled_account_loses_its_live_sessions(session: Session, sign_in: SignInService) -> None:
    a = make_account(session, username="canbo01")
    s = sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip=IP, user_agent="ua")
    session.commit()
    session.get(Account, a.id).status = "disabled"  # type: ignore[union-attr]
    session.commit()
    assert sign_in.principal_for(session, s.token) is None


@pytest.mark.postgres_only("SQLite has one writer: two open write transactions cannot race")
def test_a_racing_first_failure_is_still_counted_and_audited(session: Session, sign_in: SignInService,
                                                             db: Database, owner_db: Database,
                                                             clock: FixedClock) -> None:
    """Two first failures for one username at once: the loser's insert of the throttle row collides."""
    raced: list[bool] = []

    @event.listens_for(session, "before_flush")
    def competitor_commits_first(s: Session, *_: object) -> None:
        if not raced and any(isinstance(o, ThrottleBucket) for o in s.new):
            raced.append(True)
            with owner_db.engine.begin() as conn:  # another request, committed just before ours
                conn.execute(text("INSERT INTO throttle_buckets (key, failures, last_failure_at, blocked_until) "
                                  "VALUES ('acct:khongco01', 1, :t, :t), (:ip, 1, :t, :t)"),
                             {"t": clock.now(), "ip": f"ip:{IP}"})

    with pytest.raises(InvalidCredentials):
        sign_in.sign_in(session, "khongco01", "sai mật khẩu rồi", ip=IP, user_agent="ua")
    event.remove(session, "before_flush", competitor_commits_first)
    assert raced
    session.rollback()
    assert session.get(ThrottleBucket, "acct:khongco01").failures == 2  # type: ignore[union-attr]
    assert session.get(ThrottleBucket, f"ip:{IP}").failures == 2  # type: ignore[union-attr]
    assert failures(session) == [{"reason": "unknown_account", "username": "khongco01"}]
