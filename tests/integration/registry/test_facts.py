"""RegistryFacts: what other contexts read of the registry, as frozen copies, never its ORM rows."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy.orm import Session
from tests.factories.registry import make_agency, make_citizen, make_enterprise, make_officer

from egov.platform.clock import FixedClock
from egov.registry import (
    AgencyFacts,
    CitizenFacts,
    EnterpriseFacts,
    OfficerFacts,
    PositionFacts,
    build_registry_facts,
)
from egov.registry.models import Citizen


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
