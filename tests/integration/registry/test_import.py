"""CSV import on the real database (COPY on PostgreSQL): all-or-nothing, --skip-invalid, every bad row reported."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.registry import RegistryTree, make_citizen, make_principal

from egov.platform.clock import FixedClock
from egov.registry.identifiers import make_personal_id
from egov.registry.models import Citizen, CitizenNameWord
from egov.registry.permissions import RegistryPermission
from egov.registry.services import SYSTEM_PRINCIPAL, CitizenImporter, ImportReport, search_citizens
from egov.registry.services import importer as importer_module
from egov.soc.models import AuditEvent

HEADER = "personal_id,full_name,birth_date,sex,phone,email,managing_agency_code,guardian_personal_id"
AGENCY = "000.00.01.H29"


def pid(serial: int, born: date = date(1990, 5, 17), sex: str = "male", province: str = "079") -> str:
    canonical = "female" if sex in ("female", "nữ") else "male"
    return make_personal_id(province, born, canonical, serial)


def row(
    serial: int, name: str = "Nguyễn Văn An", born: date = date(1990, 5, 17), sex: str = "male", *,
    phone: str = "", email: str = "", agency: str = AGENCY, guardian: str = "", personal_id: str | None = None,
) -> str:
    return ",".join([personal_id or pid(serial, born, sex), name, born.strftime("%d/%m/%Y"), sex, phone, email,
                     agency, guardian])


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def run(session: Session, clock: FixedClock, data: object, **kwargs: object) -> ImportReport:
    by = kwargs.pop("by", SYSTEM_PRINCIPAL)
    report = CitizenImporter(session, clock, by=by).import_rows(data, **kwargs)  # type: ignore[arg-type]
    session.commit()
    return report


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def problems(report: ImportReport) -> set[tuple[int | None, str, str]]:
    return {(e.line, e.field, e.rule) for e in report.errors}


def import_events(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == "registry:citizen:imported")))


def test_a_good_file_is_imported_searchable_and_audited_once(
    session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    data = csv_bytes(
        row(1, "Nguyễn Văn An", phone="0912 345 678", email="an@example.vn"),
        row(2, "Đặng Thị Hoa", date(1985, 2, 3), "female"),
        row(3, "H'Hen Niê", date(2001, 12, 31), "nữ", agency=""),
    )
    progress: list[int] = []
    report = run(session, clock, io.BytesIO(data), default_agency_code="000.00.02.H29", progress=progress.append)
    assert report.ok and (report.rows, report.imported, report.errors) == (3, 3, [])
    assert progress[-1] == 3
    assert count(session, Citizen) == 3 and count(session, CitizenNameWord) == 9
    an = session.scalar(select(Citizen).where(Citizen.personal_id == pid(1)))
    assert an is not None and an.phone == "0912345678" and an.managing_agency_id == registry_tree.dept_a.id
    hhen = session.scalar(select(Citizen).where(Citizen.full_name == "H'Hen Niê"))
    assert hhen is not None and hhen.managing_agency_id == registry_tree.dept_b.id and hhen.sex == "female"
    assert [c.full_name for c in search_citizens(session, "dang", by=SYSTEM_PRINCIPAL).items] == ["Đặng Thị Hoa"]
    (event,) = import_events(session)
    assert event.outcome == "success" and event.object_id == report.batch_id
    assert json.loads(event.details)["imported"] == 3


BAD_ROWS = [
    row(1),
    row(2, personal_id="999" + pid(2)[3:]),  # line 3: unknown province
    row(3, personal_id=pid(3, date(1990, 1, 1))[:3] + "2" + pid(3)[4:]),  # line 4: digit 4 says 2000s
    row(4, "Nguyễn Văn 4"),  # line 5: digit in name
    row(5).replace("17/05/1990", "31/02/1990"),  # line 6: no such date
    row(6, agency="000.09.09.H29"),  # line 7: unknown agency
    row(7, email="an@@example"),  # line 8
    row(1, "Trần Văn Trùng"),  # line 9: same personal ID as line 2
    row(9, "Lê Văn Lớn", guardian=pid(1)),  # line 10: an adult with a guardian
    "0790901,x",  # line 11: two columns
    row(11),
]


def test_bad_rows_are_all_reported_and_nothing_is_stored(
    session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    report = run(session, clock, csv_bytes(*BAD_ROWS))
    assert not report.ok and report.imported == 0 and report.rows == 11 and report.rejected_rows == 9
    assert problems(report) == {
        (3, "personal_id", "personal_id.province"),
        (4, "personal_id", "personal_id.century"),
        (5, "full_name", "full_name.characters"),
        (6, "birth_date", "date.format"),
        (7, "managing_agency_code", "managing_agency.unknown"),
        (8, "email", "email.format"),
        (9, "personal_id", "personal_id.duplicate_in_file"),
        (10, "guardian_personal_id", "guardian.not_minor"),
        (11, "row", "row.columns"),
    }
    assert "line 2" in next(e for e in report.errors if e.line == 9).message_en
    assert count(session, Citizen) == 0 and count(session, CitizenNameWord) == 0
    (event,) = import_events(session)
    assert event.outcome == "failure"


def test_skip_invalid_keeps_exactly_the_good_rows(
    session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    report = run(session, clock, csv_bytes(*BAD_ROWS), skip_invalid=True)
    assert report.imported == 2 and report.rejected_rows == 9 and not report.ok
    stored = set(session.scalars(select(Citizen.personal_id)))
    assert stored == {pid(1), pid(11)}
    assert count(session, CitizenNameWord) == 6
    assert import_events(session)[0].outcome == "success"


@pytest.mark.parametrize("skip_invalid", [False, True])
def test_duplicates_against_the_database(
    session: Session, clock: FixedClock, registry_tree: RegistryTree, monkeypatch: pytest.MonkeyPatch,
    skip_invalid: bool,
) -> None:
    """Chunks of 3 rows, the duplicate in the second chunk: the load of that chunk fails and is redone."""
    monkeypatch.setattr(importer_module, "CHUNK_ROWS", 3)
    existing = make_citizen(session, clock, agency=registry_tree.dept_a, personal_id=pid(5), full_name="Cũ Văn Có")
    session.commit()
    rows = [row(n, f"Người Số {chr(64 + n)}") for n in range(1, 9)]
    report = run(session, clock, csv_bytes(*rows), skip_invalid=skip_invalid)
    assert problems(report) == {(6, "personal_id", "personal_id.duplicate")}
    stored = set(session.scalars(select(Citizen.personal_id)))
    if skip_invalid:
        assert report.imported == 7 and stored == {pid(n) for n in range(1, 9)}
        assert count(session, CitizenNameWord) == 3 + 7 * 3  # "Cũ Văn Có" + 7 × 3 words
    else:
        assert report.imported == 0 and stored == {existing.personal_id}
        assert count(session, CitizenNameWord) == 3


def test_a_late_bad_row_rolls_back_earlier_chunks(
    session: Session, clock: FixedClock, registry_tree: RegistryTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer_module, "CHUNK_ROWS", 2)
    rows = [row(n, f"Người Số {chr(64 + n)}") for n in range(1, 8)] + [row(99, "Sai 9")]
    report = run(session, clock, csv_bytes(*rows))
    assert report.imported == 0 and problems(report) == {(9, "full_name", "full_name.characters")}
    assert count(session, Citizen) == 0 and count(session, CitizenNameWord) == 0


def test_broken_utf8_names_the_line_and_byte(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    good = csv_bytes(row(1), row(2, "Trần Văn Bình"))
    broken = good.replace("Trần".encode(), "Trần".encode()[:2] + b"\xff")
    report = run(session, clock, io.BytesIO(broken))
    assert report.file_error is not None and report.imported == 0
    assert report.file_error.rule == "file.encoding" and report.file_error.line == 3
    assert "line 3, byte 16" in report.file_error.message_en and "0xFF" in report.file_error.message_en
    assert count(session, Citizen) == 0
    # A Windows-1258 export fails the same way, at its first accented letter.
    report = run(session, clock, csv_bytes(row(1)).decode().replace("ễ", "e\u0303").encode("utf-8").replace(
        b"Nguy", b"Nguy\xea"))
    assert report.file_error is not None and report.file_error.line == 2


def test_a_bom_is_accepted(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    report = run(session, clock, b"\xef\xbb\xbf" + csv_bytes(row(1)))
    assert report.ok and report.imported == 1


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("personal_id,full_name,birth_date", "missing column(s) sex"),
        (HEADER + ",nickname", "unknown column(s) 'nickname'"),
        (HEADER.replace(",", ";"), "semicolons"),
        ("personal_id,full_name,birth_date,sex,sex", "repeated column(s) sex"),
    ],
)
def test_a_wrong_header_stops_everything(
    session: Session, clock: FixedClock, registry_tree: RegistryTree, header: str, fragment: str
) -> None:
    report = run(session, clock, csv_bytes(row(1), header=header))
    assert report.file_error is not None and report.file_error.rule == "file.header"
    assert fragment in report.file_error.message_en and report.imported == 0 and count(session, Citizen) == 0


def test_an_empty_file(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    assert run(session, clock, b"").file_error.rule == "file.empty"  # type: ignore[union-attr]
    assert run(session, clock, csv_bytes()).file_error.rule == "file.empty"  # type: ignore[union-attr]


def test_guardians_in_the_file_and_in_the_database(
    session: Session, clock: FixedClock, registry_tree: RegistryTree
) -> None:
    stored_parent = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Võ Văn Cha",
                                 birth_date=date(1980, 1, 1))
    session.commit()
    kid, mum = date(2018, 6, 1), date(1988, 8, 8)
    report = run(session, clock, csv_bytes(
        row(1, "Phạm Minh Khang", kid, guardian=pid(2, mum, "female")),  # the guardian comes later in the file
        row(2, "Phạm Thị Mẹ", mum, "female"),
        row(3, "Võ Minh Con", kid, guardian=stored_parent.personal_id),
        row(4, "Lý Minh Lạc", kid, guardian=pid(77)),  # nobody
        row(5, "Lý Minh Nhỏ", kid, guardian=pid(1, kid)),  # a child cannot be a guardian
    ), skip_invalid=True)
    assert problems(report) == {
        (5, "guardian_personal_id", "guardian.unknown"),
        (6, "guardian_personal_id", "guardian.invalid_row"),
    }
    guardian_of = {n: g for n, g in session.execute(select(Citizen.full_name, Citizen.guardian_id))}
    mother = session.scalar(select(Citizen).where(Citizen.personal_id == pid(2, mum, "female")))
    assert mother is not None
    assert guardian_of["Phạm Minh Khang"] == mother.id and guardian_of["Võ Minh Con"] == stored_parent.id


def test_dicts_and_scope(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    officer = make_principal(registry_tree.dept_a, RegistryPermission.CITIZEN_IMPORT, account_id="officer-a")
    rows = [
        {"personal_id": pid(1), "full_name": "Mai Văn Một", "birth_date": date(1990, 5, 17), "sex": "male",
         "managing_agency_code": AGENCY},
        {"personal_id": pid(2), "full_name": "Mai Văn Hai", "birth_date": "1990-05-17", "sex": "male",
         "managing_agency_code": "000.00.02.H29"},
    ]
    report = run(session, clock, rows, skip_invalid=True, by=officer)
    assert report.imported == 1 and problems(report) == {(3, "managing_agency_code", "managing_agency.forbidden")}
    report = run(session, clock, [rows[1]], default_agency_code="000.00.02.H29", by=officer)
    assert report.file_error is not None and report.file_error.rule == "managing_agency.forbidden"
    assert import_events(session)[-1].actor_id == "officer-a"


def test_more_rows_than_a_chunk(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    """Several real chunks through bulk_load (COPY on PostgreSQL), and the words of each."""
    n = importer_module.CHUNK_ROWS + 1_500
    given = ["An", "Bình", "Chi", "Dũng", "Hoa", "Lan", "Minh", "Nam"]
    rows = [row(i, f"Nguyễn Văn {given[i % len(given)]}") for i in range(1, n + 1)]
    report = run(session, clock, csv_bytes(*rows))
    assert report.ok and report.imported == n
    assert count(session, Citizen) == n and count(session, CitizenNameWord) == 3 * n
    assert len(search_citizens(session, "nguyen dung", by=SYSTEM_PRINCIPAL, limit=100).items) == 100
