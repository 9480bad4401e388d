"""The import-linter contracts, made from egov.contexts.CONTEXTS (so a new context is covered by adding it
there), written to a TOML file and checked with `lint-imports`. Run: python -m tests.tools.import_contracts"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from egov.contexts import CONTEXTS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "egov"
# The composition root wires contexts together; nothing below it may import it.
ROOT_MODULES = ["egov.app", "egov.cli", "egov.bootstrap", "egov.contexts", "egov.jobs", "egov.demo", "egov.backup"]
# The only places allowed to speak cryptography directly (ARCHITECTURE.md convention 1).
CRYPTO_ALLOWED = {"egov.platform.keys", "egov.pki", "egov.signing"}
# What one context may import of another: its package and its interfaces.
PUBLIC_SUBMODULES = {"interfaces"}


def _submodules(package: str) -> list[str]:
    folder = PACKAGE.joinpath(*package.split(".")[1:])
    names = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith(("_", ".")) or child.name == "__pycache__":
            continue
        if child.is_dir() and (child / "__init__.py").exists():
            names.append(f"{package}.{child.name}")
        elif child.suffix == ".py":
            names.append(f"{package}.{child.stem}")
    return names


def _quoted(names: list[str]) -> str:
    return "[" + ", ".join(f'"{n}"' for n in names) + "]"


def contracts() -> str:
    contexts = [f"egov.{m.name}" for m in CONTEXTS]
    out = ['[tool.importlinter]', 'root_package = "egov"', 'include_external_packages = true', ""]

    def contract(**fields: object) -> None:
        out.append("[[tool.importlinter.contracts]]")
        for key, value in fields.items():
            rendered = _quoted(value) if isinstance(value, list) else (
                "true" if value is True else f'"{value}"')
            out.append(f"{key} = {rendered}")
        out.append("")

    contract(name="The kernel (platform, web) depends on no context and not on the root", type="forbidden",
             source_modules=["egov.platform", "egov.web"], forbidden_modules=contexts + ROOT_MODULES)
    contract(name="No context imports the composition root", type="forbidden",
             source_modules=contexts, forbidden_modules=ROOT_MODULES)
    for ctx in contexts:
        private = [m for m in _submodules(ctx) if m.rsplit(".", 1)[1] not in PUBLIC_SUBMODULES]
        others = [c for c in contexts if c != ctx]
        if private and others:
            contract(name=f"Other contexts reach {ctx} only through its __init__ or interfaces", type="forbidden",
                     source_modules=others, forbidden_modules=private, allow_indirect_imports=True)
    contract(name="Inside a context: module > views/api/cli > services > models", type="layers",
             containers=contexts,
             layers=["(module)", "(views) : (api) : (cli) : (tasks)", "(services)", "(models)"])
    everyone = [m for m in _submodules("egov") if m not in CRYPTO_ALLOWED and m != "egov.platform"]
    everyone += [m for m in _submodules("egov.platform") if m not in CRYPTO_ALLOWED]
    contract(name="Only the key store, pki and signing touch cryptography", type="forbidden",
             source_modules=everyone, forbidden_modules=["cryptography"], allow_indirect_imports=True)
    return "\n".join(out)


def main() -> int:
    target = ROOT / "var" / "importlinter.toml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(contracts(), encoding="utf-8")
    return subprocess.call([str(Path(sys.executable).with_name("lint-imports")), "--no-cache", str(target)],
                           cwd=ROOT / "src")


if __name__ == "__main__":
    raise SystemExit(main())
