"""Run `egov --help` and every subcommand's `--help` in the interpreter of an installed egov (install-check).

It runs with nothing but egov's own dependencies (a fresh venv made by `make install-check`), so it
imports only the standard library, typer and egov. The command tree is walked from the Typer app,
not listed here, so a new command is checked without editing this file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def walk(command: Any, path: list[str]) -> Iterator[list[str]]:
    """Every command path under `command`, depth first, the group itself included."""
    yield path
    subcommands = getattr(command, "commands", None) or {}
    for name in sorted(subcommands):
        if not getattr(subcommands[name], "hidden", False):
            yield from walk(subcommands[name], [*path, name])


def main() -> int:
    egov = shutil.which("egov", path=str(Path(sys.executable).parent))
    if egov is None:
        print("install-check: no `egov` script next to this interpreter", file=sys.stderr)
        return 1
    # The console script itself, as an operator runs it: this is where a missing dependency shows.
    top = subprocess.run([egov, "--help"], capture_output=True, text=True, timeout=120)
    if top.returncode != 0:
        print(f"install-check: `egov --help` failed ({top.returncode}):\n{top.stderr}", file=sys.stderr)
        return 1

    import typer.main
    from typer.testing import CliRunner

    from egov.cli import app

    root = typer.main.get_command(app)
    runner = CliRunner()
    failed = []
    paths = list(walk(root, []))
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], prog_name="egov")
        ok = result.exit_code == 0 and "Usage" in result.output
        print(f"{'ok  ' if ok else 'FAIL'} egov {' '.join([*path, '--help'])}")
        if not ok:
            failed.append((path, result))
    for path, result in failed:
        print(f"\n`egov {' '.join(path)} --help` exited {result.exit_code}:\n{result.output}", file=sys.stderr)
        if result.exception is not None:
            print(repr(result.exception), file=sys.stderr)
    print(f"install-check: {len(paths) - len(failed)} of {len(paths)} commands show their help")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
