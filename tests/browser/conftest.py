"""A live `egov serve` on SQLite with a small demo province, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(os.environ.get("EGOV_SCREENSHOT_DIR", "var/screenshots"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("live")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({"EGOV_DATA_DIR": str(data), "EGOV_LOG_JSON": "false"})
    egov = [sys.executable, "-m", "egov"]
    subprocess.run([*egov, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([*egov, "demo", "load", "--citizens", "300"], env=env, check=True, capture_output=True,
                   timeout=300)
    port = _free_port()
    base = f"http://localhost:{port}"
    log = (data / "server.log").open("w")
    # The public URL is the WebAuthn origin (and the OIDC issuer): it must be what the browser sees.
    proc = subprocess.Popen([*egov, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env={**env, "EGOV_PUBLIC_URL": base}, stdout=log, stderr=subprocess.STDOUT)
    os.environ["EGOV_BROWSER_DATA_DIR"] = str(data)  # for tests that run `egov …` against this server
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start: " + (data / "server.log").read_text()[-2000:])
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    pg = context.new_page()
    yield pg
    context.close()


def shot(page: object, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
