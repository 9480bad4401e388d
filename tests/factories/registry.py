"""Fixtures and factories for the registry context: an agency tree, citizens with valid IDs, enterprises.

Helpers flush but do not commit (the caller decides, as a request would); the `registry_tree`
fixture commits so HTTP tests see its rows. Codes below level 1 are invented for tests: only
``000.00.00.H29`` (People's Committee of Hồ Chí Minh City) is a confirmed code.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.orm import Session

from egov.platform.clock import Clock
from egov.platform.permissions import GLOBAL, Principal
from egov.registry.identifiers import Sex, make_personal_id
from egov.registry.models import Agency, Citizen, Enterprise, Officer, OfficerPosition
from egov.registry.permissions import RegistryPermission
from egov.registry.services import (
    SYSTEM_PRINCIPAL,
    add_position,
    create_agency,
    create_citizen,
    create_enterprise,
    create_officer,
    find_agency_by_code,
)

__all__ = [
    "RegistryTree",
    "make_agency",
    "make_citizen",
    "make_enterprise",
    "make_officer",
    "make_personal_id",
    "make_principal",
    "make_tax_code",
]

HCMC = "000.00.00.H29"
DEPT_A = "000.00.01.H29"
DEPT_B = "000.00.02.H29"
OPENED = date(2020, 1, 1)

_serials = itertools.count(1)
_tax_serials = itertools.count(1)


def make_agency(
    session: Session,
    clock: Clock,
    code: str,
    name_vi: str | None = None,
    *,
    opened_on: date = OPENED,
    name_en: str | None = None,
) -> Agency:
    """The agency with `code`, created (as the system) if missing; its parent must exist already."""
    existing = find_agency_by_code(session, code)
    if existing is not None:
        return existing
    return create_agency(
        session,
        clock,
        code=code,
        name_vi=name_vi or f"Cơ quan {code}",
        name_en=name_en,
        opened_on=opened_on,
        by=SYSTEM_PRINCIPAL,
    )


def make_citizen(
    session: Session,
    clock: Clock,
    *,
    agency: Agency,
    full_name: str = "Nguyễn Văn An",
    birth_date: date = date(1990, 5, 17),
    sex: Sex = "male",
    province: str = "079",
    personal_id: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    guardian: Citizen | None = None,
) -> Citizen:
    """A citizen with a structurally valid, unique personal ID, managed by `agency`."""
    pid = personal_id or make_personal_id(province, birth_date, sex, next(_serials) % 1_000_000)
    return create_citizen(
        session,
        clock,
        personal_id=pid,
        full_name=full_name,
        birth_date=birth_date,
        sex=sex,
        managing_agency_id=agency.id,
        phone=phone,
        email=email,
        guardian_personal_id=guardian.personal_id if guardian else None,
        by=SYSTEM_PRINCIPAL,
    )


def make_tax_code() -> str:
    """A 10-digit tax code unique within the test run (format only, like the validator)."""
    return f"03{next(_tax_serials):08d}"


def make_enterprise(
    session: Session,
    clock: Clock,
    *,
    agency: Agency,
    representative: Citizen,
    name: str = "Công ty TNHH Sen Vàng",
    tax_code: str | None = None,
    status: str = "active",
) -> Enterprise:
    return create_enterprise(
        session,
        clock,
        tax_code=tax_code or make_tax_code(),
        name=name,
        legal_representative_personal_id=representative.personal_id,
        managing_agency_id=agency.id,
        status=status,
        by=SYSTEM_PRINCIPAL,
    )


def make_officer(
    session: Session,
    clock: Clock,
    *,
    citizen: Citizen,
    agency: Agency,
    title: str = "Chuyên viên",
    starts_on: date = date(2021, 1, 1),
) -> tuple[Officer, OfficerPosition]:
    officer = create_officer(session, clock, citizen_id=citizen.id, by=SYSTEM_PRINCIPAL)
    position = add_position(
        session,
        clock,
        officer_id=officer.id,
        agency_id=agency.id,
        title=title,
        starts_on=starts_on,
        by=SYSTEM_PRINCIPAL,
    )
    return officer, position


def make_principal(
    agency: Agency | str | None,
    *permissions: str,
    account_id: str = "officer-1",
    kind: str = "officer",
) -> Principal:
    """A principal holding `permissions` (default: every registry permission) at `agency` (None = global).

    For service-level tests; HTTP tests sign in through the auth context instead.
    """
    where = GLOBAL if agency is None else (agency if isinstance(agency, str) else agency.id)
    chosen = permissions or tuple(str(p) for p in RegistryPermission)
    return Principal(
        account_id=account_id,
        kind=kind,
        display_name=f"Cán bộ {account_id}",
        grants=frozenset((str(p), where) for p in chosen),
        agency_id=None if agency is None else where,
    )


@dataclass(frozen=True)
class RegistryTree:
    """HCMC People's Committee with two departments (invented level-2 codes), committed."""

    root: Agency
    dept_a: Agency
    dept_b: Agency


@pytest.fixture
def registry_tree(session: Session, clock: Clock) -> RegistryTree:
    root = make_agency(session, clock, HCMC, "Ủy ban nhân dân Thành phố Hồ Chí Minh",
                       name_en="People's Committee of Ho Chi Minh City")
    dept_a = make_agency(session, clock, DEPT_A, "Sở A (mã thử nghiệm)", name_en="Department A (test code)")
    dept_b = make_agency(session, clock, DEPT_B, "Sở B (mã thử nghiệm)", name_en="Department B (test code)")
    session.commit()
    return RegistryTree(root, dept_a, dept_b)
