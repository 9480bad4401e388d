"""Typed settings read once from EGOV_* variables; a wrong value stops start-up with what to set.

The kernel's settings are flat (EGOV_DATABASE_URL); each context's are a section nested under its name
(EGOV_PKI__CRL_HOURS), declared in the context's own settings.py and composed by egov.contexts. The flat
names the sections replaced (EGOV_PKI_CRL_HOURS) are still read for one release, with a warning.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

log = logging.getLogger("egov.settings")
S = TypeVar("S", bound="Section")


class SettingsError(Exception):
    """Start-up cannot go on; the message says which variable to set and how."""


def _read_file_reference(value: object) -> object:
    """`file:/run/secrets/x` reads the secret from that file, so secrets stay out of the environment."""
    if isinstance(value, str) and value.startswith("file:"):
        path = Path(value[5:])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from exc
    return value


class Section(BaseModel):
    """A context's settings, nested under Settings as EGOV_<SECTION>__<FIELD> (one class per context)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    # The flat names this section replaced were EGOV_<legacy_prefix><FIELD>; read for one release.
    legacy_prefix: ClassVar[str] = ""

    def resolve(self, settings: Settings) -> Self:
        """Derived defaults and checks that need the kernel's settings (data_dir, environment)."""
        return self

    def production_problems(self) -> list[str]:
        """What production refuses in this section: each entry names the variable and what to set."""
        return []


@functools.cache
def _sections_of(cls: type[BaseModel]) -> Mapping[str, type[Section]]:
    """The section fields of a settings class (read once per class: `section()` runs on request paths)."""
    return {name: f.annotation for name, f in cls.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, Section)}


def _decode(raw: str, field: FieldInfo) -> object:
    """A flat variable's text as pydantic-settings would decode it: JSON for lists and dicts."""
    origin = get_origin(field.annotation)
    kinds = {origin, *(get_origin(a) or a for a in get_args(field.annotation))}
    return json.loads(raw) if kinds & {list, dict, tuple, set} else raw


