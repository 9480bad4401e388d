"""Chromium with its virtual authenticator (CDP WebAuthn): an officer adds a passkey, then signs in with it alone."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser
PASSWORD = "egov-demo-2026"


def test_officer_adds_a_passkey_and_signs_in_with_it(page: Any, live_server: str) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True}})["authenticatorId"]

    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill("canbo.benthanh")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/back-office")

    page.goto(f"{live_server}/account")
    page.get_by_label("Tên khoá (tuỳ chọn)").fill("Máy tính phường Bến Thành")
    page.get_by_role("button", name="Thêm khoá truy cập").click()
    page.wait_for_url(f"{live_server}/account?done=passkey_added")
    assert page.get_by_text("Máy tính phường Bến Thành").first.is_visible()
    shot(page, "account-passkey")
    creds = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(creds) == 1 and creds[0]["isResidentCredential"] and creds[0]["rpId"] == "localhost"

    page.context.clear_cookies()  # a new visit: no session, no password typed
    page.goto(f"{live_server}/login")
    shot(page, "login-with-passkey")
    page.get_by_role("button", name="Đăng nhập bằng khoá truy cập (passkey)").click()
    page.wait_for_url(f"{live_server}/back-office")
    me = page.context.request.get(f"{live_server}/api/auth/me").json()
    assert me["kind"] == "officer" and me["amr"] == ["hwk", "user", "mfa"]
    assert any(g["permission"] == "registry:citizen:read" for g in me["grants"])  # the ward officer's own grants

    # Another browser without the key cannot use it: the virtual authenticator is removed.
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    page.context.clear_cookies()
    page.goto(f"{live_server}/login")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    page.get_by_role("button", name="Đăng nhập bằng khoá truy cập (passkey)").click()
    page.locator("#passkey-status").wait_for(state="visible", timeout=15_000)
    assert page.url.startswith(f"{live_server}/login")
