"""Sign-in through HTTP: one wording for every refusal, cookies, CSRF, rotation, timeouts, redirects, audit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.auth import DEFAULT_PASSWORD, make_account
from tests.functional.auth.conftest import Browser, audit, set_cookies

from egov.auth import INVALID_CREDENTIALS_EN, INVALID_CREDENTIALS_VI, AuthAudit
from egov.auth.models import AuthSession
from egov.bootstrap import build_container
from egov.platform.clock import FixedClock
from egov.platform.throttle import ThrottleBucket
from egov.settings import Settings
from egov.soc.models import AuditEvent

WRONG = "không phải mật khẩu này"


def alert_text(resp: Any) -> str:
    """The refusal as the error summary lists it (linked to the username box)."""
    body = resp.text
    start = body.index('<div class="error-summary" role="alert"')
    link = body.index('<a href="#username">', start) + len('<a href="#username">')
    return body[link:body.index("</a>", link)]


def test_login_page_is_an_accessible_form_with_a_csrf_field(browser: Browser) -> None:
    resp = browser.get("/login")
    assert resp.status_code == 200
    body = resp.text
    assert 'name="csrf_token"' in body and f'value="{browser.client.cookies.get("egov_csrf")}"' in body
    assert '<label for="username">Tên đăng nhập</label>' in body and '<label for="password">Mật khẩu</label>' in body
    assert 'autocomplete="current-password"' in body


def test_success_sets_a_session_cookie_with_safe_flags_and_a_fresh_csrf_cookie(
        browser: Browser, session: Session) -> None:
    make_account(session, username="canbo01")
    browser.get("/login")
    planted_csrf = browser.client.cookies.get("egov_csrf")
    resp = browser.sign_in("canbo01", DEFAULT_PASSWORD, next_path="/account")
    assert resp.status_code == 303 and resp.headers["location"] == "/account"
    cookies = set_cookies(resp)
    flags = [f.strip().lower() for f in cookies["egov_session"].split(";")[1:]]
    assert set(flags) == {"httponly", "path=/", "samesite=lax"}  # no max-age/expires: a browser-session cookie
    assert "samesite=strict" in cookies["egov_csrf"].lower() and "httponly" in cookies["egov_csrf"].lower()
    assert browser.client.cookies.get("egov_csrf") != planted_csrf
    assert browser.get("/account").status_code == 200


def test_cookies_are_secure_when_configured(settings: Settings, db: Any, clock: FixedClock,
                                            session: Session) -> None:
    from egov.app import create_app

    secure = settings.model_copy(update={"cookie_secure": True})
    app = create_app(secure, container=build_container(secure, clock=clock, db=db))
    make_account(session, username="canbo01")
    with TestClient(app, base_url="https://localhost") as client:
        b = Browser(client)
        resp = b.sign_in("canbo01", DEFAULT_PASSWORD)
    assert resp.status_code == 303
    cookies = set_cookies(resp)
    assert "; secure" in cookies["egov_session"].lower() and "; secure" in cookies["egov_csrf"].lower()


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_unknown_wrong_and_disabled_get_exactly_the_same_answer(browser: Browser, session: Session,
                                                                 locale: str) -> None:
    make_account(session, username="canbo01")
    make_account(session, username="canbo02", status="disabled")
    browser.client.cookies.set("egov_lang", locale, domain="localhost.local")
    answers = []
    for username, password in [("khongco99", WRONG), ("canbo01", WRONG), ("canbo02", DEFAULT_PASSWORD)]:
        resp = browser.sign_in(username, password)
        assert resp.status_code == 401
        assert "egov_session" not in set_cookies(resp)
        answers.append(alert_text(resp))
    expected = INVALID_CREDENTIALS_VI if locale == "vi" else INVALID_CREDENTIALS_EN
    assert answers == [expected] * 3


def test_refused_sign_ins_are_audited_and_committed(browser: Browser, session: Session) -> None:
    account = make_account(session, username="canbo01")
    browser.sign_in("canbo01", WRONG)
    browser.sign_in("079203012345", WRONG)
    browser.sign_in("mật khẩu nhầm ô", WRONG)
    found = audit(session, AuthAudit.LOGIN_FAILED)
    assert [(e.outcome, e.object_id, d["username"], d["reason"]) for e, d in found] == [
        ("failure", account.id, "canbo01", "bad_password"),
        ("failure", None, "079203012345", "unknown_account"),
        ("failure", None, None, "unknown_account"),
    ]
    assert all(e.source_ip == "testclient" and e.channel == "web" and e.request_id for e, _ in found)
    assert not any(WRONG in e.details or "nhầm" in e.details for e, _ in found)


def test_success_and_logout_are_audited_and_logout_ends_the_session(browser: Browser, session: Session) -> None:
    account = make_account(session, username="canbo01", primary_agency_id="agency-1")
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    token = browser.session_token
    resp = browser.post("/logout")
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    assert 'egov_session=""' in set_cookies(resp)["egov_session"] and "max-age=0" in set_cookies(resp)[
        "egov_session"].lower()
    [(ok, details)] = audit(session, AuthAudit.LOGIN_SUCCEEDED)
    assert ok.actor_id == account.id and ok.agency_id == "agency-1" and details["amr"] == ["pwd"]
    [(out, _)] = audit(session, AuthAudit.LOGOUT)
    assert out.actor_id == account.id and out.object_id == details["session_id"]
    replay = TestClient(browser.client.app, base_url="http://localhost")
    assert replay.get("/account", headers={"cookie": f"egov_session={token}"},
                      follow_redirects=False).status_code == 303


def test_without_the_csrf_token_nothing_happens(browser: Browser, session: Session) -> None:
    make_account(session, username="canbo01")
    browser.get("/login")
    resp = browser.post("/login", {"username": "canbo01", "password": DEFAULT_PASSWORD}, csrf=False)
    assert resp.status_code == 403
    assert browser.session_token is None
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuthSession)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert session.scalar(select(func.count()).select_from(ThrottleBucket)) == 0
    forged = browser.post("/login", {"username": "canbo01", "password": DEFAULT_PASSWORD, "csrf_token": "guess"},
                          csrf=False)
    assert forged.status_code == 403 and browser.session_token is None


def test_sign_in_rotates_the_session(browser: Browser, session: Session) -> None:
    make_account(session, username="canbo01")
    make_account(session, username="canbo02")
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    first = browser.session_token
    browser.sign_in("canbo02", DEFAULT_PASSWORD)
    second = browser.session_token
    assert first and second and first != second
    replay = TestClient(browser.client.app, base_url="http://localhost")
    dead = replay.get("/api/auth/me", headers={"cookie": f"egov_session={first}"})
    assert dead.status_code == 401
    me = browser.get("/api/auth/me").json()
    assert me["display_name"] and me["acr"] == "1" and me["amr"] == ["pwd"]


@pytest.mark.parametrize(("next_path", "location"), [
    ("/account", "/account"),
    # a refused target falls back to the officer's desk: still local, never the foreign site
    ("https://evil.example/phish", "/back-office"),
    ("//evil.example", "/back-office"),
    ("/\\evil.example", "/back-office"),
])
def test_next_only_leads_to_local_paths(browser: Browser, session: Session, next_path: str,
                                        location: str) -> None:
    make_account(session, username="canbo01")
    resp = browser.sign_in("canbo01", DEFAULT_PASSWORD, next_path=next_path)
    assert resp.status_code == 303 and resp.headers["location"] == location


def test_the_form_does_not_carry_a_foreign_next(browser: Browser) -> None:
    body = browser.get("/login?next=https://evil.example").text
    assert 'name="next" value="/"' in body and "evil.example" not in body


def test_a_protected_page_sends_you_to_sign_in_and_back(browser: Browser, session: Session) -> None:
    make_account(session, username="canbo01")
    resp = browser.get("/account")
    assert resp.status_code == 303 and resp.headers["location"] == "/login?next=/account"
    assert 'name="next" value="/account"' in browser.get(resp.headers["location"]).text
    assert browser.sign_in("canbo01", DEFAULT_PASSWORD, "/account").headers["location"] == "/account"


def test_idle_timeout_signs_out_and_clears_the_cookie(browser: Browser, session: Session,
                                                      clock: FixedClock) -> None:
    make_account(session, username="canbo01")
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    clock.advance(minutes=29)
    assert browser.get("/account").status_code == 200
    clock.advance(minutes=29)  # the visit above moved the idle window
    assert browser.get("/account").status_code == 200
    clock.advance(minutes=30)
    resp = browser.get("/account")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    assert "max-age=0" in set_cookies(resp)["egov_session"].lower()
    assert browser.session_token is None


def test_absolute_timeout_ends_even_a_busy_session(browser: Browser, session: Session,
                                                   clock: FixedClock) -> None:
    make_account(session, username="canbo01")
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    for _ in range(11 * 3 + 2):  # a page every 20 minutes for 11 h 40 min
        clock.advance(minutes=20)
        assert browser.get("/api/auth/me").status_code == 200
    clock.advance(minutes=20)  # 12 h after sign-in
    assert browser.get("/api/auth/me").status_code == 401


def test_backoff_answers_429_with_retry_after_and_expires(browser: Browser, session: Session,
                                                          clock: FixedClock) -> None:
    make_account(session, username="canbo01")
    statuses = [browser.sign_in("canbo01", WRONG).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 401]  # three free, the fourth starts a 1-second wait
    resp = browser.sign_in("canbo01", DEFAULT_PASSWORD)
    assert resp.status_code == 429 and resp.headers["retry-after"] == "1"
    assert "Vui lòng thử lại sau 1 giây." in resp.text
    clock.advance(seconds=1)
    assert browser.sign_in("canbo01", WRONG).status_code == 401
    wait = browser.sign_in("canbo01", DEFAULT_PASSWORD)
    assert wait.status_code == 429 and wait.headers["retry-after"] == "2"  # it doubles
    clock.advance(seconds=2)
    assert browser.sign_in("canbo01", DEFAULT_PASSWORD).status_code == 303


def test_one_address_trying_many_usernames_is_slowed_down(browser: Browser, session: Session,
                                                          clock: FixedClock) -> None:
    make_account(session, username="canbo01")
    statuses = [browser.sign_in(f"079203{n:06d}", WRONG).status_code for n in range(21)]
    assert statuses == [401] * 21  # each username only once: no account backoff applies
    blocked = browser.sign_in("canbo01", DEFAULT_PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    clock.advance(hours=1, seconds=1)
    assert browser.sign_in("canbo01", DEFAULT_PASSWORD).status_code == 303


def test_signing_in_again_with_a_dead_cookie_keeps_the_new_session(browser: Browser, session: Session,
                                                                    clock: FixedClock) -> None:
    make_account(session, username="canbo01")
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    clock.advance(minutes=31)  # the old session died while the tab stayed open
    resp = browser.sign_in("canbo01", DEFAULT_PASSWORD)
    assert resp.status_code == 303
    [line] = [c for c in resp.headers.get_list("set-cookie") if c.startswith("egov_session=")]
    assert "max-age=0" not in line.lower()
    assert browser.get("/api/auth/me").status_code == 200


def test_an_empty_login_form_lists_both_missing_fields_in_the_error_summary(browser: Browser) -> None:
    browser.get("/login")
    resp = browser.post("/login", {"username": "", "password": "", "next": "/"})
    assert resp.status_code == 422 and 'class="error-summary"' in resp.text
    assert 'href="#username"' in resp.text and 'href="#password"' in resp.text  # every error at once
    assert '<p class="error" id="username-error">' in resp.text and '<p class="error" id="password-error">' in resp.text
    only_password = browser.post("/login", {"username": "079203001234", "password": "", "next": "/"})
    assert 'href="#password"' in only_password.text and 'href="#username"' not in only_password.text
