"""Every registry route: declares its permission; anonymous, wrong-role and right-role callers get the right answer.

Read from the registry's own routers, so a route added later is covered without a new test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account

from egov.auth import ROLES
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


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: new_id(), path)


def _call(client: Any, method: str, path: str) -> Any:
    headers = {"X-CSRF-Token": csrf_token(client)} if method != "GET" else {}
    return client.request(method, _concrete(path), headers=headers, follow_redirects=False)


def test_every_route_declares_a_registry_permission() -> None:
    assert len(ROUTES) >= 20
    for method, path, declared in ROUTES:
        assert declared, f"{method} {path} declares no permission"
        assert all(p.startswith("registry:") for p in declared), (method, path, declared)


@pytest.mark.parametrize(("method", "path", "declared"), ROUTES, ids=IDS)
def test_anonymous(client: Any, method: str, path: str, declared: tuple[str, ...]) -> None:
    resp = _call(client, method, path)
    if path.startswith("/api/"):
        assert resp.status_code == 401
        assert resp.headers["content-type"].startswith("application/problem+json")
    else:
        assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("method", "path", "declared"), ROUTES, ids=IDS)
def test_wrong_then_right_role(client: Any, session: Session, method: str, path: str,
                               declared: tuple[str, ...]) -> None:
    wrong = make_account(session, username=f"w{new_id()[-10:]}", roles=[("auditor", GLOBAL)])
    login(client, wrong.username)
    assert _call(client, method, path).status_code == 403
    role = next(str(r) for r, perms in ROLES.items() if declared[0] in perms and r != "platform_admin")
    right = make_account(session, username=f"r{new_id()[-10:]}", roles=[(role, GLOBAL)])
    client.cookies.clear()
    login(client, right.username)
    resp = _call(client, method, path)
    assert resp.status_code not in (401, 403), f"{method} {path} refused {role}"
    assert resp.status_code < 500, f"{method} {path} failed for {role}: {resp.status_code}"

