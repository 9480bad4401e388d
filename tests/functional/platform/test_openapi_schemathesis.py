"""Schemathesis over the whole OpenAPI document, anonymous and signed in: every answer is documented.

Every default check runs on every operation in the document (examples, coverage and fuzzing phases,
positive and negative data), with one exception, `positive_data_acceptance`, on the operations below:
there a request the document calls valid is refused for a reason no JSON Schema can state, and the
refusal is the right answer (a 422 that names the field and the rule):

- the signing uploads (`/api/signing/validate`, `/approvals`, `/approvals/{id}/sign`, `/seal`) must
  carry a real PDF, XML or CMS file, and random bytes are not one;
- a citizen's personal ID must agree with the birth date, sex and province, and the managing agency
  must exist; a certificate request must carry a real PKCS#10 CSR (the schema's examples are accepted:
  the registry tree they name is loaded);
- the audit log's proofs accept a tree size only up to the log's current size, which changes as the
  log grows (tests/functional/soc pins the 422 `tree_size.range`).

The OpenID provider's browser endpoints (authorize, consent, logout) answer pages and redirects and are
described by the discovery document, not by the OpenAPI document, so they are not in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.registry import RegistryTree

from egov.platform.permissions import GLOBAL

# Examples per operation and phase: the whole module (both runs) stays near two minutes on SQLite.
EXAMPLES = 8
UNFUZZABLE_POSITIVE = {
    "POST /api/signing/validate", "POST /api/signing/approvals", "POST /api/signing/approvals/{approval_id}/sign",
    "POST /api/signing/seal", "GET /api/audit/proof/inclusion", "GET /api/audit/proof/consistency",
    "POST /api/registry/citizens", "POST /api/pki/requests",
}
# OCSP and time-stamp queries are DER bytes: send what was generated as it is.
schemathesis.serializer.alias(["application/ocsp-request", "application/timestamp-query"], "application/octet-stream")


@pytest.fixture
def api_schema(app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/api/openapi.json", app)


anonymous = schemathesis.pytest.from_fixture("api_schema")
signed = schemathesis.pytest.from_fixture("api_schema")
SESSION: dict[str, str] = {}  # the signed-in run's cookie and CSRF token, set by its fixture


@signed.auth(refresh_interval=None)
class SessionCookie:
    """Schemathesis applies this to each case and leaves it off where it tests the missing-credential case."""

    def get(self, case: Any, ctx: Any) -> dict[str, str]:
        return dict(SESSION)

    def set(self, case: Any, data: dict[str, str], ctx: Any) -> None:
        case.cookies = {**(case.cookies or {}), "egov_session": data["session"], "egov_csrf": data["csrf"]}
        case.headers = {**(case.headers or {}), "X-CSRF-Token": data["csrf"]}


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 names each operation's subtest through `node._nodeid`, which pytest 9.2 dropped.
    request.node._nodeid = request.node.nodeid


def _excluded(case: Any) -> list[Any]:
    return [positive_data_acceptance] if f"{case.method.upper()} {case.path}" in UNFUZZABLE_POSITIVE else []


@anonymous.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_anonymous(case: Any) -> None:
    case.call_and_validate(excluded_checks=_excluded(case))


@pytest.fixture
def signed_in(client: Any, session: Session, registry_tree: RegistryTree) -> Iterator[None]:
    """A session of an officer holding every role globally, in the registry tree the examples name."""
    make_account(session, username="fuzzadmin", roles=[(r, GLOBAL) for r in (
        "platform_admin", "document_signer", "seal_keeper", "signing_identity_admin")])
    login(client, "fuzzadmin")
    SESSION.update(session=str(client.cookies.get("egov_session")), csrf=csrf_token(client))
    yield
    SESSION.clear()


@signed.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_signed_in(case: Any, signed_in: None) -> None:
    case.call_and_validate(excluded_checks=_excluded(case))
