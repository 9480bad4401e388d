"""Registry pages through HTTP with real sign-in: roles, agency scoping, forms, import, export, agencies."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.registry import RegistryTree, make_citizen, make_enterprise, make_officer

from egov.platform.clock import FixedClock
from egov.registry.identifiers import make_personal_id
from egov.registry.models import Citizen
from egov.registry.services import SYSTEM_PRINCIPAL, merge
from egov.soc.models import AuditEvent

BASE = "/back-office/registry"


@pytest.fixture
def people(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> dict[str, Citizen]:
    """One citizen in each department, same family name, so a search must be scoped to show one."""
    a = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Nguyễn Văn An", phone="0912345678",
                     email="an.nguyen@example.vn")
    b = make_citizen(session, clock, agency=registry_tree.dept_b, full_name="Nguyễn Thị Bình", sex="female")
    session.commit()
    return {"a": a, "b": b}


def sign_in(client: Any, session: Session, role: str, agency_id: str, name: str) -> Any:
    make_account(session, username=name, roles=[(role, agency_id)], primary_agency_id=agency_id
                 if agency_id != "*" else None)
    return login(client, name)


def post(client: Any, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, follow_redirects=False,
                       **kwargs)


def fetch(session: Session, stmt: Any) -> list[Any]:
    """Read in a transaction of its own: see what the app committed, and hold no lock afterwards
    (on SQLite every transaction takes the write lock, and the app would wait for it)."""
    session.rollback()
    try:
        rows = list(session.scalars(stmt))
        for row in rows:  # detached, so reading them later does not reopen a transaction
            if hasattr(row, "_sa_instance_state"):
                session.expunge(row)
        return rows
    finally:
        session.rollback()


def events(session: Session, event_type: str) -> list[AuditEvent]:
    return fetch(session, select(AuditEvent).where(AuditEvent.event_type == event_type))


def citizen_count(session: Session) -> int:
    return int(fetch(session, select(func.count()).select_from(Citizen))[0])


def test_anonymous_and_wrong_role(client: Any, session: Session, registry_tree: RegistryTree) -> None:
    resp = client.get(f"{BASE}/citizens", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=")
    sign_in(client, session, "auditor", "*", "auditor1")
    assert client.get(f"{BASE}/citizens").status_code == 403
    assert client.get(f"{BASE}/agencies").status_code == 403


def test_clerk_sees_only_their_agency(client: Any, session: Session, people: dict[str, Citizen],
                                      registry_tree: RegistryTree) -> None:
    sign_in(client, session, "registry_clerk", registry_tree.dept_a.id, "clerka")
    page = client.get(f"{BASE}/citizens", params={"q": "nguyen"})
    assert page.status_code == 200
    assert "Nguyễn Văn An" in page.text and "Nguyễn Thị Bình" not in page.text
    assert '<html' in page.text
    partial = client.get(f"{BASE}/citizens", params={"q": "nguyen b"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert "Không tìm thấy công dân nào" in partial.text  # B exists, but not for this clerk
    mine = client.get(f"{BASE}/citizens/{people['a'].id}")
    assert mine.status_code == 200
    assert "091****678" in mine.text and "0912345678" not in mine.text
    assert "a*******n@example.vn" in mine.text and "17/05/1990" in mine.text
    assert client.get(f"{BASE}/citizens/{people['b'].id}").status_code == 404  # not 403: existence not confirmed
    searched = events(session, "registry:citizen:searched")
    assert [json.loads(e.details)["query"] for e in searched] == ["nguyen", "nguyen b"]
    assert [e.actor_kind for e in searched] == ["officer", "officer"]
    assert len(events(session, "registry:citizen:viewed")) == 1  # the 404 is not a view


def test_search_empty_state_and_id(client: Any, session: Session, people: dict[str, Citizen]) -> None:
    sign_in(client, session, "registry_clerk", "*", "clerkall")
    first = client.get(f"{BASE}/citizens")
    assert first.status_code == 200 and "để bắt đầu tra cứu" in first.text
    found = client.get(f"{BASE}/citizens", params={"q": people["b"].personal_id})
    assert "Nguyễn Thị Bình" in found.text
    assert "12 chữ số" in client.get(f"{BASE}/citizens", params={"q": "0790"}).text


def test_create_form_errors_then_success(client: Any, session: Session, registry_tree: RegistryTree,
                                         clock: FixedClock) -> None:
    sign_in(client, session, "registry_editor", registry_tree.dept_a.id, "editora")
    form = client.get(f"{BASE}/citizens/new")
    assert form.status_code == 200 and "000.00.01.H29" in form.text and "000.00.02.H29" not in form.text
    bad = post(client, f"{BASE}/citizens/new", {
        "personal_id": "079290000001", "full_name": "Trần Văn Bé", "birth_date": "01/02/1990", "sex": "male",
        "managing_agency_code": "000.00.02.H29", "phone": "123",
    })
    assert bad.status_code == 422
    assert 'value="079290000001"' in bad.text  # what was typed comes back
    assert bad.text.count('aria-invalid="true"') >= 3  # personal ID, phone, agency
    assert "Chữ số thứ 4" in bad.text and 'id="f-phone-error"' in bad.text
    assert citizen_count(session) == 0
    pid = make_personal_id("079", date(1990, 2, 1), "male", 4242)
    good = post(client, f"{BASE}/citizens/new", {
        "personal_id": pid, "full_name": "Trần Văn Bé", "birth_date": "01/02/1990", "sex": "male",
        "managing_agency_code": "000.00.01.H29",
    })
    assert good.status_code == 303
    detail = client.get(good.headers["location"])
    assert detail.status_code == 200 and "Trần Văn Bé" in detail.text and "Đã thêm công dân" in detail.text
    assert len(events(session, "registry:citizen:created")) == 1


def test_form_posts_need_the_csrf_token(client: Any, session: Session, registry_tree: RegistryTree) -> None:
    sign_in(client, session, "registry_editor", registry_tree.dept_a.id, "editorcsrf")
    resp = client.post(f"{BASE}/citizens/new", data={"full_name": "X"}, follow_redirects=False)
    assert resp.status_code == 403


CSV_HEADER = "personal_id,full_name,birth_date,sex,managing_agency_code\n"


def test_import_page_reports_rows_and_stores_nothing_or_the_good_rows(
    client: Any, session: Session, registry_tree: RegistryTree
) -> None:
    sign_in(client, session, "registry_editor", registry_tree.dept_a.id, "importer")
    assert client.get(f"{BASE}/citizens/import").status_code == 200
    good = make_personal_id("079", date(1991, 1, 1), "female", 1)
    csv = (CSV_HEADER + f"{good},Lê Thị Mai,01/01/1991,female,000.00.01.H29\n"
           + "079191000002,Lê Thị Sai,01/01/1991,male,000.00.01.H29\n").encode()
    files = {"file": ("people.csv", csv, "text/csv")}
    rejected = post(client, f"{BASE}/citizens/import", files=files)
    assert rejected.status_code == 422
    assert "Không có dòng nào được lưu" in rejected.text and "personal_id.sex" in rejected.text
    assert "<td>3</td>" in rejected.text
    assert citizen_count(session) == 0
    kept = post(client, f"{BASE}/citizens/import", {"skip_invalid": "1"}, files=files)
    assert kept.status_code == 303 and kept.headers["location"] == f"{BASE}/citizens/import"  # refresh repeats nothing
    report = client.get(f"{BASE}/citizens/import")
    assert report.status_code == 200 and "Đã nhập" in report.text and "<td>3</td>" in report.text
    again = client.get(f"{BASE}/citizens/import")  # the report is shown once
    assert "Đã nhập" not in again.text and "<td>3</td>" not in again.text
    assert fetch(session, select(Citizen.full_name)) == ["Lê Thị Mai"]
    assert [e.outcome for e in events(session, "registry:citizen:imported")] == ["failure", "success"]
    empty = post(client, f"{BASE}/citizens/import")
    assert empty.status_code == 422 and "Hãy chọn một tệp CSV" in empty.text


def test_export_needs_its_own_permission(client: Any, session: Session, people: dict[str, Citizen],
                                         registry_tree: RegistryTree) -> None:
    sign_in(client, session, "registry_clerk", "*", "clerkx")
    assert client.get(f"{BASE}/citizens/export").status_code == 403
    assert post(client, f"{BASE}/citizens/export").status_code == 403
    client.cookies.clear()
    sign_in(client, session, "registry_exporter", registry_tree.dept_b.id, "exporterb")
    page = client.get(f"{BASE}/citizens/export")
    assert page.status_code == 200 and "<strong>1</strong>" in page.text
    resp = post(client, f"{BASE}/citizens/export")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    lines = resp.text.strip().splitlines()
    assert lines[0].startswith("personal_id,full_name,birth_date,sex")
    assert len(lines) == 2 and "Nguyễn Thị Bình" in lines[1]
    (exported,) = events(session, "registry:citizen:exported")
    assert json.loads(exported.details)["rows"] == 1


def test_agencies_as_of_a_merger(client: Any, session: Session, registry_tree: RegistryTree,
                                 clock: FixedClock) -> None:
    merge(session, clock, ["000.00.02.H29"], into="000.00.01.H29", on=date(2025, 7, 1), by=SYSTEM_PRINCIPAL)
    session.commit()
    sign_in(client, session, "registry_clerk", "*", "clerkag")
    before = client.get(f"{BASE}/agencies", params={"as_of": "30/06/2025"})
    after = client.get(f"{BASE}/agencies", params={"as_of": "01/07/2025"})
    assert before.status_code == after.status_code == 200
    assert "000.00.02.H29" in before.text and "000.00.02.H29" not in after.text
    closed = client.get(f"{BASE}/agencies/000.00.02.H29")
    assert closed.status_code == 200 and "01/07/2025" in closed.text and "000.00.01.H29" in closed.text
    bad = client.get(f"{BASE}/agencies", params={"as_of": "31/02/2025"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    assert client.get(f"{BASE}/agencies/000.09.09.H29").status_code == 404


def test_enterprises_and_officers(client: Any, session: Session, people: dict[str, Citizen],
                                  registry_tree: RegistryTree, clock: FixedClock) -> None:
    firm = make_enterprise(session, clock, agency=registry_tree.dept_a, representative=people["a"])
    other = make_enterprise(session, clock, agency=registry_tree.dept_b, representative=people["b"],
                            name="Hợp tác xã Bình Minh")
    officer, _ = make_officer(session, clock, citizen=people["a"], agency=registry_tree.dept_a, title="Chuyên viên")
    session.commit()
    sign_in(client, session, "registry_editor", registry_tree.dept_a.id, "editorent")
    listing = client.get(f"{BASE}/enterprises")
    assert "Công ty TNHH Sen Vàng" in listing.text and "Bình Minh" not in listing.text
    assert client.get(f"{BASE}/enterprises/{firm.tax_code}").status_code == 200
    assert client.get(f"{BASE}/enterprises/{other.tax_code}").status_code == 404
    created = post(client, f"{BASE}/enterprises/new", {
        "tax_code": f"{firm.tax_code}-001", "name": "Chi nhánh Thủ Đức",
        "legal_representative_personal_id": people["a"].personal_id, "managing_agency_code": "000.00.01.H29",
        "status": "active",
    })
    assert created.status_code == 303
    assert "Chi nhánh Thủ Đức" in client.get(f"{BASE}/enterprises/{firm.tax_code}").text
    refused = post(client, f"{BASE}/enterprises/new", {"tax_code": "12", "name": ""})
    assert refused.status_code == 422 and 'id="f-tax_code-error"' in refused.text
    officers = client.get(f"{BASE}/officers")
    assert officers.status_code == 200 and "Nguyễn Văn An" in officers.text and "Chuyên viên" in officers.text
    assert client.get(f"{BASE}/officers/{officer.id}").status_code == 200
    assert client.get(f"{BASE}").status_code == 200


def test_english_pages(client: Any, session: Session, people: dict[str, Citizen]) -> None:
    sign_in(client, session, "registry_clerk", "*", "clerken")
    client.cookies.set("egov_lang", "en")
    page = client.get(f"{BASE}/citizens/{people['a'].id}")
    assert "Date of birth" in page.text and "Ngày sinh" not in page.text


def test_form_fields_carry_their_attributes_unescaped_and_every_error_in_a_linked_summary(
        client: Any, session: Session, registry_tree: RegistryTree) -> None:
    """The field helper once escaped its own attributes (`inputmode="&quot;numeric&quot;"`): no keypad, no limits."""
    from lxml import html as lxml_html

    sign_in(client, session, "registry_editor", registry_tree.dept_a.id, "editorattrs")
    page = client.get(f"{BASE}/citizens/new")
    assert "&quot;" not in page.text
    doc = lxml_html.fromstring(page.text)
    (pid,) = doc.xpath('//input[@id="f-personal_id"]')
    assert (pid.get("inputmode"), pid.get("maxlength"), pid.get("autocomplete")) == ("numeric", "12", "off")
    (born,) = doc.xpath('//input[@id="f-birth_date"]')
    assert born.get("placeholder") == "17/05/1990" and born.get("inputmode") == "numeric"
    assert doc.xpath('//form[@action="/back-office/registry/citizens/new"][@novalidate]')
    bad = post(client, f"{BASE}/citizens/new", {"personal_id": "12", "full_name": "", "birth_date": "x",
                                                "sex": "", "managing_agency_code": "", "phone": "123"})
    assert bad.status_code == 422
    doc = lxml_html.fromstring(bad.text)
    (summary,) = doc.xpath('//div[@class="error-summary"]')
    links = summary.xpath(".//a/@href")
    invalid = doc.xpath('//*[@aria-invalid="true"]/@id')
    assert len(links) >= 3 and sorted(h.removeprefix("#") for h in links) == sorted(invalid)


def test_a_long_import_report_is_cut_to_what_one_cookie_holds_and_counts_the_rest(
    client: Any, session: Session, registry_tree: RegistryTree
) -> None:
    sign_in(client, session, "registry_editor", registry_tree.dept_a.id, "importer2")
    good = make_personal_id("079", date(1991, 1, 1), "female", 1)
    bad = "".join(f"079191{n:06d},Lê Thị Sai {n},01/01/1991,male,000.00.01.H29\n" for n in range(2, 402))
    files = {"file": ("people.csv", (CSV_HEADER + f"{good},Lê Thị Mai,01/01/1991,female,000.00.01.H29\n"
                                     + bad).encode(), "text/csv")}
    kept = post(client, f"{BASE}/citizens/import", {"skip_invalid": "1"}, files=files)
    assert kept.status_code == 303 and len(kept.headers["set-cookie"]) < 4096
    report = client.get(f"{BASE}/citizens/import").text
    assert "Đã nhập" in report and "<td>3</td>" in report
    listed = report.count("<tr><td>")
    assert 0 < listed < 400 and "hiển thị" in report
