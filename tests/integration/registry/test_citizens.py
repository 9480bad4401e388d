"""Citizens on the real database: validation, guardians, scoped and audited reads, corrections."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.registry import RegistryTree, make_citizen, make_principal

from egov.platform.clock import FixedClock
from egov.platform.errors import NotFound, PermissionDenied, ValidationFailed
from egov.registry.identifiers import make_personal_id
from egov.registry.models import Citizen, CitizenNameWord
from egov.registry.permissions import RegistryPermission
from egov.registry.services import (
    SYSTEM_PRINCIPAL,
    create_citizen,
    get_citizen,
    get_citizen_by_personal_id,
    search_citizens,
    update_citizen,
)
from egov.soc.models import AuditEvent


def rules(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in exc.value.errors}


def events(session: Session, event_type: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_every_error_at_once_and_nothing_saved(
    session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_citizen(
            session,
            clock,
            personal_id="079" + "2" + "90" + "123456",  # digit 4 = 2 means born 2000–2099
            full_name="Nguyễn Văn 4n",
            birth_date="17/05/1990",
            sex="male",
            phone="12345",
            email="not-an-email",
            managing_agency_code="000.09.00.H29",
            by=SYSTEM_PRINCIPAL,
        )
    assert rules(caught) >= {
        ("personal_id", "personal_id.century"),
        ("full_name", "full_name.characters"),
        ("phone", "phone.format"),
        ("email", "email.format"),
        ("managing_agency_code", "managing_agency.unknown"),
    }
    assert session.scalar(select(func.count()).select_from(Citizen)) == 0


def test_created_with_words_and_audited(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    citizen = create_citizen(
        session,
        clock,
        personal_id=make_personal_id("079", date(1990, 5, 17), "female", 42),
        full_name="  Đặng   Thị Hoa ",
        birth_date="1990-05-17",
        sex="nữ",
        phone="+84 912 345 678",
        email="Hoa.Dang@Example.VN",
        managing_agency_code="000.00.01.H29",
        by=SYSTEM_PRINCIPAL,
    )
    session.commit()
    assert (citizen.full_name, citizen.name_key, citizen.sex) == ("Đặng Thị Hoa", "dang thi hoa", "female")
    assert (citizen.phone, citizen.email) == ("0912345678", "Hoa.Dang@example.vn")
    words = session.scalars(select(CitizenNameWord.word_key).where(CitizenNameWord.citizen_id == citizen.id))
    assert sorted(words) == ["dang", "hoa", "thi"]
    (created,) = events(session, "registry:citizen:created")
    assert created.object_id == citizen.id and created.actor_kind == "system"


def test_duplicate_personal_id(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    first = make_citizen(session, clock, agency=registry_tree.dept_a)
    with pytest.raises(ValidationFailed) as caught:
        make_citizen(session, clock, agency=registry_tree.dept_a, personal_id=first.personal_id)
    assert rules(caught) == {("personal_id", "personal_id.duplicate")}


def test_guardian_rules(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    agency = registry_tree.dept_a
    parent = make_citizen(session, clock, agency=agency, full_name="Trần Văn Bố", birth_date=date(1985, 1, 1))
    child = make_citizen(session, clock, agency=agency, full_name="Trần Minh Con", birth_date=date(2015, 3, 2),
                         guardian=parent)
    assert child.guardian_id == parent.id
    with pytest.raises(ValidationFailed) as caught:  # 16 years old: no guardian on record
        make_citizen(session, clock, agency=agency, full_name="Trần Văn Lớn", birth_date=date(2010, 1, 1),
                     guardian=parent)
    assert rules(caught) == {("guardian_personal_id", "guardian.not_minor")}
    with pytest.raises(ValidationFailed) as caught:  # the guardian is a child
        make_citizen(session, clock, agency=agency, full_name="Trần Thị Em", birth_date=date(2020, 1, 1),
                     guardian=child)
    assert rules(caught) == {("guardian_personal_id", "guardian.not_adult")}
    with pytest.raises(ValidationFailed) as caught:
        create_citizen(session, clock, personal_id=make_personal_id("079", date(2020, 1, 1), "male", 777),
                       full_name="Lê Văn Bé", birth_date=date(2020, 1, 1), sex="male",
                       managing_agency_id=agency.id, guardian_personal_id="079085000001", by=SYSTEM_PRINCIPAL)
    assert rules(caught) == {("guardian_personal_id", "guardian.unknown")}


def test_view_is_scoped_audited_and_masked(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    citizen = make_citizen(session, clock, agency=registry_tree.dept_b, phone="0912345678",
                           email="an.nguyen@example.vn")
    session.commit()
    officer_a = make_principal(registry_tree.dept_a, RegistryPermission.CITIZEN_READ, account_id="officer-a")
    officer_root = make_principal(registry_tree.root, RegistryPermission.CITIZEN_READ, account_id="officer-root")
    with pytest.raises(NotFound):
        get_citizen(session, clock, citizen.id, by=officer_a)
    with pytest.raises(NotFound):  # an unknown id looks exactly the same
        get_citizen(session, clock, "00000000-0000-7000-8000-000000000000", by=officer_a)
    with pytest.raises(PermissionDenied):  # no read grant anywhere
        searcher = make_principal(registry_tree.root, RegistryPermission.CITIZEN_SEARCH)
        get_citizen(session, clock, citizen.id, by=searcher)
    record = get_citizen(session, clock, citizen.id, by=officer_root)  # the grant at the parent covers dept B
    assert record.info.province_code == "079" and record.info.birth_year == 1990
    assert record.phone_masked == "091****678" and record.email_masked == "a*******n@example.vn"
    assert record.age == 36 and record.managing_agency.code == "000.00.02.H29"
    assert get_citizen_by_personal_id(session, clock, citizen.personal_id, by=officer_root).citizen == citizen
    viewed = events(session, "registry:citizen:viewed")
    assert [e.actor_id for e in viewed] == ["officer-root", "officer-root"]


def test_search_is_scoped_and_audits_query_and_count_only(
    session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    in_a = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Nguyễn Văn An")
    make_citizen(session, clock, agency=registry_tree.dept_b, full_name="Nguyễn Văn Anh")
    session.commit()
    officer_a = make_principal(registry_tree.dept_a, RegistryPermission.CITIZEN_SEARCH, account_id="officer-a")
    result = search_citizens(session, "nguyen an", by=officer_a)
    assert result.items == [in_a]
    by_id = search_citizens(session, f" {in_a.personal_id[:6]} {in_a.personal_id[6:]} ", by=officer_a)
    assert by_id.items == [in_a] and by_id.plan.kind == "id"
    other_id = search_citizens(session, make_personal_id("079", date(1990, 5, 17), "male", 999_999), by=officer_a)
    assert other_id.items == []
    partial = search_citizens(session, "079090", by=officer_a)
    assert partial.items == [] and "12" in partial.hint_en
    searched = events(session, "registry:citizen:searched")
    details = json.loads(searched[0].details)
    assert details == {"count": 1, "limit": 20, "query": "nguyen an"}
    assert in_a.id not in searched[0].details and in_a.full_name not in searched[0].details


def test_correcting_a_name_moves_the_search_words(
    session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    citizen = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Lê Thị Hồng")
    update_citizen(session, clock, citizen.id, full_name="Lê Thị Hương", phone="0987654321", by=SYSTEM_PRINCIPAL)
    session.commit()
    assert search_citizens(session, "hong", by=SYSTEM_PRINCIPAL).items == []
    assert search_citizens(session, "le huong", by=SYSTEM_PRINCIPAL).items == [citizen]
    (updated,) = events(session, "registry:citizen:updated")
    assert json.loads(updated.details)["fields"] == ["full_name", "phone"]
    officer_b = make_principal(registry_tree.dept_b, RegistryPermission.CITIZEN_UPDATE)
    with pytest.raises(NotFound):
        update_citizen(session, clock, citizen.id, phone=None, by=officer_b)
