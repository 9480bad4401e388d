"""The process-wide container: the kernel's parts plus each context's services, typed and built once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import TypeVar, cast

from egov.platform.clock import Clock
from egov.platform.db import Database
from egov.platform.keys import KeyStore
from egov.platform.notify import Notifier, OutboxSender, RefusingSms, SmtpSender
from egov.settings import Settings

T = TypeVar("T")


class ServiceNotProvided(LookupError):
    """No context provides this service: its module's `build` did not register it (a wiring bug)."""


class Container:
    """Settings, database, clock and key store, and the services the contexts register on it.

    A context's `module.build(container)` registers a factory per service class (`provide`);
    anyone holding the container asks for a service by its class (`get`), which builds it once, on
    first use, with the container's lock held, so two threads never build two of the same.
    Lookups are by type, not by string, so a rename or a wrong key is a type error, not a KeyError. A
    context may provide an implementation under another context's Protocol (auth provides signing's
    `StepUpVerifier`), so the user depends on the interface only.
    """

    def __init__(self, *, settings: Settings, db: Database, clock: Clock, keys: KeyStore) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.keys = keys
        self._factories: dict[type, Callable[[Container], object]] = {}
        self._built: dict[type, object] = {}
        self._lock = threading.RLock()

    def provide(self, kind: type[T], factory: Callable[[Container], T]) -> None:
        """Register how to build `kind` (once per process, on first `get`)."""
        with self._lock:
            if kind in self._factories:
                raise ValueError(f"{kind.__qualname__} is provided twice")
            self._factories[kind] = factory

    def get(self, kind: type[T]) -> T:
        """The one instance of `kind` in this process (built on first use)."""
        built = self._built.get(kind)
        if built is not None:
            return cast(T, built)
        with self._lock:
            built = self._built.get(kind)
            if built is None:
                factory = self._factories.get(kind)
                if factory is None:
                    raise ServiceNotProvided(f"no context provides {kind.__module__}.{kind.__qualname__}")
                built = self._built[kind] = factory(self)
        return cast(T, built)

    def override(self, kind: type[T], instance: T) -> None:
        """Use `instance` as the one `kind` from now on (a test's or a benchmark's own configuration)."""
        with self._lock:
            self._built[kind] = instance

    @cached_property
    def notifier(self) -> Notifier:
        """E-mail over SMTP when configured, else the development outbox; SMS only to the outbox."""
        s = self.settings
        outbox = OutboxSender(s.data_dir / "outbox")
        email = (SmtpSender(s.smtp_host, s.smtp_port, s.smtp_from, s.smtp_starttls, s.smtp_username,
                            s.smtp_password.get_secret_value()) if s.smtp_host else outbox)
        return Notifier(email=email, sms=outbox if s.sms_sender == "outbox" else RefusingSms())
