"""Officers: citizens holding positions (title, agency, period) in one or several agencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from egov.platform.clock import Clock, today_vn
from egov.platform.errors import ErrorCollector, ValidationFailed
from egov.platform.ids import new_id
from egov.platform.permissions import Principal, restrict_to
from egov.registry.audit import RegistryAudit
from egov.registry.models import Agency, Citizen, Officer, OfficerPosition
from egov.registry.permissions import RegistryPermission
from egov.registry.services.access import audit, ensure_in_scope, not_found, require_any, scope
from egov.registry.services.values import parse_date

TITLE_MAX = 200


@dataclass(frozen=True)
class PositionView:
    position: OfficerPosition
    agency: Agency


@dataclass(frozen=True)
class OfficerRecord:
    officer: Officer
    citizen: Citizen
    positions: list[PositionView]


def officer_of_citizen(session: Session, citizen_id: str) -> Officer | None:
    """Unscoped look-up for the auth context (linking an officer account to its registry record)."""
    return session.scalar(select(Officer).where(Officer.citizen_id == citizen_id))


def positions_of(session: Session, officer_id: str, on: date | None = None) -> list[OfficerPosition]:
    """An officer's positions, newest first; only those held on `on` when a date is given."""
    stmt = select(OfficerPosition).where(OfficerPosition.officer_id == officer_id)
    rows = session.scalars(stmt.order_by(OfficerPosition.starts_on.desc(), OfficerPosition.id))
    return [p for p in rows if on is None or p.is_held_on(on)]


def create_officer(session: Session, clock: Clock, *, citizen_id: str, by: Principal) -> Officer:
    """Make a citizen an officer (positions come with add_position); one officer record per person."""
    require_any(by, RegistryPermission.OFFICER_UPDATE)
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise ValidationFailed.single(
            "citizen_id", "officer.citizen_unknown", "Không có công dân này", "No such citizen"
        )
    if officer_of_citizen(session, citizen_id) is not None:
        raise ValidationFailed.single(
            "citizen_id", "officer.duplicate", "Công dân này đã là cán bộ", "This citizen is already an officer"
        )
    officer = Officer(id=new_id(), citizen_id=citizen_id, created_at=clock.now())
    session.add(officer)
    session.flush()
    audit(session, by, RegistryAudit.OFFICER_CREATED, object_type="officer", object_id=officer.id)
    return officer


def add_position(
    session: Session,
    clock: Clock,
    *,
    officer_id: str,
    agency_id: str,
    title: str,
    starts_on: date | str,
    by: Principal,
    ends_on: date | str | None = None,
) -> OfficerPosition:
    """Give an officer a title in an agency for a period; needs registry:officer:update at that agency."""
    require_any(by, RegistryPermission.OFFICER_UPDATE)
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise not_found("officer")
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise ValidationFailed.single("agency_id", "position.agency_unknown", "Không có cơ quan này", "No such agency")
    ensure_in_scope(session, by, RegistryPermission.OFFICER_UPDATE, [agency.id], what="agency")
    errors = ErrorCollector()
    clean_title = " ".join(title.split())
    if not clean_title or len(clean_title) > TITLE_MAX:
        errors.add(
            "title",
            "position.title",
            f"Chức danh phải có từ 1 đến {TITLE_MAX} ký tự",
            f"The title must have 1 to {TITLE_MAX} characters",
        )
    start: date | None = None
    end: date | None = None
    try:
        start = parse_date(starts_on, field="starts_on")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    if ends_on not in (None, ""):
        try:
            end = parse_date(ends_on, field="ends_on")  # type: ignore[arg-type]
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if start is not None and end is not None and end < start:
        errors.add("ends_on", "position.period", "Ngày kết thúc trước ngày bắt đầu", "The end is before the start")
    if start is not None and not agency.is_open_on(start):
        errors.add(
            "starts_on",
            "position.agency_closed",
            f"Cơ quan {agency.code} không hoạt động vào ngày {start:%d/%m/%Y}",
            f"Agency {agency.code} is not open on {start:%d/%m/%Y}",
        )
    errors.raise_if_any()
    assert start is not None
    position = OfficerPosition(
        id=new_id(),
        officer_id=officer.id,
        agency_id=agency.id,
        title=clean_title,
        starts_on=start,
        ends_on=end,
        created_at=clock.now(),
    )
    session.add(position)
    session.flush()
    audit(
        session,
        by,
        RegistryAudit.OFFICER_POSITION_ADDED,
        object_type="officer",
        object_id=officer.id,
        details={"agency_id": agency.id, "title": clean_title, "starts_on": start.isoformat()},
    )
    return position


