"""Agency code (mã định danh cơ quan, Decision 20/2020/QĐ-TTg): format and parent rules."""

from __future__ import annotations

import re

from egov.platform.errors import ErrorCollector, ValidationFailed
from egov.registry.identifiers._digits import is_ascii_digits

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
        if len(group) != width or not is_ascii_digits(group):
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
