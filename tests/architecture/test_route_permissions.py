"""Every route declares its permission, and each one is checked for anonymous, wrong-role and right-role callers.

The list of routes is read from the real application, so a route added tomorrow is covered
tomorrow without anyone writing a test for it.
"""

from __future__ import annotations

import importlib
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account

from egov.auth import ROLES
from egov.contexts import CONTEXTS, settings_class
from egov.platform.ids import new_id
from egov.platform.permissions import AUTHENTICATED, GLOBAL, PUBLIC, declared_permissions


def _dependency_calls(dependant: Any) -> list[Any]:
    calls = []
    for dep in dependant.dependencies:
        calls.append(dep.call)
        calls.extend(_dependency_calls(dep))
    return calls


def _build_app() -> FastAPI:
    from egov.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="egov-routes-"))
    settings = settings_class()(environment="test", data_dir=tmp, keystore_passphrase="routes-test",  # type: ignore[arg-type]
                        run_background_in_process=False)
    return create_app(settings)


# FastAPI's own documentation pages: public by nature, not ours to guard.
FRAMEWORK_PATHS = {"/api/openapi.json", "/api/docs", "/docs/oauth2-redirect"}


def _api_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every APIRoute with its full path; FastAPI 0.165 nests included routers as `_IncludedRouter`."""
    found: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):
            inner = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            found.extend(_api_routes(route.original_router.routes, prefix + inner))
        elif getattr(route, "path", None) not in FRAMEWORK_PATHS and route.__class__.__name__ != "Mount":
            found.append((getattr(route, "path", repr(route)), route))
    return found


ROUTES: list[tuple[str, str, tuple[str, ...] | None]] = []
for _path, _route in _api_routes(_build_app().routes):
    _declared = declared_permissions(_dependency_calls(_route.dependant)) if isinstance(_route, APIRoute) else None
    for _method in sorted((getattr(_route, "methods", None) or {"GET"}) - {"HEAD"}):
        ROUTES.append((_method, _path, _declared))

PROTECTED = [(m, p, d) for m, p, d in ROUTES if d and PUBLIC not in d]


# Path values of the right shape, so the route itself runs and looks them up (a random id of another
# shape would be refused by parameter validation first and prove nothing about the route).
PATH_VALUES = {"leaf_index": "999999"}

def _right_role_statuses() -> dict[tuple[str, str], int]:
    """Each context's table (tests/functional/<context>/right_role_statuses.py), merged."""
    merged: dict[tuple[str, str], int] = {}
    for module in CONTEXTS:
        path = Path(__file__).resolve().parents[1] / "functional" / module.name / "right_role_statuses.py"
        if path.exists():
            merged.update(importlib.import_module(f"tests.functional.{module.name}.right_role_statuses")
                          .RIGHT_ROLE_STATUS)
    return merged


# What a caller with the right role gets, per route (a route that breaks for the right role answers
# something else and fails here); each context keeps its own table beside its functional tests.
RIGHT_ROLE_STATUS = _right_role_statuses()


def _concrete(path: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: PATH_VALUES.get(m.group(1)) or new_id(), path)


def test_every_route_declares_a_permission() -> None:
    missing = [f"{m} {p}" for m, p, d in ROUTES if not d]
    assert ROUTES, "no routes found"
    assert not missing, "routes without a declared permission (requires/public/authenticated):\n" + "\n".join(missing)


def test_every_role_checked_route_declares_what_the_right_role_gets() -> None:
    checked = {(m, p) for m, p, d in PROTECTED if AUTHENTICATED not in d}
    missing = sorted(checked - RIGHT_ROLE_STATUS.keys())
    assert not missing, "add these routes to RIGHT_ROLE_STATUS with the status the right role gets:\n" + "\n".join(
        f"{m} {p}" for m, p in missing)
    stale = sorted(RIGHT_ROLE_STATUS.keys() - checked)
    assert not stale, f"RIGHT_ROLE_STATUS names routes that are gone or no longer role-checked: {stale}"


def test_the_walk_finds_protected_routes() -> None:
    # The generated tests below are only as good as this list: it must hold the back office.
    assert any(p.startswith("/back-office/registry") for _, p, _ in PROTECTED)
    assert any(p.startswith("/api/registry") for _, p, _ in PROTECTED)
    assert any(p.startswith("/back-office/audit") for _, p, _ in PROTECTED)


def _call(client: Any, method: str, path: str) -> Any:
    headers = {"X-CSRF-Token": csrf_token(client)} if method not in ("GET", "HEAD") else {}
    return client.request(method, _concrete(path), headers=headers, follow_redirects=False)


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


@pytest.mark.parametrize(("method", "path", "declared"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_anonymous_is_sent_to_sign_in(client: Any, method: str, path: str, declared: tuple[str, ...]) -> None:
    resp = _call(client, method, path)
    if _is_api(path):
        assert resp.status_code == 401
        assert resp.headers["content-type"].startswith("application/problem+json")
    else:
        assert resp.status_code == 303
        assert resp.headers["location"].startswith("/login?next=")


def _role_granting(permission: str) -> str | None:
    for role, perms in ROLES.items():
        if permission in perms:
            return str(role)
    return None


@pytest.mark.parametrize(("method", "path", "declared"),
                         [r for r in PROTECTED if AUTHENTICATED not in r[2]],
                         ids=[f"{m} {p}" for m, p, d in PROTECTED if AUTHENTICATED not in d])
def test_wrong_role_is_refused_and_right_role_gets_through(
    client: Any, session: Session, method: str, path: str, declared: tuple[str, ...]
) -> None:
    wrong = make_account(session, username=f"wrong{new_id()[-8:]}", roles=[("auditor", GLOBAL)]
                         if not any(p.startswith("soc:") for p in declared) else [("registry_clerk", GLOBAL)])
    login(client, wrong.username)
    denied = _call(client, method, path)
    assert denied.status_code == 403, f"{method} {path} let a wrong role through: {denied.status_code}"

    role = _role_granting(declared[0])
    assert role, f"no built-in role grants {declared[0]}"
    right = make_account(session, username=f"right{new_id()[-8:]}", roles=[(role, GLOBAL)])
    client.cookies.clear()
    login(client, right.username)
    allowed = _call(client, method, path)
    expected = RIGHT_ROLE_STATUS.get((method, path))
    assert expected is not None, f"{method} {path}: declare in RIGHT_ROLE_STATUS what the right role gets"
    assert allowed.status_code == expected, (
        f"{method} {path} answered the right role {role} {allowed.status_code}, expected {expected}")
    if _is_api(path) and expected >= 400:
        assert allowed.headers["content-type"].startswith("application/problem+json"), (method, path)
