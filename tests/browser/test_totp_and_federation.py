"""Chromium: a citizen sets up an authenticator app and signs in with it; another signs in through the upstream
national provider (panva's oidc-provider on another origin), which the SameSite=Lax state cookie survives."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyotp
import pytest
from tests.browser.conftest import shot
from tests.factories.upstream_idp import CLIENT_ID, CLIENT_SECRET, upstream_idp

pytestmark = pytest.mark.browser
PASSWORD = "egov-demo-2026"


def _data_dir() -> Path:
    assert "EGOV_BROWSER_DATA_DIR" in os.environ, "the live server exports its data directory"
    return Path(os.environ["EGOV_BROWSER_DATA_DIR"])


def _query(sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{_data_dir() / 'egov.db'}?mode=ro", uri=True) as db:
        return list(db.execute(sql))


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()


def test_a_citizen_sets_up_an_authenticator_app_and_signs_in_with_it(page: Any, live_server: str) -> None:
    (username,), = _query("SELECT username FROM auth_accounts WHERE kind = 'citizen' LIMIT 1")
    _sign_in(page, live_server, username)
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/account/mfa/totp")
    secret = page.locator("#totp-secret").inner_text().strip()
    shot(page, "totp-setup")
    page.get_by_label("Mã xác thực").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Xác nhận").click()
    page.get_by_text("mã khôi phục", exact=False).first.wait_for()
    # The POST answered 303: the codes are on a page of their own, and a reload does not show them again.
    assert page.url == f"{live_server}/account/mfa/recovery-codes"
    codes = page.locator("main code").all_inner_texts()
    assert len(codes) == 10
    shot(page, "recovery-codes")
    page.reload()
    page.wait_for_url(f"{live_server}/account")
    assert not any(code in page.content() for code in codes)

    page.context.clear_cookies()
    _sign_in(page, live_server, username)
    page.wait_for_url(f"{live_server}/login/second-factor*")
    shot(page, "totp-second-factor")
    # The code just used at enrolment cannot be used again: the next time step's code (accepted with ±1 drift).
    page.get_by_label("Mã xác thực").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")
    me = page.context.request.get(f"{live_server}/api/auth/me").json()
    assert me["amr"] == ["pwd", "otp"]


def test_a_citizen_signs_in_through_the_national_provider(page: Any, live_server: str, tmp_path: Path) -> None:
    (pid, birth), = _query("SELECT personal_id, birth_date FROM citizens WHERE birth_date < '2000-01-01' AND "
                           "personal_id NOT IN (SELECT username FROM auth_accounts) ORDER BY personal_id LIMIT 1")
    callback = f"{live_server}/login/federated/vneid/callback"
    accounts = {"cong-dan-1": {"vn_personal_id": pid, "name": "Công dân thử", "birthdate": str(birth)}}
    with upstream_idp([callback], accounts, tmp_path) as idp:
        secret_file = tmp_path / "secret"
        secret_file.write_text(CLIENT_SECRET)
        env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
        env["EGOV_DATA_DIR"] = str(_data_dir())
        subprocess.run([sys.executable, "-m", "egov", "federation", "add", "--id", "vneid", "--name", "VNeID",
                        "--issuer", idp.issuer, "--client-id", CLIENT_ID, "--acr", "urn:vneid:loa:1=1",
                        "--acr", "urn:vneid:loa:2=2", "--client-secret-file", str(secret_file)],
                       env=env, check=True, capture_output=True, timeout=120)
        page.goto(f"{live_server}/login")
        shot(page, "login-with-vneid")
        page.get_by_role("link", name="Đăng nhập qua VNeID").click()
        page.wait_for_url(f"{idp.issuer}/interaction/*")
        page.locator("input[name=login]").fill("cong-dan-1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server}/")
        me = page.context.request.get(f"{live_server}/api/auth/me").json()
        assert me["kind"] == "citizen" and me["acr"] == "2" and me["amr"] == ["pwd", "otp"]
        page.goto(f"{live_server}/account")
        shot(page, "account-after-vneid")
