"""The answers schemathesis found off-spec, pinned one by one: Allow on 405, strict inputs, PKI errors as JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from tests.factories.auth import login, make_account

from egov.platform.permissions import GLOBAL


def test_405_names_every_method_of_the_path(client: Any) -> None:
    # /oidc/userinfo is two routes (GET and POST): Starlette's own Allow named only the first.
    resp = client.request("PUT", "/oidc/userinfo")
    assert resp.status_code == 405
    assert {m.strip() for m in resp.headers["allow"].split(",")} - {"HEAD"} == {"GET", "POST"}
    assert "GET" in client.request("TRACE", "/api/auth/me").headers["allow"]


def test_pki_errors_are_problem_json(client: Any) -> None:
    resp = client.get("/pki/ca/nope.crt", headers={"Accept": "*/*"})
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")


def test_agency_as_of_takes_only_a_date(client: Any, session: Session) -> None:
    make_account(session, username="clerkdate", roles=[("registry_clerk", GLOBAL)])
    login(client, "clerkdate")
    assert client.get("/api/registry/agencies", params={"as_of": "2020-01-01"}).status_code == 200
    resp = client.get("/api/registry/agencies", params={"as_of": "0"})  # pydantic read it as 1970-01-01
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "as_of"


def test_audit_leaf_index_beyond_64_bits_is_422(client: Any, session: Session) -> None:
    make_account(session, username="auditbig", roles=[("auditor", GLOBAL)])
    login(client, "auditbig")
    resp = client.get(f"/api/audit/events/{2**63}")  # was an OverflowError (500) on SQLite
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "leaf_index"
    resp = client.get("/api/audit/proof/inclusion", params={"index": 2**63})
    assert resp.status_code == 422


def test_document_declares_problem_answers(client: Any) -> None:
    doc = client.get("/api/openapi.json").json()
    me = doc["paths"]["/api/auth/me"]["get"]
    assert set(me["responses"]) >= {"200", "401", "403"} and me["security"] == [{"session": []}]
    create = doc["paths"]["/api/registry/citizens"]["post"]["responses"]
    assert "application/problem+json" in create["422"]["content"] and "CSRF" in create["403"]["description"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_nul_client_id_is_an_unknown_client(client: Any) -> None:
    # On PostgreSQL the NUL reached a text column: a DataError (500) instead of invalid_client.
    resp = client.post("/oidc/introspect", data={"client_id": "\x00", "token": "x"})
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
