"""Settings fail fast with the variable to set; production refuses development-only defaults."""

import logging
from pathlib import Path

import pytest

from egov.auth.settings import AuthSettings
from egov.contexts import load_settings
from egov.pki.settings import PkiSettings
from egov.settings import SettingsError
from egov.signing.settings import SigningSettings
from egov.soc.settings import SocSettings


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
    monkeypatch.setenv("EGOV_AUTH__SESSION_IDLE_MINUTES", "soon")
    with pytest.raises(SettingsError, match="EGOV_AUTH__SESSION_IDLE_MINUTES"):
        load_settings()


def test_sections_nest_under_the_context_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EGOV_PKI__CRL_HOURS", "6")
    monkeypatch.setenv("EGOV_SIGNING__FETCH_ALLOWLIST", '["http://ca.example.gov.vn/"]')
    monkeypatch.setenv("EGOV_SOC__AUDIT_ORIGIN", "egov.example/audit")
    s = load_settings(data_dir=tmp_path)
    assert s.section(PkiSettings).crl_hours == 6
    assert s.section(SigningSettings).fetch_allowlist == ["http://ca.example.gov.vn/"]
    assert s.section(SocSettings).audit_origin == "egov.example/audit"
    # derived defaults follow the kernel's data directory and environment
    assert s.section(PkiSettings).root_dir == tmp_path / "pki-root"
    assert s.section(SocSettings).checkpoint_dir == tmp_path / "checkpoints"
    assert s.section(AuthSettings).staff_require_passkey is False


def test_the_old_flat_names_are_still_read_for_one_release(monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("EGOV_PKI_CRL_HOURS", "7")
    monkeypatch.setenv("EGOV_SESSION_IDLE_MINUTES", "45")
    monkeypatch.setenv("EGOV_SIGNING_FETCH_ALLOWLIST", '["http://old.example/"]')
    monkeypatch.setenv("EGOV_AUDIT_KEY_NAME", "old-audit-key")
    with caplog.at_level(logging.WARNING, logger="egov.settings"):
        s = load_settings()
    assert s.section(PkiSettings).crl_hours == 7
    assert s.section(AuthSettings).session_idle_minutes == 45
    assert s.section(SigningSettings).fetch_allowlist == ["http://old.example/"]
    assert s.section(SocSettings).audit_key_name == "old-audit-key"
    assert "EGOV_PKI__CRL_HOURS" in caplog.text  # the warning names the new variable
    monkeypatch.setenv("EGOV_PKI__CRL_HOURS", "8")  # the new name wins over the old one
    assert load_settings().section(PkiSettings).crl_hours == 8
    monkeypatch.setenv("EGOV_PKI_CRL_HOURS", "9999")  # an old name is validated like the new one
    monkeypatch.delenv("EGOV_PKI__CRL_HOURS")
    with pytest.raises(SettingsError, match="EGOV_PKI__CRL_HOURS"):
        load_settings()


def test_a_section_the_settings_lack_is_a_clear_error() -> None:
    from egov.settings import Settings

    with pytest.raises(LookupError, match="settings_class"):
        Settings().section(PkiSettings)


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
    monkeypatch.setenv("EGOV_AUTH__ARGON2_TIME_COST", str(time_cost))
    monkeypatch.setenv("EGOV_AUTH__ARGON2_MEMORY_KIB", str(memory_kib))
    with pytest.raises(SettingsError, match="EGOV_AUTH__ARGON2_MEMORY_KIB") as info:
        load_settings()
    assert f"EGOV_AUTH__ARGON2_TIME_COST={time_cost}" in str(info.value)
    monkeypatch.setenv("EGOV_ENVIRONMENT", "test")  # the suite's cheap cost is fine outside production
    assert load_settings().section(AuthSettings).argon2_memory_kib == memory_kib


@pytest.mark.parametrize(("time_cost", "memory_kib"), [(2, 19456), (1, 47104), (3, 12288), (4, 9216), (5, 7168),
                                                       (8, 7168), (2, 65536)])
def test_production_accepts_owasps_argon2_configurations(monkeypatch: pytest.MonkeyPatch, time_cost: int,
                                                          memory_kib: int) -> None:
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("EGOV_AUTH__ARGON2_TIME_COST", str(time_cost))
    monkeypatch.setenv("EGOV_AUTH__ARGON2_MEMORY_KIB", str(memory_kib))
    s = load_settings()
    a = s.section(AuthSettings)
    assert (s.is_production, a.argon2_time_cost, a.argon2_memory_kib) == (True, time_cost, memory_kib)


def test_production_defaults_meet_owasps_argon2_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    for key in ("EGOV_AUTH__ARGON2_TIME_COST", "EGOV_AUTH__ARGON2_MEMORY_KIB", "EGOV_AUTH__ARGON2_PARALLELISM"):
        monkeypatch.delenv(key, raising=False)
    s = load_settings()
    a = s.section(AuthSettings)
    assert (a.argon2_time_cost, a.argon2_memory_kib, a.argon2_parallelism) == (2, 19456, 1)


def test_a_copy_with_an_old_flat_name_changes_the_section_and_an_unknown_name_is_refused(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path)
    cheap = s.model_copy(update={"argon2_time_cost": 3, "pki_crl_hours": 5, "log_json": False})
    assert cheap.section(AuthSettings).argon2_time_cost == 3 and cheap.section(PkiSettings).crl_hours == 5
    assert cheap.log_json is False and s.section(AuthSettings).argon2_time_cost == 2  # the original is unchanged
    with pytest.raises(TypeError, match="not a setting"):
        s.model_copy(update={"argon2_cost": 3})
