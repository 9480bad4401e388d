"""Shared web shell: layout, templates, static assets, error pages, request middleware."""
