"""Organisation accounts: opened by the legal representative at level 2 (stepped up, not refused), members
added and removed by the representative or an admin member, members act for the organisation as themselves."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.registry import RegistryTree, make_citizen, make_enterprise
from tests.functional.auth.conftest import audit

from egov.auth.models import Account, AuthSession, OrganisationMember
from egov.platform.clock import FixedClock


def _post(client: Any, url: str, data: dict[str, str]) -> Any:
    return client.post(url, data={**data, "csrf_token": csrf_token(client)}, follow_redirects=False)


def _raise_session_to_level_2(session: Session, account_id: str) -> None:
    """Arrangement: the representative proved level 2 (in person + second factor, tested elsewhere)."""
    session.rollback()
    for row in session.scalars(select(AuthSession).where(AuthSession.account_id == account_id)):
        row.acr = "2"
    session.commit()


def test_the_representative_opens_the_account_adds_members_who_act_for_it(
        client: Any, session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    boss = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Lý Thị Giám Đốc")
    worker = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Đinh Văn Kế Toán")
    stranger = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Hồ Văn Lạ")
    ent = make_enterprise(session, clock, agency=registry_tree.dept_a, representative=boss,
                          name="Công ty TNHH Sen Vàng")
    session.commit()
    boss_acct = make_account(session, kind="citizen", username=boss.personal_id, subject_id=boss.id)
    worker_acct = make_account(session, kind="citizen", username=worker.personal_id, subject_id=worker.id,
                               display_name=worker.full_name)
    stranger_acct = make_account(session, kind="citizen", username=stranger.personal_id, subject_id=stranger.id)
    login(client, boss_acct.username)
    page = client.get("/account/organisations").text
    assert "Công ty TNHH Sen Vàng" in page and "Mở tài khoản tổ chức" in page
    # A level-1 session is stepped up, and nothing is opened meanwhile.
    low = _post(client, "/account/organisations", {"enterprise_id": ent.id})
    assert low.status_code == 303 and low.headers["location"] == "/login/step-up?next=%2Faccount%2Forganisations"
    assert session.scalar(select(Account).where(Account.username == ent.tax_code)) is None
    _raise_session_to_level_2(session, boss_acct.id)
    opened = _post(client, "/account/organisations", {"enterprise_id": ent.id})
    assert opened.status_code == 303 and opened.headers["location"].endswith("done=opened")
    session.rollback()
    org = session.scalar(select(Account).where(Account.username == ent.tax_code))
    assert org is not None and org.kind == "organisation" and org.password_hash is None and org.subject_id == ent.id
    again = _post(client, "/account/organisations", {"enterprise_id": ent.id})
    assert again.status_code == 409 and "đã có tài khoản" in again.text
    itself = _post(client, f"/account/organisations/{org.id}/members", {"member": boss_acct.username, "role": "admin"})
    assert itself.status_code == 422 and "không cần thêm làm thành viên" in itself.text  # the registry decides
    unknown = _post(client, f"/account/organisations/{org.id}/members", {"member": "079999999999", "role": "member"})
    assert unknown.status_code == 422 and "Không có tài khoản công dân" in unknown.text
    added = _post(client, f"/account/organisations/{org.id}/members",
                  {"member": worker_acct.username, "role": "member"})
    assert added.status_code == 303
    assert "Đinh Văn Kế Toán" in client.get("/account/organisations").text
    with TestClient(client.app, base_url="http://localhost") as other:
        login(other, worker_acct.username)
        assert "thành viên tài khoản tổ chức" in other.get("/account").text
        assert _post(other, "/account/act-as", {"party": f"enterprise:{ent.id}"}).status_code == 303
        assert other.get("/api/auth/me").json()["represented_party"] == f"enterprise:{ent.id}"
        # A member (not admin) cannot manage members; a stranger cannot even see the organisation.
        assert _post(other, f"/account/organisations/{org.id}/members",
                     {"member": stranger_acct.username, "role": "admin"}).status_code == 404
        with TestClient(client.app, base_url="http://localhost") as third:
            login(third, stranger_acct.username)
            assert _post(third, "/account/act-as", {"party": f"enterprise:{ent.id}"}).status_code == 403
            assert "Sen Vàng" not in third.get("/account/organisations").text
        session.rollback()
        membership = session.scalars(select(OrganisationMember)).one()
        remove = f"/account/organisations/{org.id}/members/{membership.id}/remove"
        asked = _post(client, remove, {})
        assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text
        assert "Đinh Văn Kế Toán" in asked.text
        assert other.get("/api/auth/me").json()["represented_party"] == f"enterprise:{ent.id}"  # nothing yet
        missing = _post(client, f"/account/organisations/{org.id}/members/no-such-id/remove", {})
        assert missing.status_code == 404 and 'name="confirmed"' not in missing.text
        assert _post(client, remove, {"confirmed": "yes"}).status_code == 303
        # Removed at once: the member's next request no longer acts for the organisation.
        assert other.get("/api/auth/me").json()["represented_party"] is None
    # The organisation account itself has no password to guess.
    client.cookies.clear()
    client.get("/login")
    refused = client.post("/login", data={"username": ent.tax_code, "password": "anything at all 123",
                                          "next": "/", "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert refused.status_code == 401
    events = {e.event_type for e, _ in audit(session, "auth:organisation:opened")
              + audit(session, "auth:organisation:member_added") + audit(session, "auth:organisation:member_removed")}
    assert events == {"auth:organisation:opened", "auth:organisation:member_added",
                      "auth:organisation:member_removed"}


def test_only_the_representative_opens_it(client: Any, session: Session, clock: FixedClock,
                                           registry_tree: RegistryTree) -> None:
    boss = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Lý Thị Giám Đốc")
    other = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Phan Văn Khác")
    ent = make_enterprise(session, clock, agency=registry_tree.dept_a, representative=boss)
    session.commit()
    acct = make_account(session, kind="citizen", username=other.personal_id, subject_id=other.id)
    login(client, acct.username)
    _raise_session_to_level_2(session, acct.id)
    resp = _post(client, "/account/organisations", {"enterprise_id": ent.id})
    assert resp.status_code == 403 and "người đại diện theo pháp luật" in resp.text
    session.rollback()
    assert session.scalar(select(Account).where(Account.kind == "organisation")) is None
