"""The one list of contexts: the app, the CLI, the worker, migrations and the architecture checks read it."""

from __future__ import annotations

from egov import settings
from egov.auth import roles
from egov.auth.module import module as auth
from egov.pki.module import module as pki
from egov.platform.container import Container
from egov.platform.jobs import Handler
from egov.platform.module import ContextModule, NavEntry, Round
from egov.registry.module import module as registry
from egov.settings import Settings
from egov.signing.module import module as signing
from egov.soc.module import module as soc

# Order matters only where routes overlap and for the worker: the audit round runs first in each pass.
CONTEXTS: tuple[ContextModule, ...] = (soc, auth, registry, pki, signing)

# The kernel's own tables (throttle buckets, the job queue) sit beside the contexts' models.
PLATFORM_MODELS = ("egov.platform.throttle", "egov.platform.jobs")


def settings_class() -> type[Settings]:
    """The kernel's settings plus every context's section (EGOV_<CONTEXT>__<FIELD>)."""
    return Settings.compose([m.settings for m in CONTEXTS if m.settings is not None])


def load_settings(**overrides: object) -> Settings:
    """Settings with every section, read once; a wrong value raises SettingsError naming the variable."""
    return settings.load_settings(settings_class(), **overrides)


def model_modules() -> tuple[str, ...]:
    return PLATFORM_MODELS + tuple(m.models for m in CONTEXTS if m.models)


def job_handlers(container: Container) -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for m in CONTEXTS:
        if m.jobs is None:
            continue
        for kind, handler in m.jobs(container).items():
            if kind in handlers:
                raise ValueError(f"job kind {kind!r} is handled twice ({m.name})")
            handlers[kind] = handler
    return handlers


def background_rounds(container: Container) -> list[Round]:
    """Every context's rounds plus the job queue's, in CONTEXTS order (the audit sequencer first)."""
    from egov.platform.jobs import JobRunner

    rounds: list[Round] = []
    for m in CONTEXTS:
        if m.rounds is not None:
            rounds.extend(m.rounds(container))
    rounds.append(JobRunner(container.db, container.clock, job_handlers(container)).round)
    return rounds


def nav_entries() -> list[NavEntry]:
    return sorted((e for m in CONTEXTS for e in m.nav), key=lambda e: e.order)


def install_roles() -> None:
    """The role catalogue is the union of every context's roles (auth holds it, the contexts declare them)."""
    roles.install([spec for m in CONTEXTS for spec in m.roles])


def build(container: Container) -> Container:
    """Install the role catalogue and register every context's services on the container (each built
    on first use)."""
    install_roles()
    for m in CONTEXTS:
        if m.build is not None:
            m.build(container)
    return container
