"""Fixtures and factories for the registry context."""
