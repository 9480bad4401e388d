"""Contexts meet only through each other's __init__ or interfaces module (ARCHITECTURE.md convention 1)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "egov"
CONTEXTS = {"registry", "auth", "pki", "signing", "exchange", "datashare", "portal", "reporting", "cabinet", "soc"}
ALLOWED_SUBMODULES = {"interfaces"}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_contexts_import_each_other_only_through_init_or_interfaces() -> None:
    offences = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        own = rel[0] if rel[0] in CONTEXTS else None
        if own is None:  # the composition root (app, cli, demo) wires contexts together on purpose
            continue
        for line, module in _imports(path):
            parts = module.split(".")
            if len(parts) < 3 or parts[0] != "egov" or parts[1] not in CONTEXTS or parts[1] == own:
                continue
            if parts[2] not in ALLOWED_SUBMODULES:
                offences.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert not offences, "reach other contexts through their __init__ or interfaces:\n" + "\n".join(offences)


def test_the_check_itself_catches_a_deep_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from egov.registry.models import Citizen\nfrom egov.registry import something\n")
    modules = [m for _, m in _imports(sample)]
    assert modules == ["egov.registry.models", "egov.registry"]
