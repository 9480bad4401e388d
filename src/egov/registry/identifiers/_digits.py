"""ASCII digits only: str.isdigit() accepts full-width '１' and other scripts' digits; an identifier must not."""

from __future__ import annotations

from typing import Literal

Sex = Literal["male", "female"]

ASCII_DIGITS = frozenset("0123456789")
SEX_VI: dict[str, str] = {"male": "nam", "female": "nữ"}


def is_ascii_digits(value: str) -> bool:
    return bool(value) and all(ch in ASCII_DIGITS for ch in value)
