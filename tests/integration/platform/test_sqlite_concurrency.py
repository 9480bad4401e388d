"""The embedded profile: a request that reads then writes waits for the background writer, never fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from egov.platform.db import Database


@contextmanager
def writer_holding_the_lock(db: Database, value: int) -> Iterator[threading.Event]:
    """Another connection inserts `value` and keeps its write transaction open until the yielded event
    is set (or 5 s pass)."""
    held, release = threading.Event(), threading.Event()

    def background_writer() -> None:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": value})
            held.set()
            release.wait(5)

    thread = threading.Thread(target=background_writer)
    thread.start()
    held.wait(5)
    try:
        yield release
    finally:
        release.set()
        thread.join()


def test_read_then_write_waits_for_a_concurrent_writer(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/c.db")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    with writer_holding_the_lock(db, 1) as release:
        threading.Timer(0.3, release.set).start()
        started = time.perf_counter()
        with db.engine.begin() as conn:  # a "request": read, then write
            conn.execute(text("SELECT count(*) FROM t")).scalar()
            conn.execute(text("INSERT INTO t VALUES (2)"))
        waited = time.perf_counter() - started
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2
    assert waited >= 0.2  # it queued behind the writer instead of failing with "database is locked"
    db.dispose()


def test_a_hot_paths_read_does_not_wait_for_the_writer(tmp_path: Path) -> None:
    """`read_once` (introspection's reads) is a deferred transaction: with WAL it reads the last committed
    state at once while another connection holds the one writer's lock."""
    db = Database(f"sqlite:///{tmp_path}/r.db")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with writer_holding_the_lock(db, 2):
        started = time.perf_counter()
        with db.read_once() as conn:
            seen = conn.execute(text("SELECT count(*) FROM t")).scalar()
        waited = time.perf_counter() - started
    assert seen == 1 and waited < 0.2  # the committed row, without queueing behind the writer
    db.dispose()
