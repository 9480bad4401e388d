"""The holder's own account, the back office and role grants, through HTTP with real sessions."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import DEFAULT_PASSWORD, make_account
from tests.factories.registry import RegistryTree
from tests.functional.auth.conftest import Browser, audit

from egov.auth import AuthAudit
from egov.auth.models import Account, RoleAssignment
from egov.platform.permissions import GLOBAL

NEW = "một mật khẩu mới thật dài"
D1 = "agency-district-1"


def second_browser(browser: Browser) -> Browser:
    return Browser(TestClient(browser.client.app, base_url="http://localhost"))


def test_me_needs_a_session_and_lists_grants(browser: Browser, session: Session) -> None:
    anon = browser.get("/api/auth/me")
    assert anon.status_code == 401 and anon.headers["content-type"].startswith("application/problem+json")
    a = make_account(session, username="canbo01", roles=[("auditor", D1)], primary_agency_id=D1)
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    me = browser.get("/api/auth/me").json()
    assert me["account_id"] == a.id and me["kind"] == "officer" and me["agency_id"] == D1
    assert {(g["permission"], g["agency_id"]) for g in me["grants"]} == {
        ("soc:audit:read", D1), ("soc:audit:verify", D1)}
    assert "session_id" not in me


def session_ids_on(page: str) -> list[str]:
    return [part.split("/")[0] for part in page.split('action="/account/sessions/')[1:]]


def test_account_page_lists_my_sessions_and_revokes_only_mine(browser: Browser, session: Session) -> None:
    make_account(session, username="canbo01")
    make_account(session, username="canbo02")
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    other_device = second_browser(browser)
    other_device.sign_in("canbo01", DEFAULT_PASSWORD)
    stranger = second_browser(browser)
    stranger.sign_in("canbo02", DEFAULT_PASSWORD)
    page = browser.get("/account")
    assert page.status_code == 200 and "Phiên đăng nhập đang hoạt động" in page.text
    mine = session_ids_on(page.text)
    this_one = hashlib.sha256(str(browser.session_token).encode()).hexdigest()
    assert len(mine) == 2 and this_one in mine
    [theirs] = session_ids_on(stranger.get("/account").text)
    assert browser.post(f"/account/sessions/{theirs}/revoke").status_code == 404
    assert stranger.get("/api/auth/me").status_code == 200
    [other_id] = [i for i in mine if i != this_one]
    resp = browser.post(f"/account/sessions/{other_id}/revoke")
    assert resp.status_code == 303 and resp.headers["location"] == "/account?done=revoked"
    assert other_device.get("/api/auth/me").status_code == 401
    me = browser.get("/api/auth/me").json()
    [(event, _)] = audit(session, AuthAudit.SESSION_REVOKED)
    assert event.object_id == other_id and event.actor_id == me["account_id"]


def test_revoking_this_session_signs_me_out(browser: Browser, session: Session) -> None:
    make_account(session, username="canbo01")
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    this_one = hashlib.sha256(str(browser.session_token).encode()).hexdigest()
    resp = browser.post(f"/account/sessions/{this_one}/revoke")
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    assert browser.session_token is None
    assert browser.get("/api/auth/me").status_code == 401


def test_change_password_through_the_form(browser: Browser, session: Session) -> None:
    make_account(session, username="canbo01")
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    no_csrf = browser.post("/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": NEW,
                                                 "new_password_confirm": NEW}, csrf=False)
    assert no_csrf.status_code == 403
    wrong = browser.post("/account/password", {"current_password": "sai mật khẩu rồi", "new_password": NEW,
                                               "new_password_confirm": NEW})
    assert wrong.status_code == 422 and "Mật khẩu hiện tại không đúng." in wrong.text
    weak = browser.post("/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": "canbo01",
                                              "new_password_confirm": "canbo01"})
    assert weak.status_code == 422 and 'id="new_password-error"' in weak.text
    ok = browser.post("/account/password", {"current_password": DEFAULT_PASSWORD, "new_password": NEW,
                                            "new_password_confirm": NEW})
    assert ok.status_code == 303 and ok.headers["location"] == "/account?done=password"
    assert browser.get("/api/auth/me").status_code == 200  # this session stays
    again = second_browser(browser)
    assert again.sign_in("canbo01", DEFAULT_PASSWORD).status_code == 401
    assert again.sign_in("canbo01", NEW).status_code == 303
    assert [e.outcome for e, _ in audit(session, AuthAudit.PASSWORD_CHANGED)] == ["failure", "success"]


def test_back_office_is_for_officers_and_shows_links_by_permission(browser: Browser, session: Session) -> None:
    make_account(session, kind="citizen", username="079203012345")
    make_account(session, username="canbo01", roles=[("registry_clerk", D1)])
    assert browser.get("/back-office").status_code == 303  # anonymous: sign in first
    browser.sign_in("079203012345", DEFAULT_PASSWORD)
    assert browser.get("/back-office").status_code == 403
    browser.sign_in("canbo01", DEFAULT_PASSWORD)
    page = browser.get("/back-office")
    assert page.status_code == 200
    assert 'href="/back-office/registry/citizens"' in page.text
    assert 'href="/back-office/audit"' not in page.text and 'href="/back-office/accounts"' not in page.text
    assert browser.get("/back-office/accounts").status_code == 403


def test_an_agency_admin_grants_and_revokes_in_their_agency_only(browser: Browser, session: Session,
                                                                 registry_tree: RegistryTree) -> None:
    dept_a, dept_b = registry_tree.dept_a, registry_tree.dept_b
    make_account(session, username="admin01", roles=[("account_admin", dept_a.id)], primary_agency_id=dept_a.id)
    target = make_account(session, username="canbo01", primary_agency_id=dept_a.id)
    browser.sign_in("admin01", DEFAULT_PASSWORD)
    listing = browser.get("/back-office/accounts")
    assert listing.status_code == 200 and "canbo01" in listing.text
    assert f'<option value="{dept_a.code}">' in listing.text and dept_b.code not in listing.text
    ok = browser.post("/back-office/accounts/grant", {"username": "canbo01", "role": "registry_clerk",
                                                      "agency_code": dept_a.code})
    assert ok.status_code == 303 and ok.headers["location"] == "/back-office/accounts?done=granted"
    assert f"{dept_a.code} — {dept_a.name_vi}" in browser.get("/back-office/accounts").text
    for code, role in [(dept_b.code, "registry_clerk"), (GLOBAL, "registry_clerk"), (dept_a.code, "platform_admin")]:
        refused = browser.post("/back-office/accounts/grant", {"username": "canbo01", "role": role,
                                                               "agency_code": code})
        assert refused.status_code == 403 and "Bạn không có quyền" in refused.text
    self_grant = browser.post("/back-office/accounts/grant", {"username": "admin01", "role": "registry_editor",
                                                              "agency_code": dept_a.code})
    assert self_grant.status_code == 403
    unknown = browser.post("/back-office/accounts/grant", {"username": "canbo01", "role": "auditor",
                                                           "agency_code": "999.99.99.H99"})
    assert unknown.status_code == 422 and 'id="grant-agency-error"' in unknown.text
    session.rollback()
    held = session.scalars(select(RoleAssignment).where(RoleAssignment.account_id == target.id)).all()
    assert [(r.role, r.agency_id) for r in held] == [("registry_clerk", dept_a.id)]
    [(granted, details)] = audit(session, AuthAudit.ROLE_GRANTED)
    assert granted.object_id == target.id and granted.agency_id == dept_a.id and details["role"] == "registry_clerk"
    admin = session.scalar(select(Account).where(Account.username == "admin01"))
    assert granted.actor_id == admin.id  # type: ignore[union-attr]
    fields = {"account_id": target.id, "role": "registry_clerk", "agency_id": dept_a.id}
    asked = browser.post("/back-office/accounts/revoke", fields)  # a destructive action asks once more
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text and dept_a.code in asked.text
    assert audit(session, AuthAudit.ROLE_REVOKED) == []  # asking changed nothing
    revoked = browser.post("/back-office/accounts/revoke", {**fields, "confirmed": "yes"})
    assert revoked.status_code == 303
    [(event, _)] = audit(session, AuthAudit.ROLE_REVOKED)
    assert event.object_id == target.id and event.agency_id == dept_a.id


def test_a_grant_at_the_city_reaches_its_departments(browser: Browser, session: Session,
                                                    registry_tree: RegistryTree) -> None:
    make_account(session, username="admin01", roles=[("account_admin", registry_tree.root.id)])
    make_account(session, username="canbo01", primary_agency_id=registry_tree.dept_b.id)
    browser.sign_in("admin01", DEFAULT_PASSWORD)
    assert "canbo01" in browser.get("/back-office/accounts").text  # an officer of a department below
    ok = browser.post("/back-office/accounts/grant", {"username": "canbo01", "role": "auditor",
                                                      "agency_code": registry_tree.dept_b.code})
    assert ok.status_code == 303


def test_granting_to_an_unknown_username_changes_nothing(browser: Browser, session: Session) -> None:
    make_account(session, username="root01", kind="admin", roles=[("platform_admin", GLOBAL)])
    browser.sign_in("root01", DEFAULT_PASSWORD)
    resp = browser.post("/back-office/accounts/grant", {"username": "khongco01", "role": "auditor",
                                                        "agency_code": "*"})
    assert resp.status_code == 404 and "Không tìm thấy tài khoản." in resp.text
    assert audit(session, AuthAudit.ROLE_GRANTED) == []


@pytest.mark.parametrize(("locale", "headings"), [
    ("vi", ["Tài khoản của tôi", "Bàn làm việc", "Tài khoản và vai trò"]),
    ("en", ["My account", "Back office", "Accounts and roles"]),
])
def test_every_page_speaks_the_chosen_language(browser: Browser, session: Session, locale: str,
                                               headings: list[str]) -> None:
    make_account(session, username="root01", kind="admin", roles=[("platform_admin", GLOBAL)])
    browser.client.cookies.set("egov_lang", locale, domain="localhost.local")
    login_page = browser.get("/login").text
    assert f'<html lang="{locale}">' in login_page
    assert ("Sign in" in login_page) == (locale == "en")
    browser.sign_in("root01", DEFAULT_PASSWORD)
    for url, heading in zip(["/account", "/back-office", "/back-office/accounts"], headings, strict=True):
        resp = browser.get(url)
        assert resp.status_code == 200 and f"<h1>{heading}</h1>" in resp.text, url
