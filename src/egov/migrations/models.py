"""Imports every context's models so Base.metadata is complete for Alembic and create_all."""

import importlib

from egov.platform.db import Base

MODEL_MODULES = (
    "egov.platform.throttle",
    "egov.platform.jobs",
    "egov.soc.models",
    "egov.registry.models",
    "egov.auth.models",
    "egov.pki.models",
    "egov.signing.models",
)


def load_all() -> type[Base]:
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base
