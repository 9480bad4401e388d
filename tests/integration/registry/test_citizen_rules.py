"""The importer and create_citizen share one rule set for a citizen's fields: the same rows are refused with
the same field errors (field, rule and both messages, in the same order), and the same rows are accepted."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session
from tests.factories.registry import RegistryTree, make_citizen

from egov.platform.clock import FixedClock
from egov.platform.errors import FieldError, ValidationFailed
from egov.registry.identifiers import make_personal_id
from egov.registry.services import SYSTEM_PRINCIPAL, CitizenImporter
from egov.registry.services.citizens import create_citizen

AGENCY = "000.00.01.H29"
ADULT, CHILD = date(1990, 5, 17), date(2018, 6, 1)


def _row(serial: int, born: date = ADULT, sex: str = "male", **fields: str) -> dict[str, str]:
    values = {"personal_id": make_personal_id("079", born, sex, serial), "full_name": "Nguyễn Văn An",
              "birth_date": born.strftime("%d/%m/%Y"), "sex": sex, "phone": "", "email": "",
              "managing_agency_code": AGENCY, "guardian_personal_id": ""}
    return {**values, **fields}


def _by_create(session: Session, clock: FixedClock, values: dict[str, str]) -> list[FieldError]:
    savepoint = session.begin_nested()
    try:
        create_citizen(session, clock, by=SYSTEM_PRINCIPAL, personal_id=values["personal_id"],
                       full_name=values["full_name"], birth_date=values["birth_date"], sex=values["sex"],
                       phone=values["phone"], email=values["email"],
                       managing_agency_code=values["managing_agency_code"],
                       guardian_personal_id=values["guardian_personal_id"])
    except ValidationFailed as exc:
        return exc.errors
    finally:
        savepoint.rollback()  # each row judged against the same register
    return []


def test_the_importer_and_create_citizen_refuse_the_same_rows_alike(session: Session, clock: FixedClock,
                                                                     registry_tree: RegistryTree) -> None:
    stored = make_citizen(session, clock, agency=registry_tree.dept_a, personal_id=make_personal_id(
        "079", ADULT, "male", 900), full_name="Trần Văn Cũ")
    young = make_citizen(session, clock, agency=registry_tree.dept_a, birth_date=date(2012, 1, 1),
                         personal_id=make_personal_id("079", date(2012, 1, 1), "male", 901), full_name="Trần Văn Bé")
    session.commit()
    rows = [
        _row(1),  # valid
        _row(2, phone="0912 345 678", email=" An.Nguyen@Example.VN "),  # valid, stored in normal form
        _row(3, personal_id="999" + make_personal_id("079", ADULT, "male", 3)[3:]),  # no such province
        _row(4, personal_id="07909012345"),  # 11 digits
        _row(5, personal_id="079" + "2" + "90" + "000005"),  # century/sex digit against the birth date
        {**_row(6), "sex": "khác"},
        _row(7, birth_date="31/02/1990"),
        _row(8, birth_date="01/01/2999"),
        _row(9, full_name="Nguyễn V4n An"),
        _row(10, full_name="   "),
        _row(11, phone="12345"),
        _row(12, email="an@@example"),
        _row(13, managing_agency_code="999.99.99.H99"),
        {**_row(14, birth_date="xx", phone="abc", email="no-at-sign"), "sex": ""},  # everything at once
        _row(15, guardian_personal_id=stored.personal_id),  # an adult cannot have a guardian
        _row(16, CHILD, guardian_personal_id=make_personal_id("079", ADULT, "male", 777)),  # nobody
        _row(17, CHILD, guardian_personal_id=young.personal_id),  # a 14-year-old cannot be a guardian
        _row(18, CHILD, guardian_personal_id=make_personal_id("079", CHILD, "male", 18)),  # oneself
        {**_row(19), "personal_id": stored.personal_id},  # already in the register
    ]
    expected = {line: _by_create(session, clock, values) for line, values in enumerate(rows, start=2)}
    assert {line: [e.rule for e in errors] for line, errors in expected.items()} == {
        2: [], 3: [], 4: ["personal_id.province"], 5: ["personal_id.length"], 6: ["personal_id.century"],
        7: ["sex.invalid"], 8: ["date.format"], 9: ["birth_date.future", "personal_id.century", "personal_id.year"],
        10: ["full_name.characters"], 11: ["full_name.empty"], 12: ["phone.format"], 13: ["email.format"],
        14: ["managing_agency.unknown"], 15: ["date.format", "sex.invalid", "phone.format", "email.format"],
        16: ["guardian.not_minor"], 17: ["guardian.unknown"], 18: ["guardian.not_adult"], 19: ["guardian.self"],
        20: ["personal_id.duplicate"]}  # what each row is there for
    report = CitizenImporter(session, clock, by=SYSTEM_PRINCIPAL).import_rows(rows, skip_invalid=True)
    session.rollback()
    found: dict[int, list[FieldError]] = {}
    for e in report.errors:
        assert e.line is not None
        found.setdefault(e.line, []).append(FieldError(e.field, e.rule, e.message_vi, e.message_en))
    assert {line: errors for line, errors in expected.items() if errors} == found
    assert report.imported == len([e for e in expected.values() if not e])
