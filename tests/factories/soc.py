"""Fixtures and factories for the soc context."""
