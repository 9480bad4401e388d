"""Chromium: a relying party sends a person to the platform, who signs in, consents and comes back with a code."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt as pyjwt
import pytest
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser
PASSWORD = "egov-demo-2026"


@pytest.fixture
def relying_party() -> Iterator[tuple[str, list[str]]]:
    """The relying party's callback on 127.0.0.1: records each query it receives, answers a short page."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write("<h1>Cổng dịch vụ công (thử): đã nhận mã</h1>".encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/callback", seen
    server.shutdown()


def _register(live_server: str, redirect_uri: str) -> tuple[str, str]:
    data = Path(os.environ["EGOV_BROWSER_DATA_DIR"]) if "EGOV_BROWSER_DATA_DIR" in os.environ else None
    assert data is not None, "the live server exports its data directory"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({"EGOV_DATA_DIR": str(data)})
    out = subprocess.run([sys.executable, "-m", "egov", "oidc", "clients", "create", "--name",
                          "Cổng dịch vụ công tỉnh (thử)", "--redirect-uri", redirect_uri, "--scope", "openid",
                          "--scope", "profile"], env=env, capture_output=True, text=True, timeout=120, check=True)
    fields = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    return fields["client_id"].strip(), fields["client_secret"].strip()


def test_sign_in_through_the_platform_with_consent(page: Any, live_server: str,
                                                   relying_party: tuple[str, list[str]]) -> None:
    redirect_uri, seen = relying_party
    client_id, secret = _register(live_server, redirect_uri)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
                       "scope": "openid profile", "state": state, "nonce": nonce, "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    page.goto(f"{live_server}/oidc/authorize?{query}")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    page.get_by_label("Tên đăng nhập").fill("admin")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.get_by_role("button", name="Cho phép").wait_for(timeout=10_000)
    assert page.get_by_text("Cổng dịch vụ công tỉnh (thử)").is_visible()
    assert page.get_by_text("Họ và tên").is_visible()
    shot(page, "oidc-consent")
    page.get_by_role("button", name="Cho phép").click()
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/callback\?.*"))
    callbacks = [path for path in seen if path.startswith("/callback?")]  # the browser may also ask for a favicon
    assert callbacks, f"the relying party received no callback: {seen}"
    params = parse_qs(urlsplit(callbacks[0]).query)
    assert params["state"] == [state] and params["iss"][0].startswith("http://localhost")
    resp = httpx.post(f"{live_server}/oidc/token", auth=(client_id, secret), data={
        "grant_type": "authorization_code", "code": params["code"][0], "redirect_uri": redirect_uri,
        "code_verifier": verifier})
    assert resp.status_code == 200, resp.text
    id_token = resp.json()["id_token"]
    keys = httpx.get(f"{live_server}/oidc/jwks").json()["keys"]
    kid = pyjwt.get_unverified_header(id_token)["kid"]
    claims = pyjwt.decode(id_token, key=pyjwt.PyJWK(next(k for k in keys if k["kid"] == kid)),
                          algorithms=["ES256"], audience=client_id)
    assert claims["nonce"] == nonce and claims["acr"] == "urn:vn:egov:loa:1"
