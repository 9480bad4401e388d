"""Acting for others: a parent for a child under 14 (ends at 14 by itself), an employee for an enterprise
(until a date, revocable at once); tokens carry RFC 8693 `act`, audit events both parties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.oidc import CodeFlow, make_client, verify_jwt
from tests.factories.registry import RegistryTree, make_citizen, make_enterprise
from tests.functional.auth.test_oidc import _code, _exchange

from egov.platform.clock import FixedClock
from egov.settings import Settings
from egov.soc.models import AuditEvent

VN = timezone(timedelta(hours=7))


@pytest.fixture
def clock() -> FixedClock:
    # 23:45 in Hồ Chí Minh City today: a birthday "tomorrow" arrives 15 minutes later, within one session.
    today_vn = datetime.now(VN).date()
    return FixedClock(datetime(today_vn.year, today_vn.month, today_vn.day, 23, 45, tzinfo=VN).astimezone(UTC))


def _enterprise_with_employee(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> tuple[Any, ...]:
    """An enterprise, its legal representative's account and an employee's account (committed)."""
    boss = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Lý Thị Giám Đốc")
    worker = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Đinh Văn Nhân Viên")
    ent = make_enterprise(session, clock, agency=registry_tree.dept_a, representative=boss)
    session.commit()
    boss_acct = make_account(session, kind="citizen", username=boss.personal_id, subject_id=boss.id)
    worker_acct = make_account(session, kind="citizen", username=worker.personal_id, subject_id=worker.id)
    return ent, boss_acct, worker_acct


def _act(client: Any, party: str) -> Any:
    return client.post("/account/act-as", data={"party": party, "csrf_token": csrf_token(client)},
                       follow_redirects=False)


def test_a_parent_acts_for_a_child_until_the_fourteenth_birthday(
    client: Any, session: Session, clock: FixedClock, settings: Settings, registry_tree: RegistryTree
) -> None:
    fourteenth = clock.now().astimezone(VN).date() + timedelta(days=1)
    if (fourteenth.month, fourteenth.day) == (2, 29):
        pytest.skip("a 29 February birthday has no 14th anniversary on the same day")
    parent = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Ngô Văn Ba",
                          birth_date=date(1985, 1, 1))
    child = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Ngô Thị Tí", sex="female",
                         birth_date=fourteenth.replace(year=fourteenth.year - 14), guardian=parent)
    session.commit()
    account = make_account(session, kind="citizen", username=parent.personal_id, subject_id=parent.id)
    rp = make_client(session, settings, clock)
    login(client, account.username)
    page = client.get("/account").text
    assert "Ngô Thị Tí" in page and "con dưới 14 tuổi" in page
    assert _act(client, f"citizen:{child.id}").status_code == 303
    me = client.get("/api/auth/me")
    assert me.json().get("represented_party") == f"citizen:{child.id}", me.text
    flow = CodeFlow(rp)
    tokens = _exchange(client, flow, _code(client, flow)).json()
    # The provider's clock is pinned to tonight 23:45: PyJWT checks signature, issuer and audience only.
    relaxed = {"verify_exp": False, "verify_iat": False, "verify_nbf": False}
    claims = verify_jwt(client, tokens["id_token"], audience=rp.client_id, **relaxed)
    access = verify_jwt(client, tokens["access_token"], audience="http://localhost:8000/api", **relaxed)
    assert claims["act"]["sub"] != claims["sub"] and access["act"] == claims["act"] and access["sub"] == claims["sub"]
    session.rollback()
    issued = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth:code:issued")).one()
    assert issued.actor_id == account.id and issued.represented_party == f"citizen:{child.id}"
    clock.advance(minutes=20)  # past midnight: the 14th birthday; acting for the child ends by itself
    assert client.get("/api/auth/me").json()["represented_party"] is None
    assert "Ngô Thị Tí" not in client.get("/account").text
    session.rollback()
    assert "auth:delegation:ended" in set(session.scalars(select(AuditEvent.event_type)))


def test_an_employee_acts_for_the_enterprise_until_revoked(
    client: Any, session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    from fastapi.testclient import TestClient

    from egov.auth.models import Delegation

    ent, boss_acct, worker_acct = _enterprise_with_employee(session, clock, registry_tree)
    with TestClient(client.app, base_url="http://localhost") as boss_browser:  # two people, two browsers
        login(client, worker_acct.username)
        assert _act(client, f"enterprise:{ent.id}").status_code == 403  # not delegated yet
        login(boss_browser, boss_acct.username)
        until = clock.now().date() + timedelta(days=30)
        resp = boss_browser.post("/account/delegations", data={
            "enterprise_id": ent.id, "delegate": worker_acct.username, "services": "thue.ke_khai",
            "until": f"{until.day:02d}/{until.month:02d}/{until.year}", "csrf_token": csrf_token(boss_browser)},
            follow_redirects=False)
        assert resp.status_code == 303  # a refresh of the result grants nothing
        assert "Đã uỷ quyền" in boss_browser.get(resp.headers["location"]).text
        assert _act(client, f"enterprise:{ent.id}").status_code == 303
        assert client.get("/api/auth/me").json()["represented_party"] == f"enterprise:{ent.id}"
        session.rollback()
        delegation = session.scalars(select(Delegation)).one()
        asked = boss_browser.post(f"/account/delegations/{delegation.id}/revoke",
                                  data={"csrf_token": csrf_token(boss_browser)}, follow_redirects=False)
        assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text
        assert client.get("/api/auth/me").json()["represented_party"] == f"enterprise:{ent.id}"  # nothing yet
        missing = boss_browser.post("/account/delegations/no-such-id/revoke",
                                    data={"csrf_token": csrf_token(boss_browser)}, follow_redirects=False)
        assert missing.status_code == 404 and 'name="confirmed"' not in missing.text
        assert boss_browser.post(f"/account/delegations/{delegation.id}/revoke",
                                 data={"csrf_token": csrf_token(boss_browser), "confirmed": "yes"},
                                 follow_redirects=False).status_code == 303
        # Revoked at once: the employee's very next request no longer acts for the enterprise.
        assert client.get("/api/auth/me").json()["represented_party"] is None
    session.rollback()
    types = set(session.scalars(select(AuditEvent.event_type)))
    assert {"auth:delegation:granted", "auth:delegation:acting", "auth:delegation:revoked",
            "auth:delegation:ended"} <= types


def test_only_the_legal_representative_may_delegate(
    client: Any, session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    boss = make_citizen(session, clock, agency=registry_tree.dept_a)
    other = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Người Khác")
    ent = make_enterprise(session, clock, agency=registry_tree.dept_a, representative=boss)
    session.commit()
    make_account(session, kind="citizen", username=boss.personal_id, subject_id=boss.id)
    stranger = make_account(session, kind="citizen", username=other.personal_id, subject_id=other.id)
    login(client, stranger.username)
    resp = client.post("/account/delegations", data={
        "enterprise_id": ent.id, "delegate": boss.personal_id, "until": "01/01/2099",
        "csrf_token": csrf_token(client)})
    assert resp.status_code == 403 and "người đại diện theo pháp luật" in resp.text


def test_a_delegation_reaches_only_the_services_it_names_and_its_tokens_end_with_it(
    client: Any, session: Session, clock: FixedClock, settings: Settings, registry_tree: RegistryTree
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from tests.factories.oidc import basic, form_headers

    from egov.auth.models import Delegation

    ent, boss_acct, worker_acct = _enterprise_with_employee(session, clock, registry_tree)
    tax = make_client(session, settings, clock)  # the tax portal the delegation names
    other = make_client(session, settings, clock)  # a service it does not
    session.add(Delegation(enterprise_id=ent.id, delegate_account_id=worker_acct.id, services=f'["{tax.client_id}"]',
                           valid_until=clock.now().date() + timedelta(days=30), granted_by=boss_acct.id,
                           created_at=clock.now()))
    session.commit()
    login(client, worker_acct.username)
    assert _act(client, f"enterprise:{ent.id}").status_code == 303
    flow = CodeFlow(tax)
    tokens = _exchange(client, flow, _code(client, flow)).json()
    assert "refresh_token" in tokens
    refused = _code_location(client, CodeFlow(other))
    assert parse_qs(urlsplit(refused).query)["error"] == ["access_denied"]
    # Revoked: the refresh token minted while acting no longer works.
    session.rollback()
    session.scalars(select(Delegation)).one().revoked_at = clock.now()
    session.commit()
    resp = client.post("/oidc/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                       headers=form_headers(basic(tax)))
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def _code_location(client: Any, flow: CodeFlow) -> str:
    from tests.functional.auth.test_oidc import _authorize

    resp = _authorize(client, flow)
    assert resp.status_code == 303, resp.text
    return str(resp.headers["location"])


def test_a_bad_delegation_form_lists_every_error_at_once_each_linked_to_its_field(
    client: Any, session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    ent, boss_acct, _ = _enterprise_with_employee(session, clock, registry_tree)
    login(client, boss_acct.username)
    resp = client.post("/account/delegations", data={
        "enterprise_id": ent.id, "delegate": "079999999999", "services": "thue.ke_khai", "until": "31/02/2026",
        "csrf_token": csrf_token(client)})
    assert resp.status_code == 422 and 'class="error-summary"' in resp.text
    assert 'href="#delegate"' in resp.text and 'href="#until"' in resp.text  # both, not only the first
    assert 'aria-describedby="delegate-error"' in resp.text and 'aria-describedby="until-error"' in resp.text
    assert 'value="079999999999"' in resp.text and 'value="thue.ke_khai"' in resp.text  # what was typed stays
