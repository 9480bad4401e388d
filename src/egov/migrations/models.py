"""Imports every context's models (the list in egov.contexts) so Base.metadata is complete for Alembic."""

import importlib

from egov import contexts
from egov.platform.db import Base

MODEL_MODULES = contexts.model_modules()


def load_all() -> type[Base]:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base