def end_position(session: Session, clock: Clock, position_id: str, *, ends_on: date, by: Principal) -> OfficerPosition:
    require_any(by, RegistryPermission.OFFICER_UPDATE)
    position = session.get(OfficerPosition, position_id)
    if position is None:
        raise not_found("officer")
    ensure_in_scope(session, by, RegistryPermission.OFFICER_UPDATE, [position.agency_id], what="officer")
    if ends_on < position.starts_on:
        raise ValidationFailed.single(
            "ends_on", "position.period", "Ngày kết thúc trước ngày bắt đầu", "The end is before the start"
        )
    position.ends_on = ends_on
    session.flush()
    audit(
        session,
        by,
        RegistryAudit.OFFICER_POSITION_ENDED,
        object_type="officer",
        object_id=position.officer_id,
        details={"position_id": position.id, "ends_on": ends_on.isoformat()},
    )
    return position


def _positions(session: Session, officer_id: str) -> list[PositionView]:
    stmt = (
        select(OfficerPosition, Agency)
        .join(Agency, Agency.id == OfficerPosition.agency_id)
        .where(OfficerPosition.officer_id == officer_id)
        .order_by(OfficerPosition.starts_on.desc(), OfficerPosition.id)
    )
    return [PositionView(p, a) for p, a in session.execute(stmt)]


def get_officer(session: Session, officer_id: str, *, by: Principal) -> OfficerRecord:
    """An officer visible to `by` through any of their positions (current or past); audited."""
    require_any(by, RegistryPermission.OFFICER_READ)
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise not_found("officer")
    positions = _positions(session, officer.id)
    ensure_in_scope(
        session, by, RegistryPermission.OFFICER_READ, [p.position.agency_id for p in positions], what="officer"
    )
    citizen = session.get(Citizen, officer.citizen_id)
    assert citizen is not None
    audit(session, by, RegistryAudit.OFFICER_VIEWED, object_type="officer", object_id=officer.id)
    return OfficerRecord(officer, citizen, positions)


@dataclass(frozen=True)
class OfficerRow:
    officer: Officer
    citizen: Citizen
    current: list[PositionView]


def list_officers(
    session: Session, clock: Clock, *, by: Principal, agency_id: str | None = None, limit: int = 200
) -> list[OfficerRow]:
    """Officers with a position in the caller's agencies (or in `agency_id`), with current positions."""
    require_any(by, RegistryPermission.OFFICER_READ)
    allowed = scope(session, by, RegistryPermission.OFFICER_READ)
    if not allowed.everywhere and not allowed.agencies:
        return []
    in_scope = restrict_to(select(OfficerPosition.id).where(OfficerPosition.officer_id == Officer.id), allowed,
                           OfficerPosition)
    if agency_id is not None:
        in_scope = in_scope.where(OfficerPosition.agency_id == agency_id)
    stmt = (
        select(Officer, Citizen)
        .join(Citizen, Citizen.id == Officer.citizen_id)
        .where(exists(in_scope))
        .order_by(Citizen.name_key, Officer.id)
        .limit(max(1, min(limit, 500)))
    )
    today = today_vn(clock)
    out = []
    for officer, citizen in session.execute(stmt):
        current = [p for p in _positions(session, officer.id) if p.position.is_held_on(today)]
        out.append(OfficerRow(officer, citizen, current))
    return out
