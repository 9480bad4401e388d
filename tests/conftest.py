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

from egov.bootstrap import Container, build_container, install_session_hooks
from egov.contexts import install_roles, settings_class
from egov.migrations.models import load_all
from egov.migrations.runner import upgrade
from egov.platform.clock import FixedClock
from egov.platform.db import Database
from egov.platform.db.roles import ensure_app_role
from egov.settings import Settings

pytest_plugins = [
    "tests.factories.registry", "tests.factories.auth", "tests.factories.soc", "tests.factories.softhsm",
    "tests.factories.pki", "tests.factories.signing",
]

BACKEND = os.environ.get("EGOV_TEST_DATABASE", "sqlite")
PG_ADMIN = os.environ.get("EGOV_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_configure(config: pytest.Config) -> None:
    # What build_container does first: the role catalogue is every context's roles (tests that check
    # grants without a container see the same catalogue as the app).
    install_roles()


def pytest_report_header(config: pytest.Config) -> str:
    return f"egov test database: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.postgres_only("why")` skips the test on SQLite, with the reason given (before any fixture)."""
    if BACKEND == "postgresql":
        return
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        if marker is not None:
            why = marker.args[0] if marker.args else "needs PostgreSQL"
            item.add_marker(pytest.mark.skip(reason=f"{why} (run with EGOV_TEST_DATABASE=postgresql)"))


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
    install_session_hooks(db)  # as build_container does, for tests that use the database without it
    yield db
    db.dispose()


class _Cleaner:
    """Empties the tables a test left rows in, asking the database which ones (one cheap query).

    The database is asked rather than the test tracked, so every writer counts: the app's own
    connections, raw SQL, COPY, `egov` subprocesses. Most tests touch a handful of the ~35 tables,
    so a DELETE on those beats wiping all (PostgreSQL's TRUNCATE of every table cost 0.4-0.8 s a
    test on a busy 2-core machine, this 7-40 ms; an untouched database costs one SELECT). Runs as the owner with
    session_replication_role=replica on PostgreSQL: the app role may not DELETE from the audit
    tables, and their append-only triggers (and foreign-key triggers) stay off for this
    transaction only. Sequences of emptied tables restart, as TRUNCATE ... RESTART IDENTITY did.
    """

    def __init__(self, owner_db: Database) -> None:
        self.owner_db = owner_db
        self.tables = [t.name for t in reversed(load_all().metadata.sorted_tables)]  # children first
        self.probe = text(" UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in self.tables))
        self.sequences: dict[str, list[str]] = {}
        if owner_db.is_postgres:
            with owner_db.engine.connect() as conn:
                for table, sequence in conn.execute(text(
                        "SELECT t.relname, s.oid::regclass::text FROM pg_class s"
                        " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
                        " JOIN pg_class t ON t.oid = d.refobjid WHERE s.relkind = 'S'")):
                    self.sequences.setdefault(table, []).append(sequence)

    def dirty(self) -> list[str]:
        """The tables holding rows, children before parents."""
        with self.owner_db.engine.connect() as conn:
            found = set(conn.execute(self.probe).scalars())
        return [t for t in self.tables if t in found]

    def clean(self) -> None:
        dirty = self.dirty()
        if not dirty:
            return
        with self.owner_db.engine.begin() as conn:
            if self.owner_db.is_postgres:
                conn.execute(text("SET LOCAL session_replication_role = replica"))  # audit triggers off
            for t in dirty:
                conn.execute(text(f'DELETE FROM "{t}"'))
            for sequence in (s for t in dirty for s in self.sequences.get(t, ())):
                conn.execute(text("SELECT setval(CAST(:s AS regclass), 1, false)"), {"s": sequence})


@pytest.fixture(scope="session")
def _cleaner(owner_db: Database) -> _Cleaner:
    return _Cleaner(owner_db)


@pytest.fixture
def db(_app_db: Database, _cleaner: _Cleaner) -> Iterator[Database]:
    """The app's database, empty at the start of each test."""
    _cleaner.clean()
    yield _app_db


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, migrated: tuple[str, str]) -> Settings:
    from tests.factories.auth import TEST_ARGON2  # here, not at the top: pytest loads it as a plugin first

    return settings_class()(
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
