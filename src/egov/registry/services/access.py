"""Record-level access: a grant held at an agency covers that agency's subtree (and what it absorbed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, literal_column, or_, select
from sqlalchemy.orm import Session

from egov.platform.errors import NotFound
from egov.platform.permissions import GLOBAL, Principal, Scope, scope_of
from egov.platform.permissions import restrict as platform_restrict
from egov.registry.models import Agency
from egov.registry.permissions import RegistryPermission
from egov.soc import record_event

_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])

SYSTEM_PRINCIPAL = Principal(
    account_id="system",
    kind="system",
    display_name="egov system",
    grants=frozenset((str(p), GLOBAL) for p in RegistryPermission),
)
"""Who acts for CLI commands and the demo loader: every registry permission, everywhere.

Services take the acting principal as a required argument (no default), so code that means to
act as the system has to say so; the CLI still records an audit event for what it does.
"""


def subtree_ids(session: Session, agency_ids: Iterable[str]) -> set[str]:
    """`agency_ids`, everything below them, and every unit merged into any of these (transitively).

    A unit closed by a merger names its successor; the successor inherits the closed unit's
    records, so whoever may act at the successor may read them. One recursive CTE (both databases);
    the agency table is small (thousands of rows), so this is cheap per request.
    """
    roots = sorted(set(agency_ids))
    if not roots:
        return set()
    seed = select(Agency.id.label("id")).where(Agency.id.in_(roots))
    tree = seed.cte("agency_subtree", recursive=True)
    # One recursive term (PostgreSQL allows only one): children and absorbed units together.
    below = select(Agency.id).join(tree, or_(Agency.parent_id == tree.c.id, Agency.successor_id == tree.c.id))
    # UNION (not UNION ALL) also stops the recursion if bad data ever made a cycle.
    tree = tree.union(below)
    return set(session.scalars(select(literal_column("id")).select_from(tree)))


def scope(session: Session, principal: Principal, permission: str) -> Scope:
    """Where `principal` may touch registry records under `permission`: each granted agency's subtree
    (platform.permissions.scope_of with `subtree_ids`), or everywhere for a global grant."""
    return scope_of(session, principal, permission, subtree_ids)


def restrict(query: _S, principal: Principal, permission: str, *, session: Session, model: Any = None) -> _S:
    """platform.permissions.restrict with the registry's subtree rule: only rows in the principal's scope."""
    return platform_restrict(query, principal, permission, session=session, expand=subtree_ids, model=model)


def allowed_agency_ids(session: Session, principal: Principal, permission: str) -> set[str] | None:
    """`scope(...)` as a set of agency ids; None means every agency.

    An empty set means "nowhere": callers must treat it as such, never as "no filter".
    """
    agencies = scope(session, principal, permission).agencies
    return set(agencies) if agencies is not None else None


def require_any(principal: Principal, permission: str) -> None:
    """The route already checks this; services check again so a new caller cannot skip it."""
    principal.require(str(permission))


def ensure_in_scope(
    session: Session, principal: Principal, permission: str, agency_ids: Iterable[str | None], *, what: str
) -> None:
    """Raise NotFound unless one of `agency_ids` is within the principal's scope for `permission`.

    NotFound, not PermissionDenied: answering 403 would confirm to an officer of another agency
    that a guessed id exists.
    """
    require_any(principal, permission)
    if scope(session, principal, permission).allows_any(agency_ids):
        return
    raise not_found(what)


def not_found(what: str) -> NotFound:
    labels = {
        "citizen": ("Không tìm thấy công dân.", "Citizen not found."),
        "agency": ("Không tìm thấy cơ quan.", "Agency not found."),
        "enterprise": ("Không tìm thấy doanh nghiệp.", "Enterprise not found."),
        "officer": ("Không tìm thấy cán bộ.", "Officer not found."),
    }
    vi, en = labels.get(what, ("Không tìm thấy.", "Not found."))
    return NotFound(vi, en)


def audit(
    session: Session,
    by: Principal,
    event_type: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
    outcome: str = "success",
) -> None:
    """record_event naming `by` as the actor, so a service called outside a request (CLI, demo) names its actor.

    Source address, request id and acting agency still come from the request context.
    """
    record_event(
        session,
        event_type,
        object_type=object_type,
        object_id=object_id,
        details=details,
        outcome=outcome,
        actor_id=by.account_id,
        actor_kind=by.kind,
        actor_name=by.display_name,
    )
