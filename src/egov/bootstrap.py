"""Builds the process-wide parts once (settings, database, clock, key store) and every context's services."""

from __future__ import annotations

from egov import contexts
from egov.platform.clock import Clock, SystemClock
from egov.platform.container import Container
from egov.platform.db import Database
from egov.platform.keys import FileKeyStore, KeyStore
from egov.settings import Settings

__all__ = ["Container", "build_container", "install_session_hooks"]


def build_container(settings: Settings, clock: Clock | None = None, db: Database | None = None) -> Container:
    if settings.keystore_dir is None:  # filled by Settings' own defaults; None means a bug, not a setting
        raise RuntimeError("settings.keystore_dir is unset")
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
    container = Container(settings=settings, db=db, clock=clock, keys=keys)
    return contexts.build(container)


def install_session_hooks(db: Database) -> None:
    """Every context's session hooks (audit events held until commit, OCSP status notes), on this
    database's own session factories only: explicit at start-up, never by importing a module (idempotent)."""
    for module in contexts.CONTEXTS:
        if module.install is not None:
            module.install(db)
