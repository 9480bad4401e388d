"""Federation: an independent upstream provider (panva's oidc-provider on Node) vouches for a person; we link
by personal ID, pass its acr through to our own tokens, and refuse everything that does not add up."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.auth import make_account
from tests.factories.oidc import CodeFlow, make_client, verify_jwt
from tests.factories.registry import RegistryTree, make_citizen
from tests.factories.upstream_idp import CLIENT_ID, CLIENT_SECRET, UpstreamIdp, query_of, upstream_idp
from tests.functional.auth.conftest import audit
from tests.functional.auth.test_oidc import _code, _exchange

from egov.auth.federation import Federation
from egov.auth.models import Account, AuthSession, FederatedIdentity
from egov.bootstrap import Container
from egov.platform.clock import FixedClock
from egov.settings import Settings

AN_ID, HOA_ID, GHOST_ID = "079090001111", "079190002222", "001085009999"
ACCOUNTS = {
    "u-an": {"vn_personal_id": AN_ID, "name": "Nguyễn Văn An", "birthdate": "1990-05-17"},
    "u-hoa": {"vn_personal_id": HOA_ID, "name": "Đặng Thị Hoa", "birthdate": "1990-03-02"},
    "u-ghost": {"vn_personal_id": GHOST_ID, "name": "Không Có Thật", "birthdate": "1985-01-01"},
    "u-impostor": {"vn_personal_id": AN_ID, "name": "Nguyễn Văn An", "birthdate": "1991-01-01"},
    "u-badid": {"vn_personal_id": "12345", "name": "Sai Số"},
}
CALLBACK = "http://localhost:8000/login/federated/vneid/callback"
ACR_MAP = {"urn:vneid:loa:1": "1", "urn:vneid:loa:2": "2"}


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpstreamIdp]:
    with upstream_idp([CALLBACK], ACCOUNTS, tmp_path_factory.mktemp("upstream")) as idp:
        yield idp


@pytest.fixture
def clock() -> FixedClock:
    # The upstream stamps its tokens with the real time; ours must agree for iat/exp to be checked.
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def provider(session: Session, container: Container, upstream: UpstreamIdp) -> str:
    Federation.from_container(container).add_provider(
        session, provider_id="vneid", display_name="VNeID (thử nghiệm)", issuer=upstream.issuer,
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, acr_map=ACR_MAP)
    session.commit()
    return "vneid"


@pytest.fixture
def people(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> dict[str, Any]:
    an = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Nguyễn Văn An",
                      birth_date=date(1990, 5, 17), personal_id=AN_ID)
    hoa = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Đặng Thị Hoa", sex="female",
                       birth_date=date(1990, 3, 2), personal_id=HOA_ID)
    session.commit()
    return {"an": an, "hoa": hoa}


def _federated_sign_in(client: Any, upstream: UpstreamIdp, account: str, *, next_path: str = "/account",
                       acr: str = "urn:vneid:loa:2", amr: str = "pwd otp") -> Any:
    start = client.get("/login/federated/vneid", params={"next": next_path}, follow_redirects=False)
    assert start.status_code == 303, start.text
    back = upstream.sign_in(start.headers["location"], account, acr=acr, amr=amr)
    assert back.startswith(CALLBACK), back
    return client.get(urlsplit(back).path + "?" + urlsplit(back).query, follow_redirects=False)


def _count(session: Session, model: Any) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_the_login_page_offers_the_provider_and_the_request_is_pkce_with_state_and_nonce(
        client: Any, provider: str, upstream: UpstreamIdp) -> None:
    page = client.get("/login?next=/account").text
    assert "Đăng nhập qua VNeID (thử nghiệm)" in page and "/login/federated/vneid?next=/account" in page
    start = client.get("/login/federated/vneid", follow_redirects=False)
    q = query_of(start.headers["location"])
    assert start.headers["location"].startswith(upstream.issuer + "/auth?")
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 32 and len(q["nonce"]) >= 32 and q["redirect_uri"] == CALLBACK
    cookie = next(c for c in start.headers.get_list("set-cookie") if c.startswith("egov_fed="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/login/federated" in cookie
    assert q["state"] not in cookie and q["nonce"] not in cookie  # sealed, not readable


def test_first_sign_in_links_the_existing_account_by_personal_id_and_the_level_passes_through(
        client: Any, session: Session, settings: Settings, clock: FixedClock, provider: str,
        upstream: UpstreamIdp, people: dict[str, Any]) -> None:
    account = make_account(session, kind="citizen", username=AN_ID, subject_id=people["an"].id)
    done = _federated_sign_in(client, upstream, "u-an")
    assert done.status_code == 303 and done.headers["location"] == "/account", done.text
    me = client.get("/api/auth/me").json()
    assert me["account_id"] == account.id and me["acr"] == "2"
    row = session.scalar(select(AuthSession).where(AuthSession.account_id == account.id))
    assert row is not None and row.acr == "2" and row.amr == "pwd otp"
    (linked, details), = audit(session, "auth:federation:linked")
    assert linked.object_id == account.id and details == {"provider": "vneid", "account_created": False}
    (_, ok_details), = audit(session, "auth:login:succeeded")
    assert ok_details["second_factor"] == "federation:vneid" and ok_details["acr"] == "2"
    # Our own relying parties see the upstream's level in our tokens (checked by PyJWT).
    rp = make_client(session, settings, clock)
    flow = CodeFlow(rp)
    tokens = _exchange(client, flow, _code(client, flow, acr_values="urn:vn:egov:loa:2")).json()
    claims = verify_jwt(client, tokens["id_token"], audience=rp.client_id)
    assert claims["acr"] == "urn:vn:egov:loa:2" and claims["amr"] == ["pwd", "otp"]


def test_a_citizen_without_an_account_gets_one_and_the_second_sign_in_reuses_the_link(
        client: Any, session: Session, provider: str, upstream: UpstreamIdp, people: dict[str, Any]) -> None:
    assert _federated_sign_in(client, upstream, "u-hoa", acr="urn:vneid:loa:1").status_code == 303
    account = session.scalar(select(Account).where(Account.username == HOA_ID))
    assert account is not None and account.kind == "citizen" and account.password_hash is None
    assert account.subject_id == people["hoa"].id and account.display_name == "Đặng Thị Hoa"
    assert client.get("/api/auth/me").json()["acr"] == "1"  # level 1 upstream: level 1 here
    client.cookies.clear()
    assert _federated_sign_in(client, upstream, "u-hoa").status_code == 303
    assert _count(session, FederatedIdentity) == 1 and len(audit(session, "auth:federation:linked")) == 1
    assert client.get("/api/auth/me").json()["acr"] == "2"


@pytest.mark.parametrize(("account", "acr", "reason"), [
    ("u-ghost", "urn:vneid:loa:2", "not_in_registry"),
    ("u-impostor", "urn:vneid:loa:2", "registry_mismatch"),
    ("u-badid", "urn:vneid:loa:2", "bad_personal_id"),
    ("u-an", "urn:other:loa:3", "unknown_acr"),
])
def test_what_does_not_match_the_registry_or_the_map_is_refused_and_nothing_is_created(
        client: Any, session: Session, provider: str, upstream: UpstreamIdp, people: dict[str, Any],
        account: str, acr: str, reason: str) -> None:
    before = _count(session, Account)
    resp = _federated_sign_in(client, upstream, account, acr=acr)
    assert resp.status_code == 502 and "Không có thay đổi nào" in resp.text
    assert not client.cookies.get("egov_session")
    assert _count(session, Account) == before and _count(session, FederatedIdentity) == 0
    (_, details), = audit(session, "auth:login:failed")
    assert details == {"reason": f"federation:{reason}"}


def test_state_cookie_and_answer_must_belong_together(client: Any, session: Session, provider: str,
                                                      upstream: UpstreamIdp, people: dict[str, Any]) -> None:
    start = client.get("/login/federated/vneid", follow_redirects=False)
    back = upstream.sign_in(start.headers["location"], "u-an")
    path = urlsplit(back).path
    q = query_of(back)
    state_cookie = client.cookies.get("egov_fed")

    def answer(params: dict[str, str], *, with_cookie: bool = True) -> int:
        client.cookies.clear()  # a refusal drops the state cookie: put it back for each try
        if with_cookie:
            client.cookies.set("egov_fed", state_cookie, path="/login/federated")
        return int(client.get(path, params=params, follow_redirects=False).status_code)

    # A forged state, an answer from another issuer (RFC 9207 mix-up), no cookie: each refused.
    assert answer({**q, "state": "forged"}) == 502
    assert answer({**q, "iss": "https://evil.example"}) == 502
    assert answer(q, with_cookie=False) == 502
    assert answer(q) == 303  # the genuine answer still works, once
    assert answer(q) == 502  # the code cannot be replayed
    reasons = [d["reason"] for _, d in audit(session, "auth:login:failed")]
    assert reasons == ["federation:state_mismatch", "federation:iss_mismatch", "federation:no_state",
                       "federation:token"]


def test_an_upstream_subject_that_now_claims_another_person_is_not_followed(
        client: Any, session: Session, provider: str, upstream: UpstreamIdp, people: dict[str, Any]) -> None:
    other = make_account(session, kind="citizen", username=HOA_ID, subject_id=people["hoa"].id)
    session.add(FederatedIdentity(provider_id="vneid", subject="u-an", account_id=other.id,
                                  created_at=datetime.now(UTC), last_used_at=datetime.now(UTC)))
    session.commit()
    assert _federated_sign_in(client, upstream, "u-an").status_code == 502
    assert [d["reason"] for _, d in audit(session, "auth:login:failed")] == ["federation:link_mismatch"]


def test_a_wrong_client_secret_fails_at_the_token_endpoint(client: Any, session: Session, container: Container,
                                                           upstream: UpstreamIdp, people: dict[str, Any]) -> None:
    Federation.from_container(container).add_provider(
        session, provider_id="vneid", display_name="VNeID", issuer=upstream.issuer, client_id=CLIENT_ID,
        client_secret="not-the-secret", acr_map=ACR_MAP)
    session.commit()
    assert _federated_sign_in(client, upstream, "u-an").status_code == 502
    assert [d["reason"] for _, d in audit(session, "auth:login:failed")] == ["federation:token"]


def test_claims_in_the_id_token_need_no_userinfo_call(client: Any, session: Session, container: Container,
                                                      people: dict[str, Any], tmp_path: Path) -> None:
    with upstream_idp([CALLBACK], ACCOUNTS, tmp_path, claims_in_id_token=True) as idp:
        Federation.from_container(container).add_provider(
            session, provider_id="vneid", display_name="VNeID", issuer=idp.issuer, client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET, acr_map=ACR_MAP)
        session.commit()
        assert _federated_sign_in(client, idp, "u-an").status_code == 303
    assert client.get("/api/auth/me").json()["acr"] == "2"


def test_provider_configuration_is_validated_and_the_secret_sealed(session: Session, container: Container) -> None:
    from egov.platform.errors import ValidationFailed

    fed = Federation.from_container(container)
    with pytest.raises(ValidationFailed) as bad:
        fed.add_provider(session, provider_id="X!", display_name="", issuer="http://idp.example.vn",
                         client_id="", client_secret="", acr_map={"a": "3"}, scopes="profile")
    assert {e.field for e in bad.value.errors} == {"id", "issuer", "client_id", "acr_map", "scopes"}
    row = fed.add_provider(session, provider_id="vneid", display_name="VNeID", issuer="https://sso.vneid.gov.vn",
                           client_id="tinh-x", client_secret="very-secret-value", acr_map=ACR_MAP)
    assert "very-secret-value" not in row.client_secret_sealed and json.loads(row.acr_map) == ACR_MAP


def test_an_operator_adds_a_provider_from_the_shell_and_citizens_can_use_it(
        client: Any, session: Session, settings: Settings, upstream: UpstreamIdp, people: dict[str, Any],
        tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGOV_")}
    env.update({"EGOV_DATABASE_URL": settings.database_url, "EGOV_DATA_DIR": str(settings.data_dir),
                "EGOV_KEYSTORE_PASSPHRASE": settings.keystore_passphrase.get_secret_value(),
                "EGOV_ENVIRONMENT": "test"})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "egov", "federation", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    secret_file = tmp_path / "secret"
    secret_file.write_text(CLIENT_SECRET + "\n")
    bad = run("add", "--id", "vneid", "--issuer", upstream.issuer, "--client-id", CLIENT_ID, "--acr", "oops",
              "--client-secret-file", str(secret_file))
    assert bad.returncode == 2 and "UPSTREAM_ACR=LEVEL" in bad.stderr
    ok = run("add", "--id", "vneid", "--name", "VNeID", "--issuer", upstream.issuer, "--client-id", CLIENT_ID,
             "--acr", "urn:vneid:loa:1=1", "--acr", "urn:vneid:loa:2=2", "--client-secret-file", str(secret_file))
    assert ok.returncode == 0, ok.stderr
    assert CALLBACK in ok.stdout
    listed = run("list")
    assert "vneid" in listed.stdout and CLIENT_SECRET not in listed.stdout
    assert _federated_sign_in(client, upstream, "u-an").status_code == 303
    assert run("disable", "vneid").returncode == 0
    assert client.get("/login/federated/vneid", follow_redirects=False).status_code == 404
    assert [d["status"] for _, d in audit(session, "auth:upstream_provider:changed")] == ["disabled"]


def test_a_service_needing_level_2_steps_a_password_session_up_through_the_provider(
        client: Any, session: Session, settings: Settings, clock: FixedClock, provider: str, upstream: UpstreamIdp,
        people: dict[str, Any]) -> None:
    from tests.factories.auth import login

    from egov.auth.models import OidcClient

    make_account(session, kind="citizen", username=AN_ID, subject_id=people["an"].id)
    rp = make_client(session, settings, clock)
    row = session.get(OidcClient, rp.client_id)
    assert row is not None
    row.min_level = "2"  # the service states its level; the request does not ask for it
    session.commit()
    login(client, AN_ID)
    flow = CodeFlow(rp)
    step = client.get(flow.authorize_url(), follow_redirects=False)
    assert step.status_code == 303 and step.headers["location"].startswith("/login/step-up?")
    page = client.get(step.headers["location"]).text
    link = html.unescape(re.search(r'href="(/login/federated/vneid\?level=2[^"]*)"', page).group(1))  # type: ignore[union-attr]
    start = client.get(link, follow_redirects=False)
    assert query_of(start.headers["location"])["acr_values"] == "urn:vneid:loa:2"
    back = upstream.sign_in(start.headers["location"], "u-an")
    done = client.get(urlsplit(back).path + "?" + urlsplit(back).query, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/oidc/authorize?")
    tokens = _exchange(client, flow, _code(client, flow)).json()
    assert verify_jwt(client, tokens["id_token"], audience=rp.client_id)["acr"] == "urn:vn:egov:loa:2"
