"""Fixtures and factories for the auth context."""
