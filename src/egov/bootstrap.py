"""Builds the process-wide parts once (settings, database, clock, key store) for the app, CLI and workers."""

from __future__ import annotations

from dataclasses import dataclass, field

from egov.pki.services import install_status_hooks
from egov.platform.clock import Clock, SystemClock
from egov.platform.db import Database
from egov.platform.keys import FileKeyStore, KeyStore
from egov.platform.notify import Notifier, OutboxSender, RefusingSms, SmtpSender
from egov.settings import Settings
from egov.soc.recorder import install_audit_hooks


@dataclass
class Container:
    settings: Settings
    db: Database
    clock: Clock
    keys: KeyStore
    # Services a context builds once per process from the parts above (e.g. the OIDC provider).
    cache: dict[str, object] = field(default_factory=dict)

    @property
    def notifier(self) -> Notifier:
        """E-mail over SMTP when configured, else the development outbox; SMS only to the outbox."""
        s = self.settings
        outbox = OutboxSender(s.data_dir / "outbox")
        email = (SmtpSender(s.smtp_host, s.smtp_port, s.smtp_from, s.smtp_starttls, s.smtp_username,
                            s.smtp_password.get_secret_value()) if s.smtp_host else outbox)
        return Notifier(email=email, sms=outbox if s.sms_sender == "outbox" else RefusingSms())


def build_container(settings: Settings, clock: Clock | None = None, db: Database | None = None) -> Container:
    assert settings.keystore_dir is not None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    # Key versions are dated by the platform clock: key rotation schedules follow it (and tests pin it).
    keys: KeyStore
    if settings.key_store == "pkcs11":
        from egov.platform.keys.pkcs11_store import Pkcs11KeyStore

        keys = Pkcs11KeyStore(settings.pkcs11_module, settings.pkcs11_token_label,
                              settings.pkcs11_pin.get_secret_value(), clock=clock.now)
    else:
        keys = FileKeyStore(settings.keystore_dir, settings.keystore_passphrase_bytes(), clock=clock.now)
    db = db or Database(settings.database_url)
    install_session_hooks(db)
    return Container(settings=settings, db=db, clock=clock, keys=keys)


def install_session_hooks(db: Database) -> None:
    """The contexts' session hooks, on this database's own session factories only (idempotent)."""
    install_audit_hooks(*db.session_factories)
    install_status_hooks(*db.session_factories)
