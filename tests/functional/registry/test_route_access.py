"""Every registry route: declares its permission; anonymous, wrong-role and right-role callers get the right answer.

Read from the registry's own routers, so a route added later is covered once it has its expected
status below. Path ids name real rows (an agency, a citizen, an enterprise, an officer), so the
right role must get the page or the record itself, not a 404.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.registry import RegistryTree, make_citizen, make_enterprise, make_officer

from egov.auth import ROLES
from egov.platform.clock import FixedClock
from egov.platform.ids import new_id
from egov.platform.permissions import GLOBAL, declared_permissions
from egov.registry.api import router as api_router
from egov.registry.views import router as views_router


def _calls(dependant: Any) -> list[Any]:
    out = []
    for dep in dependant.dependencies:
        out.append(dep.call)
        out.extend(_calls(dep))
    return out


ROUTES = [
    (method, route.path, declared_permissions(_calls(route.dependant)))
    for router in (views_router, api_router)
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in sorted(route.methods - {"HEAD"})
]
IDS = [f"{m} {p}" for m, p, _ in ROUTES]


# What the right role gets with the ids of existing rows and an empty body (posts: 422, the form or
# problem naming the missing fields; the export form has defaults for everything, so it answers).
RIGHT_ROLE_STATUS: dict[tuple[str, str], int] = {
    ("GET", "/api/registry/agencies"): 200,
    ("GET", "/api/registry/agencies/{code}"): 200,
    ("GET", "/api/registry/citizens"): 200,
    ("POST", "/api/registry/citizens"): 422,
    ("GET", "/api/registry/citizens/by-personal-id/{personal_id}"): 200,
    ("GET", "/api/registry/citizens/{citizen_id}"): 200,
    ("GET", "/api/registry/enterprises/{tax_code}"): 200,
    ("GET", "/back-office/registry"): 200,
    ("GET", "/back-office/registry/agencies"): 200,
    ("GET", "/back-office/registry/agencies/{code}"): 200,
    ("GET", "/back-office/registry/citizens"): 200,
    ("GET", "/back-office/registry/citizens/export"): 200,
    ("POST", "/back-office/registry/citizens/export"): 200,
    ("GET", "/back-office/registry/citizens/import"): 200,
    ("POST", "/back-office/registry/citizens/import"): 422,
    ("GET", "/back-office/registry/citizens/new"): 200,
    ("POST", "/back-office/registry/citizens/new"): 422,
    ("GET", "/back-office/registry/citizens/{citizen_id}"): 200,
    ("GET", "/back-office/registry/enterprises"): 200,
    ("GET", "/back-office/registry/enterprises/new"): 200,
    ("POST", "/back-office/registry/enterprises/new"): 422,
    ("GET", "/back-office/registry/enterprises/{tax_code}"): 200,
    ("GET", "/back-office/registry/officers"): 200,
    ("GET", "/back-office/registry/officers/{officer_id}"): 200,
}


@pytest.fixture
def path_values(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> dict[str, str]:
    """Real rows for every path parameter the registry's routes take."""
    citizen = make_citizen(session, clock, agency=registry_tree.dept_a)
    enterprise = make_enterprise(session, clock, agency=registry_tree.dept_a, representative=citizen)
    officer, _ = make_officer(session, clock, citizen=citizen, agency=registry_tree.dept_a)
    session.commit()
    return {"code": registry_tree.dept_a.code, "citizen_id": citizen.id, "personal_id": citizen.personal_id,
            "tax_code": enterprise.tax_code, "officer_id": officer.id}


def _concrete(path: str, values: dict[str, str] | None = None) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: (values or {}).get(m.group(1)) or new_id(), path)


def _call(client: Any, method: str, path: str, values: dict[str, str] | None = None) -> Any:
    headers = {"X-CSRF-Token": csrf_token(client)} if method != "GET" else {}
    return client.request(method, _concrete(path, values), headers=headers, follow_redirects=False)


def test_every_route_declares_a_registry_permission() -> None:
    assert len(ROUTES) >= 20
    for method, path, declared in ROUTES:
        assert declared, f"{method} {path} declares no permission"
        assert all(p.startswith("registry:") for p in declared), (method, path, declared)
    assert {(m, p) for m, p, _ in ROUTES} == RIGHT_ROLE_STATUS.keys(), "RIGHT_ROLE_STATUS must list every route"


@pytest.mark.parametrize(("method", "path", "declared"), ROUTES, ids=IDS)
def test_anonymous(client: Any, method: str, path: str, declared: tuple[str, ...]) -> None:
    resp = _call(client, method, path)
    if path.startswith("/api/"):
        assert resp.status_code == 401
        assert resp.headers["content-type"].startswith("application/problem+json")
    else:
        assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("method", "path", "declared"), ROUTES, ids=IDS)
def test_wrong_then_right_role(client: Any, session: Session, path_values: dict[str, str], method: str, path: str,
                               declared: tuple[str, ...]) -> None:
    wrong = make_account(session, username=f"w{new_id()[-10:]}", roles=[("auditor", GLOBAL)])
    login(client, wrong.username)
    assert _call(client, method, path, path_values).status_code == 403
    role = next(str(r) for r, perms in ROLES.items() if declared[0] in perms and r != "platform_admin")
    right = make_account(session, username=f"r{new_id()[-10:]}", roles=[(role, GLOBAL)])
    client.cookies.clear()
    login(client, right.username)
    resp = _call(client, method, path, path_values)
    expected = RIGHT_ROLE_STATUS[(method, path)]
    assert resp.status_code == expected, f"{method} {path} answered {role} {resp.status_code}, expected {expected}"
    if path.startswith("/api/") and expected >= 400:
        assert resp.headers["content-type"].startswith("application/problem+json"), (method, path)

