"""What other contexts may rely on from the registry: `RegistryFacts` and the frozen facts it returns.

Other contexts (auth, pki, and the contexts to come) read who is who through these, never the
registry's tables: a fact is a copy of a row at read time, so nothing outside the registry can change
a registry record by accident or depend on its columns. The registry raises the platform's errors
(`NotFound`, `ValidationFailed`, `PermissionDenied`); it has no exceptions of its own.
Look-ups here are unscoped and not audited: they serve another context's own logic (sign-in,
certificate subjects, delegation), never showing personal data to an officer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class AgencyFacts:
    """A unit of the agency-code catalogue; open on opened_on <= d < closed_on."""

    id: str
    code: str
    name_vi: str
    name_en: str | None
    parent_id: str | None
    opened_on: date
    closed_on: date | None
    successor_id: str | None

    def is_open_on(self, day: date) -> bool:
        return self.opened_on <= day and (self.closed_on is None or day < self.closed_on)

    def name(self, locale: str = "vi") -> str:
        return self.name_en if locale.startswith("en") and self.name_en else self.name_vi


@dataclass(frozen=True, slots=True)
class CitizenFacts:
    """A person in the population register."""

    id: str
    personal_id: str
    full_name: str
    birth_date: date
    sex: str
    phone: str | None
    email: str | None
    guardian_id: str | None
    managing_agency_id: str


@dataclass(frozen=True, slots=True)
class EnterpriseFacts:
    """An enterprise or organisation, by tax code; `status` is active, suspended or dissolved."""

    id: str
    tax_code: str
    name: str
    name_en: str | None
    status: str
    parent_id: str | None
    legal_representative_id: str
    managing_agency_id: str


@dataclass(frozen=True, slots=True)
class OfficerFacts:
    """A citizen working for the state."""

    id: str
    citizen_id: str


@dataclass(frozen=True, slots=True)
class PositionFacts:
    """A title held in one agency; held on starts_on <= d < ends_on."""

    id: str
    officer_id: str
    agency_id: str
    title: str
    starts_on: date
    ends_on: date | None

    def is_held_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day < self.ends_on)


class RegistryFacts(Protocol):
    """Who is who, read in the caller's session (its unit of work); None when the registry has no such record."""

    def agency(self, session: Session, agency_id: str) -> AgencyFacts | None: ...

    def agency_by_code(self, session: Session, code: str) -> AgencyFacts | None:
        """Open or closed (history stays readable)."""
        ...

    def agency_as_of(self, session: Session, code: str, on: date) -> AgencyFacts | None:
        """The agency that bore `code` on day `on`; None if the code was not open that day."""
        ...

    def subtree_ids(self, session: Session, agency_ids: Iterable[str]) -> set[str]:
        """The agencies, everything below them and every unit merged into them (transitively)."""
        ...

    def citizen(self, session: Session, citizen_id: str) -> CitizenFacts | None: ...

    def citizen_by_personal_id(self, session: Session, personal_id: str) -> CitizenFacts | None: ...

    def wards_of(self, session: Session, guardian_id: str) -> list[CitizenFacts]:
        """Children whose guardian is `guardian_id`, eldest first (the caller checks ages)."""
        ...

    def enterprise(self, session: Session, enterprise_id: str) -> EnterpriseFacts | None: ...

    def enterprises_represented_by(self, session: Session, citizen_id: str) -> list[EnterpriseFacts]:
        """Enterprises whose legal representative is `citizen_id`, by tax code."""
        ...

    def officer(self, session: Session, officer_id: str) -> OfficerFacts | None: ...

    def officer_of_citizen(self, session: Session, citizen_id: str) -> OfficerFacts | None: ...

    def position(self, session: Session, position_id: str) -> PositionFacts | None: ...

    def positions_of(self, session: Session, officer_id: str, on: date | None = None) -> list[PositionFacts]:
        """An officer's positions, newest first; only those held on `on` when a date is given."""
        ...
