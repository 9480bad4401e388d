"""Enterprise code = tax code (mã số doanh nghiệp / mã số thuế): format and the branch's parent."""

from __future__ import annotations

import re

from egov.platform.errors import ValidationFailed

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
