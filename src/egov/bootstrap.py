"""Builds the process-wide parts once (settings, database, clock, key store) for the app, CLI and workers."""

from __future__ import annotations

from dataclasses import dataclass, field

from egov.platform.clock import Clock, SystemClock
from egov.platform.db import Database
from egov.platform.keys import FileKeyStore, KeyStore
from egov.settings import Settings


@dataclass
class Container:
    settings: Settings
    db: Database
    clock: Clock
    keys: KeyStore
    # Services a context builds once per process from the parts above (e.g. the OIDC provider).
    cache: dict[str, object] = field(default_factory=dict)


def build_container(settings: Settings, clock: Clock | None = None, db: Database | None = None) -> Container:
    assert settings.keystore_dir is not None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    # Key versions are dated by the platform clock: key rotation schedules follow it (and tests pin it).
    keys = FileKeyStore(settings.keystore_dir, settings.keystore_passphrase_bytes(), clock=clock.now)
    return Container(settings=settings, db=db or Database(settings.database_url), clock=clock, keys=keys)
