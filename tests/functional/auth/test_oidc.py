"""The OpenID Connect provider end to end, driven by an independent client (oauthlib + PyJWT)."""

from __future__ import annotations

import base64
import html
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt as pyjwt
import pytest
from oauthlib.oauth2 import WebApplicationClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.oidc import (
    RP,
    CodeFlow,
    DPoPKey,
    basic,
    client_assertion,
    form_headers,
    jwks_of,
    make_client,
    verify_jwt,
)

from egov.auth.models import OidcClient
from egov.platform.clock import FixedClock
from egov.settings import Settings
from egov.soc.models import AuditEvent

ISSUER = "http://localhost:8000"
API = ISSUER + "/api"


@pytest.fixture
def clock() -> FixedClock:
    # Tokens are checked by PyJWT against the real time: start the provider's clock at now.
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def citizen(session: Session) -> Any:
    return make_account(session, kind="citizen", username="079203001234", display_name="Nguyễn Thị Lan")


def _hidden_fields(page: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v)
            for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)}


def _authorize(client: Any, flow: CodeFlow, *, consent: str | None = "allow", **extra: str) -> Any:
    """GET the authorization endpoint as the signed-in browser; answer the consent page if shown."""
    resp = client.get(flow.authorize_url(**extra), follow_redirects=False)
    if resp.status_code == 200 and consent is not None:
        fields = _hidden_fields(resp.text)
        fields["decision"] = consent
        fields["csrf_token"] = csrf_token(client)
        resp = client.post("/oidc/authorize/consent", data=fields, follow_redirects=False)
    return resp


def _exchange(client: Any, flow: CodeFlow, code: str, headers: dict[str, str] | None = None, **extra: Any) -> Any:
    hdrs = form_headers(basic(flow.rp) if flow.rp.secret else None)
    hdrs.update(headers or {})
    return client.post("/oidc/token", content=flow.token_body(code, **extra), headers=hdrs)


def _code(client: Any, flow: CodeFlow, **extra: str) -> str:
    resp = _authorize(client, flow, **extra)
    assert resp.status_code == 303, resp.text
    return flow.code_from(resp.headers["location"])


def _events(session: Session, event_type: str) -> list[AuditEvent]:
    session.rollback()  # end the test's read snapshot: see what the app committed since
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def _introspect(client: Any, rp: RP, token: str) -> dict[str, Any]:
    resp = client.post("/oidc/introspect", data={"token": token}, headers=basic(rp))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


# --- metadata ---------------------------------------------------------------------------------------

def test_discovery_and_jwks_describe_the_provider(client: Any) -> None:
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == ISSUER
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["subject_types_supported"] == ["pairwise"]
    assert {"ES256", "RS256", "EdDSA"} <= set(meta["id_token_signing_alg_values_supported"])
    assert meta["pushed_authorization_request_endpoint"] == ISSUER + "/oidc/par"
    keys = jwks_of(client)["keys"]
    assert {k["alg"] for k in keys} == {"ES256", "RS256", "EdDSA"}
    for k in keys:
        assert "d" not in k and "p" not in k  # public halves only
        pyjwt.PyJWK(k)  # each parses with the independent library


# --- client credentials, introspection, revocation --------------------------------------------------

def test_client_credentials_jwt_token_verifies_independently_then_revocation_kills_it(
    client: Any, session: Session, settings: Settings, clock: FixedClock
) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",),
                     scopes=("registry.read", "registry.write"), redirect_uri="")
    resp = client.post("/oidc/token", data={"grant_type": "client_credentials", "scope": "registry.read"},
                       headers=basic(rp))
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300 and "refresh_token" not in body
    claims = verify_jwt(client, body["access_token"], audience=API, typ="at+jwt")  # RFC 9068
    assert claims["sub"] == rp.client_id and claims["client_id"] == rp.client_id
    assert claims["scope"] == "registry.read" and claims["exp"] - claims["iat"] == 300 and claims["jti"]
    info = _introspect(client, rp, body["access_token"])
    assert info["active"] is True and info["scope"] == "registry.read" and info["client_id"] == rp.client_id
    issued = _events(session, "auth:token:issued")
    assert issued and issued[-1].object_id == rp.client_id and "client_credentials" in issued[-1].details
    assert client.post("/oidc/revoke", data={"token": body["access_token"]}, headers=basic(rp)).status_code == 200
    assert _introspect(client, rp, body["access_token"]) == {"active": False}
    assert _events(session, "auth:token:revoked")


