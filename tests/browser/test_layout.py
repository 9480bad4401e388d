"""Chromium: layout rules axe does not see (issue 19.4): spacing, focus on the red header, the phone menu."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def _luminance(rgb: str) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (float(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("width", [1366, 390])
def test_content_keeps_its_distance_from_the_header_and_the_screen_edge(browser: Any, live_server: str,
                                                                         width: int) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/verify")
        gap = page.evaluate("""() => document.querySelector('main h1').getBoundingClientRect().top
                                     - document.querySelector('header.top').getBoundingClientRect().bottom""")
        assert gap >= 16, f"the first heading is {gap} px below the header"
        brand_left = page.evaluate("document.querySelector('.brand').getBoundingClientRect().left")
        assert brand_left >= 12, f"the logo is {brand_left} px from the screen edge"
    finally:
        context.close()


def test_the_focus_ring_on_the_red_header_is_visible(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/")
    link = page.locator("header.top a.brand")
    link.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
    ring, header = page.evaluate("""() => [getComputedStyle(document.activeElement).outlineColor,
                                           getComputedStyle(document.querySelector('header.top')).backgroundColor]""")
    assert _contrast(ring, header) >= 3, (ring, header)


def test_on_a_phone_the_menu_folds_behind_a_button(browser: Any, live_server: str) -> None:
    context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live_server}/")
        toggle = page.get_by_role("button", name="Danh mục")
        assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
        assert not page.locator("#main-nav").is_visible()
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.locator("#main-nav a[href='/login']").is_visible()
    finally:
        context.close()
