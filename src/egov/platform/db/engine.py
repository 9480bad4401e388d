"""Engines and sessions for both profiles: SQLite in WAL mode, PostgreSQL through psycopg 3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message is one line an operator can act on."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers go on while the single writer commits; FKs are off by default in SQLite.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        # A deferred transaction that reads and then writes while another thread holds the write
        # lock gets SQLITE_BUSY at once (SQLite will not wait: it could deadlock). BEGIN IMMEDIATE
        # takes the write lock up front, so transactions queue on busy_timeout instead of failing.
        # WAL readers outside a transaction are not blocked; the embedded profile has one writer anyway.
        # A caller that holds a mostly-reading transaction open (tests beside a live app) asks for
        # execution_options(sqlite_begin="DEFERRED") instead.
        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    ping_idle = kwargs.pop("ping_after_idle_seconds", PING_AFTER_IDLE_SECONDS)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_idle)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling, but only for a connection that sat idle: a busy pool's
    connections were used moments ago, and pinging each checkout (pool_pre_ping) cost every request a
    round trip. A connection idle longer (the database may have restarted meanwhile) is pinged; a dead
    one makes the pool discard it and try another, so no request sees the error."""

    @event.listens_for(engine, "checkin")
    def _mark(_dbapi_conn: Any, record: Any) -> None:
        record.info["egov_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("egov_idle_since")
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure: this connection is not to be trusted
            raise DisconnectionError("idle connection failed its ping") from exc




class Database:
    """An engine plus a session factory; one per process, shared by the web app, CLI and workers."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Deferred on SQLite: reading takes no write lock, so it can stay open while others write.
        # write_once's own small pool of connections that are always in autocommit: switching a shared
        # connection in and out of autocommit on every checkout cost a third of a hot write.
        pooled = {} if "poolclass" in kwargs else {"pool_size": 4, "max_overflow": 8}
        self._autocommit = (make_engine(url, **{**kwargs, **pooled, "isolation_level": "AUTOCOMMIT"})
                            if self.is_postgres else None)
        self.deferred_sessions = sessionmaker(
            self.engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
        )

    @property
    def session_factories(self) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
        """Every factory whose sessions run business code: the start-up installs the contexts' session
        hooks (audit events, certificate status) on these, not on every `Session` in the process."""
        return self.sessions, self.deferred_sessions

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def check(self) -> None:
        """Raise DatabaseUnavailable with one clear line if the database cannot be reached."""
        try:
            # Deferred: a busy SQLite writer must not make a reachable database look "unreachable".
            with self.engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            safe = make_url(self.url).render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
            raise DatabaseUnavailable(f"database unreachable at {safe}: {reason}") from None

    @contextmanager
    def write_once(self) -> Iterator[Connection]:
        """A Core connection for one atomic write outside any unit of work (a hot path's business row
        and its audit event): autocommit on PostgreSQL, where that write is one statement and so one
        round trip with no BEGIN or COMMIT; one transaction, committed on leaving, on SQLite."""
        if self._autocommit is not None:
            with self._autocommit.connect() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    @contextmanager
    def read_once(self) -> Iterator[Connection]:
        """A Core connection for a hot path's reads: autocommit on PostgreSQL (no BEGIN or COMMIT); on
        SQLite a deferred transaction, which does not take the one writer's lock."""
        if self._autocommit is not None:
            with self._autocommit.connect() as conn:
                yield conn
        else:
            with self.engine.connect() as conn, conn.execution_options(sqlite_begin="DEFERRED").begin():
                yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work outside HTTP (CLI, workers): commit on success, roll back on any error."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._autocommit is not None:
            self._autocommit.dispose()
