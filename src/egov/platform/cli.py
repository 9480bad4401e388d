"""What every context's commands share: settings and the container, or one clear line and an exit code."""

from __future__ import annotations

from collections.abc import Callable

import typer
from rich.console import Console

from egov.platform.container import Container
from egov.platform.db.engine import DatabaseUnavailable
from egov.settings import Settings, SettingsError

console = Console(stderr=True, soft_wrap=True)

# The composition root (egov.cli) installs these when it starts: the kernel cannot import the root.
_load_settings: Callable[[], Settings] | None = None
_build_container: Callable[[Settings], Container] | None = None


def install(*, load_settings: Callable[[], Settings], build_container: Callable[[Settings], Container]) -> None:
    """Called once by the root CLI: how settings are read and the container is built."""
    global _load_settings, _build_container
    _load_settings, _build_container = load_settings, build_container


def settings_or_exit() -> Settings:
    """Settings, or one clear line and exit code 2: an operator needs the fix, not a traceback."""
    if _load_settings is None:
        raise RuntimeError("egov.platform.cli.install() was not called (the root CLI does it)")
    try:
        return _load_settings()
    except SettingsError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def container_or_exit(check_db: bool = True) -> Container:
    """The container, or exit code 3 with the reason when the database cannot be reached."""
    if _build_container is None:
        raise RuntimeError("egov.platform.cli.install() was not called (the root CLI does it)")
    container = _build_container(settings_or_exit())
    if check_db:
        try:
            container.db.check()
        except DatabaseUnavailable as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(3) from None
    return container
