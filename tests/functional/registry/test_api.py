"""Registry JSON API through HTTP: problem+json errors, scoping (404 across agencies), the as-of look-ups."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.registry import RegistryTree, make_citizen, make_enterprise

from egov.platform.clock import FixedClock
from egov.registry.identifiers import make_personal_id
from egov.registry.models import Citizen
from egov.registry.services import SYSTEM_PRINCIPAL, merge

API = "/api/registry"


@pytest.fixture
def people(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> dict[str, Citizen]:
    parent = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Đặng Thị Hoa", sex="female",
                          birth_date=date(1988, 3, 8), phone="0987654321")
    child = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Đặng Minh Khôi",
                         birth_date=date(2018, 9, 2), guardian=parent)
    other = make_citizen(session, clock, agency=registry_tree.dept_b, full_name="Đặng Văn Bắc")
    session.commit()
    return {"parent": parent, "child": child, "other": other}


def as_user(client: Any, session: Session, name: str, role: str, agency_id: str) -> Any:
    make_account(session, username=name, roles=[(role, agency_id)])
    return login(client, name)


def test_anonymous_gets_401_problem_json(client: Any, people: dict[str, Citizen]) -> None:
    resp = client.get(f"{API}/citizens", params={"q": "dang"})
    assert resp.status_code == 401 and resp.headers["content-type"].startswith("application/problem+json")


def test_wrong_role_gets_403(client: Any, session: Session, people: dict[str, Citizen]) -> None:
    as_user(client, session, "auditorapi", "auditor", "*")
    resp = client.get(f"{API}/citizens/{people['parent'].id}")
    assert resp.status_code == 403 and resp.json()["type"] == "urn:egov:problem:forbidden"


def test_search_and_read_are_scoped(client: Any, session: Session, people: dict[str, Citizen],
                                    registry_tree: RegistryTree) -> None:
    as_user(client, session, "clerkapi", "registry_clerk", registry_tree.dept_a.id)
    found = client.get(f"{API}/citizens", params={"q": "dang", "limit": 10}).json()
    assert found["count"] == 2 and {i["full_name"] for i in found["items"]} == {"Đặng Thị Hoa", "Đặng Minh Khôi"}
    child = client.get(f"{API}/citizens/{people['child'].id}").json()
    assert child["guardian"] == {"id": people["parent"].id, "full_name": "Đặng Thị Hoa"}
    assert child["province_code"] == "079" and child["birth_year"] == 2018 and child["age"] == 8
    parent = client.get(f"{API}/citizens/by-personal-id/{people['parent'].personal_id}").json()
    assert parent["phone_masked"] == "098****321" and "phone" not in parent
    other = people["other"]
    for path in (f"{API}/citizens/{other.id}", f"{API}/citizens/by-personal-id/{other.personal_id}"):
        resp = client.get(path)
        assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{API}/citizens", params={"q": people["other"].personal_id}).json()["count"] == 0
    assert client.get(f"{API}/citizens", params={"limit": 0}).status_code == 422


def test_create_reports_each_field_and_rule(client: Any, session: Session, registry_tree: RegistryTree) -> None:
    as_user(client, session, "editorapi", "registry_editor", registry_tree.dept_a.id)
    headers = {"X-CSRF-Token": csrf_token(client)}
    bad = client.post(f"{API}/citizens", headers=headers, json={
        "personal_id": "07909000004", "full_name": "Lê Văn 5", "birth_date": "2030-01-01", "sex": "male",
        "managing_agency_code": "000.00.01.H29", "email": "x@",
    })
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    rules = {(e["field"], e["rule"]) for e in bad.json()["errors"]}
    assert rules >= {("personal_id", "personal_id.length"), ("full_name", "full_name.characters"),
                     ("birth_date", "birth_date.future"), ("email", "email.format")}
    pid = make_personal_id("001", date(2001, 1, 2), "female", 9)
    good = client.post(f"{API}/citizens", headers=headers, json={
        "personal_id": pid, "full_name": "Lê Thị Hà Nội", "birth_date": "02/01/2001", "sex": "nữ",
        "managing_agency_code": "000.00.01.H29",
    })
    assert good.status_code == 201, good.text
    assert good.json()["province_name"] == "Thành phố Hà Nội" and good.json()["sex"] == "female"
    dup = client.post(f"{API}/citizens", headers=headers, json={
        "personal_id": pid, "full_name": "Lê Thị Hà Nội", "birth_date": "2001-01-02", "sex": "female",
        "managing_agency_code": "000.00.01.H29",
    })
    assert dup.status_code == 422 and dup.json()["errors"][0]["rule"] == "personal_id.duplicate"
    missing = client.post(f"{API}/citizens", headers=headers, json={"full_name": "x"})
    assert missing.status_code == 422


def test_agencies_as_of(client: Any, session: Session, registry_tree: RegistryTree, clock: FixedClock) -> None:
    merge(session, clock, ["000.00.02.H29"], into="000.00.01.H29", on=date(2025, 7, 1), by=SYSTEM_PRINCIPAL)
    session.commit()
    as_user(client, session, "clerkag", "registry_clerk", "*")
    before = {a["code"] for a in client.get(f"{API}/agencies", params={"as_of": "2025-06-30"}).json()}
    after = {a["code"] for a in client.get(f"{API}/agencies", params={"as_of": "2025-07-01"}).json()}
    assert before - after == {"000.00.02.H29"}
    closed = client.get(f"{API}/agencies/000.00.02.H29", params={"as_of": "2025-08-01"}).json()
    assert closed["open_as_of"] is False and closed["successor_code"] == "000.00.01.H29"
    assert closed["closed_on"] == "2025-07-01" and closed["parent_code"] == "000.00.00.H29"
    root = client.get(f"{API}/agencies/000.00.00.H29").json()
    assert root["children"] == ["000.00.01.H29"]
    assert client.get(f"{API}/agencies/000.00.77.H29").status_code == 404


def test_enterprise_by_tax_code(client: Any, session: Session, people: dict[str, Citizen],
                                registry_tree: RegistryTree, clock: FixedClock) -> None:
    firm = make_enterprise(session, clock, agency=registry_tree.dept_b, representative=people["other"])
    session.commit()
    as_user(client, session, "clerkb", "registry_clerk", registry_tree.dept_b.id)
    body = client.get(f"{API}/enterprises/{firm.tax_code}").json()
    assert body["legal_representative"]["full_name"] == "Đặng Văn Bắc" and body["status"] == "active"
    client.cookies.clear()
    as_user(client, session, "clerka2", "registry_clerk", registry_tree.dept_a.id)
    assert client.get(f"{API}/enterprises/{firm.tax_code}").status_code == 404
    assert client.get(f"{API}/enterprises/not-a-code").status_code == 404
