"""Usernames: what each kind of account logs in with, and how raw input is normalised and kept out of logs."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from egov.auth.models import AccountKind

# What a username can look like (personal ID, tax code, login name). Only input of this shape is
# written to the audit log or a throttle key: people type passwords into the username box.
USERNAME_SHAPE = re.compile(r"[A-Za-z0-9._@-]{1,64}")
USERNAME_RULES: dict[str, tuple[re.Pattern[str], str, str]] = {
    AccountKind.CITIZEN: (re.compile(r"\d{12}"), "Số định danh cá nhân gồm đúng 12 chữ số.",
                          "A personal ID is exactly 12 digits."),
    AccountKind.ORGANISATION: (re.compile(r"\d{10}(-\d{3})?"), "Mã số thuế gồm 10 chữ số, chi nhánh thêm -NNN.",
                               "A tax code is 10 digits, a branch adds -NNN."),
    AccountKind.OFFICER: (re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}"),
                          "Tên đăng nhập gồm 3–64 ký tự: chữ thường không dấu, chữ số, dấu . _ - @.",
                          "A login name is 3–64 characters: lower-case letters, digits, . _ - @."),
}
USERNAME_RULES[AccountKind.ADMIN] = USERNAME_RULES[AccountKind.OFFICER]


def normalise_username(username: str) -> str:
    """NFC, trimmed, lower case: officers type their login name in any case, IDs are digits anyway."""
    return unicodedata.normalize("NFC", username).strip().lower()


def looks_like_username(value: str) -> bool:
    return USERNAME_SHAPE.fullmatch(value) is not None


def account_throttle_key(username: str) -> str:
    """`acct:<username>`; input that is not username-shaped is hashed so it is never stored as typed."""
    name = normalise_username(username)
    if looks_like_username(name):
        return f"acct:{name}"
    return "acct:#" + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
