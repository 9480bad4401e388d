"""Test fixtures: one database per test run (SQLite file or a fresh PostgreSQL database), real parts only.

Choose the database with EGOV_TEST_DATABASE=sqlite (default) or postgresql; PostgreSQL is
reached as EGOV_TEST_PG_ADMIN (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
On PostgreSQL the app connects as its own non-superuser role, exactly as in production.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from egov.bootstrap import Container, build_container
from egov.migrations.models import load_all
from egov.migrations.runner import upgrade
from egov.platform.clock import FixedClock
from egov.platform.db import Database
from egov.platform.db.roles import ensure_app_role
from egov.settings import Settings
from tests.factories.auth import TEST_ARGON2

pytest_plugins = [
    "tests.factories.registry", "tests.factories.auth", "tests.factories.soc", "tests.factories.softhsm",
    "tests.factories.pki", "tests.factories.signing",
]

BACKEND = os.environ.get("EGOV_TEST_DATABASE", "sqlite")
PG_ADMIN = os.environ.get("EGOV_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_report_header(config: pytest.Config) -> str:
    return f"egov test database: {BACKEND}"


@pytest.fixture(scope="session")
def db_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(app_url, owner_url) for this run's own database, created now and dropped at the end."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "egov.db"
        url = f"sqlite:///{path}"
        yield url, url
        return
    suffix = f"{os.getpid()}_{secrets.token_hex(3)}"
    dbname, role, password = f"egov_test_{suffix}", f"egov_app_{suffix}", secrets.token_hex(12)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    owner_url = f"{base}/{dbname}"
    host = base.split("@", 1)[1]
    app_url = f"postgresql+psycopg://{role}:{password}@{host}/{dbname}"
    try:
        yield app_url, owner_url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def migrated(db_urls: tuple[str, str]) -> tuple[str, str]:
    app_url, owner_url = db_urls
    owner = Database(owner_url)
    upgrade(owner.engine)
    ensure_app_role(owner.engine, app_url)
    owner.dispose()
    return app_url, owner_url


@pytest.fixture(scope="session")
def owner_db(migrated: tuple[str, str]) -> Iterator[Database]:
    """The owner's connection, for tests that play the attacker or check grants."""
    db = Database(migrated[1])
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def _app_db(migrated: tuple[str, str]) -> Iterator[Database]:
    db = Database(migrated[0])
    yield db
    db.dispose()


def _wipe(owner_db: Database) -> None:
    tables = [t.name for t in reversed(load_all().metadata.sorted_tables)]
    with owner_db.engine.begin() as conn:
        if owner_db.is_postgres:
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # audit triggers off
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def db(_app_db: Database, owner_db: Database) -> Iterator[Database]:
    """The app's database, empty at the start of each test."""
    _wipe(owner_db)
    yield _app_db


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, migrated: tuple[str, str]) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path / "var",
        database_url=migrated[0],
        database_owner_url=migrated[1],
        keystore_passphrase="test-passphrase-not-secret",  # type: ignore[arg-type]
        run_background_in_process=False,
        log_json=False,
        **TEST_ARGON2,  # type: ignore[arg-type]
    )


@pytest.fixture
def container(settings: Settings, db: Database, clock: FixedClock) -> Container:
    return build_container(settings, clock=clock, db=db)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session for service-level tests; commit explicitly as a request would.

    Deferred on SQLite: tests keep it open while the app (another connection) writes.
    """
    s = db.deferred_sessions()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def app(container: Container):  # type: ignore[no-untyped-def]
    from egov.app import create_app

    return create_app(container.settings, container=container)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://localhost") as c:
        yield c
