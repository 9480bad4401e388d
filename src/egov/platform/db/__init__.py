"""Database seam: engine, base model, and the few operations that differ between SQLite and PostgreSQL."""

from egov.platform.db.base import Base, UtcDateTime, table_of
from egov.platform.db.bulk import bulk_load
from egov.platform.db.engine import Database, make_engine
from egov.platform.db.locks import try_singleton_lock

__all__ = ["Base", "Database", "UtcDateTime", "bulk_load", "make_engine", "table_of", "try_singleton_lock"]
