"""DatabaseRegistryFacts: the registry's rows copied into the frozen facts other contexts read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.registry.interfaces import (
    AgencyFacts,
    CitizenFacts,
    EnterpriseFacts,
    OfficerFacts,
    PositionFacts,
    RegistryFacts,
)
from egov.registry.models import Agency, Citizen, Enterprise, Officer, OfficerPosition
from egov.registry.services.access import subtree_ids
from egov.registry.services.agencies import find_agency_by_code
from egov.registry.services.enterprises import enterprises_represented_by
from egov.registry.services.officers import officer_of_citizen, positions_of


def agency_facts(a: Agency) -> AgencyFacts:
    return AgencyFacts(a.id, a.code, a.name_vi, a.name_en, a.parent_id, a.opened_on, a.closed_on, a.successor_id)


def citizen_facts(c: Citizen) -> CitizenFacts:
    return CitizenFacts(c.id, c.personal_id, c.full_name, c.birth_date, c.sex, c.phone, c.email, c.guardian_id,
                        c.managing_agency_id)


def enterprise_facts(e: Enterprise) -> EnterpriseFacts:
    return EnterpriseFacts(e.id, e.tax_code, e.name, e.name_en, e.status, e.parent_id, e.legal_representative_id,
                           e.managing_agency_id)


def officer_facts(o: Officer) -> OfficerFacts:
    return OfficerFacts(o.id, o.citizen_id)


def position_facts(p: OfficerPosition) -> PositionFacts:
    return PositionFacts(p.id, p.officer_id, p.agency_id, p.title, p.starts_on, p.ends_on)


class DatabaseRegistryFacts:
    """`RegistryFacts` read from the registry's tables in the caller's session."""

    def agency(self, session: Session, agency_id: str) -> AgencyFacts | None:
        a = session.get(Agency, agency_id)
        return agency_facts(a) if a is not None else None

    def agency_by_code(self, session: Session, code: str) -> AgencyFacts | None:
        a = find_agency_by_code(session, code)
        return agency_facts(a) if a is not None else None

    def agency_as_of(self, session: Session, code: str, on: date) -> AgencyFacts | None:
        a = self.agency_by_code(session, code)
        return a if a is not None and a.is_open_on(on) else None

    def subtree_ids(self, session: Session, agency_ids: Iterable[str]) -> set[str]:
        return subtree_ids(session, agency_ids)

    def citizen(self, session: Session, citizen_id: str) -> CitizenFacts | None:
        c = session.get(Citizen, citizen_id)
        return citizen_facts(c) if c is not None else None

    def citizen_by_personal_id(self, session: Session, personal_id: str) -> CitizenFacts | None:
        c = session.scalar(select(Citizen).where(Citizen.personal_id == personal_id.strip()))
        return citizen_facts(c) if c is not None else None

    def wards_of(self, session: Session, guardian_id: str) -> list[CitizenFacts]:
        stmt = select(Citizen).where(Citizen.guardian_id == guardian_id).order_by(Citizen.birth_date, Citizen.id)
        return [citizen_facts(c) for c in session.scalars(stmt)]

    def enterprise(self, session: Session, enterprise_id: str) -> EnterpriseFacts | None:
        e = session.get(Enterprise, enterprise_id)
        return enterprise_facts(e) if e is not None else None

    def enterprises_represented_by(self, session: Session, citizen_id: str) -> list[EnterpriseFacts]:
        return [enterprise_facts(e) for e in enterprises_represented_by(session, citizen_id)]

    def officer(self, session: Session, officer_id: str) -> OfficerFacts | None:
        o = session.get(Officer, officer_id)
        return officer_facts(o) if o is not None else None

    def officer_of_citizen(self, session: Session, citizen_id: str) -> OfficerFacts | None:
        o = officer_of_citizen(session, citizen_id)
        return officer_facts(o) if o is not None else None

    def position(self, session: Session, position_id: str) -> PositionFacts | None:
        p = session.get(OfficerPosition, position_id)
        return position_facts(p) if p is not None else None

    def positions_of(self, session: Session, officer_id: str, on: date | None = None) -> list[PositionFacts]:
        return [position_facts(p) for p in positions_of(session, officer_id, on)]


def build_registry_facts() -> RegistryFacts:
    """The registry's facts for other contexts; the composition root passes this to their services."""
    return DatabaseRegistryFacts()
