"""Session event hooks installed explicitly on the project's own session factories, never on `Session`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

SessionTarget = sessionmaker[Any] | type[Session]


def _session_class(target: SessionTarget) -> type[Session]:
    if isinstance(target, sessionmaker):
        return target.class_  # each sessionmaker makes its own Session subclass: hooks stay on it
    if target is Session:
        raise ValueError("hooks go on the project's session factories, not on every Session in the process")
    return target


def install_hooks(name: str, hooks: Iterable[tuple[str, Callable[..., Any]]], *targets: SessionTarget) -> None:
    """Listen with `hooks` ((event name, function) pairs) on the sessions each target makes, once per
    target and `name`; `has_hooks(session, name)` then tells a session of such a factory from any other."""
    pairs = list(hooks)
    for target in targets:
        cls = _session_class(target)
        marker = f"_egov_hooks_{name}"
        if getattr(cls, marker, False):
            continue
        for identifier, fn in pairs:
            event.listen(cls, identifier, fn)
        setattr(cls, marker, True)


def has_hooks(session: Session, name: str) -> bool:
    """Whether `session` comes from a factory that `install_hooks(name, …)` was called on."""
    return bool(getattr(type(session), f"_egov_hooks_{name}", False))
