"""Rules for personal IDs, provinces, agency codes, tax codes, phones and e-mails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from egov.platform.errors import FieldError, ValidationFailed
from egov.registry import identifiers as ids
from egov.registry.identifiers import (
    PersonalIdInfo,
    agency_level,
    check_personal_id,
    decode_personal_id,
    expected_parent_code,
    is_province,
    make_personal_id,
    parent_code_rule,
    province_name,
    provinces,
    tax_code_parent,
    validate_agency_code,
    validate_email,
    validate_phone,
    validate_tax_code,
)

TODAY = date(2025, 6, 1)


def errors_of(call: Callable[[], object]) -> list[FieldError]:
    with pytest.raises(ValidationFailed) as caught:
        call()
    assert caught.value.errors, "ValidationFailed without field errors"
    return caught.value.errors


def only_error(call: Callable[[], object]) -> FieldError:
    errors = errors_of(call)
    assert len(errors) == 1, errors
    return errors[0]


def assert_error(error: FieldError, field: str, rule: str, vi: str, en: str) -> None:
    assert (error.field, error.rule) == (field, rule)
    assert vi in error.message_vi, error.message_vi
    assert en in error.message_en, error.message_en


# --- provinces -------------------------------------------------------------------------------------


def test_province_table_has_63_provinces_with_three_digit_codes() -> None:
    table = provinces()
    assert len(table) == 63
    assert len({p.code for p in table}) == 63
    assert all(len(p.code) == 3 and p.code.isascii() and p.code.isdigit() for p in table)


@pytest.mark.parametrize(
    ("code", "vi", "en"),
    [
        ("001", "Thành phố Hà Nội", "Ha Noi"),
        ("079", "Thành phố Hồ Chí Minh", "Ho Chi Minh City"),
        ("096", "Tỉnh Cà Mau", "Ca Mau"),
    ],
)
def test_province_name_in_both_locales(code: str, vi: str, en: str) -> None:
    assert is_province(code)
    assert province_name(code, "vi") == vi
    assert province_name(code) == vi
    assert province_name(code, "en") == en
    assert province_name(code, "en-GB") == en


@pytest.mark.parametrize("code", ["003", "000", "097", "79", "0079", ""])
def test_unknown_province_codes(code: str) -> None:
    assert not is_province(code)
    assert province_name(code, "vi") is None


# --- personal ID: decoding -------------------------------------------------------------------------


def test_decode_worked_example_from_research_note() -> None:
    info = decode_personal_id("035199000123")
    assert info == PersonalIdInfo(
        value="035199000123",
        province_code="035",
        province_name_vi="Tỉnh Hà Nam",
        century_start=1900,
        sex="female",
        birth_year=1999,
        serial="000123",
    )


@pytest.mark.parametrize(
    ("digit4", "century", "sex"),
    [
        ("0", 1900, "male"),
        ("1", 1900, "female"),
        ("2", 2000, "male"),
        ("3", 2000, "female"),
        ("4", 2100, "male"),
        ("5", 2100, "female"),
        ("6", 2200, "male"),
        ("7", 2200, "female"),
        ("8", 2300, "male"),
        ("9", 2300, "female"),
    ],
)
def test_digit_4_encodes_century_and_sex(digit4: str, century: int, sex: str) -> None:
    info = decode_personal_id(f"079{digit4}05123456")
    assert (info.century_start, info.sex, info.birth_year) == (century, sex, century + 5)


def test_female_born_in_2000s_in_ca_mau() -> None:
    info = decode_personal_id("096310654321")
    assert (info.province_code, info.province_name_vi) == ("096", "Tỉnh Cà Mau")
    assert (info.sex, info.century_start, info.birth_year, info.serial) == ("female", 2000, 2010, "654321")


def test_century_2300s() -> None:
    assert decode_personal_id("079899000000").sex == "male"
    info = decode_personal_id("079999000000")
    assert (info.century_start, info.birth_year, info.sex) == (2300, 2399, "female")


def test_surrounding_whitespace_is_stripped() -> None:
    assert decode_personal_id(" \t079085000001\n").value == "079085000001"


@pytest.mark.parametrize(("value", "got"), [("07908500000", 11), ("0790850000012", 13), ("", 0)])
def test_length_rule(value: str, got: int) -> None:
    error = only_error(lambda: decode_personal_id(value))
    assert_error(
        error,
        "personal_id",
        "personal_id.length",
        f"Số định danh phải gồm đúng 12 chữ số (nhận được {got})",
        f"exactly 12 digits (got {got})",
    )


@pytest.mark.parametrize(
    ("value", "position", "char"),
    [
        ("079085A00001", 7, "A"),
        ("１79085000001", 1, "１"),  # full-width digit one: isdigit() would let it through
        ("079 85000001", 4, " "),  # inside spaces are not trimmed
        ("07908500000٣", 12, "٣"),  # Arabic-Indic three
    ],
)
def test_digits_rule_names_the_position(value: str, position: int, char: str) -> None:
    error = only_error(lambda: decode_personal_id(value))
    assert_error(
        error,
        "personal_id",
        "personal_id.digits",
        f"vị trí {position} ({char!r})",
        f"invalid character at position {position} ({char!r})",
    )


def test_wrong_length_and_letters_are_both_reported() -> None:
    errors = errors_of(lambda: decode_personal_id("07908X00001"))
    assert [e.rule for e in errors] == ["personal_id.length", "personal_id.digits"]


def test_unknown_province_code_is_named() -> None:
    error = only_error(lambda: decode_personal_id("003085000001"))
    assert_error(error, "personal_id", "personal_id.province", "Chữ số thứ 1–3 = 003", "Digits 1–3 = 003")


def test_field_name_can_be_set_for_imports() -> None:
    error = only_error(lambda: decode_personal_id("003085000001", field="row 14: personal_id"))
    assert error.field == "row 14: personal_id"
    assert error.rule == "personal_id.province"


# --- personal ID: cross-checks ---------------------------------------------------------------------


def test_check_accepts_consistent_record() -> None:
    info = check_personal_id("079185000001", date(1985, 4, 30), "female", today=TODAY)
    assert info.birth_year == 1985


def test_century_mismatch() -> None:
    errors = errors_of(lambda: check_personal_id("079285000001", date(1985, 1, 1), "male", today=TODAY))
    assert len(errors) == 1
    assert_error(
        errors[0],
        "personal_id",
        "personal_id.century",
        "Chữ số thứ 4 = 2 nghĩa là sinh trong giai đoạn 2000–2099, nhưng ngày sinh là 1985",
        "Digit 4 = 2 means born 2000–2099, but the birth date is 1985",
    )


def test_year_mismatch() -> None:
    error = only_error(lambda: check_personal_id("079085000001", date(1986, 1, 1), "male", today=TODAY))
    assert_error(
        error,
        "personal_id",
        "personal_id.year",
        "Chữ số thứ 5–6 = 85 nhưng năm sinh là 1986",
        "Digits 5–6 = 85 but the birth year is 1986",
    )


def test_sex_mismatch() -> None:
    error = only_error(
        lambda: check_personal_id("079385000001", date(2085, 1, 1), "male", today=date(2090, 1, 1))
    )
    assert_error(
        error,
        "personal_id",
        "personal_id.sex",
        "Chữ số thứ 4 = 3 nghĩa là giới tính nữ, nhưng giới tính đã khai là nam",
        "Digit 4 = 3 means female, but the recorded sex is male",
    )


def test_future_birth_date() -> None:
    error = only_error(lambda: check_personal_id("079226000001", date(2026, 1, 2), "male", today=TODAY))
    assert_error(
        error,
        "birth_date",
        "birth_date.future",
        "Ngày sinh 02/01/2026 ở trong tương lai",
        "The birth date 02/01/2026 is in the future",
    )


def test_born_today_is_fine() -> None:
    assert check_personal_id("079225000001", TODAY, "male", today=TODAY).birth_year == 2025


def test_all_cross_check_problems_are_collected() -> None:
    errors = errors_of(lambda: check_personal_id("079285000001", date(1986, 1, 1), "female", today=TODAY))
    assert [e.rule for e in errors] == ["personal_id.century", "personal_id.year", "personal_id.sex"]


def test_malformed_id_and_future_date_are_reported_together() -> None:
    errors = errors_of(lambda: check_personal_id("0790850000", date(2030, 1, 1), "male", today=TODAY))
    assert [(e.field, e.rule) for e in errors] == [
        ("personal_id", "personal_id.length"),
        ("birth_date", "birth_date.future"),
    ]


def test_unknown_sex_value() -> None:
    error = only_error(lambda: check_personal_id("079085000001", date(1985, 1, 1), "other", today=TODAY))
    assert_error(error, "sex", "sex.invalid", "Giới tính phải là", "Sex must be 'male' or 'female'")


# --- personal ID: generation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("province", "born", "sex", "serial", "expected"),
    [
        ("001", date(1900, 1, 1), "male", 0, "001000000000"),
        ("079", date(1985, 4, 30), "female", 123, "079185000123"),
        ("096", date(2010, 2, 3), "female", 654321, "096310654321"),
        ("048", date(2399, 12, 31), "male", 999_999, "048899999999"),
    ],
)
def test_make_personal_id(province: str, born: date, sex: ids.Sex, serial: int, expected: str) -> None:
    value = make_personal_id(province, born, sex, serial)
    assert value == expected
    info = check_personal_id(value, born, sex, today=date(2400, 1, 1))
    assert (info.province_code, info.birth_year, info.sex) == (province, born.year, sex)


@pytest.mark.parametrize(
    ("province", "born", "serial"),
    [
        ("003", date(1990, 1, 1), 1),
        ("079", date(1899, 12, 31), 1),
        ("079", date(2400, 1, 1), 1),
        ("079", date(1990, 1, 1), 1_000_000),
        ("079", date(1990, 1, 1), -1),
    ],
)
def test_make_personal_id_refuses_what_cannot_be_encoded(province: str, born: date, serial: int) -> None:
    with pytest.raises(ValueError):
        make_personal_id(province, born, "male", serial)


# --- agency codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("000.00.00.H29", 1, None),
        ("000.00.15.H29", 2, "000.00.00.H29"),
        ("000.01.15.H29", 3, "000.00.15.H29"),
        ("001.01.15.H29", 4, "000.01.15.H29"),
        ("000.00.00.K57", 1, None),
        ("000.00.00.G01", 1, None),
    ],
)
def test_agency_levels_and_parents(code: str, level: int, parent: str | None) -> None:
    assert validate_agency_code(code) == code
    assert agency_level(code) == level
    assert expected_parent_code(code) == parent


def test_agency_code_is_trimmed() -> None:
    assert validate_agency_code("  000.00.00.H49 ") == "000.00.00.H49"


@pytest.mark.parametrize(
    ("code", "vi", "en"),
    [
        ("000.00.00.h29", "mã cấp 1", "must be a level-1 code"),
        ("000.00.00.HH9", "mã cấp 1", "must be a level-1 code"),
        ("000.00.00.H2", "mã cấp 1", "must be a level-1 code"),
        ("000.00.00.291", "mã cấp 1", "must be a level-1 code"),
        ("00.00.00.H29", "Nhóm thứ 1", "Group 1 of the agency code ('00') must be exactly 3 digits"),
        ("000.000.00.H29", "Nhóm thứ 2", "Group 2 of the agency code ('000') must be exactly 2 digits"),
        ("000.00.1A.H29", "Nhóm thứ 3", "Group 3 of the agency code ('1A') must be exactly 2 digits"),
        ("000.00.１5.H29", "Nhóm thứ 3", "must be exactly 2 digits"),
        ("H29", "phải gồm 4 nhóm", "must have 4 groups separated by dots"),
        ("000.00.00.00.H29", "phải gồm 4 nhóm", "(got 5"),
        ("000..00.H29", "Nhóm thứ 2", "must be exactly 2 digits"),
        ("", "phải gồm 4 nhóm", "must have 4 groups"),
        ("001.00.15.H29", "nhóm thứ 2 bằng 0", "group 2 is zero but group 1 to its left is used"),
        ("000.01.00.H29", "nhóm thứ 3 bằng 0", "group 3 is zero but group 2 to its left is used"),
    ],
)
def test_agency_code_format(code: str, vi: str, en: str) -> None:
    error = errors_of(lambda: validate_agency_code(code))[0]
    assert_error(error, "agency_code", "agency_code.format", vi, en)


def test_agency_code_reports_every_bad_group() -> None:
    errors = errors_of(lambda: validate_agency_code("0.0.0.0"))
    assert [e.rule for e in errors] == ["agency_code.format"] * 4


def test_agency_code_length() -> None:
    code = "000." * 8 + "H29"  # exactly 35: passes the length rule, fails on shape
    assert len(code) == 35
    assert errors_of(lambda: validate_agency_code(code))[0].rule == "agency_code.format"
    too_long = "0000." * 7 + "H29"
    assert len(too_long) == 38
    error = only_error(lambda: validate_agency_code(too_long))
    assert_error(
        error, "agency_code", "agency_code.length", "tối đa 35 ký tự (nhận được 38)", "at most 35 characters"
    )


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("000.00.00.H29", "000.00.15.H29"),
        ("000.00.15.H29", "000.01.15.H29"),
        ("000.01.15.H29", "001.01.15.H29"),
        (" 000.00.00.H29", "000.00.15.H29 "),
    ],
)
def test_parent_rule_accepts_direct_children(parent: str, child: str) -> None:
    assert parent_code_rule(parent, child) is None  # raises ValidationFailed on a refusal
    with pytest.raises(ValidationFailed):  # and the same pair the other way round is refused
        parent_code_rule(child, parent)


@pytest.mark.parametrize(
    ("parent", "child", "expected"),
    [
        ("000.00.00.H29", "000.01.15.H29", "000.00.15.H29"),  # skips a level
        ("000.00.15.H29", "000.01.16.H29", "000.00.16.H29"),  # changes the parent's group
        ("000.00.00.H29", "000.00.15.H49", "000.00.00.H49"),  # another province
        ("000.00.15.H29", "000.00.15.H29", "000.00.00.H29"),  # itself
        ("000.00.15.H29", "000.00.00.H29", None),  # a level-1 code has no parent
        ("001.01.15.H29", "001.01.15.H29", "000.01.15.H29"),  # level 4 has no children
    ],
)
def test_parent_rule_refuses_other_codes(parent: str, child: str, expected: str | None) -> None:
    error = only_error(lambda: parent_code_rule(parent, child))
    assert_error(
        error,
        "agency_code",
        "agency_code.parent",
        "lấy nhóm kế tiếp bên trái và giữ nguyên các nhóm bên phải",
        f"{child} is not a direct child of {parent}",
    )
    if expected is None:
        assert "level-1 code" in error.message_en
    else:
        assert f"must be {expected}" in error.message_en
        assert f"phải là {expected}" in error.message_vi


def test_parent_rule_validates_both_codes_under_their_own_fields() -> None:
    errors = errors_of(lambda: parent_code_rule("H29", "000.00.15.h29"))
    assert [(e.field, e.rule) for e in errors] == [
        ("parent_code", "agency_code.format"),
        ("agency_code", "agency_code.format"),
    ]


# --- tax codes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised", "parent"),
    [
        ("0100109106", "0100109106", None),
        (" 0100109106-001 ", "0100109106-001", "0100109106"),
        ("0100109106999", "0100109106-999", "0100109106"),
    ],
)
def test_tax_codes(value: str, normalised: str, parent: str | None) -> None:
    assert validate_tax_code(value) == normalised
    assert tax_code_parent(value) == parent


def test_tax_code_check_digit_is_not_checked() -> None:
    # Same head with its last digit changed: both pass, since the algorithm is unconfirmed.
    assert validate_tax_code("0100109107") == "0100109107"


@pytest.mark.parametrize(
    "value",
    [
        "010010910",
        "01001091060",
        "0100109106-01",
        "0100109106-0001",
        "0100109106/001",
        "01001O9106",
        "０100109106",
        "",
    ],
)
def test_tax_code_format(value: str) -> None:
    error = only_error(lambda: validate_tax_code(value))
    assert_error(
        error, "tax_code", "tax_code.format", "Mã số thuế phải gồm 10 chữ số", "A tax code is 10 digits"
    )


@pytest.mark.parametrize("value", ["0100109106-000", "0100109106000"])
def test_tax_code_branch_000_is_refused(value: str) -> None:
    error = only_error(lambda: validate_tax_code(value))
    assert_error(error, "tax_code", "tax_code.format", "từ 001 đến 999", "from 001 to 999")


def test_tax_code_parent_validates() -> None:
    assert only_error(lambda: tax_code_parent("12345")).rule == "tax_code.format"


# --- phone -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("0912345678", "0912345678"),
        (" 0912 345 678 ", "0912345678"),
        ("091.234.5678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("+84 (91) 234-5678", "0912345678"),
        ("0084912345678", "0912345678"),
        ("0386123456", "0386123456"),
        ("0523456789", "0523456789"),
        ("0701234567", "0701234567"),
        ("0861234567", "0861234567"),
    ],
)
def test_phone_is_normalised(value: str, normalised: str) -> None:
    assert validate_phone(value) == normalised


@pytest.mark.parametrize(
    "value",
    [
        "091234567",  # 9 digits
        "09123456789",  # 11 digits
        "02438123456",  # Hà Nội landline, not a mobile
        "0112345678",  # old 01x prefixes are gone
        "912345678",  # missing the 0
        "+8412345678",
        "+1 912345678",
        "09123456７8",  # full-width seven
        "0912a45678",
        "",
    ],
)
def test_phone_format(value: str) -> None:
    error = only_error(lambda: validate_phone(value))
    assert_error(
        error,
        "phone",
        "phone.format",
        "Số điện thoại di động phải gồm 10 chữ số",
        "10 digits starting with 0",
    )


# --- e-mail ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("an.nguyen@example.vn", "an.nguyen@example.vn"),
        ("  An.Nguyen+so1@Mail.Example.GOV.VN ", "An.Nguyen+so1@mail.example.gov.vn"),
        ("x@a-b.co", "x@a-b.co"),
    ],
)
def test_email_is_normalised(value: str, normalised: str) -> None:
    assert validate_email(value) == normalised


@pytest.mark.parametrize(
    "value",
    [
        "",
        "an",
        "an@",
        "@example.vn",
        "an@example",
        "an@@example.vn",
        "an nguyen@example.vn",
        "an..nguyen@example.vn",
        ".an@example.vn",
        "an@-example.vn",
        "an@example..vn",
        "an@example.v",
        "an@example.123",
        "nguyễn@example.vn",
        "an@ví-dụ.vn",
        "a" * 65 + "@example.vn",
        "a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 60 + ".vn",
    ],
)
def test_email_format(value: str) -> None:
    error = only_error(lambda: validate_email(value))
    assert_error(
        error, "email", "email.format", "Địa chỉ thư điện tử không hợp lệ", "e-mail address is not valid"
    )


def test_custom_field_names() -> None:
    assert only_error(lambda: validate_phone("1", field="contact_phone")).field == "contact_phone"
    assert only_error(lambda: validate_email("1", field="contact_email")).field == "contact_email"
    assert only_error(lambda: validate_tax_code("1", field="enterprise_code")).field == "enterprise_code"
    assert only_error(lambda: validate_agency_code("1", field="sender")).field == "sender"
