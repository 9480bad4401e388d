"""Enterprises and organisations: tax code, status, legal representative, managing agency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egov.platform.clock import Clock, today_vn
from egov.platform.errors import ErrorCollector, ValidationFailed
from egov.platform.ids import new_id
from egov.platform.permissions import Principal
from egov.registry.audit import RegistryAudit
from egov.registry.identifiers import tax_code_parent, validate_tax_code
from egov.registry.models import Agency, Citizen, Enterprise
from egov.registry.names import name_key, search_terms
from egov.registry.permissions import RegistryPermission
from egov.registry.services.access import audit, ensure_in_scope, not_found, require_any, restrict, scope
from egov.registry.services.agencies import find_agency_by_code
from egov.registry.services.citizens import find_citizen_by_personal_id
from egov.registry.services.values import parse_date

ENTERPRISE_NAME_MAX = 300


class EnterpriseStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DISSOLVED = "dissolved"


@dataclass(frozen=True)
class EnterpriseRecord:
    enterprise: Enterprise
    parent: Enterprise | None
    representative: Citizen
    managing_agency: Agency
    branches: list[Enterprise]


def find_enterprise_by_tax_code(session: Session, tax_code: str) -> Enterprise | None:
    """Unscoped, unaudited look-up for other contexts' logic (e.g. an organisation account's subject)."""
    try:
        code = validate_tax_code(tax_code)
    except ValidationFailed:
        return None
    return session.scalar(select(Enterprise).where(Enterprise.tax_code == code))


def enterprises_represented_by(session: Session, citizen_id: str) -> list[Enterprise]:
    """Enterprises whose legal representative is `citizen_id` (who may act for an organisation)."""
    stmt = select(Enterprise).where(Enterprise.legal_representative_id == citizen_id).order_by(Enterprise.tax_code)
    return list(session.scalars(stmt))


def create_enterprise(
    session: Session,
    clock: Clock,
    *,
    tax_code: str,
    name: str,
    legal_representative_personal_id: str,
    by: Principal,
    managing_agency_id: str | None = None,
    managing_agency_code: str | None = None,
    status: str = EnterpriseStatus.ACTIVE,
    name_en: str | None = None,
    registered_on: date | str | None = None,
) -> Enterprise:
    """Register an enterprise (or a branch: its 10-digit parent must exist); every error at once."""
    require_any(by, RegistryPermission.ENTERPRISE_CREATE)
    today = today_vn(clock)
    errors = ErrorCollector()
    code: str | None = None
    try:
        code = validate_tax_code(tax_code)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    clean_name = " ".join(name.split())
    if not clean_name:
        errors.add("name", "enterprise.name_required", "Tên doanh nghiệp không được để trống", "The name is required")
    elif len(clean_name) > ENTERPRISE_NAME_MAX:
        errors.add(
            "name",
            "enterprise.name_length",
            f"Tên doanh nghiệp dài tối đa {ENTERPRISE_NAME_MAX} ký tự",
            f"The name has at most {ENTERPRISE_NAME_MAX} characters",
        )
    if status not in set(EnterpriseStatus):
        errors.add(
            "status",
            "enterprise.status",
            "Trạng thái phải là active, suspended hoặc dissolved",
            "Status must be active, suspended or dissolved",
        )
    registered: date | None = None
    if registered_on not in (None, ""):
        try:
            registered = parse_date(registered_on, field="registered_on")  # type: ignore[arg-type]
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    representative = find_citizen_by_personal_id(session, legal_representative_personal_id)
    if representative is None:
        errors.add(
            "legal_representative_personal_id",
            "enterprise.representative_unknown",
            "Không có công dân với số định danh này",
            "No citizen has this personal ID",
        )
    agency: Agency | None = None
    if managing_agency_id:
        agency = session.get(Agency, managing_agency_id)
    elif managing_agency_code:
        agency = find_agency_by_code(session, managing_agency_code)
    if agency is None or not agency.is_open_on(today):
        errors.add(
            "managing_agency_code",
            "managing_agency.unknown",
            "Cần một cơ quan quản lý đang hoạt động",
            "An open managing agency is required",
        )
    else:
        if not scope(session, by, RegistryPermission.ENTERPRISE_CREATE).allows(agency.id):
            errors.add(
                "managing_agency_code",
                "managing_agency.forbidden",
                f"Bạn không có quyền đăng ký doanh nghiệp cho cơ quan {agency.code}",
                f"You may not register enterprises for agency {agency.code}",
            )
    parent: Enterprise | None = None
    if code is not None:
        if session.scalar(select(Enterprise.id).where(Enterprise.tax_code == code)) is not None:
            errors.add(
                "tax_code", "tax_code.duplicate", f"Mã số thuế {code} đã được đăng ký", f"Tax code {code} exists"
            )
        head = tax_code_parent(code)
        if head is not None:
            parent = session.scalar(select(Enterprise).where(Enterprise.tax_code == head))
            if parent is None:
                errors.add(
                    "tax_code",
                    "tax_code.parent_unknown",
                    f"Đơn vị phụ thuộc cần doanh nghiệp mẹ {head} đã đăng ký",
                    f"A dependent unit needs its parent enterprise {head} registered first",
                )
    errors.raise_if_any()
    assert code is not None and representative is not None and agency is not None
    now = clock.now()
    enterprise = Enterprise(
        id=new_id(),
        tax_code=code,
        name=clean_name,
        name_en=(name_en or "").strip() or None,
        name_key=name_key(clean_name)[:ENTERPRISE_NAME_MAX],
        status=str(status),
        parent_id=parent.id if parent else None,
        legal_representative_id=representative.id,
        managing_agency_id=agency.id,
        registered_on=registered,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(enterprise)
            session.flush()
    except IntegrityError:
        raise ValidationFailed.single(
            "tax_code", "tax_code.duplicate", f"Mã số thuế {code} đã được đăng ký", f"Tax code {code} exists"
        ) from None
    audit(
        session,
        by,
        RegistryAudit.ENTERPRISE_CREATED,
        object_type="enterprise",
        object_id=enterprise.id,
        details={"tax_code": code, "managing_agency_id": agency.id},
    )
    return enterprise


def set_enterprise_status(session: Session, clock: Clock, tax_code: str, status: str, *, by: Principal) -> Enterprise:
    """Suspend, reactivate or dissolve; needs registry:enterprise:create at the managing agency."""
    require_any(by, RegistryPermission.ENTERPRISE_CREATE)
    if status not in set(EnterpriseStatus):
        raise ValidationFailed.single(
            "status", "enterprise.status", "Trạng thái không hợp lệ", "Status must be active, suspended or dissolved"
        )
    enterprise = find_enterprise_by_tax_code(session, tax_code)
    if enterprise is None:
        raise not_found("enterprise")
    ensure_in_scope(
        session, by, RegistryPermission.ENTERPRISE_CREATE, [enterprise.managing_agency_id], what="enterprise"
    )
    if enterprise.status != status:
        old = enterprise.status
        enterprise.status = str(status)
        enterprise.updated_at = clock.now()
        session.flush()
        audit(
            session,
            by,
            RegistryAudit.ENTERPRISE_STATUS_CHANGED,
            object_type="enterprise",
            object_id=enterprise.id,
            details={"from": old, "to": str(status)},
        )
    return enterprise


def get_enterprise(session: Session, tax_code: str, *, by: Principal) -> EnterpriseRecord:
    """One enterprise for an officer: 404 if unknown or outside their agencies; audited (it names a person)."""
    require_any(by, RegistryPermission.ENTERPRISE_READ)
    enterprise = find_enterprise_by_tax_code(session, tax_code)
    if enterprise is None:
        raise not_found("enterprise")
    ensure_in_scope(session, by, RegistryPermission.ENTERPRISE_READ, [enterprise.managing_agency_id], what="enterprise")
    audit(
        session,
        by,
        RegistryAudit.ENTERPRISE_VIEWED,
        object_type="enterprise",
        object_id=enterprise.id,
        details={"tax_code": enterprise.tax_code},
    )
    representative = session.get(Citizen, enterprise.legal_representative_id)
    agency = session.get(Agency, enterprise.managing_agency_id)
    assert representative is not None and agency is not None  # foreign keys
    branches = list(
        session.scalars(select(Enterprise).where(Enterprise.parent_id == enterprise.id).order_by(Enterprise.tax_code))
    )
    parent = session.get(Enterprise, enterprise.parent_id) if enterprise.parent_id else None
    return EnterpriseRecord(enterprise, parent, representative, agency, branches)


def list_enterprises(session: Session, *, by: Principal, query: str = "", limit: int = 50) -> list[Enterprise]:
    """Enterprises in the caller's agencies, by tax-code prefix or name words (each word starts a name word).

    A straightforward filter rather than the citizens' planned search: enterprises are far fewer,
    and the list carries no personal data beyond the firm's own name.
    """
    require_any(by, RegistryPermission.ENTERPRISE_READ)
    stmt = restrict(select(Enterprise), by, RegistryPermission.ENTERPRISE_READ, session=session)
    text = query.strip()
    compact = text.replace(" ", "")
    if compact and compact.replace("-", "").isdigit() and compact.isascii():
        stmt = stmt.where(Enterprise.tax_code >= compact, Enterprise.tax_code < compact + ":")
    else:
        for term in search_terms(text):
            stmt = stmt.where((" " + Enterprise.name_key).like(f"% {term}%"))
    return list(session.scalars(stmt.order_by(Enterprise.name_key, Enterprise.tax_code).limit(max(1, min(limit, 200)))))
