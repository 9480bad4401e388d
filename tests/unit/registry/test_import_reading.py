"""The importer's reading layer and small value rules, without a database: encoding, header, rows, ids."""

from __future__ import annotations

import io
import uuid
from datetime import date

import pytest

from egov.platform.errors import ValidationFailed
from egov.registry.services.importer import _BadWidth, _FileProblem, _rows_of, uuid7_batch
from egov.registry.services.search import prefix_end
from egov.registry.services.values import age_on, mask_email, mask_phone, parse_date, parse_sex

HEADER = "personal_id,full_name,birth_date,sex"


def read(data: bytes | str | list[dict[str, object]]) -> list[tuple[int, object]]:
    if isinstance(data, bytes):
        return list(_rows_of(io.BytesIO(data)))
    return list(_rows_of(io.StringIO(data) if isinstance(data, str) else data))


def problem(data: bytes | str | list[dict[str, object]]) -> _FileProblem:
    with pytest.raises(_FileProblem) as caught:
        read(data)
    return caught.value


def test_rows_come_in_column_order_with_line_numbers() -> None:
    rows = read(f"sex,{HEADER.replace(',sex', '')},email\nmale,079090000001,An,17/05/1990,a@b.vn\n\n"
                "female,079190000002,\"Lê, Thị\",1990-01-01,\n".encode())
    assert rows == [
        (2, ["079090000001", "An", "17/05/1990", "male", "", "a@b.vn", "", ""]),
        (4, ["079190000002", "Lê, Thị", "1990-01-01", "female", "", "", "", ""]),
    ]


def test_text_files_and_dicts_read_the_same() -> None:
    assert read(f"\ufeff{HEADER}\n079090000001,An,17/05/1990,male\n")[0][1][:4] == [  # type: ignore[index]
        "079090000001", "An", "17/05/1990", "male"]
    rows = read([{"personal_id": "079090000001", "full_name": "An", "birth_date": date(1990, 5, 17), "sex": "male"}])
    assert rows == [(2, ["079090000001", "An", "1990-05-17", "male", "", "", "", ""])]


def test_wrong_width_is_a_row_problem_not_a_file_problem() -> None:
    rows = read(f"{HEADER}\n079090000001,An\n079090000002,Bình,17/05/1990,male\n".encode())
    assert rows[0] == (2, _BadWidth(2, 4)) and rows[1][0] == 3


def test_broken_utf8_names_line_and_byte() -> None:
    error = problem(f"{HEADER}\n079090000001,An,17/05/1990,male\n".encode() + b"079090000002,Tr\xe1n,x,y\n").error
    assert (error.line, error.rule) == (3, "file.encoding")
    assert "byte 16 of the line" in error.message_en and "0xE1" in error.message_en
    assert "dòng 3" in error.message_vi


def test_headers() -> None:
    assert problem(b"").error.rule == "file.empty"
    assert "missing column(s) birth_date, sex" in problem(b"personal_id,full_name\n").error.message_en
    assert "unknown column(s) 'ngay_sinh'" in problem(f"{HEADER},ngay_sinh\n".encode()).error.message_en
    assert "semicolons" in problem(HEADER.replace(",", ";").encode()).error.message_en
    assert read(b" Personal_ID , FULL_NAME,birth_date,Sex\n079090000001,An,17/05/1990,male\n")


def test_uuid7_batch_is_ordered_unique_and_version_7() -> None:
    ids = uuid7_batch(5000)
    assert ids == sorted(ids) and len(set(ids)) == 5000
    parsed = [uuid.UUID(i) for i in ids]
    assert {u.version for u in parsed} == {7} and {u.variant for u in parsed} == {uuid.RFC_4122}
    assert len({i[24:] for i in ids}) == 5000  # the random tail differs


@pytest.mark.parametrize(("typed", "expected"), [("17/05/1990", date(1990, 5, 17)), ("1990-05-17", date(1990, 5, 17)),
                                                 (" 01/01/2000 ", date(2000, 1, 1))])
def test_dates(typed: str, expected: date) -> None:
    assert parse_date(typed, field="birth_date") == expected


@pytest.mark.parametrize("typed", ["31/02/1990", "5/17/1990", "17-05-1990", "1990/05/17", "", "hôm qua"])
def test_bad_dates_name_the_field(typed: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_date(typed, field="birth_date")
    assert [(e.field, e.rule) for e in caught.value.errors] == [("birth_date", "date.format")]


def test_sex_age_and_masks() -> None:
    assert [parse_sex(s) for s in ("male", "Nữ", "NAM", "female", "nu")] == ["male", "female", "male", "female",
                                                                           "female"]
    with pytest.raises(ValidationFailed):
        parse_sex("M")
    assert age_on(date(2012, 11, 26), date(2026, 11, 25)) == 13
    assert age_on(date(2012, 11, 25), date(2026, 11, 25)) == 14
    assert mask_phone("0912345678") == "091****678" and mask_phone(None) == ""
    assert mask_email("an.nguyen@example.vn") == "a*******n@example.vn" and mask_email("a@b.vn") == "a*@b.vn"
    assert prefix_end("nguyen") == "nguyeo"
