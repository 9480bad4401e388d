"""What a context contributes to the platform, declared once in its own `module.py`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter
    from starlette.types import ASGIApp

    from egov.platform.container import Container
    from egov.platform.db import Database
    from egov.platform.jobs import Handler
    from egov.platform.permissions import Principal
    from egov.settings import Section

Round = Callable[[], object]
"""One round of background work; the worker loop calls it every second and logs what it raises."""


@dataclass(frozen=True, slots=True)
class NavEntry:
    """A back-office menu entry, shown to a principal who holds any of `permissions`.

    `label` is the Vietnamese msgid (English comes from the catalogue); permissions are the
    context's StrEnum members, so a renamed permission breaks here, not silently in a template.
    """

    label: str
    href: str
    permissions: tuple[StrEnum, ...]
    order: int = 100

    def shown_to(self, principal: Principal | None) -> bool:
        return principal is not None and any(principal.can(p) for p in self.permissions)


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A built-in role a context offers: its name, its label (Vietnamese, English) and its permissions.

    `in_platform_admin`: the platform administrator holds these permissions too; signing roles say no
    (an administrator must never be able to sign in someone's name). `global_only`: only a holder of a
    global grant may hand it out.
    """

    name: str
    label_vi: str
    label_en: str
    permissions: frozenset[StrEnum]
    in_platform_admin: bool = True
    global_only: bool = False


@dataclass(frozen=True, slots=True)
class CommandGroup:
    """`egov <name> …`: the context's Typer app and the one-line help shown in `egov --help`."""

    name: str
    app: typer.Typer
    help: str


@dataclass(frozen=True, slots=True)
class HotPathContext:
    """What a hot path (ADR 0003) needs from the root: the framework behind it and the container."""

    framework: ASGIApp
    container: Container


@dataclass(frozen=True)
class ContextModule:
    """One context's contributions. `egov.contexts.CONTEXTS` lists every module; the app, the CLI, the
    worker, the migrations' model list, the import contracts and the architecture tests read it.

    - `routers`: HTML and JSON routers, included in this order;
    - `commands`: CLI groups (`egov <name> …`);
    - `jobs(container)`: job handlers by kind (idempotent: a job may run twice);
    - `rounds(container)`: background rounds for the worker loop;
    - `models`: the module holding the context's tables (imported for Alembic);
    - `settings`: (section name, model) nested under Settings as EGOV_<NAME>__<FIELD>;
    - `nav`: back-office menu entries;
    - `roles`: the built-in roles granting the context's permissions (the role catalogue is their union);
    - `build(container)`: registers the context's services on the container (`container.provide`);
    - `hot_paths(ctx)`: exact paths answered before the framework (ADR 0003), path → ASGI app;
    - `install(db)`: session hooks on the database's own session factories, installed explicitly at start-up;
    - `stop()`: what must not outlive the process (worker processes, pools), called when the app stops.
    """

    name: str
    routers: Sequence[APIRouter] = ()
    commands: Sequence[CommandGroup] = ()
    jobs: Callable[[Container], Mapping[str, Handler]] | None = None
    rounds: Callable[[Container], Sequence[Round]] | None = None
    models: str | None = None
    settings: tuple[str, type[Section]] | None = None
    nav: Sequence[NavEntry] = ()
    roles: Sequence[RoleSpec] = ()
    build: Callable[[Container], None] | None = None
    hot_paths: Callable[[HotPathContext], Mapping[str, ASGIApp]] | None = None
    install: Callable[[Database], None] | None = None
    stop: Callable[[], None] | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
