"""PostgreSQL roles: the application connects as its own role, which cannot rewrite the audit log."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

# Insert-only for the application: an attacker holding the app's credentials cannot edit history.
APPEND_ONLY_TABLES = ("audit_events", "audit_leaves", "audit_tree_nodes", "audit_checkpoints")


def ensure_app_role(owner: Engine, app_url: str) -> str | None:
    """Create/refresh the app role named in `app_url` and its grants; returns its name (None on SQLite).

    Runs as the owner after every migration so new tables get grants too. The role is
    NOSUPERUSER NOCREATEDB NOCREATEROLE and does not own any table.
    """
    if owner.dialect.name != "postgresql":
        return None
    url = make_url(app_url)
    role = url.username
    owner_user = owner.url.username
    if not role or role == owner_user:
        return None
    password = url.password or ""
    ident = owner.dialect.identifier_preparer.quote(role)
    with owner.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
        verb = "ALTER" if exists else "CREATE"
        # CREATE/ALTER ROLE takes no bind parameters: quote the password as a literal.
        literal = "'" + str(password).replace("'", "''") + "'"
        conn.exec_driver_sql(f"{verb} ROLE {ident} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {literal}")
        db = conn.execute(text("SELECT current_database()")).scalar()
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{db}" TO {ident}'))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {ident}"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ident}"))
        conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ident}"))
        conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON alembic_version FROM {ident}"))
        conn.execute(text(f"REVOKE INSERT ON alembic_version FROM {ident}"))
        for table in APPEND_ONLY_TABLES:
            conn.execute(text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {ident}"))
    return role
