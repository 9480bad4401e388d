"""Context boundaries, layering and the kernel's independence, as import-linter contracts made from the one
context list (tests/tools/import_contracts.py); `make imports` runs the same check."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.tools import import_contracts

from egov.contexts import CONTEXTS


def test_every_context_in_the_list_is_covered_by_the_contracts() -> None:
    contracts = tomllib.loads(import_contracts.contracts())["tool"]["importlinter"]["contracts"]
    names = {c["name"] for c in contracts}
    for module in CONTEXTS:
        package = f"egov.{module.name}"
        assert f"Other contexts reach {package} only through its __init__ or interfaces" in names
        layers = next(c for c in contracts if c["type"] == "layers")
        assert package in layers["containers"]
        crypto = next(c for c in contracts if c["name"].startswith("Only the key store"))
        if module.name not in ("pki", "signing"):
            assert package in crypto["source_modules"]


def test_the_contracts_are_kept(tmp_path: Path) -> None:
    config = tmp_path / "importlinter.toml"
    config.write_text(import_contracts.contracts(), encoding="utf-8")
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache", str(config)], cwd=import_contracts.ROOT / "src",
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
