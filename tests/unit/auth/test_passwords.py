"""Password policy (rules, field, both languages) and Argon2id hashing with real argon2-cffi."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from egov.auth.passwords import Passwords, WrongPassword, check_password_policy
from egov.platform.errors import ValidationFailed

# Cheap parameters keep the unit tier fast; the production parameters are exercised by the integration tests.
FAST = {"time_cost": 1, "memory_kib": 8 * 1024, "parallelism": 1}


def rules(password: str, username: str | None = None) -> list[str]:
    try:
        check_password_policy(password, username)
    except ValidationFailed as exc:
        assert all(e.field == "password" for e in exc.errors)
        return [e.rule for e in exc.errors]
    return []


def test_a_long_uncommon_password_passes() -> None:
    assert rules("trời hôm nay xanh ngắt", "079203012345") == []


@pytest.mark.parametrize(("password", "rule"), [
    ("ngắn quá", "password.too_short"),
    ("12345678901", "password.too_short"),
    ("x" * 257, "password.too_long"),
    ("Password1234", "password.common"),
    ("MATKHAU123456", "password.common"),
])
def test_each_rule(password: str, rule: str) -> None:
    assert rules(password) == [rule]


def test_exactly_twelve_characters_is_enough() -> None:
    assert rules("a1b2c3d4e5f6") == []


def test_password_equal_to_username_is_refused_whatever_the_case() -> None:
    assert rules("Nguyen.Van.An", "nguyen.van.an") == ["password.equals_username"]
    assert rules("079203012345", "079203012345") == ["password.equals_username"]


def test_every_broken_rule_is_reported_at_once() -> None:
    assert rules("abc", "abc") == ["password.too_short", "password.equals_username"]


def test_messages_are_vietnamese_first_and_name_the_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        check_password_policy("ngắn", field="new_password")
    error = info.value.errors[0]
    assert error.field == "new_password"
    assert error.message("vi") == "Mật khẩu phải có ít nhất 12 ký tự."
    assert error.message("en") == "The password must be at least 12 characters long."
    assert info.value.detail("vi") == error.message_vi


def test_hash_is_argon2id_with_the_given_parameters_and_verifies() -> None:
    pw = Passwords(**FAST)
    h = pw.hash("một cụm từ bí mật")
    assert h.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    pw.verify(h, "một cụm từ bí mật")  # does not raise


def test_default_parameters_are_owasp_argon2id() -> None:
    h = Passwords().hash("một cụm từ bí mật")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize("candidate", ["một cụm từ bí mậT", "", "một cụm từ bí mật "])
def test_wrong_password_raises(candidate: str) -> None:
    pw = Passwords(**FAST)
    h = pw.hash("một cụm từ bí mật")
    with pytest.raises(WrongPassword):
        pw.verify(h, candidate)


def test_a_malformed_hash_is_a_mismatch_not_a_crash() -> None:
    with pytest.raises(WrongPassword):
        Passwords(**FAST).verify("not-a-hash", "anything")


def test_hashes_made_with_other_parameters_need_rehash() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("một cụm từ bí mật")
    assert Passwords(time_cost=2, memory_kib=8 * 1024).needs_rehash(old)
    assert not Passwords(**FAST).needs_rehash(old)
    assert Passwords(**FAST).needs_rehash("garbage")
    # Same costs, other salt or hash length: the quick prefix check must not hide it.
    for other in ({"salt_len": 8}, {"hash_len": 16}, {"salt_len": 17, "hash_len": 31}):  # the last: same length
        odd = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1, **other).hash("một cụm từ bí mật")
        assert odd.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
        assert Passwords(**FAST).needs_rehash(odd)


class RecordingPasswords(Passwords):
    """Real Argon2, recording each verification burn makes and how it ended."""

    def __init__(self, **params: int) -> None:
        super().__init__(**params)
        self.verified: list[tuple[str, str]] = []

    def verify(self, password_hash: str, password: str) -> None:
        try:
            super().verify(password_hash, password)
        except WrongPassword:
            self.verified.append((password_hash, "refused"))
            raise
        self.verified.append((password_hash, "accepted"))


@pytest.mark.parametrize("candidate", ["anything at all", "", "x" * 300, "một cụm từ bí mật", "$argon2id$"])
def test_burn_never_succeeds_and_never_raises(candidate: str) -> None:
    pw = RecordingPasswords(**FAST)
    assert pw.burn(candidate) is None  # no exception, whatever the input
    # It cost one real verification with the live parameters, and that verification failed.
    assert pw.verified == [(pw.dummy_hash, "refused")]
    assert pw.dummy_hash.startswith("$argon2id$v=19$m=8192,t=1,p=1$") and not pw.needs_rehash(pw.dummy_hash)


def test_burn_uses_the_live_parameters() -> None:
    assert Passwords(**FAST).dummy_hash != Passwords().dummy_hash
    assert Passwords().dummy_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
