"""Chromium walks every HTML page at 390 px (a phone) as five kinds of visitor: no sideways scroll, axe finds nothing.

The pages come from the application's own router (every GET route outside the JSON API), so a page added
later is walked without editing this file; a route with a path parameter is reached by following the links
of the pages already walked. axe-core comes from npm (tests/browser/axe, `make node-deps`), not a CDN.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.browser.conftest import SHOTS

pytestmark = pytest.mark.browser
PASSWORD = "egov-demo-2026"
PHONE = {"width": 390, "height": 844}
AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices (landmarks, one h1, headings in order).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# GET routes that are not pages a visitor browses to: machine endpoints, downloads, redirects into other sites.
NOT_PAGES = re.compile(r"^/(api|docs|static|healthz|readyz|metrics|\.well-known|oidc|ocsp|crl|ca|tsa|pki/)|/download$"
                       r"|\.(crl|cer|crt|json|csv|jsonl)$|^/login/federat|^/login/certificate$")
# Pages that need a state a walk cannot be in (a pending second factor, a relying party's request, a
# one-time result): their own tests cover them.
NEEDS_A_FLOW = {
    "/login/second-factor": "between password and code (test_totp_and_federation)",
    "/register/confirm": "after a registration form (functional tests)",
    "/account/mfa/recovery-codes": "shown once after an authenticator app is confirmed (test_totp_and_federation)",
    "/back-office/signing/{approval_id}": "after an upload to sign (functional signing test)",
    "/back-office/signing/{approval_id}/done": "after a signature (functional signing test)",
    "/back-office/pki/requests/{request_id}": "the demo has no pending certificate request (functional pki tests)",
    "/back-office/pki/requests/{request_id}/submitted": "after submitting a request (functional pki tests)",
}
REACHED: dict[str, set[str]] = {}  # route template -> the visitors that reached it


def _data_dir() -> Path:
    return Path(os.environ["EGOV_BROWSER_DATA_DIR"])


def _citizen() -> str:
    with sqlite3.connect(f"file:{_data_dir() / 'egov.db'}?mode=ro", uri=True) as db:
        # The demo's one citizen account. test_totp_and_federation (later in the run) gives it an
        # authenticator app; before that a password signs it in, and _sign_in fails loudly if not.
        (name,), = db.execute("SELECT username FROM auth_accounts WHERE kind = 'citizen' ORDER BY username "
                              "LIMIT 1")
    return str(name)


def _flatten(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str]]]:
    """(full path, methods) of every route; FastAPI 0.165 nests included routers as `_IncludedRouter`."""
    found: list[tuple[str, set[str]]] = []
    for route in routes:
        if hasattr(route, "original_router"):
            inner = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            found.extend(_flatten(route.original_router.routes, prefix + inner))
        elif getattr(route, "methods", None):
            found.append((prefix + route.path, set(route.methods)))
    return found


def _routes() -> list[tuple[str, re.Pattern[str]]]:
    """(template, regex) of every GET route that renders a page, read from the app's router."""
    from egov.app import create_app
    from egov.contexts import load_settings  # every context's settings section

    os.environ.setdefault("EGOV_DATA_DIR", str(_data_dir()))
    out = []
    for path, methods in _flatten(create_app(load_settings()).routes):
        if "GET" in methods and not NOT_PAGES.search(path):
            pattern = re.sub(r"\\\{\w+:path\\\}", ".+", re.escape(path))
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", pattern)
            out.append((path, re.compile(f"^{pattern}$")))
    assert len(out) > 20, out
    return out


def _template(routes: list[tuple[str, re.Pattern[str]]], path: str) -> str | None:
    """The route that answers `path`, first match wins as in the router."""
    return next((template for template, regex in routes if regex.match(path)), None)


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    assert "/login" not in urlsplit(page.url).path, f"{username} did not get in: {page.url}"


AXED: set[tuple[str, int]] = set()  # (route, status) axe has checked in some visitor's walk


def _check(page: Any, url: str, axe: bool = True) -> list[str]:
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        wide = page.evaluate("""(limit) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > limit + 1 && e.offsetParent !== null)
            .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                 (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))""",
                             PHONE["width"])
        problems.append(f"{url}: {width} px wide at 390 ({', '.join(wide)})")
    if not axe:
        return problems
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    for v in result["violations"]:
        targets = "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        problems.append(f"{url}: axe {v['id']} ({v['impact']}) x{len(v['nodes'])}: {targets}")
    return problems


