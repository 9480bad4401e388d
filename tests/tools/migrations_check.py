"""`alembic check` on a fresh SQLite file and a fresh PostgreSQL database: models and migrations agree."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile

from sqlalchemy import create_engine, text

from egov.migrations.runner import check, upgrade

PG_ADMIN = os.environ.get("EGOV_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/check.db")
        upgrade(engine)
        check(engine)
        engine.dispose()
        print("alembic check: SQLite OK")
    name = f"egov_check_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = create_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
        upgrade(engine)
        check(engine)
        engine.dispose()
        print("alembic check: PostgreSQL OK")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
