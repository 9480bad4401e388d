"""Permissions `<context>:<resource>:<action>`, scoped to an agency; every route declares one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlalchemy import ColumnElement, Select, false
from sqlalchemy.orm import Session

from egov.platform.errors import AuthenticationRequired, PermissionDenied

PUBLIC = "public"
AUTHENTICATED = "authenticated"
GLOBAL = "*"  # a grant valid in every agency (platform administrators)


@dataclass(frozen=True)
class Principal:
    """The signed-in party, resolved from the session for each request.

    `grants` pairs a permission with the agency id it is valid in (GLOBAL for all agencies);
    a role held in one agency never opens another agency's records.
    """

    account_id: str
    kind: str  # citizen | organisation | officer | admin | system
    display_name: str
    subject_id: str | None = None
    grants: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    acr: str = "0"
    amr: tuple[str, ...] = ()
    session_id: str | None = None
    represented_party: str | None = None  # "citizen:<id>" / "enterprise:<id>" while acting for them
    represented_label: str | None = None
    agency_id: str | None = None  # the agency the officer is acting in, if any
    authenticated_at: datetime | None = None  # when the session's holder last proved who they are

    def can(self, permission: str, agency_id: str | None = None) -> bool:
        if (permission, GLOBAL) in self.grants:
            return True
        if agency_id is None:
            return any(p == permission for p, _ in self.grants)
        return (permission, agency_id) in self.grants

    def agencies_for(self, permission: str) -> set[str] | None:
        """Agency ids where `permission` holds; None means every agency."""
        if (permission, GLOBAL) in self.grants:
            return None
        return {a for p, a in self.grants if p == permission}

    def require(self, permission: str, agency_id: str | None = None) -> None:
        """Raise PermissionDenied unless the grant holds (in `agency_id` when given)."""
        if not self.can(permission, agency_id):
            raise PermissionDenied(
                "Bạn không có quyền thực hiện thao tác này.",
                "You do not have permission for this action.",
            )

    @property
    def permissions(self) -> set[str]:
        return {p for p, _ in self.grants}


def _principal_of(request: Any) -> Principal | None:
    return getattr(request.state, "principal", None)


def requires(*permissions: str) -> Callable[..., Awaitable[Principal]]:
    """Route dependency: the caller must hold at least one of `permissions` in some agency.

    Agency-level checks on the record itself happen in the service (Principal.require with the
    record's agency), so guessing another agency's record id yields 404/403, not the record.
    """
    async def dependency(request: Request) -> Principal:  # async: FastAPI runs it inline, no thread hop
        principal = _principal_of(request)
        if principal is None:
            raise AuthenticationRequired("Vui lòng đăng nhập để tiếp tục.", "Please sign in to continue.")
        if not any(principal.can(p) for p in permissions):
            raise PermissionDenied(
                "Bạn không có quyền truy cập trang này.", "You do not have permission to open this page."
            )
        return principal

    dependency.__egov_permission__ = tuple(permissions)  # type: ignore[attr-defined]
    dependency.__name__ = "requires_" + "_or_".join(p.replace(":", "_") for p in permissions)
    return dependency


async def _public(request: Request) -> Principal | None:
    return _principal_of(request)


_public.__egov_permission__ = (PUBLIC,)  # type: ignore[attr-defined]
public = _public
"""Route dependency that declares a route open to everyone; returns the principal if signed in."""


async def _authenticated(request: Request) -> Principal:
    principal = _principal_of(request)
    if principal is None:
        raise AuthenticationRequired("Vui lòng đăng nhập để tiếp tục.", "Please sign in to continue.")
    return principal


_authenticated.__egov_permission__ = (AUTHENTICATED,)  # type: ignore[attr-defined]
authenticated = _authenticated
"""Route dependency for pages any signed-in person may open (their own account, sign-out)."""


def declared_permissions(dependencies: Iterable[Any]) -> tuple[str, ...] | None:
    """The permissions declared by a route's dependency callables, or None if it declares none."""
    for call in dependencies:
        declared = getattr(call, "__egov_permission__", None)
        if declared:
            return tuple(declared)
    return None


# --- record-level access ------------------------------------------------------------------------------

ScopeExpander = Callable[[Session, Iterable[str]], set[str]]
"""Agency ids a grant held at the given ones reaches (the registry's subtree: units below and merged in)."""


@dataclass(frozen=True)
class Scope:
    """Where a principal may touch records under one permission: `agencies` None means every agency,
    an empty set nowhere (never "no filter")."""

    agencies: frozenset[str] | None

    @property
    def everywhere(self) -> bool:
        return self.agencies is None

    def allows(self, agency_id: str | None) -> bool:
        return self.agencies is None or (agency_id is not None and agency_id in self.agencies)

    def allows_any(self, agency_ids: Iterable[str | None]) -> bool:
        return self.agencies is None or any(a in self.agencies for a in agency_ids if a is not None)


def scope_of(session: Session, principal: Principal, permission: str, expand: ScopeExpander | None = None) -> Scope:
    """The principal's scope for `permission`: its grants' agencies, each with what it reaches (`expand`,
    e.g. `RegistryFacts.subtree_ids`), or every agency for a global grant. A granted agency is in scope
    even if `expand` does not know it (an id the registry does not hold reaches no records anyway)."""
    granted = principal.agencies_for(str(permission))
    if granted is None:
        return Scope(None)
    reached = expand(session, granted) if expand is not None and granted else set()
    return Scope(frozenset(granted | reached))  # a grant at X always covers X itself


def scope_column(model: Any) -> ColumnElement[Any]:
    """The column that says which agency a model's row belongs to: the model declares it by name as
    `__scope__ = "managing_agency_id"`. A model without one cannot be restricted by mistake."""
    name = getattr(model, "__scope__", None)
    if not isinstance(name, str):
        raise TypeError(f"{getattr(model, '__name__', model)!r} declares no __scope__ column")
    column: ColumnElement[Any] = getattr(model, name)
    return column


_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])


def restrict_to(query: _S, scope: Scope, model: Any = None) -> _S:
    """`query` limited to rows of `model` (default: the query's first entity) inside `scope`."""
    if scope.agencies is None:
        return query
    if model is None:
        model = query.column_descriptions[0]["entity"]
    if not scope.agencies:
        return query.where(false())
    return query.where(scope_column(model).in_(sorted(scope.agencies)))


def restrict(query: _S, principal: Principal, permission: str, *, session: Session,
             expand: ScopeExpander | None = None, model: Any = None) -> _S:
    """Record-level access in one place: `query` limited to the rows `principal` may see under
    `permission` (its scope, `scope_of`), by the `__scope__` column of `model` (default: the query's
    first entity). A principal with no grant of `permission` gets no rows, not every row."""
    return restrict_to(query, scope_of(session, principal, permission, expand), model)
