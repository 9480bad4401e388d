"""/api/docs in Chromium: Swagger UI renders the operations from this server's own files, under our CSP."""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser

CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def test_api_docs_render_every_operation_with_no_csp_error(page: Any, live_server: str) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith((live_server, "data:")) else None)
    page.add_init_script(CSP_WATCH)
    response = page.goto(f"{live_server}/api/docs")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=30_000)
    operations = page.locator(".opblock")
    assert operations.count() >= 20
    assert page.locator(".opblock-summary-path", has_text="/healthz").count() >= 1
    page.locator(".opblock-summary", has_text="/healthz").first.click()  # an operation opens
    page.wait_for_selector(".opblock.is-open", timeout=10_000)
    shot(page, "api-docs")
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
    assert outside == []  # no CDN, nothing fetched from anywhere else
