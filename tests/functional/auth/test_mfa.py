"""Two-step verification: an authenticator app (RFC 6238, codes computed by pyotp) and recovery codes."""

from __future__ import annotations

import html
import re
from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import DEFAULT_PASSWORD, csrf_token, login, make_account

from egov.auth.models import Authenticator
from egov.platform.clock import FixedClock
from egov.soc.models import AuditEvent


def _enrol(client: Any, clock: FixedClock) -> tuple[str, list[str]]:
    page = client.get("/account/mfa/totp")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'src="data:image/svg+xml' in page.text  # the QR code, inline
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.text).group(1)  # type: ignore[union-attr]
    sealed = html.unescape(re.search(r'name="sealed" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    wrong = client.post("/account/mfa/totp", data={"csrf_token": csrf_token(client), "sealed": sealed,
                                                   "code": "000000"})
    assert wrong.status_code == 422 and "Mã xác thực không đúng" in wrong.text
    done = client.post("/account/mfa/totp", data={"csrf_token": csrf_token(client), "sealed": sealed,
                                                  "code": pyotp.TOTP(secret).at(clock.now()), "label": "Điện thoại"})
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.text)
    assert len(codes) == 10
    return secret, codes


def _password_step(client: Any, username: str) -> Any:
    client.cookies.clear()
    client.get("/login")
    resp = client.post("/login", data={"username": username, "password": DEFAULT_PASSWORD, "next": "/account",
                                       "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login/second-factor")
    assert not client.cookies.get("egov_session"), "no session before the second factor"
    return resp


def _code_step(client: Any, code: str) -> Any:
    return client.post("/login/second-factor", data={"code": code, "next": "/account",
                                                     "csrf_token": csrf_token(client)}, follow_redirects=False)


def test_enrol_then_sign_in_needs_a_fresh_code_once(client: Any, session: Session, clock: FixedClock) -> None:
    make_account(session, kind="citizen", username="079203005555", display_name="Lê Thị Mai")
    login(client, "079203005555")
    secret, _ = _enrol(client, clock)
    account_page = client.get("/account").text
    assert "Điện thoại" in account_page and "10" in account_page
    _password_step(client, "079203005555")
    assert client.get("/login/second-factor?next=/account").status_code == 200
    assert _code_step(client, "123456").status_code == 422
    reused = _code_step(client, pyotp.TOTP(secret).at(clock.now()))  # the code that confirmed enrolment
    assert reused.status_code == 422  # a code works once
    clock.advance(seconds=30)
    ok = _code_step(client, pyotp.TOTP(secret).at(clock.now()))
    assert ok.status_code == 303 and ok.headers["location"] == "/account"
    me = client.get("/api/auth/me").json()
    assert me["amr"] == ["pwd", "otp"]
    session.rollback()
    types = set(session.scalars(select(AuditEvent.event_type)))
    assert {"auth:mfa:enrolled", "auth:login:second_factor_failed", "auth:login:succeeded"} <= types
    stored = session.scalars(select(Authenticator).where(Authenticator.kind == "totp")).one()
    assert secret not in (stored.secret_sealed or "")  # the seed is sealed, never in clear


def test_recovery_codes_work_once_and_guessing_is_slowed(client: Any, session: Session, clock: FixedClock) -> None:
    make_account(session, kind="citizen", username="079203006666")
    login(client, "079203006666")
    _, codes = _enrol(client, clock)
    _password_step(client, "079203006666")
    assert _code_step(client, codes[0].upper().replace("-", " ")).status_code == 303  # typed loosely
    assert client.get("/api/auth/me").json()["amr"] == ["pwd", "otp"]  # RFC 8176 has no "recovery"
    _password_step(client, "079203006666")
    assert _code_step(client, codes[0]).status_code == 422  # used
    statuses = [_code_step(client, f"{n:06d}").status_code for n in range(8)]
    assert statuses[-1] == 429 and statuses[0] == 422
    session.rollback()
    assert "auth:recovery_code:used" in set(session.scalars(select(AuditEvent.event_type)))


def test_the_second_step_cannot_be_skipped_or_forged(client: Any, session: Session, clock: FixedClock) -> None:
    make_account(session, kind="citizen", username="079203007777")
    login(client, "079203007777")
    _enrol(client, clock)
    _password_step(client, "079203007777")
    client.cookies.set("egov_mfa", "forged-value", path="/login")
    resp = _code_step(client, "123456")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?")
    assert not client.cookies.get("egov_session")
    _password_step(client, "079203007777")
    clock.advance(minutes=6)  # the pending state lasts five minutes
    assert _code_step(client, "123456").headers["location"].startswith("/login?")


def test_the_holder_removes_the_app_from_the_account_page(client: Any, session: Session, clock: FixedClock) -> None:
    make_account(session, kind="citizen", username="079203008888")
    login(client, "079203008888")
    _enrol(client, clock)
    page = client.get("/account").text
    form = re.search(r'<form [^>]*action="(/account/mfa/[^"]+/remove)" class="inline">\s*'
                     r'<input type="hidden" name="csrf_token" value="([^"]+)">', page)
    assert form is not None, "the remove form carries its CSRF token"
    asked = client.post(form.group(1), data={"csrf_token": form.group(2)}, follow_redirects=False)
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text  # asks once more first
    session.rollback()
    assert session.scalars(select(Authenticator).where(Authenticator.revoked_at.is_(None))).first() is not None
    resp = client.post(form.group(1), data={"csrf_token": form.group(2), "confirmed": "yes"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/account?done=mfa_removed"
    assert "Đã gỡ ứng dụng xác thực." in client.get("/account?done=mfa_removed").text
    session.rollback()
    assert {a.kind for a in session.scalars(select(Authenticator).where(Authenticator.revoked_at.is_(None)))} == set()


def test_a_mistyped_code_keeps_the_scanned_qr_code(client: Any, session: Session, clock: FixedClock) -> None:
    """The app scanned the first QR code: after a typo the page must show that seed again, not a new one."""
    make_account(session, kind="citizen", username="079203007878")
    login(client, "079203007878")
    page = client.get("/account/mfa/totp").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    sealed = html.unescape(re.search(r'name="sealed" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    wrong = client.post("/account/mfa/totp", data={"csrf_token": csrf_token(client), "sealed": sealed,
                                                   "code": "000000"})
    assert wrong.status_code == 422
    assert re.search(r'id="totp-secret">([A-Z2-7]+)<', wrong.text).group(1) == secret  # type: ignore[union-attr]
    again = html.unescape(re.search(r'name="sealed" value="([^"]+)"', wrong.text).group(1))  # type: ignore[union-attr]
    done = client.post("/account/mfa/totp", data={"csrf_token": csrf_token(client), "sealed": again,
                                                  "code": pyotp.TOTP(secret).at(clock.now())})
    assert done.status_code == 200 and len(re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.text)) == 10


def test_recovery_codes_are_shown_once_after_a_redirect(client: Any, session: Session, clock: FixedClock) -> None:
    """Confirming the app answers 303; the codes page shows them once, and a refresh shows none."""
    make_account(session, kind="citizen", username="079203007979")
    login(client, "079203007979")
    page = client.get("/account/mfa/totp").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    sealed = html.unescape(re.search(r'name="sealed" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    done = client.post("/account/mfa/totp", follow_redirects=False, data={
        "csrf_token": csrf_token(client), "sealed": sealed, "code": pyotp.TOTP(secret).at(clock.now())})
    assert done.status_code == 303 and done.headers["location"] == "/account/mfa/recovery-codes"
    assert "Path=/account/mfa/recovery-codes" in done.headers["set-cookie"]
    shown = client.get("/account/mfa/recovery-codes", follow_redirects=False)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", shown.text)
    assert len(codes) == 10 and not any(c in done.headers["set-cookie"] for c in codes)
    refreshed = client.get("/account/mfa/recovery-codes", follow_redirects=False)
    assert refreshed.status_code == 303 and refreshed.headers["location"] == "/account"
    assert not any(c in client.get("/account").text for c in codes)
    session.rollback()
    assert len(list(session.scalars(select(Authenticator).where(Authenticator.kind == "totp")))) == 1


def test_a_wrong_code_is_in_an_error_summary_linked_to_the_code_box(
    client: Any, session: Session, clock: FixedClock
) -> None:
    make_account(session, kind="citizen", username="079203008080")
    login(client, "079203008080")
    page = client.get("/account/mfa/totp").text
    sealed = html.unescape(re.search(r'name="sealed" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    wrong = client.post("/account/mfa/totp", data={"csrf_token": csrf_token(client), "sealed": sealed,
                                                   "code": "000000"})
    assert wrong.status_code == 422 and 'class="error-summary"' in wrong.text and 'href="#code"' in wrong.text
    assert '<p class="error" id="code-error">' in wrong.text
    _enrol(client, clock)
    _password_step(client, "079203008080")
    refused = _code_step(client, "123456")
    assert refused.status_code == 422 and 'class="error-summary"' in refused.text and 'href="#code"' in refused.text
    assert '<p class="error" id="code-error">' in refused.text
