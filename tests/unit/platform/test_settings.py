"""Settings fail fast with the variable to set; production refuses development-only defaults."""

from pathlib import Path

import pytest

from egov.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_sqlite_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("EGOV_DATABASE_URL", "EGOV_ENVIRONMENT", "EGOV_DATA_DIR"):
        monkeypatch.delenv(key, raising=False)
    s = load_settings()
    assert s.database_url == "sqlite:///var/egov.db"
    assert s.is_sqlite and s.run_background_in_process
    assert s.cookie_secure is False


def test_wrong_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_DATABASE_URL", "mysql://root@localhost/egov")
    with pytest.raises(SettingsError, match="EGOV_DATABASE_URL must be sqlite"):
        load_settings()


def test_wrong_type_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_SESSION_IDLE_MINUTES", "soon")
    with pytest.raises(SettingsError, match="EGOV_SESSION_IDLE_MINUTES"):
        load_settings()


def test_production_refuses_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_ENVIRONMENT", "production")
    monkeypatch.delenv("EGOV_KEYSTORE_PASSPHRASE", raising=False)
    with pytest.raises(SettingsError, match="EGOV_KEYSTORE_PASSPHRASE"):
        load_settings()
    monkeypatch.setenv("EGOV_KEYSTORE_PASSPHRASE", "x" * 32)
    monkeypatch.setenv("EGOV_COOKIE_SECURE", "false")
    with pytest.raises(SettingsError, match="EGOV_COOKIE_SECURE"):
        load_settings()
    for missing in ("EGOV_SECRET_KEY", "EGOV_SMTP_HOST", "EGOV_SMS_SENDER"):
        with pytest.raises(SettingsError, match=missing):
            load_settings()
    monkeypatch.setenv("EGOV_COOKIE_SECURE", "true")
    monkeypatch.setenv("EGOV_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("EGOV_SMTP_HOST", "smtp.example.gov.vn")
    monkeypatch.setenv("EGOV_SMS_SENDER", "none")
    assert load_settings().is_production  # everything a production deployment must set, set


def test_file_reference_reads_the_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pass"
    secret.write_text("correct horse battery staple\n")
    monkeypatch.setenv("EGOV_KEYSTORE_PASSPHRASE", f"file:{secret}")
    assert load_settings().keystore_passphrase_bytes() == b"correct horse battery staple"


def test_missing_secret_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EGOV_KEYSTORE_PASSPHRASE", f"file:{tmp_path}/absent")
    with pytest.raises(SettingsError, match=r"EGOV_KEYSTORE_PASSPHRASE: .*cannot read secret file"):
        load_settings()


def test_development_passphrase_is_generated_once_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EGOV_KEYSTORE_PASSPHRASE", raising=False)
    s = load_settings(data_dir=tmp_path)
    first = s.keystore_passphrase_bytes()
    assert first == s.keystore_passphrase_bytes()
    assert len(first) >= 32
    assert (tmp_path / "keystore.passphrase").stat().st_mode & 0o777 == 0o600


PRODUCTION = {"EGOV_ENVIRONMENT": "production", "EGOV_KEYSTORE_PASSPHRASE": "x" * 32, "EGOV_SECRET_KEY": "s" * 40,
              "EGOV_COOKIE_SECURE": "true", "EGOV_SMTP_HOST": "smtp.example.gov.vn", "EGOV_SMS_SENDER": "none"}


@pytest.mark.parametrize(("time_cost", "memory_kib"), [(1, 64), (2, 19455), (1, 19456), (3, 12287), (9, 7167)])
def test_production_refuses_an_argon2_cost_below_owasps_minimum(monkeypatch: pytest.MonkeyPatch, time_cost: int,
                                                               memory_kib: int) -> None:
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EGOV_ARGON2_TIME_COST", str(time_cost))
    monkeypatch.setenv("EGOV_ARGON2_MEMORY_KIB", str(memory_kib))
    with pytest.raises(SettingsError, match="EGOV_ARGON2_MEMORY_KIB") as info:
        load_settings()
    assert f"EGOV_ARGON2_TIME_COST={time_cost}" in str(info.value)
    monkeypatch.setenv("EGOV_ENVIRONMENT", "test")  # the suite's cheap cost is fine outside production
    assert load_settings().argon2_memory_kib == memory_kib


@pytest.mark.parametrize(("time_cost", "memory_kib"), [(2, 19456), (1, 47104), (3, 12288), (4, 9216), (5, 7168),
                                                       (8, 7168), (2, 65536)])
def test_production_accepts_owasps_argon2_configurations(monkeypatch: pytest.MonkeyPatch, time_cost: int,
                                                          memory_kib: int) -> None:
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EGOV_ARGON2_TIME_COST", str(time_cost))
    monkeypatch.setenv("EGOV_ARGON2_MEMORY_KIB", str(memory_kib))
    s = load_settings()
    assert (s.is_production, s.argon2_time_cost, s.argon2_memory_kib) == (True, time_cost, memory_kib)


def test_production_defaults_meet_owasps_argon2_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    for key in ("EGOV_ARGON2_TIME_COST", "EGOV_ARGON2_MEMORY_KIB", "EGOV_ARGON2_PARALLELISM"):
        monkeypatch.delenv(key, raising=False)
    s = load_settings()
    assert (s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism) == (2, 19456, 1)
