"""What a context offers others (`__init__.__all__`) holds no ORM model: its tables are its own."""

from __future__ import annotations

import importlib

import pytest

from egov.platform.db import Base

CONTEXTS = ["registry", "auth", "pki", "signing", "soc"]


@pytest.mark.parametrize("context", CONTEXTS)
def test_a_context_exports_no_orm_model(context: str) -> None:
    module = importlib.import_module(f"egov.{context}")
    exported = {name: getattr(module, name) for name in module.__all__}
    models = sorted(n for n, v in exported.items() if isinstance(v, type) and issubclass(v, Base))
    assert models == [], f"egov.{context} exports ORM models {models}: offer facts from its interfaces instead"
