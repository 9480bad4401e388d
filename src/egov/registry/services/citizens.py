"""Citizens: create, correct, view and search records, each read of personal data audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache, partial
from typing import Final, NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egov.platform.clock import Clock, today_vn
from egov.platform.errors import ErrorCollector, FieldError, ValidationFailed
from egov.platform.ids import new_id
from egov.platform.permissions import Principal, Scope
from egov.registry.audit import RegistryAudit
from egov.registry.identifiers import (
    PersonalIdInfo,
    check_personal_id,
    decode_personal_id,
    provinces,
    validate_email,
    validate_phone,
)
from egov.registry.models import KEY_LENGTH, Agency, Citizen, CitizenNameWord
from egov.registry.names import name_key, normalize_name
from egov.registry.permissions import RegistryPermission
from egov.registry.services.access import (
    audit,
    ensure_in_scope,
    not_found,
    require_any,
    scope,
)
from egov.registry.services.agencies import find_agency_by_code
from egov.registry.services.search import SearchPlan, search_by_name
from egov.registry.services.values import age_on, mask_email, mask_phone, parse_date, parse_sex

GUARDIAN_AGE_LIMIT: Final = 14  # a child under 14 acts through a guardian (Decree 69/2024 e-ID accounts)
ADULT_AGE: Final = 18


class _Keep:
    """Marker for "leave this field as it is" in update_citizen (None means "clear it")."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()


@dataclass(frozen=True)
class CitizenRecord:
    """A citizen as the detail page and the API show it: decoded ID facts, guardian, masked contacts."""

    citizen: Citizen
    info: PersonalIdInfo
    age: int
    managing_agency: Agency
    guardian: Citizen | None
    phone_masked: str
    email_masked: str


@dataclass(frozen=True)
class CitizenSearchResult:
    query: str
    items: list[Citizen]
    limit: int
    plan: SearchPlan
    hint_vi: str = ""
    hint_en: str = ""


# --------------------------------------------------------------------------------------------------
# Internal look-ups for other contexts (unscoped, unaudited: the caller audits what it shows)
# --------------------------------------------------------------------------------------------------


def find_citizen_by_personal_id(session: Session, personal_id: str) -> Citizen | None:
    """For other contexts' own logic (sign-in, identity proofing); never for showing data to an officer."""
    return session.scalar(select(Citizen).where(Citizen.personal_id == personal_id.strip()))


def find_citizen(session: Session, citizen_id: str) -> Citizen | None:
    """By internal id; same caveat as find_citizen_by_personal_id."""
    return session.get(Citizen, citizen_id)


def wards_of(session: Session, guardian_id: str) -> list[Citizen]:
    """Children whose guardian is `guardian_id` (for acting on their behalf; the caller checks ages)."""
    stmt = select(Citizen).where(Citizen.guardian_id == guardian_id).order_by(Citizen.name_key, Citizen.id)
    return list(session.scalars(stmt))


# --------------------------------------------------------------------------------------------------
# Reading, scoped and audited
# --------------------------------------------------------------------------------------------------


def _record(session: Session, citizen: Citizen, today: date) -> CitizenRecord:
    agency = session.get(Agency, citizen.managing_agency_id)
    assert agency is not None  # foreign key
    return CitizenRecord(
        citizen=citizen,
        info=decode_personal_id(citizen.personal_id),
        age=age_on(citizen.birth_date, today),
        managing_agency=agency,
        # The guardian's name is part of the child's record, shown even when another agency keeps the
        # guardian's own record (opening that record is still scoped).
        guardian=session.get(Citizen, citizen.guardian_id) if citizen.guardian_id else None,
        phone_masked=mask_phone(citizen.phone),
        email_masked=mask_email(citizen.email),
    )


def _view(session: Session, clock: Clock, citizen: Citizen | None, by: Principal) -> CitizenRecord:
    if citizen is None:
        require_any(by, RegistryPermission.CITIZEN_READ)
        raise not_found("citizen")
    ensure_in_scope(session, by, RegistryPermission.CITIZEN_READ, [citizen.managing_agency_id], what="citizen")
    audit(
        session,
        by,
        RegistryAudit.CITIZEN_VIEWED,
        object_type="citizen",
        object_id=citizen.id,
        details={"managing_agency_id": citizen.managing_agency_id},
    )
    return _record(session, citizen, today_vn(clock))