class _LegacyFlatNames(PydanticBaseSettingsSource):
    """EGOV_PKI_CRL_HOURS and the other flat names the sections replaced, read for one release."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith("EGOV_")}
        found: dict[str, Any] = {}
        for section, kind in _sections_of(self.settings_cls).items():
            for name, field in kind.model_fields.items():
                old = f"EGOV_{kind.legacy_prefix}{name}".upper()
                new = f"EGOV_{section}__{name}".upper()
                if old in env and new not in env:
                    found.setdefault(section, {})[name] = _decode(env[old], field)
                    _warn_once(old, new)
        return found


@functools.cache
def _warn_once(old: str, new: str) -> None:
    log.warning("setting %s is read for one more release; rename it %s", old, new)


class Settings(BaseSettings):
    """Every setting the platform reads. Defaults are the embedded single-node SQLite profile.

    This class holds the kernel's settings; `egov.contexts.settings_class()` adds every context's
    section (`compose`), and code reads a section by its class: `settings.section(PkiSettings)`.
    """

    model_config = SettingsConfigDict(env_prefix="EGOV_", env_nested_delimiter="__", extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    # Migrations and PostgreSQL grants run as the owner; the application connects as its own role.
    database_owner_url: str = ""
    database_app_role: str = "egov_app"
    database_app_password: SecretStr = SecretStr("")
    keystore_dir: Path | None = None
    keystore_passphrase: SecretStr = SecretStr("")
    # Where the platform's keys live: encrypted files (default) or a PKCS#11 token (an HSM).
    key_store: Literal["file", "pkcs11"] = "file"
    pkcs11_module: str = "/usr/lib/softhsm/libsofthsm2.so"
    pkcs11_token_label: str = ""
    pkcs11_pin: SecretStr = SecretStr("")
    public_url: str = "http://localhost:8000"
    cookie_secure: bool | None = None
    trusted_proxies: list[str] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    default_locale: Literal["vi", "en"] = "vi"
    # The embedded profile runs background work (audit sequencer, checkpoints) in the web process.
    run_background_in_process: bool | None = None
    # Keyed hashes (client secrets, pairwise subjects): 32+ random bytes; `file:` reference in production.
    secret_key: SecretStr = SecretStr("")
    # E-mail over SMTP; empty host = the development outbox (refused in production).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "Cổng dịch vụ công <no-reply@egov.local>"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    # SMS: no gateway exists yet; "outbox" (development) writes to EGOV_DATA_DIR/outbox/sms.jsonl.
    sms_sender: Literal["outbox", "none"] = "outbox"

    _check_file_refs = field_validator("keystore_passphrase", "database_app_password", "database_url",
                                       "database_owner_url", "secret_key", "smtp_password", "pkcs11_pin",
                                       mode="before")(
        lambda cls, v: _read_file_reference(v)
    )

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _LegacyFlatNames(settings_cls), file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _flat_keywords(cls, data: Any) -> Any:
        """`Settings(pki_crl_hours=1)` (the old flat keyword) still fills the section's field."""
        if not isinstance(data, dict):
            return data
        sections = _sections_of(cls)
        data = dict(data)
        for section, kind in sections.items():
            for name in kind.model_fields:
                old = f"{kind.legacy_prefix}{name}"
                if old in data and old not in cls.model_fields:
                    nested = data.get(section)
                    nested = dict(nested) if isinstance(nested, dict) else {}
                    nested.setdefault(name, data.pop(old))
                    data[section] = nested
        return data

    @classmethod
    def compose(cls, sections: Sequence[tuple[str, type[Section]]]) -> type[Settings]:
        """The kernel's settings plus these sections, each under its name (EGOV_<NAME>__<FIELD>)."""
        return _composed(cls, tuple(sections))

    def section(self, kind: type[S]) -> S:
        """This context's settings; `kind` is the section's class (e.g. PkiSettings)."""
        for name, found in _sections_of(type(self)).items():
            if found is kind:
                return getattr(self, name)  # type: ignore[no-any-return]
        raise LookupError(f"{kind.__qualname__} is not a section of these settings: build them with "
                          "egov.contexts.settings_class() (or load_settings() there)")

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """pydantic's copy, except that an old flat name (`argon2_time_cost`) changes its section's field
        and a name that is neither a field nor an old flat name is refused: pydantic would store it
        silently where nothing reads it."""
        update = dict(update or {})
        fields = type(self).model_fields
        sections = _sections_of(type(self))
        nested: dict[str, dict[str, Any]] = {}
        for key in [k for k in update if k not in fields]:
            for section, kind in sections.items():
                name = key.removeprefix(kind.legacy_prefix) if key.startswith(kind.legacy_prefix) else None
                if name is not None and name in kind.model_fields:
                    nested.setdefault(section, {})[name] = update.pop(key)
                    break
            else:
                raise TypeError(f"{key!r} is not a setting")
        for section, changes in nested.items():
            base = update.get(section, getattr(self, section))
            update[section] = base.model_copy(update=changes)
        return super().model_copy(update=update, deep=deep)

    def with_section(self, kind: type[S], **changes: Any) -> Self:
        """A copy whose `kind` section has these fields changed (a test's or a benchmark's variation)."""
        for name, found in _sections_of(type(self)).items():
            if found is kind:
                return self.model_copy(update={name: getattr(self, name).model_copy(update=changes)})
        raise LookupError(f"{kind.__qualname__} is not a section of these settings")

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        # frozen: derived defaults are written through object.__setattr__ once, here.
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'egov.db'}")
        if not self.database_owner_url:
            object.__setattr__(self, "database_owner_url", self.database_url)
        if self.keystore_dir is None:
            object.__setattr__(self, "keystore_dir", self.data_dir / "keys")
        if self.key_store == "pkcs11" and not (self.pkcs11_token_label and self.pkcs11_pin.get_secret_value()):
            raise ValueError("EGOV_KEY_STORE=pkcs11 needs EGOV_PKCS11_TOKEN_LABEL and EGOV_PKCS11_PIN (file:/path)")
        if self.cookie_secure is None:
            object.__setattr__(self, "cookie_secure", self.environment == "production")
        if self.run_background_in_process is None:
            object.__setattr__(self, "run_background_in_process", self.is_sqlite)
        if not self.database_url.startswith(("sqlite:///", "postgresql+psycopg://")):
            raise ValueError(
                "EGOV_DATABASE_URL must be sqlite:///path or postgresql+psycopg://user@host/db"
            )
        for name in _sections_of(type(self)):
            object.__setattr__(self, name, getattr(self, name).resolve(self))
        if self.environment == "production":
            problems = []
            if self.key_store == "file" and not self.keystore_passphrase.get_secret_value():
                problems.append("EGOV_KEYSTORE_PASSPHRASE (use file:/path/to/secret)")
            if len(self.secret_key.get_secret_value()) < 32:
                problems.append("EGOV_SECRET_KEY (32+ random characters; use file:/path/to/secret)")
            if not self.smtp_host:
                problems.append("EGOV_SMTP_HOST (e-mail cannot go to a development outbox)")
            if self.sms_sender == "outbox":
                problems.append("EGOV_SMS_SENDER=none (or a real gateway): the SMS outbox is for development")
            if not self.cookie_secure:
                problems.append("EGOV_COOKIE_SECURE=true (cookies must not travel over plain HTTP)")
            for name in _sections_of(type(self)):
                problems.extend(getattr(self, name).production_problems())
            if problems:
                raise ValueError("production refuses development-only defaults; set " + ", ".join(problems))
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def keystore_passphrase_bytes(self) -> bytes:
        """The key store passphrase; in development a random one is kept beside the keys (never in production)."""
        value = self.keystore_passphrase.get_secret_value()
        if value:
            return value.encode()
        return self._development_secret("keystore.passphrase")


    def secret_key_bytes(self) -> bytes:
        """The platform secret for keyed hashes; in development a random one is kept in the data directory."""
        value = self.secret_key.get_secret_value()
        if value:
            return value.encode()
        return self._development_secret("secret.key")

    def _development_secret(self, name: str) -> bytes:
        path = self.data_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
            path.chmod(0o600)
        return path.read_text(encoding="utf-8").strip().encode()


@functools.cache
def _composed(base: type[Settings], sections: tuple[tuple[str, type[Section]], ...]) -> type[Settings]:
    fields: dict[str, Any] = {name: (kind, Field(default_factory=kind)) for name, kind in sections}
    return create_model("Settings", __base__=base, __module__=base.__module__, **fields)


def load_settings(cls: type[Settings], **overrides: object) -> Settings:
    """Read settings once; turn pydantic's report into one message naming each variable to set."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        sections = _sections_of(cls)
        lines = []
        for err in exc.errors():
            parts = [str(p) for p in err["loc"]]
            loc = (f"{parts[0]}__" + "_".join(parts[1:]) if len(parts) > 1 and parts[0] in sections
                   else "_".join(parts)).upper()
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"EGOV_{loc}: {msg}" if loc else msg)
        raise SettingsError("invalid configuration: " + "; ".join(lines)) from None
