"""An independent upstream OpenID provider for the federation tests: panva's oidc-provider on Node.

`make setup` installs it (npm ci in tests/peers/upstream_idp); it plays the VNeID-style national
provider, shares no code with egov, and signs in whoever the test names at the acr the test asks for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

HERE = Path(__file__).resolve().parent.parent / "peers" / "upstream_idp"
CLIENT_ID = "egov-province"
CLIENT_SECRET = "upstream-test-secret-" + "x" * 24


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class UpstreamIdp:
    issuer: str
    accounts: dict[str, dict[str, str]]
    process: subprocess.Popen[bytes]
    log: Path
    browser: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10, follow_redirects=False))

    def sign_in(self, authorize_url: str, account: str, acr: str = "urn:vneid:loa:2",
                amr: str = "pwd otp") -> str:
        """Play the user at the provider: open the authorization URL, sign in, return the redirect back to us."""
        self.browser.cookies.clear()  # a fresh browser: no single sign-on left over from another test
        resp = self.browser.get(authorize_url)
        for _ in range(8):
            location = resp.headers.get("location", "")
            if resp.status_code in (302, 303) and not location.startswith(self.issuer) and location.startswith("http"):
                return location
            if resp.status_code in (302, 303):
                resp = self.browser.get(urljoin(self.issuer, location))
                continue
            form = re.search(r'action="([^"]+)"', resp.text)
            assert resp.status_code == 200 and form, (resp.status_code, resp.text[:300])
            resp = self.browser.post(urljoin(self.issuer, form.group(1)),
                                     data={"login": account, "acr": acr, "amr": amr})
        raise AssertionError(f"the provider never sent the browser back: {resp.status_code} {resp.text[:300]}")


@contextmanager
def upstream_idp(redirect_uris: list[str], accounts: dict[str, dict[str, str]], tmp: Path, *,
                 claims_in_id_token: bool = False) -> Iterator[UpstreamIdp]:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError("the upstream provider needs Node.js and `npm ci` in tests/peers/upstream_idp "
                           "(make setup does it)")
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "ACCOUNTS": json.dumps(accounts),
           "CLIENTS": json.dumps([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                   "redirect_uris": redirect_uris}]),
           "CLAIMS_IN_ID_TOKEN": "1" if claims_in_id_token else "0"}
    log = tmp / f"upstream-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([node, "server.mjs"], cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the upstream provider did not start: " + log.read_text()[-2000:])
            time.sleep(0.1)
        yield UpstreamIdp(issuer, accounts, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def query_of(url: str) -> dict[str, Any]:
    from urllib.parse import parse_qs, urlsplit

    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
