"""The audit log through HTTP: public checkpoint, key and proofs; back-office search, event and verify pages."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.soc import event_pk_at_leaf, make_events, sequence_and_checkpoint, tamper

from egov.bootstrap import Container
from egov.platform.db import Database
from egov.platform.permissions import GLOBAL
from egov.soc.audit import merkle
from egov.soc.audit.leaf import encode_leaf
from egov.soc.audit.signed_note import verify_checkpoint
from egov.soc.models import AuditEvent


def _b(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


def _audit_of(session: Session, event_type: str) -> list[dict[str, Any]]:
    """Events the app committed; the read ends at once (on SQLite an open transaction blocks the app)."""
    session.rollback()
    rows = session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id))
    found = [json.loads(e.details) | {"_actor": e.actor_id, "_outcome": e.outcome} for e in rows]
    session.commit()
    return found


@pytest.fixture
def log(container: Container, session: Session) -> list[AuditEvent]:
    events = make_events(session, 25, agency_id="000.00.00.H29")
    make_events(session, 5, event_type="auth:login:failed", agency_id="000.00.15.H29", actor_name="Trần Thị B")
    sequence_and_checkpoint(container)
    return events


# --- public: checkpoint, verifier key, proofs -----------------------------------------------------


def test_checkpoint_and_vkey_are_public_text_and_verify(client: Any, log: list[AuditEvent]) -> None:
    cp = client.get("/api/audit/checkpoint")
    vkey = client.get("/api/audit/vkey")
    assert cp.status_code == 200 and cp.headers["content-type"].startswith("text/plain")
    assert vkey.status_code == 200 and vkey.headers["content-type"].startswith("text/plain")
    signed = verify_checkpoint(cp.text, vkey.text.strip(), origin="egov.local/audit")
    assert signed.size == 30


def test_no_checkpoint_yet_is_a_problem_json_404(client: Any) -> None:
    resp = client.get("/api/audit/checkpoint")
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/problem+json")


def test_api_proofs_verify_against_the_signed_checkpoint(client: Any, container: Container,
                                                         session: Session, log: list[AuditEvent]) -> None:
    first = verify_checkpoint(client.get("/api/audit/checkpoint").text, client.get("/api/audit/vkey").text.strip())
    make_events(session, 9)
    sequence_and_checkpoint(container)
    vkey = client.get("/api/audit/vkey").text.strip()
    signed = verify_checkpoint(client.get("/api/audit/checkpoint").text, vkey)
    assert signed.size == 39
    for index in (0, 17, 29, 38):
        body = client.get("/api/audit/proof/inclusion", params={"index": index}).json()
        assert body["tree_size"] == 39 and verify_checkpoint(body["checkpoint"], vkey).root == signed.root
        merkle.verify_inclusion(base64.b64decode(body["leaf_hash"]), index, 39, _b(body["hashes"]), signed.root)
    older = client.get("/api/audit/proof/inclusion", params={"index": 3, "size": 30}).json()
    merkle.verify_inclusion(base64.b64decode(older["leaf_hash"]), 3, 30, _b(older["hashes"]), first.root)
    body = client.get("/api/audit/proof/consistency", params={"old": 30}).json()
    assert (body["old_size"], body["new_size"]) == (30, 39)
    merkle.verify_consistency(30, 39, first.root, signed.root, _b(body["hashes"]))


@pytest.mark.parametrize("params", [{"index": 30}, {"index": 0, "size": 31}, {"index": -1}, {"index": "x"}])
def test_bad_proof_requests_name_the_field(client: Any, log: list[AuditEvent], params: dict[str, Any]) -> None:
    resp = client.get("/api/audit/proof/inclusion", params=params)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] in ("index", "size")


def test_reading_an_event_needs_soc_audit_read(client: Any, session: Session, log: list[AuditEvent]) -> None:
    assert client.get("/api/audit/events/3").status_code == 401
    make_account(session, username="clerk9", roles=[("registry_clerk", GLOBAL)])
    login(client, "clerk9")
    assert client.get("/api/audit/events/3").status_code == 403


def test_an_auditor_reads_an_event_with_its_leaf_bytes(client: Any, session: Session, log: list[AuditEvent]) -> None:
    make_account(session, username="auditor1", roles=[("auditor", GLOBAL)])
    login(client, "auditor1")
    body = client.get("/api/audit/events/3").json()
    leaf = base64.b64decode(body["leaf"])
    assert merkle.leaf_hash(leaf) == base64.b64decode(body["leaf_hash"])
    proof = client.get("/api/audit/proof/inclusion", params={"index": 3}).json()
    assert proof["leaf_hash"] == body["leaf_hash"]
    assert _audit_of(session, "soc:audit:viewed")[-1]["leaf_index"] == 3


# --- back office ------------------------------------------------------------------------------------


def test_the_back_office_needs_sign_in_and_the_auditor_role(client: Any, session: Session) -> None:
    resp = client.get("/back-office/audit", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")
    make_account(session, username="clerk1", roles=[("registry_clerk", GLOBAL)])
    login(client, "clerk1")
    assert client.get("/back-office/audit").status_code == 403
    assert client.post("/back-office/audit/verify", data={"csrf_token": csrf_token(client)}).status_code == 403


def test_search_filters_newest_first_in_vietnam_time_and_is_audited(
    client: Any, session: Session, log: list[AuditEvent]
) -> None:
    make_account(session, username="auditor2", roles=[("auditor", GLOBAL)])
    login(client, "auditor2")
    page = client.get("/back-office/audit", params={"type": "auth:login:failed"})
    assert page.status_code == 200
    html = page.text
    assert html.count("<code>auth:login:failed</code>") == 5 and "test:thing:done" not in html
    # BASE_TIME is 02:00 UTC: 09:00 in Hồ Chí Minh City; the newest (4 s later) comes first.
    assert html.index("25/11/2026 09:00:04") < html.index("25/11/2026 09:00:00")
    searched = _audit_of(session, "soc:audit:searched")[-1]
    assert searched["event_type"] == "auth:login:failed" and searched["results"] == 5
    assert searched["_actor"] is not None

    assert "obj-7" in client.get("/back-office/audit", params={"object": "obj-7"}).text
    assert "Trần Thị B" in client.get("/back-office/audit", params={"actor": "trần thị"}).text
    empty = client.get("/back-office/audit", params={"since": "01/01/2020", "until": "02/01/2020"})
    assert "Không có sự kiện nào khớp bộ lọc" in empty.text


def test_search_pages_through_results(client: Any, session: Session, log: list[AuditEvent]) -> None:
    make_account(session, username="auditor3", roles=[("auditor", GLOBAL)])
    login(client, "auditor3")
    make_events(session, 35, event_type="test:bulk:done")
    first = client.get("/back-office/audit", params={"type": "test:bulk:"}).text
    second = client.get("/back-office/audit", params={"type": "test:bulk:", "page": 2}).text
    assert first.count("<code>test:bulk:done</code>") == 25 and second.count("<code>test:bulk:done</code>") == 10
    assert "page=2" in first and "page=1" in second


def test_a_bad_date_is_named_and_changes_nothing(client: Any, session: Session, log: list[AuditEvent]) -> None:
    make_account(session, username="auditor4", roles=[("auditor", GLOBAL)])
    login(client, "auditor4")
    before = len(_audit_of(session, "soc:audit:searched"))
    resp = client.get("/back-office/audit", params={"since": "31/02/2026"})
    assert resp.status_code == 422 and "dd/mm/yyyy" in resp.text and 'aria-invalid="true"' in resp.text
    assert len(_audit_of(session, "soc:audit:searched")) == before


def test_an_agency_auditor_sees_only_their_agency(client: Any, session: Session, log: list[AuditEvent]) -> None:
    make_account(session, username="auditor5", roles=[("auditor", "000.00.15.H29")])
    login(client, "auditor5")
    html = client.get("/back-office/audit").text
    assert "auth:login:failed" in html and "test:thing:done" not in html
    other = log[0].event_id
    assert client.get(f"/back-office/audit/events/{other}").status_code == 404


def test_event_page_shows_a_live_verified_inclusion_proof(client: Any, container: Container, session: Session,
                                                          log: list[AuditEvent]) -> None:
    make_account(session, username="auditor6", roles=[("auditor", GLOBAL)])
    login(client, "auditor6")
    page = client.get(f"/back-office/audit/events/{log[4].event_id}")
    assert page.status_code == 200 and "đã xác minh" in page.text and log[4].event_id in page.text
    pending = make_events(session, 1)[0]
    assert "chờ đưa vào cây" in client.get(f"/back-office/audit/events/{pending.event_id}").text
    assert _audit_of(session, "soc:audit:viewed")[0]["proof"] == "verified"


def test_event_page_shows_a_failed_proof_for_an_altered_row(client: Any, session: Session, owner_db: Database,
                                                            log: list[AuditEvent]) -> None:
    make_account(session, username="auditor7", roles=[("auditor", GLOBAL)])
    login(client, "auditor7")
    tamper(owner_db, ("UPDATE audit_events SET outcome = 'denied' WHERE id = :id", {"id": log[2].id}))
    page = client.get(f"/back-office/audit/events/{log[2].event_id}")
    assert "không xác minh được" in page.text and "đã xác minh" not in page.text


def test_verify_now_reports_intact_then_names_tampering(client: Any, session: Session, owner_db: Database,
                                                        log: list[AuditEvent]) -> None:
    make_account(session, username="auditor8", roles=[("auditor", GLOBAL)])
    login(client, "auditor8")
    search = client.get("/back-office/audit").text
    assert 'action="/back-office/audit/verify"' in search
    ok = client.post("/back-office/audit/verify", data={"csrf_token": csrf_token(client)})
    assert ok.status_code == 200 and "toàn vẹn" in ok.text
    pk = event_pk_at_leaf(owner_db, 12)
    tamper(owner_db, ("UPDATE audit_events SET details = '{}' WHERE id = :id", {"id": pk}))
    bad = client.post("/back-office/audit/verify", data={"csrf_token": csrf_token(client)})
    assert "phát hiện sai lệch" in bad.text and f"altered: event id {pk} at leaf 12" in bad.text
    outcomes = [e["_outcome"] for e in _audit_of(session, "soc:audit:verified")]
    assert outcomes == ["success", "failure"]


def test_verify_needs_the_csrf_token(client: Any, session: Session, log: list[AuditEvent]) -> None:
    make_account(session, username="auditor9", roles=[("auditor", GLOBAL)])
    login(client, "auditor9")
    assert client.post("/back-office/audit/verify", data={}).status_code == 403


def test_the_recomputed_leaf_matches_the_api(client: Any, session: Session, log: list[AuditEvent]) -> None:
    event = session.get(AuditEvent, log[0].id)
    assert event is not None
    session.commit()
    body = client.get("/api/audit/proof/inclusion", params={"index": 0}).json()
    assert base64.b64decode(body["leaf_hash"]) == merkle.leaf_hash(encode_leaf(event))


def test_the_search_and_the_event_name_agencies_not_their_ids(client: Any, session: Session,
                                                              registry_tree: Any) -> None:
    """Issue 19: officers read agencies by name and code, never by an internal UUID."""
    dept = registry_tree.dept_a
    make_events(session, 2, event_type="test:named:done", agency_id=dept.id)
    make_account(session, username="kiemtoan9", roles=[("auditor", GLOBAL)])
    login(client, "kiemtoan9")
    page = client.get("/back-office/audit?type=test:named:done")
    assert page.status_code == 200
    assert f"Sở A (mã thử nghiệm) ({dept.code})" in page.text and dept.id not in page.text
    event_id = session.scalars(select(AuditEvent.event_id).where(AuditEvent.event_type == "test:named:done")).first()
    detail = client.get(f"/back-office/audit/events/{event_id}")
    assert detail.status_code == 200 and f"({dept.code})" in detail.text and dept.id not in detail.text
