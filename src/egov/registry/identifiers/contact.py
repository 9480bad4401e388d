"""Phone numbers and e-mail addresses as the registry accepts them."""

from __future__ import annotations

import re

from egov.platform.errors import ValidationFailed

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
