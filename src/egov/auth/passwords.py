"""Argon2id password hashing with the settings' OWASP parameters, and the password policy."""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from egov.auth.settings import AuthSettings
from egov.platform.errors import ErrorCollector
from egov.settings import Settings

MIN_LENGTH = 12
# Long enough for any passphrase a person types; short enough that hashing stays a bounded cost.
MAX_LENGTH = 256

# A small list of what people choose when told "at least 12 characters"; compared case-insensitively.
COMMON_PASSWORDS = frozenset({
    "password1234", "password12345", "password123456", "passw0rd1234", "p@ssw0rd1234",
    "123456789012", "1234567890123", "12345678901234", "123456123456", "123123123123",
    "111111111111", "000000000000", "121212121212", "987654321098", "098765432112",
    "qwertyuiop12", "qwertyuiop123", "qwerty123456", "1q2w3e4r5t6y", "1qaz2wsx3edc",
    "abc123456789", "abcdefghijkl", "abcd12345678", "iloveyou1234", "welcome12345",
    "letmein12345", "changeme1234", "administrator", "admin1234567", "admin@123456",
    "matkhau12345", "matkhau123456", "matkhau@1234", "matkhau@123456", "matkhaumoi123",
    "anhyeuem1234", "anhyeuem123456", "emyeuanh1234", "vietnam12345", "vietnam123456",
    "vietnam@2024", "vietnam@2025", "vietnam@2026", "hochiminh123", "saigon123456",
    "hanoi1234567", "egov12345678",
})


class WrongPassword(Exception):
    """The password does not match the stored hash (or the hash is unusable); never shown as is."""


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    """A hash of a random secret with the live parameters, so unknown users cost a real verify."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID)
    return hasher.hash(secrets.token_urlsafe(32))


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# At most one Argon2 computation per core this process may run on. Argon2id is memory-hard: two
# 19 MiB passes time-sliced on one core evict each other's cache lines and both slow down (measured:
# sign-ins at two concurrent requests fell from 0.78x to 0.70x the raw verify rate). Queued here,
# a request waits its turn while another request's database work still overlaps the hashing.
_ARGON2_SLOTS = threading.BoundedSemaphore(_cores())


class Passwords:
    """Argon2id (RFC 9106) via argon2-cffi; defaults are OWASP's m=19 MiB, t=2, p=1.

    The cost comes from EGOV_AUTH__ARGON2_* (`from_settings`): the tests lower it, production refuses
    less than OWASP's minimum (auth/settings.py).
    """

    def __init__(self, *, time_cost: int = 2, memory_kib: int = 19 * 1024, parallelism: int = 1) -> None:
        self._params = (time_cost, memory_kib, parallelism)
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        # "$argon2id$v=19$m=19456,t=2,p=1$": what every hash made with these parameters begins with.
        prefix, salt, digest = _dummy_hash(*self._params).rsplit("$", 2)
        self._current_prefix, self._current_lengths = prefix + "$", (len(salt), len(digest))

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        a = settings.section(AuthSettings)
        return cls(time_cost=a.argon2_time_cost, memory_kib=a.argon2_memory_kib, parallelism=a.argon2_parallelism)

    def hash(self, password: str) -> str:
        with _ARGON2_SLOTS:
            return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> None:
        """Raise WrongPassword unless `password` matches; a malformed hash is a mismatch too."""
        try:
            with _ARGON2_SLOTS:
                self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            raise WrongPassword from None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters: rehash it while the password is at hand."""
        # The common case without parsing the hash: same type, version and cost, same salt and hash lengths.
        if password_hash.startswith(self._current_prefix):
            salt, _, digest = password_hash[len(self._current_prefix):].partition("$")
            if (len(salt), len(digest)) == self._current_lengths:
                return False
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    @property
    def dummy_hash(self) -> str:
        """The hash `burn` checks against: a random secret's, made with the live parameters."""
        return _dummy_hash(*self._params)

    def burn(self, password: str) -> None:
        """Spend the time of a real verification and always fail: for unknown or password-less accounts."""
        with contextlib.suppress(WrongPassword):
            self.verify(self.dummy_hash, password)


def check_password_policy(password: str, username: str | None = None, *, field: str = "password") -> None:
    """Raise ValidationFailed listing every rule `password` breaks, in Vietnamese and English."""
    errors = ErrorCollector()
    if len(password) < MIN_LENGTH:
        errors.add(field, "password.too_short",
                   f"Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự.",
                   f"The password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        errors.add(field, "password.too_long",
                   f"Mật khẩu không được dài quá {MAX_LENGTH} ký tự.",
                   f"The password must be at most {MAX_LENGTH} characters long.")
    if username and password.strip().casefold() == username.strip().casefold():
        errors.add(field, "password.equals_username",
                   "Mật khẩu không được trùng với tên đăng nhập.",
                   "The password must not be the same as the username.")
    if password.casefold() in COMMON_PASSWORDS:
        errors.add(field, "password.common",
                   "Mật khẩu này quá phổ biến và dễ bị đoán; vui lòng chọn mật khẩu khác.",
                   "This password is too common and easy to guess; please choose another one.")
    errors.raise_if_any()