def citizen_record(session: Session, clock: Clock, citizen: Citizen) -> CitizenRecord:
    """The display record of a citizen the caller already holds (e.g. just created): no scope check, no audit."""
    return _record(session, citizen, today_vn(clock))


def get_citizen(session: Session, clock: Clock, citizen_id: str, *, by: Principal) -> CitizenRecord:
    """One citizen for an officer: 404 if unknown *or* outside the officer's agencies; audited."""
    return _view(session, clock, session.get(Citizen, citizen_id), by)


def get_citizen_by_personal_id(session: Session, clock: Clock, personal_id: str, *, by: Principal) -> CitizenRecord:
    return _view(session, clock, find_citizen_by_personal_id(session, personal_id), by)


def search_citizens(session: Session, query: str, *, by: Principal, limit: int = 20) -> CitizenSearchResult:
    """Search by 12-digit personal ID (exact) or by name words; audited with the query and count only.

    The list of results is deliberately not audited: the query and count say what was asked,
    and copying every matching person into the log would spread the personal data it protects.
    """
    require_any(by, RegistryPermission.CITIZEN_SEARCH)
    query = " ".join(query.split())[:200]
    if not query:
        return CitizenSearchResult(query, [], limit, SearchPlan("none"))
    allowed = scope(session, by, RegistryPermission.CITIZEN_SEARCH)
    if allowed.agencies is not None and len(allowed.agencies) >= (
            session.scalar(select(func.count()).select_from(Agency)) or 0):
        allowed = Scope(None)  # a grant at the top covers every agency: filtering by scope would only cost time
    compact = query.replace(" ", "")
    hint_vi = hint_en = ""
    if compact.isascii() and compact.isdigit():
        items: list[Citizen] = []
        plan = SearchPlan("id")
        if len(compact) == 12:
            citizen = find_citizen_by_personal_id(session, compact)
            if citizen is not None and allowed.allows(citizen.managing_agency_id):
                items = [citizen]
        else:
            hint_vi = "Số định danh cá nhân gồm đúng 12 chữ số; tra cứu theo số chỉ khớp số đầy đủ."
            hint_en = "A personal ID has exactly 12 digits; searching by number matches the whole number only."
    else:
        items, plan = search_by_name(session, query, allowed=allowed.agencies, limit=limit)
    audit(
        session,
        by,
        RegistryAudit.CITIZEN_SEARCHED,
        object_type="citizen",
        details={"query": query, "count": len(items), "limit": limit},
    )
    return CitizenSearchResult(query, items, limit, plan, hint_vi, hint_en)


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _optional(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _edit_contact(
    value: str | _Keep | None, validate: Callable[[str], str], errors: ErrorCollector
) -> str | _Keep | None:
    """KEEP stays KEEP, blank clears, anything else must pass `validate` (its errors are collected)."""
    if isinstance(value, _Keep):
        return KEEP
    text = _optional(value)
    if not text:
        return None
    try:
        return validate(text)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        return KEEP


def _resolve_agency(
    session: Session,
    errors: ErrorCollector,
    *,
    agency_id: str | None,
    agency_code: str | None,
    today: date,
) -> Agency | None:
    agency: Agency | None = None
    if agency_id:
        agency = session.get(Agency, agency_id)
    elif agency_code and agency_code.strip():
        agency = find_agency_by_code(session, agency_code)
    else:
        errors.add(
            "managing_agency_code",
            "managing_agency.required",
            "Cần chọn cơ quan quản lý hồ sơ",
            "The managing agency is required",
        )
        return None
    shown = agency_code or agency_id or ""
    if agency is None:
        errors.add(
            "managing_agency_code",
            "managing_agency.unknown",
            f"Không có cơ quan mã {shown}",
            f"No agency has code {shown}",
        )
        return None
    if not agency.is_open_on(today):
        errors.add(
            "managing_agency_code",
            "managing_agency.closed",
            f"Cơ quan {agency.code} đã đóng từ {agency.closed_on:%d/%m/%Y}; hồ sơ mới thuộc cơ quan kế nhiệm",
            f"Agency {agency.code} closed on {agency.closed_on:%d/%m/%Y}; new records belong to its successor",
        )
        return None
    return agency


NOT_MINOR: Final = FieldError(
    "guardian_personal_id",
    "guardian.not_minor",
    f"Chỉ trẻ em dưới {GUARDIAN_AGE_LIMIT} tuổi mới có người giám hộ trong hồ sơ",
    f"Only a child under {GUARDIAN_AGE_LIMIT} has a guardian on record",
)


def guardian_errors(
    *,
    child_birth: date,
    guardian_birth: date | None,
    guardian_pid: str,
    child_pid: str,
    today: date,
    field: str,
) -> list[FieldError]:
    """The guardian rules, shared with the importer: minor child, adult guardian who exists, not oneself.

    `guardian_birth` is None when no citizen has `guardian_pid`.
    """
    errors = ErrorCollector()
    if age_on(child_birth, today) >= GUARDIAN_AGE_LIMIT:
        errors.add(field, NOT_MINOR.rule, NOT_MINOR.message_vi, NOT_MINOR.message_en)
    if guardian_pid == child_pid:
        errors.add(
            field, "guardian.self", "Người giám hộ không thể là chính người đó", "A person cannot be their own guardian"
        )
    elif guardian_birth is None:
        errors.add(
            field,
            "guardian.unknown",
            f"Không có công dân số định danh {guardian_pid} để làm người giám hộ",
            f"No citizen with personal ID {guardian_pid} to act as guardian",
        )
    elif age_on(guardian_birth, today) < ADULT_AGE:
        errors.add(
            field,
            "guardian.not_adult",
            f"Người giám hộ phải từ đủ {ADULT_AGE} tuổi",
            f"A guardian must be at least {ADULT_AGE}",
        )
    return errors.errors


def duplicate_personal_id(personal_id: str) -> FieldError:
    """The one refusal of a personal ID already in the register (create_citizen and the importer)."""
    return FieldError(
        "personal_id",
        "personal_id.duplicate",
        f"Số định danh {personal_id} đã có trong cơ sở dữ liệu",
        f"Personal ID {personal_id} is already in the register",
    )


NameFacts = tuple[str, str, list[str]]  # stored name, search key, the key's distinct words


def name_facts(raw: str) -> NameFacts | list[FieldError]:
    """A full name as stored, its search key and words; or why it is refused."""
    try:
        name = normalize_name(raw)
    except ValidationFailed as exc:
        return exc.errors
    key = name_key(name)[:KEY_LENGTH]
    return name, key, list(dict.fromkeys(key.split()))


class CitizenFields(NamedTuple):
    """A citizen's own fields after `check_citizen_fields`: stored forms, None where a check failed."""

    personal_id: str  # stripped, even when refused (for duplicate look-ups)
    name: NameFacts | None
    birth_date: date | None
    sex: str | None
    phone: str | None
    email: str | None


# The importer builds one per row: tuple.__new__ skips the generated __new__'s Python frame (~0.4 µs).
_new_fields: Final = partial(tuple.__new__, CitizenFields)


@cache
def _province_codes() -> frozenset[str]:
    return frozenset(p.code for p in provinces())


def _plain_mobile(value: str) -> bool:
    """Already in stored form (10 ASCII digits, 03/05/07/08/09): the common case, checked without a regex."""
    return len(value) == 10 and value[0] == "0" and value[1] in "35789" and value.isascii() and value.isdigit()


def _personal_id_fast_ok(pid: str, birth: date | None, sex: str | None, today: date) -> bool:
    """The whole check_personal_id for a valid ID in ~1 µs (bulk imports); any doubt goes to the full check."""
    if birth is None or sex is None or len(pid) != 12 or not (pid.isascii() and pid.isdigit()):
        return False
    if pid[:3] not in _province_codes() or birth > today:
        return False
    digit4 = (birth.year // 100 - 19) * 2 + (1 if sex == "female" else 0)
    return 0 <= digit4 <= 9 and pid[3] == str(digit4) and pid[4:6] == f"{birth.year % 100:02d}"


def check_citizen_fields(
    errors: list[FieldError],
    *,
    personal_id: str,
    full_name: str,
    birth_date: date | str,
    sex: str,
    phone: str | None,
    email: str | None,
    today: date,
    name_of: Callable[[str], NameFacts | list[FieldError]] = name_facts,
) -> CitizenFields:
    """The rules of a citizen's own fields, for `create_citizen` and every row of the importer alike:
    birth date, sex, the personal ID against both, the name, phone and e-mail. Appends every broken
    rule to `errors` (all at once, in that order). The agency, duplicates and the guardian need the
    database or the rest of the file, so the callers check those. `name_of` lets the importer memoise."""
    birth: date | None = None
    parsed_sex: str | None = None
    try:
        birth = parse_date(birth_date, field="birth_date")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    try:
        parsed_sex = parse_sex(sex)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    pid = personal_id.strip()
    if not _personal_id_fast_ok(pid, birth, parsed_sex, today):
        try:
            if birth is not None and parsed_sex is not None:
                check_personal_id(pid, birth, parsed_sex, today=today)
            else:
                decode_personal_id(pid)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    named = name_of(full_name)
    if isinstance(named, list):
        errors.extend(named)
    phone_value = (phone.strip() or None) if phone is not None else None
    if phone_value is not None and not _plain_mobile(phone_value):
        try:
            phone_value = validate_phone(phone_value)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    email_value = (email.strip() or None) if email is not None else None
    if email_value is not None:
        try:
            email_value = validate_email(email_value)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    fields: CitizenFields = _new_fields((pid, None if isinstance(named, list) else named, birth, parsed_sex,
                                         phone_value, email_value))
    return fields


def name_words(citizen_id: str, key: str, agency_id: str) -> list[CitizenNameWord]:
    return [
        CitizenNameWord(word_key=w, name_key=key, citizen_id=citizen_id, managing_agency_id=agency_id)
        for w in dict.fromkeys(key.split())
    ]


def create_citizen(
    session: Session,
    clock: Clock,
    *,
    personal_id: str,
    full_name: str,
    birth_date: date | str,
    sex: str,
    by: Principal,
    managing_agency_id: str | None = None,
    managing_agency_code: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    guardian_personal_id: str | None = None,
) -> Citizen:
    """Validate everything (all errors at once), then store the citizen and its name words; audited.

    The managing agency must be open today and within the creator's scope for citizen:create.
    Raises ValidationFailed naming each field and rule; nothing is written in that case.
    """
    require_any(by, RegistryPermission.CITIZEN_CREATE)
    today = today_vn(clock)
    errors = ErrorCollector()
    fields = check_citizen_fields(
        errors.errors,
        personal_id=personal_id,
        full_name=full_name,
        birth_date=birth_date,
        sex=sex,
        phone=phone,
        email=email,
        today=today,
    )
    parsed_birth = fields.birth_date
    agency = _resolve_agency(
        session, errors, agency_id=managing_agency_id, agency_code=managing_agency_code, today=today
    )
    if agency is not None and not scope(session, by, RegistryPermission.CITIZEN_CREATE).allows(agency.id):
        errors.add(
            "managing_agency_code",
            "managing_agency.forbidden",
            f"Bạn không có quyền tạo hồ sơ cho cơ quan {agency.code}",
            f"You may not create records for agency {agency.code}",
        )
    pid = fields.personal_id
    if find_citizen_by_personal_id(session, pid) is not None:
        errors.errors.append(duplicate_personal_id(pid))
    guardian: Citizen | None = None
    guardian_pid = _optional(guardian_personal_id)
    if guardian_pid is not None and parsed_birth is not None:
        guardian = find_citizen_by_personal_id(session, guardian_pid)
        errors.extend(
            guardian_errors(
                child_birth=parsed_birth,
                guardian_birth=guardian.birth_date if guardian else None,
                guardian_pid=guardian_pid,
                child_pid=pid,
                today=today,
                field="guardian_personal_id",
            )
        )
    errors.raise_if_any()
    assert parsed_birth is not None and fields.sex is not None and fields.name is not None and agency is not None
    now = clock.now()
    name, key, _words = fields.name
    citizen = Citizen(
        id=new_id(),
        personal_id=pid,
        full_name=name,
        name_key=key,
        birth_date=parsed_birth,
        sex=fields.sex,
        phone=fields.phone,
        email=fields.email,
        guardian_id=guardian.id if guardian else None,
        managing_agency_id=agency.id,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(citizen)
            session.add_all(name_words(citizen.id, key, agency.id))
            session.flush()
    except IntegrityError:
        # Another request stored the same personal ID between our check and our insert.
        raise ValidationFailed([duplicate_personal_id(pid)]) from None
    audit(
        session,
        by,
        RegistryAudit.CITIZEN_CREATED,
        object_type="citizen",
        object_id=citizen.id,
        details={"managing_agency_id": agency.id},
    )
    return citizen


def update_citizen(
    session: Session,
    clock: Clock,
    citizen_id: str,
    *,
    by: Principal,
    full_name: str | _Keep = KEEP,
    phone: str | _Keep | None = KEEP,
    email: str | _Keep | None = KEEP,
    guardian_personal_id: str | _Keep | None = KEEP,
) -> Citizen:
    """Correct the name, contacts or guardian (KEEP leaves a field, None or "" clears it); audited.

    The personal ID, birth date and sex are not editable here: changing them is a civil-status
    procedure with its own evidence, not a registry edit.
    """
    require_any(by, RegistryPermission.CITIZEN_UPDATE)
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        raise not_found("citizen")
    ensure_in_scope(session, by, RegistryPermission.CITIZEN_UPDATE, [citizen.managing_agency_id], what="citizen")
    today = today_vn(clock)
    errors = ErrorCollector()
    changed: list[str] = []
    new_name: str | None = None
    if not isinstance(full_name, _Keep):
        try:
            new_name = normalize_name(full_name)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    new_phone = _edit_contact(phone, validate_phone, errors)
    new_email = _edit_contact(email, validate_email, errors)
    new_guardian: Citizen | _Keep | None = KEEP
    if not isinstance(guardian_personal_id, _Keep):
        gpid = _optional(guardian_personal_id)
        if gpid is None:
            new_guardian = None
        else:
            found = find_citizen_by_personal_id(session, gpid)
            problems = guardian_errors(
                child_birth=citizen.birth_date,
                guardian_birth=found.birth_date if found else None,
                guardian_pid=gpid,
                child_pid=citizen.personal_id,
                today=today,
                field="guardian_personal_id",
            )
            errors.extend(problems)
            new_guardian = found
    errors.raise_if_any()
    if new_name is not None and new_name != citizen.full_name:
        old_words = list(dict.fromkeys(citizen.name_key.split()))
        key = name_key(new_name)[:KEY_LENGTH]
        # Words are addressed by the full primary key (no index on citizen_id alone, see models).
        if old_words:
            session.execute(
                delete(CitizenNameWord).where(
                    CitizenNameWord.word_key.in_(old_words),
                    CitizenNameWord.name_key == citizen.name_key,
                    CitizenNameWord.citizen_id == citizen.id,
                    CitizenNameWord.managing_agency_id == citizen.managing_agency_id,
                )
            )
        session.add_all(name_words(citizen.id, key, citizen.managing_agency_id))
        citizen.full_name, citizen.name_key = new_name, key
        changed.append("full_name")
    if not isinstance(new_phone, _Keep) and new_phone != citizen.phone:
        citizen.phone = new_phone
        changed.append("phone")
    if not isinstance(new_email, _Keep) and new_email != citizen.email:
        citizen.email = new_email
        changed.append("email")
    if not isinstance(new_guardian, _Keep):
        gid = new_guardian.id if new_guardian is not None else None
        if gid != citizen.guardian_id:
            citizen.guardian_id = gid
            changed.append("guardian")
    if changed:
        citizen.updated_at = clock.now()
        session.flush()
        audit(
            session,
            by,
            RegistryAudit.CITIZEN_UPDATED,
            object_type="citizen",
            object_id=citizen.id,
            details={"fields": changed, "managing_agency_id": citizen.managing_agency_id},
        )
    return citizen

