"""Every third-party module egov imports at run time is a declared dependency, so `pip install .` works."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "egov"


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _top_level_imports(path: Path) -> set[str]:
    """Absolute imports anywhere in the file, function-level ones included (those run too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def _declared() -> set[str]:
    """The `dependencies` of pyproject.toml, plus what the extras named there bring (pyHanko[opentype] …)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names: set[str] = set()
    for line in project["dependencies"]:
        req = Requirement(line)
        names.add(_norm(req.name))
        if not req.extras:
            continue
        try:
            theirs = requires(req.name) or []
        except PackageNotFoundError:
            continue
        for spec in map(Requirement, theirs):
            if spec.marker and any(spec.marker.evaluate({"extra": extra}) for extra in req.extras):
                names.add(_norm(spec.name))
    return names


def third_party_imports(src: Path) -> dict[str, set[str]]:
    """Distribution name -> files that import a module it provides (stdlib and egov left out)."""
    providers = packages_distributions()
    out: dict[str, set[str]] = {}
    for path in src.rglob("*.py"):
        for module in _top_level_imports(path):
            if module in sys.stdlib_module_names or module in ("egov", "__future__"):
                continue
            for dist in providers.get(module, [f"<no installed distribution provides {module}>"]):
                out.setdefault(_norm(dist), set()).add(str(path.relative_to(src.parent)))
    return out


def test_every_runtime_import_is_a_declared_dependency() -> None:
    declared = _declared()
    missing = {dist: files for dist, files in third_party_imports(SRC).items() if dist not in declared}
    assert not missing, "imported by egov but not in pyproject's dependencies (only in dev, or transitive):\n" + \
        "\n".join(f"{dist}: {', '.join(sorted(files))}" for dist, files in sorted(missing.items()))


def test_the_check_sees_a_function_level_import_of_a_dev_only_package(tmp_path: Path) -> None:
    (tmp_path / "egov").mkdir()
    (tmp_path / "egov" / "late.py").write_text("def f():\n    import pytest\n    return pytest\n")
    found = third_party_imports(tmp_path / "egov")
    assert found == {"pytest": {"egov/late.py"}}
    assert "pytest" not in _declared()
