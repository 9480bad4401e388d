"""Who is acting, for whom, from where: set once per request (or CLI command), read by audit and services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from egov.platform.permissions import Principal


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    source_ip: str | None = None
    user_agent: str | None = None
    principal: Principal | None = None
    locale: str = "vi"
    channel: str = "web"  # web | api | cli | worker
    extra: dict[str, str] = field(default_factory=dict)

_current: ContextVar[RequestContext | None] = ContextVar("egov_request_context", default=None)


def current_context() -> RequestContext:
    """The context of the work in progress; background work without one acts as the system."""
    ctx = _current.get()
    return ctx if ctx is not None else RequestContext(request_id="-", channel="system")


def set_context(ctx: RequestContext) -> object:
    return _current.set(ctx)


def reset_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


@contextmanager
def use_context(ctx: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
