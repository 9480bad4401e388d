"""The OpenAPI document says every answer: problem+json errors, who may call, CSRF, as the code answers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute

from egov.platform.permissions import PUBLIC, declared_permissions

PROBLEM_JSON = "application/problem+json"
SESSION_SCHEME = "session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# What each status means on this API, for the document (the bodies say it again in the caller's language).
DESCRIPTIONS: dict[int, str] = {
    400: "Bad request: the request cannot be read (problem+json).",
    401: "Not signed in, or the session has ended (problem+json `unauthenticated`).",
    403: "Signed in without the permission this operation needs (problem+json `forbidden`).",
    404: "Not found, or managed outside the caller's agencies: the two are not told apart (problem+json).",
    409: "Conflicts with the current state, e.g. an approver approving their own request (problem+json).",
    413: "The upload is larger than the limit (problem+json).",
    422: "One or more fields break a rule; each is named with a stable rule code (problem+json).",
    429: "Too many attempts: wait the `Retry-After` seconds (problem+json).",
}
CSRF_403 = ("Refused by the CSRF check: a request carrying the session cookie must echo the `egov_csrf` cookie "
            "in `X-CSRF-Token` (problem+json `csrf_failed`).")


SECURITY_SCHEMES: dict[str, Any] = {
    SESSION_SCHEME: {
        "type": "apiKey", "in": "cookie", "name": "egov_session",
        "description": "The session cookie set by signing in at /login (unsafe methods also need X-CSRF-Token).",
    },
    "client_basic": {"type": "http", "scheme": "basic",
                     "description": "An OAuth client's id and secret (client_secret_basic, RFC 6749 §2.3.1)."},
    "oauth2": {"type": "oauth2", "description": "Access tokens from this platform's OpenID provider.", "flows": {
        "authorizationCode": {"authorizationUrl": "/oidc/authorize", "tokenUrl": "/oidc/token",
                              "scopes": {"openid": "OpenID Connect", "profile": "Name", "offline_access":
                                         "A refresh token"}},
        "clientCredentials": {"tokenUrl": "/oidc/token", "scopes": {}},
    }},
}


class ProblemFieldError(BaseModel):
    """One broken rule on one input field."""

    field: str = Field(description="The input as sent: `personal_id`, `row 14: birth_date`, or `request`.")
    rule: str = Field(description="A stable code clients may switch on, e.g. `personal_id.length`.")
    message: str = Field(description="The rule in the caller's language (Vietnamese by default).")


class Problem(BaseModel):
    """RFC 9457 problem details, with the request id to quote to support and the broken rules."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`urn:egov:problem:<code>`.", examples=["urn:egov:problem:not_found"])
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path that was requested.")
    request_id: str | None = None
    errors: list[ProblemFieldError] = Field(default_factory=list)


def problem_response(status: int, description: str | None = None, *,
                     headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """One documented error answer with the Problem schema (referenced: `install` adds the component)."""
    answer: dict[str, Any] = {
        "description": description or DESCRIPTIONS.get(status, "Error (problem+json)."),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if status == 429:
        headers = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
                   **(headers or {})}
    if headers:
        answer["headers"] = headers
    return answer


def problems(*statuses: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: `problems(404, 409)`; `described` overrides a description by
    status (`problems(s404="No such CA.")`)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = problem_response(status, described.get(f"s{status}"))
    return out


def text_response(description: str) -> dict[str, Any]:
    """A 200 in plain text (signed notes, keys)."""
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


def binary_response(media: str | tuple[str, ...], description: str) -> dict[str, Any]:
    """A 200 whose body is bytes of one of `media` types (certificates, CRLs, OCSP, signed files)."""
    types = (media,) if isinstance(media, str) else media
    return {"description": description,
            "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in types}}


def binary_body(media: str, description: str = "") -> dict[str, Any]:
    """`openapi_extra=` for a route that reads its raw body of `media` type (OCSP, time-stamp queries)."""
    return {"requestBody": {"required": False, "description": description,
                            "content": {media: {"schema": {"type": "string", "format": "binary"}}}}}


def _dependency_calls(dependant: Any) -> list[Any]:
    calls = []
    for dep in dependant.dependencies:
        calls.append(dep.call)
        calls.extend(_dependency_calls(dep))
    return calls


def _is_csrf_exempt(route: RouteContext) -> bool:
    return bool(getattr(route.endpoint, "__egov_csrf_exempt__", False))


def complete(doc: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """Add to FastAPI's document what the app's shared layers answer for every route:

    - 401 and 403 (with the session security scheme) where the route declares a permission;
    - 403 for the CSRF check on unsafe methods not exempt from it (routes authenticated in the request);
    - 422 as problem+json in place of FastAPI's `HTTPValidationError`, which the app never sends.
    Routes state their own domain answers (404, 409, 429…) with `problems(...)`.
    """
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    for route in iter_route_contexts(list(routes)):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        item = doc.get("paths", {}).get(str(route.path_format), {})
        declared = declared_permissions(_dependency_calls(route.dependant)) or ()
        protected = bool(declared) and PUBLIC not in declared
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            body = operation.get("requestBody")
            if body is not None:
                responses.setdefault("400", problem_response(400))
                _no_null_parts(body, schemas)
            if "422" in responses and _is_fastapi_default_422(responses["422"]):
                responses["422"] = problem_response(422)
            if protected:
                operation.setdefault("security", [{SESSION_SCHEME: []}])
                responses.setdefault("401", problem_response(401))
                responses.setdefault("403", problem_response(403))
            if method in UNSAFE_METHODS and not _is_csrf_exempt(route):
                forbidden = responses.setdefault("403", problem_response(403, CSRF_403))
                if forbidden["description"] != CSRF_403 and "CSRF" not in forbidden["description"]:
                    forbidden["description"] += " Or " + CSRF_403[0].lower() + CSRF_403[1:]
    for name in ("HTTPValidationError", "ValidationError"):
        if not _referenced(doc, f"#/components/schemas/{name}"):
            schemas.pop(name, None)
    return doc


def _no_null_parts(body: dict[str, Any], schemas: dict[str, Any]) -> None:
    """A multipart field is sent or left out, never null: `UploadFile | None` documents as
    `anyOf [binary, null]`, which a client cannot send; say `binary`, not required."""
    schema = body.get("content", {}).get("multipart/form-data", {}).get("schema")
    if schema and "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1])
    if not schema:
        return
    for name, prop in list(schema.get("properties", {}).items()):
        variants = prop.get("anyOf", [])
        kept = [v for v in variants if v.get("type") != "null"]
        if variants and len(kept) == 1:
            schema["properties"][name] = {**{k: v for k, v in prop.items() if k != "anyOf"}, **kept[0]}


def _is_fastapi_default_422(answer: dict[str, Any]) -> bool:
    content = answer.get("content", {})
    return PROBLEM_JSON not in content and "HTTPValidationError" in str(content)


def _referenced(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_referenced(v, ref) for k, v in node.items() if k != "components")
    if isinstance(node, list):
        return any(_referenced(v, ref) for v in node)
    return False


def install(app: FastAPI) -> None:
    """Serve the completed document at `app.openapi_url`: built once, on first request."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version,
                              description=app.description, routes=app.routes, tags=app.openapi_tags,
                              servers=app.servers)
            app.openapi_schema = complete(doc, app.routes)
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010 - FastAPI's documented way to customise its document

