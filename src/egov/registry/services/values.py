"""Small value rules shared by forms, the API and the importer: dates, sex, age, masking."""

from __future__ import annotations

from datetime import date

from egov.platform.errors import ValidationFailed

_SEX_WORDS = {"male": "male", "female": "female", "nam": "male", "nữ": "female", "nu": "female"}


def parse_date(value: str | date, *, field: str) -> date:
    """Accept dd/MM/yyyy (as Vietnamese forms write dates) or ISO yyyy-MM-dd; nothing ambiguous else."""
    if isinstance(value, date):
        return value
    text = value.strip()
    try:
        if len(text) == 10 and text[2] == "/" and text[5] == "/":
            return date(int(text[6:10]), int(text[3:5]), int(text[0:2]))
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            return date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        pass
    raise ValidationFailed.single(
        field,
        "date.format",
        f"Ngày không hợp lệ: {text!r}; hãy viết dạng dd/mm/yyyy (ví dụ 05/09/1990)",
        f"Invalid date: {text!r}; write it as dd/mm/yyyy (e.g. 05/09/1990) or yyyy-mm-dd",
    )


def parse_sex(value: str, *, field: str = "sex") -> str:
    """'male' or 'female' from the stored words or the Vietnamese ones (nam / nữ)."""
    sex = _SEX_WORDS.get(value.strip().casefold())
    if sex is None:
        raise ValidationFailed.single(
            field,
            "sex.invalid",
            f"Giới tính phải là 'nam' (male) hoặc 'nữ' (female), nhận được {value!r}",
            f"Sex must be 'male' (nam) or 'female' (nữ), got {value!r}",
        )
    return sex


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day` (a birthday on 29 February counts from 1 March in other years)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def mask_phone(phone: str | None) -> str:
    """0912345678 → 091****678: enough for the citizen to recognise, too little to call."""
    if not phone:
        return ""
    return phone[:3] + "*" * max(0, len(phone) - 6) + phone[-3:]


def mask_email(email: str | None) -> str:
    """an.nguyen@example.vn → a*******n@example.vn (the domain stays: it says which mailbox to check)."""
    if not email:
        return ""
    local, _, domain = email.rpartition("@")
    shown = local[:1] + "*" if len(local) <= 2 else local[0] + "*" * (len(local) - 2) + local[-1]
    return f"{shown}@{domain}"