VISITORS = {"anonymous": None, "citizen": "", "officer": "canbo.thanhpho", "administrator": "admin",
            "auditor": "kiemtoan"}


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_every_page_fits_a_phone_and_passes_axe(browser: Any, live_server: str, visitor: str) -> None:
    assert AXE.exists(), f"{AXE} is missing: run `make node-deps`"
    routes = _routes()
    # The site's CSP (script-src 'self') would refuse the injected axe script: bypassed in this context only.
    context = browser.new_context(locale="vi-VN", viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    try:
        username = VISITORS[visitor]
        if username is not None:
            _sign_in(page, live_server, username or _citizen())
        queue = [path for path, _ in routes if "{" not in path]
        seen: set[str] = set()
        filled: set[str] = set()
        checked: set[str] = set()
        problems: list[str] = []
        while queue:
            path = queue.pop(0)
            if path in seen or path in ("/logout",):
                continue
            seen.add(path)
            resp = page.goto(f"{live_server}{path}")
            final = urlsplit(page.url).path
            if resp is None or "text/html" not in (resp.headers.get("content-type") or ""):
                continue
            template = _template(routes, final)
            if template is not None and resp.status < 400:
                REACHED.setdefault(template, set()).add(visitor)
            # One check per page the visitor ends up on (a redirect to /login is checked once), and one
            # per error status (403 and 404 pages share their template).
            key = final if resp.status < 400 else f"status {resp.status}"
            if key not in checked:
                checked.add(key)
                # axe once per route and status over all the walks (the layout around it is the same), plus the
                # visitor's first page (each visitor's menu); the width is measured on every page.
                fresh = (template or final, resp.status) not in AXED or len(checked) == 1
                AXED.add((template or final, resp.status))
                problems += _check(page, path, axe=fresh)
            hrefs = page.eval_on_selector_all("a[href^='/']", "els => els.map(e => e.getAttribute('href'))")
            for href in hrefs:
                target = urlsplit(href).path
                template = _template(routes, target)
                if template is not None and "{" in template and template not in filled:
                    filled.add(template)
                    queue.append(target)
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    finally:
        context.close()


def test_the_walk_reached_every_page() -> None:
    """Run after the walks: a page no visitor reached was not checked at all."""
    if not REACHED:
        pytest.fail("the walks did not run in this session")
    routes = [path for path, _ in _routes()]
    missed = sorted(p for p in routes if p not in REACHED and p not in NEEDS_A_FLOW)
    assert not missed, "no visitor reached: " + ", ".join(missed)


MAIN_PAGES = {
    "anonymous": ["/", "/login", "/register", "/verify"],
    "citizen": ["/", "/account"],
    "officer": ["/back-office", "/back-office/registry/citizens?q=nguyen", "/back-office/registry/agencies",
                "/back-office/signing"],
    "administrator": ["/back-office/accounts", "/back-office/pki", "/back-office/oidc-clients"],
    "auditor": ["/back-office/audit"],
}


@pytest.mark.slow  # a minute of screenshots: `pytest -m browser` (make test-browser) takes them, the default run not
def test_screenshots_of_the_main_pages_on_a_desktop_and_a_phone(browser: Any, live_server: str) -> None:
    """Pictures for a person to look at (var/screenshots/pages-*.png); the checks above are the test."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    taken = 0
    for visitor, paths in MAIN_PAGES.items():
        for size, viewport in (("desktop", {"width": 1366, "height": 900}), ("phone", PHONE)):
            context = browser.new_context(locale="vi-VN", viewport=viewport)
            page = context.new_page()
            username = VISITORS[visitor]
            if username is not None:
                _sign_in(page, live_server, username or _citizen())
            for path in paths:
                page.goto(f"{live_server}{path}")
                name = re.sub(r"[^a-z0-9]+", "-", f"{visitor}-{path}".lower()).strip("-")
                page.screenshot(path=str(SHOTS / f"pages-{name}-{size}.png"), full_page=True)
                taken += 1
            context.close()
    assert taken == 2 * sum(len(p) for p in MAIN_PAGES.values())
