"""The back-office page for single sign-on clients: platform administrators only, secret shown once."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account

from egov.auth.models import OidcClient
from egov.soc.models import AuditEvent


def test_a_platform_admin_registers_a_client_and_sees_its_secret_once(client: Any, session: Session) -> None:
    make_account(session, kind="admin", username="quantri", roles=[("platform_admin", "*")])
    login(client, "quantri")
    assert "Ứng dụng đăng nhập một lần" in client.get("/back-office").text
    page = client.get("/back-office/oidc-clients")
    assert page.status_code == 200 and "Chưa có ứng dụng nào" in page.text
    resp = client.post("/back-office/oidc-clients", data={
        "csrf_token": csrf_token(client), "name": "Cổng DVC tỉnh (thử)", "client_type": "confidential",
        "redirect_uris": "https://dvc.example.gov.vn/cb", "grant_types": ["authorization_code", "refresh_token"],
        "scopes": "openid profile"})
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    client_id = re.search(r'id="new-client-id">([^<]+)<', resp.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="new-client-secret">([^<]+)<', resp.text).group(1)  # type: ignore[union-attr]
    assert secret not in client.get("/back-office/oidc-clients").text  # shown once
    stored = session.get(OidcClient, client_id)
    assert stored is not None and stored.secret_hash is not None and secret not in stored.secret_hash
    bad = client.post("/back-office/oidc-clients", data={
        "csrf_token": csrf_token(client), "name": "", "client_type": "confidential",
        "redirect_uris": "http://dvc.example.gov.vn/cb", "grant_types": ["authorization_code"]})
    assert bad.status_code == 422 and "https" in bad.text and "Vui lòng nhập tên" in bad.text
    # Both errors at once in the summary, each linked to its field.
    assert 'class="error-summary"' in bad.text
    assert 'href="#client-name"' in bad.text and 'href="#client-redirects"' in bad.text
    session.rollback()
    assert len(list(session.scalars(select(OidcClient)))) == 1  # nothing stored from the bad form
    events = list(session.scalars(select(AuditEvent.event_type).where(AuditEvent.object_id == client_id)))
    assert events == ["auth:oidc_client:created"]


def test_an_account_administrator_of_an_agency_cannot_manage_clients(client: Any, session: Session) -> None:
    make_account(session, kind="officer", username="qttk", roles=[("account_admin", "agency-1")])
    login(client, "qttk")
    assert client.get("/back-office/oidc-clients").status_code == 403
    assert "oidc-clients" not in client.get("/back-office").text


def test_rotating_a_secret_asks_first_and_only_then_rotates(client: Any, session: Session) -> None:
    make_account(session, kind="admin", username="quantri2", roles=[("platform_admin", "*")])
    login(client, "quantri2")
    resp = client.post("/back-office/oidc-clients", data={
        "csrf_token": csrf_token(client), "name": "Cổng thử", "client_type": "confidential",
        "redirect_uris": "https://dvc.example.gov.vn/cb", "grant_types": ["authorization_code"],
        "scopes": "openid"})
    client_id = re.search(r'id="new-client-id">([^<]+)<', resp.text).group(1)  # type: ignore[union-attr]
    session.rollback()
    before = session.get(OidcClient, client_id).secret_hash  # type: ignore[union-attr]
    asked = client.post(f"/back-office/oidc-clients/{client_id}/rotate-secret", data={"csrf_token": csrf_token(client)})
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text
    assert 'id="new-client-secret"' not in asked.text
    session.rollback()
    assert session.get(OidcClient, client_id).secret_hash == before  # type: ignore[union-attr]
    done = client.post(f"/back-office/oidc-clients/{client_id}/rotate-secret",
                       data={"csrf_token": csrf_token(client), "confirmed": "yes"})
    assert done.status_code == 200 and 'id="new-client-secret"' in done.text
    session.rollback()
    assert session.get(OidcClient, client_id).secret_hash != before  # type: ignore[union-attr]


def test_a_new_or_rotated_secret_is_shown_once_after_a_redirect_so_refresh_repeats_nothing(
    client: Any, session: Session
) -> None:
    make_account(session, kind="admin", username="quantri3", roles=[("platform_admin", "*")])
    make_account(session, kind="admin", username="quantri4", roles=[("platform_admin", "*")])
    login(client, "quantri3")
    made = client.post("/back-office/oidc-clients", follow_redirects=False, data={
        "csrf_token": csrf_token(client), "name": "Cổng làm mới", "client_type": "confidential",
        "redirect_uris": "https://dvc.example.gov.vn/cb", "grant_types": ["authorization_code"], "scopes": "openid"})
    assert made.status_code == 303 and made.headers["location"] == "/back-office/oidc-clients"
    cookie = made.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/back-office/oidc-clients" in cookie and "Max-Age=300" in cookie
    shown = client.get("/back-office/oidc-clients")
    assert shown.headers["cache-control"] == "no-store"
    client_id = re.search(r'id="new-client-id">([^<]+)<', shown.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="new-client-secret">([^<]+)<', shown.text).group(1)  # type: ignore[union-attr]
    assert secret not in made.headers["set-cookie"]  # sealed, not readable in the cookie
    again = client.get("/back-office/oidc-clients")
    assert 'id="new-client-secret"' not in again.text and secret not in again.text  # a refresh shows nothing

    rotated = client.post(f"/back-office/oidc-clients/{client_id}/rotate-secret", follow_redirects=False,
                          data={"csrf_token": csrf_token(client), "confirmed": "yes"})
    assert rotated.status_code == 303
    session.rollback()
    after_rotation = session.get(OidcClient, client_id).secret_hash  # type: ignore[union-attr]
    new_secret = re.search(r'id="new-client-secret">([^<]+)<',  # type: ignore[union-attr]
                           client.get("/back-office/oidc-clients").text).group(1)
    assert new_secret != secret
    refreshed = client.get("/back-office/oidc-clients")  # what a refresh of the result page does now
    assert new_secret not in refreshed.text
    session.rollback()
    assert session.get(OidcClient, client_id).secret_hash == after_rotation  # rotated once, not twice
    rotations = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth:oidc_client:secret_rotated"))
    assert len(list(rotations)) == 1

    # The sealed cookie is bound to the account that made it: another administrator's browser shows nothing.
    again_rotated = client.post(f"/back-office/oidc-clients/{client_id}/rotate-secret", follow_redirects=False,
                                data={"csrf_token": csrf_token(client), "confirmed": "yes"})
    stolen = again_rotated.cookies.get("egov_once_oidc-client-secret")
    assert stolen
    client.cookies.clear()
    login(client, "quantri4")
    client.cookies.set("egov_once_oidc-client-secret", stolen, path="/back-office/oidc-clients")
    assert 'id="new-client-secret"' not in client.get("/back-office/oidc-clients").text
