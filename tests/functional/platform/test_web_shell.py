"""The shell every page shares: security headers, friendly errors, problem+json, language, ops endpoints."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account

from egov.platform.permissions import GLOBAL


def test_security_headers_on_every_page(client: Any) -> None:
    resp = client.get("/")
    assert resp.status_code == 200
    h = resp.headers
    assert "default-src 'self'" in h["content-security-policy"] and "frame-ancestors 'none'" in h[
        "content-security-policy"]
    assert "'unsafe-inline'" not in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "same-origin"
    assert h["cache-control"] == "no-store"
    assert len(h["x-request-id"]) == 16
    csrf = [c for c in resp.headers.get_list("set-cookie") if c.startswith("egov_csrf=")]
    assert csrf and "HttpOnly" in csrf[0] and "SameSite=Strict" in csrf[0]


def test_home_is_vietnamese_by_default_and_english_on_request(client: Any) -> None:
    assert "Dịch vụ công trực tuyến" in client.get("/").text
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Online public services" in english.text and '<html lang="en">' in english.text


def test_language_switch_is_remembered_and_needs_csrf(client: Any) -> None:
    refused = client.post("/language", data={"lang": "en", "next": "/"}, follow_redirects=False)
    assert refused.status_code == 403
    resp = client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client)},
                       follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    assert "Online public services" in client.get("/").text


def test_language_switch_refuses_an_open_redirect(client: Any) -> None:
    resp = client.post("/language", data={"lang": "vi", "next": "//evil.example/", "csrf_token": csrf_token(client)},
                       follow_redirects=False)
    assert resp.headers["location"] == "/"


def test_unknown_page_is_a_friendly_404_without_internals(client: Any) -> None:
    resp = client.get("/khong-co-trang-nay")
    assert resp.status_code == 404
    assert "Không tìm thấy trang" in resp.text and "Về trang chủ" in resp.text
    assert "Traceback" not in resp.text


def test_api_errors_are_problem_json(client: Any) -> None:
    resp = client.get("/api/khong-co")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == 404 and body["request_id"] == resp.headers["x-request-id"]


def test_health_readiness_and_metrics(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    client.get("/")
    metrics = client.get("/metrics").text
    assert "egov_http_requests_total" in metrics and 'route="/"' in metrics


def test_officer_lands_on_the_desk_after_sign_in(client: Any, session: Session) -> None:
    make_account(session, username="canbo.landing", roles=[("registry_clerk", GLOBAL)])
    client.get("/login")
    resp = client.post("/login", data={"username": "canbo.landing", "password": "mật khẩu thử nghiệm đủ dài",
                                       "next": "/", "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/back-office"
    login(client, "canbo.landing")
    desk = client.get("/back-office")
    assert desk.status_code == 200
