"""RegistryFacts: what other contexts read of the registry, as frozen copies, never its ORM rows."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.registry import make_agency, make_citizen, make_enterprise, make_officer, make_principal

from egov.platform.clock import FixedClock
from egov.platform.permissions import Principal, restrict
from egov.registry import (
    AgencyFacts,
    CitizenFacts,
    EnterpriseFacts,
    OfficerFacts,
    PositionFacts,
    build_registry_facts,
)
from egov.registry.models import Citizen
from egov.registry.permissions import RegistryPermission


def test_facts_are_frozen_copies_of_the_rows(session: Session, clock: FixedClock) -> None:
    facts = build_registry_facts()
    agency = make_agency(session, clock, "000.00.00.H29", "Sở Thông tin và Truyền thông")
    parent = make_citizen(session, clock, agency=agency, full_name="Trần Thị Bình", birth_date=date(1980, 1, 2))
    child = make_citizen(session, clock, agency=agency, full_name="Trần Văn Cường", birth_date=date(2015, 3, 4),
                         guardian=parent)
    enterprise = make_enterprise(session, clock, agency=agency, representative=parent)
    officer, position = make_officer(session, clock, citizen=parent, agency=agency, title="Chánh Văn phòng")
    session.commit()

    got = facts.citizen(session, parent.id)
    assert isinstance(got, CitizenFacts) and not isinstance(got, Citizen)
    assert (got.personal_id, got.full_name, got.managing_agency_id) == (parent.personal_id, "Trần Thị Bình",
                                                                         agency.id)
    assert facts.citizen_by_personal_id(session, f" {parent.personal_id} ") == got
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.full_name = "changed"  # type: ignore[misc]
    assert [w.id for w in facts.wards_of(session, parent.id)] == [child.id]

    assert facts.agency_by_code(session, "000.00.00.H29") == facts.agency(session, agency.id)
    assert isinstance(facts.agency(session, agency.id), AgencyFacts)
    assert facts.enterprises_represented_by(session, parent.id) == [facts.enterprise(session, enterprise.id)]
    assert isinstance(facts.enterprise(session, enterprise.id), EnterpriseFacts)
    assert facts.officer_of_citizen(session, parent.id) == OfficerFacts(officer.id, parent.id)
    held = facts.position(session, position.id)
    assert isinstance(held, PositionFacts) and held.title == "Chánh Văn phòng"
    assert facts.positions_of(session, officer.id, on=clock.now().date()) == [held]
    for missing in (facts.citizen(session, "nope"), facts.agency(session, "nope"), facts.position(session, "nope"),
                    facts.enterprise(session, "nope"), facts.officer(session, "nope")):
        assert missing is None


def test_agency_as_of_is_none_outside_the_open_interval(session: Session, clock: FixedClock) -> None:
    facts = build_registry_facts()
    make_agency(session, clock, "000.00.00.H30", "Sở Thử nghiệm", opened_on=date(2020, 1, 1))
    session.commit()
    assert facts.agency_as_of(session, "000.00.00.H30", date(2019, 12, 31)) is None
    assert facts.agency_as_of(session, "000.00.00.H30", date(2020, 1, 1)) is not None
    assert facts.agency_as_of(session, "999.99.99.H99", date(2020, 1, 1)) is None


def test_restrict_with_the_registry_subtree_keeps_an_officer_to_her_agencies(session: Session,
                                                                             clock: FixedClock) -> None:
    """platform.permissions.restrict on real rows, widened by RegistryFacts.subtree_ids as other contexts do."""
    city = make_agency(session, clock, "000.00.00.H29", "UBND Thành phố Hồ Chí Minh")
    dept = make_agency(session, clock, "000.00.15.H29", "Sở Thông tin và Truyền thông")
    other = make_agency(session, clock, "000.00.00.H30", "UBND tỉnh khác")
    in_dept = make_citizen(session, clock, agency=dept, full_name="Lê Thị Dung")
    in_city = make_citizen(session, clock, agency=city, full_name="Phạm Văn Em")
    elsewhere = make_citizen(session, clock, agency=other, full_name="Hoàng Văn Phúc")
    session.commit()
    expand = build_registry_facts().subtree_ids
    read = str(RegistryPermission.CITIZEN_READ)

    def visible(principal: Principal) -> set[str]:
        return set(session.scalars(restrict(select(Citizen.id), principal, read, session=session, expand=expand,
                                            model=Citizen)))

    assert visible(make_principal(city, read)) == {in_dept.id, in_city.id}  # the city's subtree
    assert visible(make_principal(dept, read)) == {in_dept.id}  # not the parent's, not another province's
    assert visible(make_principal(other, read)) == {elsewhere.id}
    assert visible(make_principal(None, read)) >= {in_dept.id, in_city.id, elsewhere.id}
    assert visible(make_principal(city, str(RegistryPermission.CITIZEN_EXPORT))) == set()  # another permission
