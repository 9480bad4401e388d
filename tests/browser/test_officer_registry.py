"""Chromium: an officer signs in, searches the registry as they type, and opens a citizen's record."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser
PASSWORD = "egov-demo-2026"


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/back-office")


def test_officer_signs_in_and_searches_the_registry(page: Any, live_server: str) -> None:
    _sign_in(page, live_server, "canbo.thanhpho")
    assert page.locator("h1").first.is_visible()
    shot(page, "desk")

    page.goto(f"{live_server}/back-office/registry/citizens")
    search = page.get_by_label("Số định danh hoặc họ tên")
    search.fill("nguyen")  # htmx sends it as the officer types: no button press
    rows = page.locator("#results table tbody tr")
    rows.first.wait_for(timeout=10_000)
    names = rows.locator("td:first-child").all_inner_texts()
    assert names and all(n.split()[0] == "Nguyễn" for n in names)
    shot(page, "registry-search")

    rows.first.locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert "Số định danh cá nhân" in page.content()
    assert "****" in page.content()  # the phone on record is shown masked
    shot(page, "citizen-record")


def test_ward_officer_sees_only_the_wards_citizens(page: Any, live_server: str) -> None:
    _sign_in(page, live_server, "canbo.benthanh")
    page.goto(f"{live_server}/back-office/registry/citizens?q=nguyen")
    rows = page.locator("#results table tbody tr")
    rows.first.wait_for(timeout=10_000)
    for link in rows.locator("td:first-child a").all()[:5]:
        href = link.get_attribute("href")
        detail = page.context.request.get(f"{live_server}{href}")
        assert detail.status == 200
        assert "000.00.22.H29" in detail.text()  # Bến Thành ward keeps every record this officer can see


def test_wrong_password_is_refused_in_vietnamese(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill("canbo.thanhpho")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau-roi")
    page.locator("main button[type=submit]").click()
    assert page.get_by_text("Tên đăng nhập hoặc mật khẩu không đúng.").is_visible()
    shot(page, "login-refused")
