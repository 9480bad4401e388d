"""Personal ID (số định danh cá nhân): 12 digits, decoded and checked against the birth date and sex."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from egov.platform.errors import ErrorCollector, FieldError, ValidationFailed
from egov.registry.identifiers._digits import ASCII_DIGITS, SEX_VI, Sex
from egov.registry.identifiers.provinces import is_province, province_table

PERSONAL_ID_LENGTH = 12


@dataclass(frozen=True)
class PersonalIdInfo:
    """What the 12 digits say on their own; there is no check digit, so this is all that can be checked."""

    value: str
    province_code: str
    province_name_vi: str
    century_start: int
    sex: Sex
    birth_year: int
    serial: str


def _century_range(century_start: int) -> str:
    return f"{century_start}–{century_start + 99}"


def _personal_id_structure_errors(value: str, field: str) -> list[FieldError]:
    errors = ErrorCollector()
    if len(value) != PERSONAL_ID_LENGTH:
        errors.add(
            field,
            "personal_id.length",
            f"Số định danh phải gồm đúng 12 chữ số (nhận được {len(value)})",
            f"The personal ID must have exactly 12 digits (got {len(value)})",
        )
    bad = [(pos, ch) for pos, ch in enumerate(value, start=1) if ch not in ASCII_DIGITS]
    if bad:
        where = ", ".join(f"{pos} ({ch!r})" for pos, ch in bad[:5]) + (", …" if len(bad) > 5 else "")
        errors.add(
            field,
            "personal_id.digits",
            f"Số định danh chỉ được gồm các chữ số 0–9; ký tự không hợp lệ ở vị trí {where}",
            f"The personal ID may contain only the digits 0–9; invalid character at position {where}",
        )
    return errors.errors


def decode_personal_id(value: str, *, field: str = "personal_id") -> PersonalIdInfo:
    """Check the structure of a 12-digit personal ID and say what it encodes.

    Surrounding whitespace is stripped (copy-paste adds it); whitespace inside is refused like any
    other non-digit, because a stored ID must compare equal to the one typed next time. Only ASCII
    digits count: full-width or other-script digits would look the same on screen but never match.
    Digits 1–3 must be a code in provinces.csv; births registered abroad (country codes) are not
    covered by that table and are refused until a confirmed list exists.
    """
    value = value.strip()
    errors = _personal_id_structure_errors(value, field)
    if errors:
        # With the wrong length or stray characters the positions are shifted; decoding further would
        # only produce misleading follow-on errors.
        raise ValidationFailed(errors)
    province = province_table().get(value[:3])
    if province is None:
        raise ValidationFailed.single(
            field,
            "personal_id.province",
            f"Chữ số thứ 1–3 = {value[:3]} không phải mã tỉnh/thành phố nơi đăng ký khai sinh",
            f"Digits 1–3 = {value[:3]} is not a province code of the place of birth registration",
        )
    digit4 = int(value[3])
    century_start = 1900 + 100 * (digit4 // 2)
    return PersonalIdInfo(
        value=value,
        province_code=province.code,
        province_name_vi=province.name_vi,
        century_start=century_start,
        sex="male" if digit4 % 2 == 0 else "female",
        birth_year=century_start + int(value[4:6]),
        serial=value[6:],
    )


def check_personal_id(
    value: str,
    birth_date: date,
    sex: str,
    *,
    today: date,
    field: str = "personal_id",
    birth_date_field: str = "birth_date",
    sex_field: str = "sex",
) -> PersonalIdInfo:
    """Decode the ID and check it against the recorded birth date and sex, reporting every mismatch.

    `today` is a parameter (no hidden clock) so a test or a back-dated import decides what "future"
    means. A future birth date is reported even when the ID itself is malformed, so a form shows all
    its problems at once.
    """
    errors = ErrorCollector()
    info: PersonalIdInfo | None = None
    try:
        info = decode_personal_id(value, field=field)
    except ValidationFailed as exc:
        errors.extend(exc.errors)

    if birth_date > today:
        errors.add(
            birth_date_field,
            "birth_date.future",
            f"Ngày sinh {birth_date:%d/%m/%Y} ở trong tương lai (hôm nay là {today:%d/%m/%Y})",
            f"The birth date {birth_date:%d/%m/%Y} is in the future (today is {today:%d/%m/%Y})",
        )
    if sex not in SEX_VI:
        errors.add(
            sex_field,
            "sex.invalid",
            f"Giới tính phải là 'male' (nam) hoặc 'female' (nữ), nhận được {sex!r}",
            f"Sex must be 'male' or 'female', got {sex!r}",
        )

    if info is not None:
        digit4 = info.value[3]
        if birth_date.year // 100 * 100 != info.century_start:
            span = _century_range(info.century_start)
            errors.add(
                field,
                "personal_id.century",
                f"Chữ số thứ 4 = {digit4} nghĩa là sinh trong giai đoạn {span}, "
                f"nhưng ngày sinh là {birth_date.year}",
                f"Digit 4 = {digit4} means born {span}, but the birth date is {birth_date.year}",
            )
        if info.value[4:6] != f"{birth_date.year % 100:02d}":
            errors.add(
                field,
                "personal_id.year",
                f"Chữ số thứ 5–6 = {info.value[4:6]} nhưng năm sinh là {birth_date.year}",
                f"Digits 5–6 = {info.value[4:6]} but the birth year is {birth_date.year}",
            )
        if sex in SEX_VI and sex != info.sex:
            errors.add(
                field,
                "personal_id.sex",
                f"Chữ số thứ 4 = {digit4} nghĩa là giới tính {SEX_VI[info.sex]}, "
                f"nhưng giới tính đã khai là {SEX_VI[sex]}",
                f"Digit 4 = {digit4} means {info.sex}, but the recorded sex is {sex}",
            )
    errors.raise_if_any()
    assert info is not None  # no errors means decoding succeeded
    return info


def make_personal_id(province_code: str, birth_date: date, sex: Sex, serial: int) -> str:
    """Build a structurally valid ID for demo data and tests.

    Raises ValueError, not ValidationFailed: the caller is our own code, so bad arguments are a bug,
    not user input.
    """
    if not is_province(province_code):
        raise ValueError(f"unknown province code {province_code!r}")
    if sex not in SEX_VI:
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    if not 1900 <= birth_date.year <= 2399:
        raise ValueError(f"birth year {birth_date.year} is outside 1900–2399, which digit 4 can encode")
    if not 0 <= serial <= 999_999:
        raise ValueError(f"serial {serial} does not fit in 6 digits")
    digit4 = (birth_date.year // 100 - 19) * 2 + (1 if sex == "female" else 0)
    return f"{province_code}{digit4}{birth_date.year % 100:02d}{serial:06d}"