def test_opaque_tokens_and_client_secret_post(client: Any, session: Session, settings: Settings,
                                              clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("datashare.read",),
                     auth_method="client_secret_post", access_token_format="opaque", redirect_uri="")
    resp = client.post("/oidc/token", data={"grant_type": "client_credentials", "client_id": rp.client_id,
                                            "client_secret": rp.secret})
    assert resp.status_code == 200, resp.text
    token = resp.json()["access_token"]
    assert token.count(".") == 0 and len(token) >= 43
    assert _introspect_post(client, rp, token)["active"] is True
    # The same client may not switch to Basic: the registered method is the only one accepted.
    wrong = client.post("/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(rp))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def _introspect_post(client: Any, rp: RP, token: str) -> dict[str, Any]:
    resp = client.post("/oidc/introspect", data={"token": token, "client_id": rp.client_id,
                                                 "client_secret": rp.secret})
    return dict(resp.json())


def test_bad_client_credentials_are_refused_audited_and_slowed(client: Any, session: Session,
                                                                settings: Settings, clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("x.read",),
                     redirect_uri="")
    bad = RP(rp.client_id, "not-the-secret")
    resp = client.post("/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(bad))
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
    assert resp.headers["www-authenticate"].startswith("Basic")
    assert "not-the-secret" not in resp.text
    refused = _events(session, "auth:oauth:refused")
    assert refused and refused[-1].outcome == "failure" and "not-the-secret" not in refused[-1].details
    codes = [client.post("/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(bad)).status_code
             for _ in range(12)]
    assert codes[-1] == 429 and set(codes[:9]) == {401}
    # Even the right secret waits now: the backoff is on the client id and the address.
    right = client.post("/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(rp))
    assert right.status_code == 429 and right.json()["error"] == "slow_down"
    clock.advance(minutes=10)
    assert client.post("/oidc/token", data={"grant_type": "client_credentials"},
                       headers=basic(rp)).status_code == 200


def test_unknown_grant_and_scope_get_the_rfc_error_codes(client: Any, session: Session, settings: Settings,
                                                         clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("x.read",),
                     redirect_uri="")
    assert client.post("/oidc/token", data={"grant_type": "password"},
                       headers=basic(rp)).json()["error"] == "unsupported_grant_type"
    assert client.post("/oidc/token", data={"grant_type": "authorization_code", "code": "x"},
                       headers=basic(rp)).json()["error"] == "unauthorized_client"
    assert client.post("/oidc/token", data={"grant_type": "client_credentials", "scope": "openid x.write"},
                       headers=basic(rp)).json()["error"] == "invalid_scope"


# --- authorization code + PKCE ------------------------------------------------------------------------

def test_code_flow_with_pkce_issues_tokens_an_independent_client_accepts(
    client: Any, session: Session, settings: Settings, clock: FixedClock, citizen: Any
) -> None:
    rp = make_client(session, settings, clock)
    login(client, citizen.username)
    flow = CodeFlow(rp, scope="openid profile")
    first = client.get(flow.authorize_url(), follow_redirects=False)
    assert first.status_code == 200 and "Cổng dịch vụ công tỉnh" in first.text  # the consent screen
    assert first.headers["cache-control"] == "no-store"
    code = _code(client, flow)
    resp = _exchange(client, flow, code)
    assert resp.status_code == 200, resp.text
    tokens = flow.oauth.parse_request_body_response(resp.text)
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"]
    id_claims = verify_jwt(client, tokens["id_token"], audience=rp.client_id, typ="JWT")
    assert id_claims["nonce"] == flow.nonce and id_claims["azp"] == rp.client_id
    assert id_claims["acr"] == "urn:vn:egov:loa:1" and id_claims["amr"] == ["pwd"]
    assert abs(id_claims["auth_time"] - int(clock.now().timestamp())) < 5
    assert id_claims["name"] == "Nguyễn Thị Lan" and "personal_id" not in id_claims
    digest = __import__("hashlib").sha256(tokens["access_token"].encode()).digest()
    assert id_claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    at = verify_jwt(client, tokens["access_token"], audience=API, typ="at+jwt")
    assert at["sub"] == id_claims["sub"] != citizen.id  # pairwise, not the account id
    info = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200 and info.json() == {"sub": id_claims["sub"], "name": "Nguyễn Thị Lan"}
    # Consent is remembered: the next authorization goes straight back with a code.
    again = client.get(CodeFlow(rp).authorize_url(), follow_redirects=False)
    assert again.status_code == 303 and "code=" in again.headers["location"]
    assert _events(session, "auth:consent:granted") and _events(session, "auth:code:issued")


def test_a_replayed_code_is_refused_and_revokes_what_it_issued(client: Any, session: Session,
                                                               settings: Settings, clock: FixedClock,
                                                               citizen: Any) -> None:
    rp = make_client(session, settings, clock)
    login(client, citizen.username)
    flow = CodeFlow(rp)
    code = _code(client, flow)
    tokens = _exchange(client, flow, code).json()
    assert _introspect(client, rp, tokens["access_token"])["active"] is True
    replay = _exchange(client, flow, code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert _introspect(client, rp, tokens["access_token"]) == {"active": False}
    assert _introspect(client, rp, tokens["refresh_token"]) == {"active": False}
    assert any("code_replayed" in e.details for e in _events(session, "auth:oauth:refused"))


def test_pkce_and_code_misuse_each_fail_with_invalid_grant(client: Any, session: Session, settings: Settings,
                                                           clock: FixedClock, citizen: Any) -> None:
    rp = make_client(session, settings, clock)
    other = make_client(session, settings, clock, name="Ứng dụng khác")
    login(client, citizen.username)
    flow = CodeFlow(rp)
    code = _code(client, flow)
    wrong_verifier = flow.token_body(code).replace(flow.verifier, "x" * 64)
    resp = client.post("/oidc/token", content=wrong_verifier, headers=form_headers(basic(rp)))
    assert resp.json()["error"] == "invalid_grant" and "code_verifier" in resp.json()["error_description"]
    flow2 = CodeFlow(rp)
    code2 = _code(client, flow2)
    mixed = client.post("/oidc/token", content=flow2.token_body(code2), headers=form_headers(basic(other)))
    assert mixed.json()["error"] == "invalid_request"  # Basic says one client, the body another
    foreign = client.post("/oidc/token", content=flow2.token_body(code2).replace(rp.client_id, other.client_id),
                          headers=form_headers(basic(other)))
    assert foreign.json()["error"] == "invalid_grant"  # a code is bound to its client
    flow3 = CodeFlow(rp)
    code3 = _code(client, flow3)
    clock.advance(seconds=61)
    assert _exchange(client, flow3, code3).json()["error"] == "invalid_grant"  # expired after 60 s
    clock.advance(seconds=-61)
    flow4 = CodeFlow(rp)
    code4 = _code(client, flow4)
    body = flow4.token_body(code4).replace("callback", "elsewhere")
    assert client.post("/oidc/token", content=body,
                       headers=form_headers(basic(rp))).json()["error"] == "invalid_grant"


def test_public_clients_must_use_s256_pkce(client: Any, session: Session, settings: Settings, clock: FixedClock,
                                           citizen: Any) -> None:
    rp = make_client(session, settings, clock, client_type="public")
    login(client, citizen.username)
    no_pkce = "/oidc/authorize?" + urlencode({"client_id": rp.client_id, "redirect_uri": rp.redirect_uri,
                                              "response_type": "code", "scope": "openid", "state": "s1"})
    resp = client.get(no_pkce, follow_redirects=False)
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == ["s1"] and query["iss"] == [ISSUER]
    plain = client.get(no_pkce + "&code_challenge=" + "a" * 43 + "&code_challenge_method=plain",
                       follow_redirects=False)
    assert parse_qs(urlsplit(plain.headers["location"]).query)["error"] == ["invalid_request"]
    flow = CodeFlow(rp)
    code = _code(client, flow)
    resp = client.post("/oidc/token", content=flow.token_body(code), headers=form_headers())
    assert resp.status_code == 200, resp.text  # client_id alone, proven by the verifier


def test_a_wrong_redirect_uri_shows_a_page_and_redirects_nowhere(client: Any, session: Session,
                                                                 settings: Settings, clock: FixedClock,
                                                                 citizen: Any) -> None:
    rp = make_client(session, settings, clock)
    login(client, citizen.username)
    for target in ("https://evil.example/cb", rp.redirect_uri + "/../x", rp.redirect_uri + "?next=https://evil"):
        url = CodeFlow(RP(rp.client_id, rp.secret, redirect_uri=target)).authorize_url()
        resp = client.get(url, follow_redirects=False)
        assert resp.status_code == 400 and "location" not in resp.headers
        assert "không khớp" in resp.text
    unknown = client.get("/oidc/authorize?client_id=nope&response_type=code", follow_redirects=False)
    assert unknown.status_code == 400 and "location" not in unknown.headers


def test_signed_out_users_sign_in_first_and_prompt_none_says_login_required(
    client: Any, session: Session, settings: Settings, clock: FixedClock, citizen: Any
) -> None:
    rp = make_client(session, settings, clock)
    flow = CodeFlow(rp)
    resp = client.get(flow.authorize_url(), follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=%2Foidc%2Fauthorize")
    none = client.get(flow.authorize_url(prompt="none"), follow_redirects=False)
    assert parse_qs(urlsplit(none.headers["location"]).query)["error"] == ["login_required"]
    login(client, citizen.username)
    consent_needed = client.get(CodeFlow(rp).authorize_url(prompt="none"), follow_redirects=False)
    assert parse_qs(urlsplit(consent_needed.headers["location"]).query)["error"] == ["consent_required"]
    declined = _authorize(client, CodeFlow(rp), consent="deny")
    assert parse_qs(urlsplit(declined.headers["location"]).query)["error"] == ["access_denied"]


def test_max_age_and_prompt_login_ask_for_a_fresh_sign_in(client: Any, session: Session, settings: Settings,
                                                          clock: FixedClock, citizen: Any) -> None:
    rp = make_client(session, settings, clock)
    login(client, citizen.username)
    _code(client, CodeFlow(rp))  # consent given once
    clock.advance(minutes=10)
    old = client.get(CodeFlow(rp).authorize_url(max_age="300"), follow_redirects=False)
    assert old.headers["location"].startswith("/login?")
    fresh = client.get(CodeFlow(rp).authorize_url(max_age="3600"), follow_redirects=False)
    assert "code=" in fresh.headers["location"]
    again = client.get(CodeFlow(rp).authorize_url(prompt="login"), follow_redirects=False)
    assert again.headers["location"].startswith("/login?") and "egov_reauth" in again.headers["location"]


def test_a_level_the_session_lacks_is_named_not_silently_downgraded(client: Any, session: Session,
                                                                    settings: Settings, clock: FixedClock,
                                                                    citizen: Any) -> None:
    rp = make_client(session, settings, clock)
    login(client, citizen.username)
    # No online step reaches level 2 for this account: a page says how (in person), not a blind refusal,
    # and its way back tells the service the requirement was not met.
    resp = client.get(CodeFlow(rp).authorize_url(acr_values="urn:vn:egov:loa:2"), follow_redirects=False)
    assert resp.status_code == 403 and "bộ phận một cửa" in resp.text
    back = re.search(r'href="([^"]+)">Quay lại dịch vụ', resp.text).group(1)  # type: ignore[union-attr]
    query = parse_qs(urlsplit(html.unescape(back)).query)
    assert query["error"] == ["unmet_authentication_requirements"]
    silent = client.get(CodeFlow(rp).authorize_url(acr_values="urn:vn:egov:loa:2", prompt="none"),
                        follow_redirects=False)
    assert parse_qs(urlsplit(silent.headers["location"]).query)["error"] == ["unmet_authentication_requirements"]
    # A service that states level 2 itself gets the same answer without asking in the request.
    strict = make_client(session, settings, clock)
    row = session.get(OidcClient, strict.client_id)
    assert row is not None
    row.min_level = "2"
    session.commit()
    assert client.get(CodeFlow(strict).authorize_url(), follow_redirects=False).status_code == 403


def test_pairwise_subjects_differ_by_sector_and_personal_id_needs_its_scope(
    client: Any, session: Session, settings: Settings, clock: FixedClock, citizen: Any
) -> None:
    a = make_client(session, settings, clock, scopes=("openid", "vn_personal_id"), sector="dichvucong.hcm")
    b = make_client(session, settings, clock, scopes=("openid",), sector="benhvien.hcm")
    login(client, citizen.username)
    fa, fb = CodeFlow(a, scope="openid vn_personal_id"), CodeFlow(b, scope="openid")
    ta = _exchange(client, fa, _code(client, fa)).json()
    tb = _exchange(client, fb, _code(client, fb)).json()
    sa = verify_jwt(client, ta["id_token"], audience=a.client_id)["sub"]
    sb = verify_jwt(client, tb["id_token"], audience=b.client_id)["sub"]
    assert sa != sb
    assert client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {ta['access_token']}"}).json() == {
        "sub": sa, "personal_id": "079203001234"}
    assert "personal_id" not in client.get("/oidc/userinfo",
                                           headers={"Authorization": f"Bearer {tb['access_token']}"}).json()


# --- refresh rotation ------------------------------------------------------------------------------------

def test_refresh_tokens_rotate_and_a_replay_revokes_the_family(client: Any, session: Session, settings: Settings,
                                                               clock: FixedClock, citizen: Any) -> None:
    rp = make_client(session, settings, clock)
    login(client, citizen.username)
    flow = CodeFlow(rp)
    first = _exchange(client, flow, _code(client, flow)).json()
    oauth = WebApplicationClient(rp.client_id)
    body = oauth.prepare_refresh_body(refresh_token=first["refresh_token"])
    second = client.post("/oidc/token", content=body, headers=form_headers(basic(rp)))
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"] and rotated["id_token"]
    assert _introspect(client, rp, rotated["access_token"])["active"] is True
    replay = client.post("/oidc/token", content=body, headers=form_headers(basic(rp)))
    assert replay.json()["error"] == "invalid_grant"
    for token in (rotated["refresh_token"], rotated["access_token"], first["access_token"]):
        assert _introspect(client, rp, token) == {"active": False}
    narrower = oauth.prepare_refresh_body(refresh_token=rotated["refresh_token"], scope="openid admin")
    assert client.post("/oidc/token", content=narrower, headers=form_headers(basic(rp))).json()["error"] in (
        "invalid_grant", "invalid_scope")


# --- PAR, DPoP, private_key_jwt ------------------------------------------------------------------------

def test_pushed_authorization_request_is_one_time_and_short_lived(client: Any, session: Session,
                                                                   settings: Settings, clock: FixedClock,
                                                                   citizen: Any) -> None:
    rp = make_client(session, settings, clock)
    flow = CodeFlow(rp)
    params = dict(parse_qs(urlsplit(flow.authorize_url()).query))
    pushed = client.post("/oidc/par", data={k: v[0] for k, v in params.items()}, headers=basic(rp))
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:") and pushed.json()["expires_in"] == 90
    login(client, citizen.username)
    url = "/oidc/authorize?" + urlencode({"client_id": rp.client_id, "request_uri": request_uri})
    page = client.get(url, follow_redirects=False)
    assert page.status_code == 200
    fields = _hidden_fields(page.text) | {"decision": "allow", "csrf_token": csrf_token(client)}
    resp = client.post("/oidc/authorize/consent", data=fields, follow_redirects=False)
    code = flow.code_from(resp.headers["location"])
    assert _exchange(client, flow, code).status_code == 200
    assert client.get(url, follow_redirects=False).status_code == 400  # used
    late = client.post("/oidc/par", data={k: v[0] for k, v in params.items()}, headers=basic(rp)).json()
    clock.advance(seconds=91)
    expired = "/oidc/authorize?" + urlencode({"client_id": rp.client_id, "request_uri": late["request_uri"]})
    assert client.get(expired, follow_redirects=False).status_code == 400
    bad = client.post("/oidc/par", data={**{k: v[0] for k, v in params.items()}, "redirect_uri": "https://x.example/"},
                      headers=basic(rp))
    assert bad.status_code == 400


def test_dpop_binds_tokens_to_the_clients_key(client: Any, session: Session, settings: Settings,
                                              clock: FixedClock, citizen: Any) -> None:
    rp = make_client(session, settings, clock, client_type="public")
    key = DPoPKey()
    login(client, citizen.username)
    flow = CodeFlow(rp)
    code = _code(client, flow)
    proof = key.proof("POST", ISSUER + "/oidc/token")
    resp = client.post("/oidc/token", content=flow.token_body(code), headers=form_headers({"DPoP": proof}))
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    assert tokens["token_type"] == "DPoP"
    at = verify_jwt(client, tokens["access_token"], audience=API)
    assert at["cnf"] == {"jkt": key.thumbprint}
    userinfo_url = ISSUER + "/oidc/userinfo"
    ok = client.get("/oidc/userinfo", headers={"Authorization": f"DPoP {tokens['access_token']}",
                                               "DPoP": key.proof("GET", userinfo_url, tokens["access_token"])})
    assert ok.status_code == 200, ok.text
    bearer = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert bearer.status_code == 401 and bearer.json()["error"] == "invalid_token"
    stolen = DPoPKey().proof("GET", userinfo_url, tokens["access_token"])
    assert client.get("/oidc/userinfo", headers={"Authorization": f"DPoP {tokens['access_token']}",
                                                 "DPoP": stolen}).status_code == 401
    replayed = key.proof("GET", userinfo_url, tokens["access_token"])
    headers = {"Authorization": f"DPoP {tokens['access_token']}", "DPoP": replayed}
    assert client.get("/oidc/userinfo", headers=headers).status_code == 200
    assert client.get("/oidc/userinfo", headers=headers).status_code == 400  # jti spent
    refresh = WebApplicationClient(rp.client_id).prepare_refresh_body(refresh_token=tokens["refresh_token"],
                                                                       client_id=rp.client_id)
    no_proof = client.post("/oidc/token", content=refresh, headers=form_headers())
    assert no_proof.json()["error"] == "invalid_grant"  # a bound refresh token needs the key too
    old = key.proof("POST", ISSUER + "/oidc/token", iat=int(time.time()) - 3600)
    stale = client.post("/oidc/token", content=refresh, headers=form_headers({"DPoP": old}))
    assert stale.json()["error"] == "invalid_dpop_proof"


def test_private_key_jwt_client_authentication(client: Any, session: Session, settings: Settings,
                                               clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, auth_method="private_key_jwt", grant_types=("client_credentials",),
                     scopes=("registry.read",), redirect_uri="")
    assertion = client_assertion(rp)
    data = {"grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    assert client.post("/oidc/token", data=data).status_code == 200
    assert client.post("/oidc/token", data=data).json()["error"] == "invalid_client"  # jti is one-time
    wrong_aud = {**data, "client_assertion": client_assertion(rp, audience="https://other.example/token")}
    assert client.post("/oidc/token", data=wrong_aud).json()["error"] == "invalid_client"
    impostor = RP(rp.client_id, None, private_key=DPoPKey().private_key, kid=rp.kid)
    forged = {**data, "client_assertion": client_assertion(impostor)}
    assert client.post("/oidc/token", data=forged).json()["error"] == "invalid_client"


# --- forged tokens --------------------------------------------------------------------------------------

def test_alg_none_and_key_confusion_tokens_are_worthless(client: Any, session: Session, settings: Settings,
                                                         clock: FixedClock, citizen: Any) -> None:
    rp = make_client(session, settings, clock)
    login(client, citizen.username)
    flow = CodeFlow(rp)
    tokens = _exchange(client, flow, _code(client, flow)).json()
    header, payload, _ = tokens["access_token"].split(".")
    claims = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode() + "." + payload + "."
    es_key = next(k for k in jwks_of(client)["keys"] if k["alg"] == "ES256")
    hs = pyjwt.encode(claims, key=str(es_key).encode(), algorithm="HS256", headers={"typ": "at+jwt",
                                                                                    "kid": es_key["kid"]})
    for forged in (none, hs, header + "." + payload + ".AAAA"):
        resp = client.get("/oidc/userinfo", headers={"Authorization": f"Bearer {forged}"})
        assert resp.status_code == 401 and resp.json()["error"] == "invalid_token"
        assert _introspect(client, rp, forged) == {"active": False}


# --- key rotation ---------------------------------------------------------------------------------------

def test_a_new_key_is_published_before_it_signs_and_the_old_one_outlives_its_tokens(
    client: Any, session: Session, settings: Settings, clock: FixedClock, container: Any
) -> None:
    from egov.auth.oidc import OidcProvider

    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("x.read",),
                     redirect_uri="")
    provider = OidcProvider.from_container(container)

    def issue() -> str:
        token = client.post("/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(rp)).json()
        return str(pyjwt.get_unverified_header(token["access_token"])["kid"])

    def es256_kids() -> list[str]:
        return [k["kid"] for k in jwks_of(client)["keys"] if k["alg"] == "ES256"]

    old_kid = issue()
    assert es256_kids() == [old_kid]
    provider.keys.rotate("ES256")
    kids = es256_kids()
    assert len(kids) == 2 and old_kid in kids  # the next key is public now…
    assert issue() == old_kid  # …but does not sign yet
    new_kid = next(k for k in kids if k != old_kid)
    clock.advance(minutes=61)
    assert issue() == new_kid
    assert old_kid in es256_kids()  # tokens signed by the old key are still live
    clock.advance(minutes=11)
    assert es256_kids() == [new_kid]


def test_token_issuance_is_audited_without_the_token(client: Any, session: Session, settings: Settings,
                                                     clock: FixedClock) -> None:
    rp = make_client(session, settings, clock, grant_types=("client_credentials",), scopes=("x.read",),
                     redirect_uri="")
    token = client.post("/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(rp)).json()
    session.rollback()
    n = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "auth:token:issued"))
    assert n == 1
    details = _events(session, "auth:token:issued")[0].details
    assert token["access_token"] not in details and rp.secret not in details


def test_a_level_two_request_steps_the_session_up_with_a_second_factor(
    client: Any, session: Session, settings: Settings, clock: FixedClock
) -> None:
    import pyotp

    citizen = make_account(session, kind="citizen", username="079203004444", display_name="Võ Thị Hạnh")
    citizen.assurance_level = "2"  # verified in person earlier (tests/functional/auth/test_proofing.py)
    session.commit()
    rp = make_client(session, settings, clock)
    clock.advance(seconds=-30)  # enrol one TOTP step before now, so the step-up code is the current one
    login(client, citizen.username)  # password only: level 1 so far
    page = client.get("/account/mfa/totp").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    sealed = html.unescape(re.search(r'name="sealed" value="([^"]+)"', page).group(1))  # type: ignore[union-attr]
    client.post("/account/mfa/totp", data={"csrf_token": csrf_token(client), "sealed": sealed,
                                           "code": pyotp.TOTP(secret).at(clock.now())})
    flow = CodeFlow(rp)
    first = client.get(flow.authorize_url(acr_values="urn:vn:egov:loa:2"), follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"].startswith("/login/step-up")
    to_code = client.get(first.headers["location"], follow_redirects=False)
    assert to_code.headers["location"].startswith("/login/second-factor")
    clock.advance(seconds=30)
    done = client.post("/login/second-factor", data={
        "code": pyotp.TOTP(secret).at(clock.now()), "csrf_token": csrf_token(client),
        "next": parse_qs(urlsplit(to_code.headers["location"]).query)["next"][0]}, follow_redirects=False)
    assert done.headers["location"].startswith("/oidc/authorize")
    resp = _authorize_location(client, done.headers["location"])
    tokens = _exchange(client, flow, flow.code_from(resp)).json()
    claims = verify_jwt(client, tokens["id_token"], audience=rp.client_id)
    assert claims["acr"] == "urn:vn:egov:loa:2" and claims["amr"] == ["pwd", "otp"]


def _authorize_location(client: Any, path: str) -> str:
    resp = client.get(path, follow_redirects=False)
    if resp.status_code == 200:  # the consent page
        fields = _hidden_fields(resp.text) | {"decision": "allow", "csrf_token": csrf_token(client)}
        resp = client.post("/oidc/authorize/consent", data=fields, follow_redirects=False)
    return str(resp.headers["location"])
