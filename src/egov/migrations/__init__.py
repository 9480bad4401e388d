"""Alembic migrations: one linear history that runs on SQLite (batch mode) and PostgreSQL."""
