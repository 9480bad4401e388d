"""The one context list is complete and is what the app, the CLI, the worker and the migrations use."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from egov import contexts
from egov.cli import app as cli_app
from egov.migrations.models import MODEL_MODULES
from egov.platform.module import ContextModule

SRC = Path(__file__).resolve().parents[2] / "src" / "egov"
# The file set ARCHITECTURE.md fixes for every context (a file may be a package of the same name).
FILE_SET = ("__init__", "interfaces", "module", "models", "services", "schemas", "views", "api", "permissions",
            "audit", "tasks", "cli")
NOT_CONTEXTS = {"platform", "web", "migrations", "locale"}


def _has(folder: Path, name: str) -> bool:
    return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()


def test_every_context_package_is_in_the_list() -> None:
    packages = {p.parent.name for p in SRC.glob("*/module.py")} - NOT_CONTEXTS
    listed = {m.name for m in contexts.CONTEXTS}
    assert packages == listed, f"module.py without a CONTEXTS entry, or the reverse: {packages ^ listed}"
    for folder in SRC.iterdir():
        if folder.is_dir() and (folder / "__init__.py").exists() and folder.name not in NOT_CONTEXTS:
            assert folder.name in listed, f"egov/{folder.name} is a package but not a listed context"


def test_every_context_has_the_fixed_file_set() -> None:
    missing = [f"{m.name}/{name}" for m in contexts.CONTEXTS for name in FILE_SET if not _has(SRC / m.name, name)]
    assert not missing, "ARCHITECTURE.md's file set is incomplete: " + ", ".join(missing)


def test_each_module_declares_a_name_models_and_routes() -> None:
    for m in contexts.CONTEXTS:
        assert isinstance(m, ContextModule)
        assert m.models == f"egov.{m.name}.models"
        assert m.models in MODEL_MODULES
        assert m.routers, f"{m.name} offers no routes"


def test_the_cli_has_every_context_group() -> None:
    groups = set(get_command(cli_app).commands)  # type: ignore[attr-defined]
    for m in contexts.CONTEXTS:
        for g in m.commands:
            assert g.name in groups


def test_the_app_includes_every_router_and_hot_path(app) -> None:  # type: ignore[no-untyped-def]
    included = {id(getattr(r, "original_router", None)) for r in app.routes}  # FastAPI 0.165 nests routers
    for m in contexts.CONTEXTS:
        for router in m.routers:
            assert id(router) in included, f"a router of {m.name} is not in the app"
    assert set(app.hot_paths) == {"/oidc/token", "/oidc/introspect", "/pki/ocsp"}


def test_no_context_offers_its_tables_to_the_others() -> None:
    """A context's __init__ exports Protocols, frozen data objects, exceptions and functions, never ORM models."""
    import importlib

    from egov.platform.db import Base

    for m in contexts.CONTEXTS:
        package = importlib.import_module(f"egov.{m.name}")
        exported = [getattr(package, name) for name in getattr(package, "__all__", ())]
        models = [obj.__name__ for obj in exported if isinstance(obj, type) and issubclass(obj, Base)]
        assert not models, f"egov.{m.name} exports ORM models: {models}"
