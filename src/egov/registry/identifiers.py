"""Vietnamese identifiers: personal ID, province codes, agency codes, tax codes, phone and e-mail."""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Literal

from egov.platform.errors import ErrorCollector, FieldError, ValidationFailed

Sex = Literal["male", "female"]

_ASCII_DIGITS = frozenset("0123456789")
_SEX_VI: dict[str, str] = {"male": "nam", "female": "nữ"}


def _is_ascii_digits(value: str) -> bool:
    # str.isdigit() accepts full-width '１' and other scripts' digits; an identifier must not.
    return bool(value) and all(ch in _ASCII_DIGITS for ch in value)


# --------------------------------------------------------------------------------------------------
# Provinces
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Province:
    """One row of the province table (Circular 07/2016/TT-BCA codes used in the personal ID)."""

    code: str
    name_vi: str
    name_en: str

    def name(self, locale: str = "vi") -> str:
        return self.name_en if locale.startswith("en") else self.name_vi


@functools.cache
def _province_table() -> dict[str, Province]:
    """Read the packaged CSV once per process; the table is small and never changes at run time."""
    text = resources.files("egov.registry").joinpath("data/provinces.csv").read_text(encoding="utf-8")
    table: dict[str, Province] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = row["code"].strip()
        # A broken data file must stop start-up, not quietly accept or refuse real IDs.
        if len(code) != 3 or not _is_ascii_digits(code) or code in table:
            raise RuntimeError(f"provinces.csv: bad or duplicate province code {code!r}")
        table[code] = Province(code, row["name_vi"].strip(), row["name_en"].strip())
    return table


def provinces() -> tuple[Province, ...]:
    """All provinces in code order, for pick lists and demo data."""
    return tuple(_province_table().values())


def is_province(code: str) -> bool:
    return code in _province_table()


def province_name(code: str, locale: str = "vi") -> str | None:
    """The province's name in `locale` ('en…' → English, anything else → Vietnamese); None if unknown.

    None rather than an exception so a template showing an old record with a since-retired code
    still renders.
    """
    province = _province_table().get(code)
    return province.name(locale) if province else None


