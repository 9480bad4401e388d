"""Agencies: the code catalogue as a tree over time — creation, look-up as of a date, mergers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.platform.clock import Clock, today_vn
from egov.platform.errors import ErrorCollector, ValidationFailed
from egov.platform.ids import new_id
from egov.platform.permissions import GLOBAL, Principal
from egov.registry.audit import RegistryAudit
from egov.registry.identifiers import expected_parent_code, parent_code_rule, validate_agency_code
from egov.registry.models import Agency
from egov.registry.permissions import RegistryPermission
from egov.registry.services.access import audit, ensure_in_scope, not_found, require_any, scope

_MAX_SUCCESSOR_HOPS = 50


def find_agency_by_code(session: Session, code: str) -> Agency | None:
    """The agency with `code`, open or closed (history stays readable); None if unknown.

    The catalogue is public information, so this look-up is neither scoped nor audited.
    """
    return session.scalar(select(Agency).where(Agency.code == code.strip()))


def get_agency(session: Session, agency_id: str) -> Agency | None:
    return session.get(Agency, agency_id)


def agency_as_of(session: Session, code: str, on: date) -> Agency | None:
    """The agency that bore `code` on day `on`, or None if the code was not open that day."""
    agency = find_agency_by_code(session, code)
    return agency if agency is not None and agency.is_open_on(on) else None


def effective_agency(session: Session, code: str, on: date) -> Agency | None:
    """Who answers for `code` on day `on`: the agency itself if open, else its successor after mergers.

    Used to route work addressed to a code that a merger has closed (documents keep old codes for
    years). None if the code is unknown, not yet opened on `on`, or closed without a successor.
    """
    agency = find_agency_by_code(session, code)
    if agency is None or agency.opened_on > on:
        return None
    for _ in range(_MAX_SUCCESSOR_HOPS):
        if agency.is_open_on(on):
            return agency
        if agency.successor_id is None:
            return None
        successor = session.get(Agency, agency.successor_id)
        if successor is None:
            return None
        agency = successor
    return None


def successor_chain(session: Session, agency: Agency) -> list[Agency]:
    """The successors of `agency` in order (empty if it was never merged)."""
    chain: list[Agency] = []
    current = agency
    while current.successor_id is not None and len(chain) < _MAX_SUCCESSOR_HOPS:
        nxt = session.get(Agency, current.successor_id)
        if nxt is None:
            break
        chain.append(nxt)
        current = nxt
    return chain


def predecessors_of(session: Session, agency_id: str) -> list[Agency]:
    """Units merged into `agency_id` (directly)."""
    return list(session.scalars(select(Agency).where(Agency.successor_id == agency_id).order_by(Agency.code)))


def children_of(session: Session, agency_id: str, on: date | None = None) -> list[Agency]:
    """Direct children, ordered by code; only those open on `on` when a date is given."""
    rows = session.scalars(select(Agency).where(Agency.parent_id == agency_id).order_by(Agency.code))
    return [a for a in rows if on is None or a.is_open_on(on)]


def agencies_open_on(session: Session, on: date) -> list[Agency]:
    stmt = (
        select(Agency)
        .where(Agency.opened_on <= on, (Agency.closed_on.is_(None)) | (Agency.closed_on > on))
        .order_by(Agency.code)
    )
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class AgencyView:
    """An agency with its surroundings on a given day, for the detail page and the API."""

    agency: Agency
    parent: Agency | None
    successor: Agency | None
    successors: list[Agency]
    predecessors: list[Agency]
    children: list[Agency]
    open_on_day: bool


def agency_view(session: Session, code: str, on: date) -> AgencyView | None:
    agency = find_agency_by_code(session, code)
    if agency is None:
        return None
    chain = successor_chain(session, agency)
    return AgencyView(
        agency=agency,
        parent=session.get(Agency, agency.parent_id) if agency.parent_id else None,
        successor=chain[0] if chain else None,
        successors=chain,
        predecessors=predecessors_of(session, agency.id),
        children=children_of(session, agency.id, on),
        open_on_day=agency.is_open_on(on),
    )


def agencies_in_scope(session: Session, by: Principal, permission: str, on: date) -> list[Agency]:
    """Agencies open on `on` where `by` holds `permission` (subtrees included), by code: form pick lists."""
    allowed = scope(session, by, permission)
    return [a for a in agencies_open_on(session, on) if allowed.allows(a.id)]


@dataclass
class AgencyNode:
    """One agency with its open children, for the tree page."""

    agency: Agency
    children: list[AgencyNode] = field(default_factory=list)


def agency_tree(session: Session, on: date) -> list[AgencyNode]:
    """The agencies open on `on` as a forest: level-1 units (or orphans of a closed parent) at the top."""
    open_agencies = agencies_open_on(session, on)
    nodes = {a.id: AgencyNode(a) for a in open_agencies}
    roots: list[AgencyNode] = []
    for agency in open_agencies:
        parent = nodes.get(agency.parent_id) if agency.parent_id else None
        (parent.children if parent else roots).append(nodes[agency.id])
    return roots


def create_agency(
    session: Session,
    clock: Clock,
    *,
    code: str,
    name_vi: str,
    opened_on: date,
    by: Principal,
    name_en: str | None = None,
    parent_code: str | None = None,
) -> Agency:
    """Add a unit to the catalogue; its parent is the unit the code names (Decision 20/2020 group rule).

    `parent_code` is optional because the code itself determines the parent; when given it must
    agree (parent_code_rule). The parent must already exist and be open on `opened_on`. Creating a
    level-1 unit needs a global grant; a lower unit needs registry:agency:update at the parent.
    """
    require_any(by, RegistryPermission.AGENCY_UPDATE)
    errors = ErrorCollector()
    try:
        code = validate_agency_code(code, field="code")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        errors.raise_if_any()
    name_vi = " ".join(name_vi.split())
    if not name_vi:
        errors.add("name_vi", "agency.name_required", "Tên cơ quan không được để trống", "The agency name is required")
    expected = expected_parent_code(code)
    if parent_code is not None and parent_code.strip():
        try:
            parent_code_rule(parent_code, code, field="code", parent_field="parent_code")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    parent: Agency | None = None
    if expected is not None:
        parent = find_agency_by_code(session, expected)
        if parent is None:
            errors.add(
                "parent_code",
                "agency.parent_unknown",
                f"Đơn vị cấp trên {expected} chưa có trong danh mục; hãy tạo đơn vị cấp trên trước",
                f"The parent unit {expected} is not in the catalogue; create it first",
            )
        elif not parent.is_open_on(opened_on):
            errors.add(
                "opened_on",
                "agency.parent_closed",
                f"Đơn vị cấp trên {expected} không hoạt động vào ngày {opened_on:%d/%m/%Y}",
                f"The parent unit {expected} is not open on {opened_on:%d/%m/%Y}",
            )
    if find_agency_by_code(session, code) is not None:
        errors.add(
            "code",
            "agency_code.duplicate",
            f"Mã định danh {code} đã được cấp (mã đã đóng cũng không được cấp lại)",
            f"The code {code} is already taken (closed codes are not reissued)",
        )
    errors.raise_if_any()
    if parent is None:
        by.require(str(RegistryPermission.AGENCY_UPDATE), GLOBAL)
    else:
        ensure_in_scope(session, by, RegistryPermission.AGENCY_UPDATE, [parent.id], what="agency")
    now = clock.now()
    agency = Agency(
        id=new_id(),
        code=code,
        name_vi=name_vi,
        name_en=(name_en or "").strip() or None,
        parent_id=parent.id if parent else None,
        opened_on=opened_on,
        closed_on=None,
        successor_id=None,
        created_at=now,
        updated_at=now,
    )
    session.add(agency)
    session.flush()
    audit(
        session,
        by,
        RegistryAudit.AGENCY_CREATED,
        object_type="agency",
        object_id=agency.id,
        details={"code": code, "parent_code": expected},
    )
    return agency


def merge(
    session: Session,
    clock: Clock,
    closing_codes: Sequence[str],
    *,
    into: str,
    on: date,
    by: Principal,
) -> Agency:
    """Close `closing_codes` on day `on` and name `into` as their successor (a 2025-style merger).

    Closed units keep their rows, codes and records: history stays readable, and records managed by
    a closed unit come into the successor's scope (see subtree_ids). A closing unit may not leave
    open children behind: list them too, or the call fails naming them.
    """
    require_any(by, RegistryPermission.AGENCY_UPDATE)
    errors = ErrorCollector()
    codes = list(dict.fromkeys(c.strip() for c in closing_codes if c.strip()))
    if not codes:
        errors.add("closing_codes", "merge.empty", "Cần ít nhất một mã đóng", "At least one code to close is required")
        errors.raise_if_any()
    successor = find_agency_by_code(session, into)
    if successor is None:
        errors.add("into", "merge.successor_unknown", f"Không có cơ quan mã {into}", f"No agency has code {into}")
    elif not successor.is_open_on(on):
        errors.add(
            "into",
            "merge.successor_closed",
            f"Cơ quan tiếp nhận {into} không hoạt động vào ngày {on:%d/%m/%Y}",
            f"The successor {into} is not open on {on:%d/%m/%Y}",
        )
    if into.strip() in codes:
        errors.add("into", "merge.self", "Cơ quan tiếp nhận không thể tự sáp nhập", "The successor cannot close itself")
    closing: list[Agency] = []
    for code in codes:
        agency = find_agency_by_code(session, code)
        if agency is None:
            errors.add("closing_codes", "merge.unknown", f"Không có cơ quan mã {code}", f"No agency has code {code}")
        elif not (agency.is_open_on(on) and agency.opened_on < on):
            errors.add(
                "closing_codes",
                "merge.not_open",
                f"Cơ quan {code} không hoạt động trước ngày {on:%d/%m/%Y} nên không thể đóng vào ngày đó",
                f"Agency {code} is not open before {on:%d/%m/%Y}, so it cannot close on that day",
            )
        else:
            closing.append(agency)
    closing_ids = {a.id for a in closing}
    for agency in closing:
        left_open = [c.code for c in children_of(session, agency.id, on) if c.id not in closing_ids]
        if left_open:
            errors.add(
                "closing_codes",
                "merge.open_children",
                f"Cơ quan {agency.code} còn đơn vị trực thuộc đang hoạt động: {', '.join(left_open)}; "
                "hãy đóng hoặc sáp nhập chúng cùng lúc",
                f"Agency {agency.code} still has open units: {', '.join(left_open)}; close or merge them too",
            )
    errors.raise_if_any()
    assert successor is not None
    for agency in closing:
        ensure_in_scope(session, by, RegistryPermission.AGENCY_UPDATE, [agency.id], what="agency")
    ensure_in_scope(session, by, RegistryPermission.AGENCY_UPDATE, [successor.id], what="agency")
    now = clock.now()
    for agency in closing:
        agency.closed_on = on
        agency.successor_id = successor.id
        agency.updated_at = now
    session.flush()
    audit(
        session,
        by,
        RegistryAudit.AGENCY_MERGED,
        object_type="agency",
        object_id=successor.id,
        details={"closing": [a.code for a in closing], "into": successor.code, "on": on.isoformat()},
    )
    return successor


def today(clock: Clock) -> date:
    return today_vn(clock)


def require_agency(session: Session, code: str) -> Agency:
    agency = find_agency_by_code(session, code)
    if agency is None:
        raise not_found("agency")
    return agency