# --------------------------------------------------------------------------------------------------
# Personal ID (số định danh cá nhân)
# --------------------------------------------------------------------------------------------------

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
    bad = [(pos, ch) for pos, ch in enumerate(value, start=1) if ch not in _ASCII_DIGITS]
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
    province = _province_table().get(value[:3])
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
    if sex not in _SEX_VI:
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
        if sex in _SEX_VI and sex != info.sex:
            errors.add(
                field,
                "personal_id.sex",
                f"Chữ số thứ 4 = {digit4} nghĩa là giới tính {_SEX_VI[info.sex]}, "
                f"nhưng giới tính đã khai là {_SEX_VI[sex]}",
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
    if sex not in _SEX_VI:
        raise ValueError(f"sex must be 'male' or 'female', got {sex!r}")
    if not 1900 <= birth_date.year <= 2399:
        raise ValueError(f"birth year {birth_date.year} is outside 1900–2399, which digit 4 can encode")
    if not 0 <= serial <= 999_999:
        raise ValueError(f"serial {serial} does not fit in 6 digits")
    digit4 = (birth_date.year // 100 - 19) * 2 + (1 if sex == "female" else 0)
    return f"{province_code}{digit4}{birth_date.year % 100:02d}{serial:06d}"


# --------------------------------------------------------------------------------------------------
# Agency code (mã định danh cơ quan, Decision 20/2020/QĐ-TTg)
# --------------------------------------------------------------------------------------------------

AGENCY_CODE_MAX_LENGTH = 35
# Widths of the groups left of the level-1 code, leftmost (level 4) first.
_AGENCY_GROUP_WIDTHS = (3, 2, 2)
_LEVEL1_RE = re.compile(r"[A-Z][0-9]{2}")
_AGENCY_EXAMPLE = "000.00.00.H29"


def validate_agency_code(code: str, *, field: str = "agency_code") -> str:
    """Check an agency code and return it with surrounding whitespace removed.

    Model (an assumption, documented because only the examples are confirmed): a code is exactly
    four dot-separated groups ``V1V2V3.Z1Z2.Y1Y2.X99`` (QCVN 102:2016 shape, as in ``000.00.00.H49``
    and ``000.00.15.H29``). The rightmost group is the level-1 code: one upper-case letter and two
    digits; the letter is not restricted (H = People's Committee and K = People's Council are
    confirmed, G for ministries is not). The other groups are 3, 2 and 2 digits, read right to left
    as levels 2, 3 and 4; an unused level is all zeros, and a used level cannot sit to the left of an
    unused one. The legal 35-character limit is checked too, although this shape is always 13.
    Lower-case letters are refused rather than upper-cased: the catalogue spells codes in upper case
    and a code is compared as typed.
    """
    code = code.strip()
    errors = ErrorCollector()
    if len(code) > AGENCY_CODE_MAX_LENGTH:
        errors.add(
            field,
            "agency_code.length",
            f"Mã định danh cơ quan dài tối đa 35 ký tự (nhận được {len(code)})",
            f"An agency code has at most 35 characters (got {len(code)})",
        )
        errors.raise_if_any()
    groups = code.split(".")
    if len(groups) != len(_AGENCY_GROUP_WIDTHS) + 1:
        errors.add(
            field,
            "agency_code.format",
            f"Mã định danh cơ quan phải gồm 4 nhóm ngăn cách bởi dấu chấm, dạng {_AGENCY_EXAMPLE} "
            f"(nhận được {len(groups)}: {code!r})",
            f"An agency code must have 4 groups separated by dots, like {_AGENCY_EXAMPLE} "
            f"(got {len(groups)}: {code!r})",
        )
        errors.raise_if_any()
    for position, (group, width) in enumerate(zip(groups, _AGENCY_GROUP_WIDTHS, strict=False), start=1):
        if len(group) != width or not _is_ascii_digits(group):
            errors.add(
                field,
                "agency_code.format",
                f"Nhóm thứ {position} của mã định danh cơ quan ({group!r}) phải gồm đúng {width} chữ số",
                f"Group {position} of the agency code ({group!r}) must be exactly {width} digits",
            )
    if not _LEVEL1_RE.fullmatch(groups[-1]):
        errors.add(
            field,
            "agency_code.format",
            f"Nhóm cuối của mã định danh cơ quan ({groups[-1]!r}) phải là mã cấp 1: "
            "một chữ cái in hoa và 2 chữ số, ví dụ H29",
            f"The last group of the agency code ({groups[-1]!r}) must be a level-1 code: "
            "one upper-case letter and 2 digits, e.g. H29",
        )
    errors.raise_if_any()
    used = [int(group) != 0 for group in groups[:-1]]
    for position in range(1, len(used)):
        if used[position - 1] and not used[position]:
            errors.add(
                field,
                "agency_code.format",
                f"Mã định danh cơ quan {code}: nhóm thứ {position + 1} bằng 0 nhưng nhóm thứ {position} "
                "bên trái đã được dùng; cấp dưới chỉ có khi mọi cấp bên phải đã có",
                f"Agency code {code}: group {position + 1} is zero but group {position} to its left is used; "
                "a lower level exists only when every level to its right is set",
            )
            break
    errors.raise_if_any()
    return code


def agency_level(code: str) -> int:
    """1 for a level-1 code (``000.00.00.H29``) up to 4 (``001.01.15.H29``); validates first."""
    groups = validate_agency_code(code).split(".")
    return 1 + sum(1 for group in groups[:-1] if int(group) != 0)


def expected_parent_code(code: str) -> str | None:
    """The code of the unit directly above: the lowest used group (leftmost non-zero) set back to zeros."""
    code = validate_agency_code(code)
    groups = code.split(".")
    for index, group in enumerate(groups[:-1]):
        if int(group) != 0:
            groups[index] = "0" * len(group)
            return ".".join(groups)
    return None


def parent_code_rule(
    parent: str, child: str, *, field: str = "agency_code", parent_field: str = "parent_code"
) -> None:
    """Raise unless `child` takes the next group left of `parent` and keeps the parent's groups to its right.

    E.g. ``000.00.00.H29`` → ``000.00.15.H29`` → ``000.01.15.H29`` → ``001.01.15.H29``. A parent
    at level 4 has no room for children in this model. Both codes are validated first, each under
    its own field name.
    """
    errors = ErrorCollector()
    for value, name in ((parent, parent_field), (child, field)):
        try:
            validate_agency_code(value, field=name)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    errors.raise_if_any()
    parent, child = parent.strip(), child.strip()
    expected = expected_parent_code(child)
    if expected == parent:
        return
    if expected is None:
        reason_vi, reason_en = f"{child} là mã cấp 1, không có đơn vị cấp trên", f"{child} is a level-1 code"
    else:
        reason_vi, reason_en = (
            f"cấp trên trực tiếp phải là {expected}",
            f"its direct parent must be {expected}",
        )
    raise ValidationFailed.single(
        field,
        "agency_code.parent",
        f"Mã {child} không phải đơn vị trực thuộc trực tiếp của {parent}: đơn vị cấp dưới lấy nhóm kế tiếp "
        f"bên trái và giữ nguyên các nhóm bên phải của đơn vị cấp trên ({reason_vi})",
        f"{child} is not a direct child of {parent}: a child unit takes the next group to the left and "
        f"keeps the parent's groups to its right ({reason_en})",
    )


# --------------------------------------------------------------------------------------------------
# Enterprise code = tax code (mã số doanh nghiệp / mã số thuế)
# --------------------------------------------------------------------------------------------------

_TAX_CODE_RE = re.compile(r"([0-9]{10})(?:-?([0-9]{3}))?")


def validate_tax_code(value: str, *, field: str = "tax_code") -> str:
    """Check a tax code and return it as ``NNNNNNNNNN`` or, for a dependent unit, ``NNNNNNNNNN-NNN``.

    Format only (Circular 105/2020/TT-BTC Art. 5; Decree 126/2020/ND-CP Art. 6): 10 digits, and
    for a branch or representative office a 3-digit suffix 001–999. The 13 digits may be typed
    without the hyphen; they are returned with it. Digit 10 is a check digit, but its algorithm is not
    confirmed from a cited source, so it is deliberately NOT checked: refusing a real enterprise for
    a guessed formula would be worse than accepting a typo here.
    """
    value = value.strip()
    match = _TAX_CODE_RE.fullmatch(value) if value.isascii() else None
    if match is None or match.group(2) == "000":
        detail_vi = " (hậu tố đơn vị phụ thuộc phải từ 001 đến 999)" if match else ""
        detail_en = " (a dependent-unit suffix runs from 001 to 999)" if match else ""
        raise ValidationFailed.single(
            field,
            "tax_code.format",
            f"Mã số thuế phải gồm 10 chữ số, hoặc 10 chữ số kèm hậu tố -NNN cho đơn vị phụ thuộc "
            f"(ví dụ 0100109106-001){detail_vi}",
            f"A tax code is 10 digits, or 10 digits plus a -NNN suffix for a dependent unit "
            f"(e.g. 0100109106-001){detail_en}",
        )
    head, branch = match.group(1), match.group(2)
    return f"{head}-{branch}" if branch else head


def tax_code_parent(value: str, *, field: str = "tax_code") -> str | None:
    """The 10-digit code of the enterprise a branch belongs to; None when `value` is the enterprise itself."""
    normalised = validate_tax_code(value, field=field)
    return normalised[:10] if "-" in normalised else None


# --------------------------------------------------------------------------------------------------
# Phone and e-mail
# --------------------------------------------------------------------------------------------------

# Mobile numbers since the 2018 renumbering start 03, 05, 07, 08 or 09; 02x is landline (11 digits).
_MOBILE_RE = re.compile(r"0[35789][0-9]{8}")
_PHONE_SEPARATORS = re.compile(r"[ .\-()]")


def validate_phone(value: str, *, field: str = "phone") -> str:
    """Return a Vietnamese mobile number as 10 digits starting with 0.

    Spaces, dots, hyphens and brackets are dropped; ``+84`` / ``0084`` becomes ``0`` so one number
    has one stored form (needed for look-up and de-duplication).
    """
    compact = _PHONE_SEPARATORS.sub("", value.strip())
    for prefix in ("+84", "0084"):
        if compact.startswith(prefix):
            compact = "0" + compact[len(prefix) :]
            break
    if not (compact.isascii() and _MOBILE_RE.fullmatch(compact)):
        raise ValidationFailed.single(
            field,
            "phone.format",
            "Số điện thoại di động phải gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09 "
            "(hoặc viết dạng +84…)",
            "A mobile phone number must have 10 digits starting with 03, 05, 07, 08 or 09 (or be written +84…)",
        )
    return compact


_EMAIL_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_EMAIL_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def validate_email(value: str, *, field: str = "email") -> str:
    """Return the address with the domain lower-cased (the local part is kept: servers may treat case).

    A sane subset of RFC 5322, not the whole grammar: ASCII dot-atom local part up to 64 characters,
    a domain of at least two labels with an alphabetic top-level label, 254 characters in all.
    Quoted local parts and internationalised domains are refused; no citizen needs them to receive
    a notice, and they are where look-alike tricks live.
    """
    value = value.strip()
    local, at, domain = value.rpartition("@")
    domain = domain.lower()
    labels = domain.split(".")
    ok = (
        bool(at)
        and len(value) <= 254
        and len(local) <= 64
        and _EMAIL_LOCAL_RE.fullmatch(local) is not None
        and len(labels) >= 2
        and all(_EMAIL_LABEL_RE.fullmatch(label) for label in labels)
        and labels[-1].isalpha()
        and len(labels[-1]) >= 2
    )
    if not ok:
        raise ValidationFailed.single(
            field,
            "email.format",
            "Địa chỉ thư điện tử không hợp lệ (ví dụ đúng: ten@example.vn)",
            "The e-mail address is not valid (a valid example: name@example.vn)",
        )
    return f"{local}@{domain}"
