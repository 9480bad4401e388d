"""`sign` and `sign_now` obey one rule set (`SigningService._allowed`) and write one record: the same refusal
for each rule, nothing written on a refusal, and the same signature row and audit event on success."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories.pki import PkiSetup
from tests.factories.signing import make_pdf
from tests.integration.signing.test_with_pki import _officer_identity

from egov.bootstrap import Container
from egov.pki import PKI_SYSTEM
from egov.platform.clock import FixedClock
from egov.platform.db import Database
from egov.signing import SigningError, SigningService
from egov.signing.models import SignatureRecord, SigningIdentityRecord
from egov.soc.models import AuditEvent

XML = '<HoSo xmlns="urn:egov:hoso:1"><A>ý kiến</A></HoSo>'.encode()
SIGNED = ("signing:document:signed", "signing:document:sealed")
Sign = Callable[..., Any]


def _two_paths(service: SigningService, db: Database) -> dict[str, Sign]:
    def in_a_transaction(record: SigningIdentityRecord, kind: str, data: bytes, **kw: Any) -> Any:
        with db.session() as s:
            return service.sign(s, record, kind, data, **kw)  # type: ignore[arg-type]

    return {"sign": in_a_transaction, "sign_now": service.sign_now}


def _written(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (s.scalar(select(func.count()).select_from(SignatureRecord)) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type.in_(SIGNED))) or 0)


def _refusals(paths: dict[str, Sign], db: Database, record: SigningIdentityRecord, kind: str, data: bytes,
              **kw: Any) -> tuple[str, str]:
    """Both paths refuse with the same message and write nothing; returns the (vi, en) message."""
    before = _written(db)
    seen: list[tuple[str, str]] = []
    for name, sign in paths.items():
        with pytest.raises(SigningError) as refused:
            sign(record, kind, data, **kw)
        seen.append((refused.value.detail_vi, refused.value.detail_en))
        assert _written(db) == before, name
    assert seen[0] == seen[1], seen
    return seen[0]


def test_sign_and_sign_now_refuse_alike_for_each_rule(pki: PkiSetup, session: Session, container: Container,
                                                     clock: FixedClock, db: Database) -> None:
    service = SigningService.from_container(container)
    issued, record = _officer_identity(session, container, clock, service)
    paths = _two_paths(service, db)
    assert "Unsupported document kind" in _refusals(paths, db, record, "docx", XML, level="B-B")[1]
    # A level the kind does not have is the caller's mistake (422), never a crash.
    assert "PDF signature level B-X" in _refusals(paths, db, record, "pdf", make_pdf(), level="B-X")[1]
    assert "XML signature level B-LT" in _refusals(paths, db, record, "xml", XML, level="B-LT")[1]
    assert "CMS supports" in _refusals(paths, db, record, "cms", b"bien ban", level="B-LTA")[1]
    service.max_upload_bytes = 10
    assert "too large" in _refusals(paths, db, record, "xml", XML, level="B-B")[1]
    service.max_upload_bytes = 10 * 1024 * 1024
    # Past the certificate's end, the identity no longer signs, whoever holds its record.
    clock.advance(seconds=(record.not_after - clock.now()).total_seconds() + 1)
    assert "retired or expired" in _refusals(paths, db, record, "xml", XML, level="B-B")[1]
    clock.advance(seconds=-(record.not_after - clock.now()).total_seconds() - 3600)
    with db.session() as s:
        pki.service.revoke(s, issued.id, reason="key_compromise", by=PKI_SYSTEM)
    assert "revoked" in _refusals(paths, db, record, "xml", XML, level="B-B")[1]


def test_a_retired_identity_signs_on_neither_path(pki: PkiSetup, session: Session, container: Container,
                                                  clock: FixedClock, db: Database) -> None:
    service = SigningService.from_container(container)
    _issued, record = _officer_identity(session, container, clock, service)
    paths = _two_paths(service, db)
    assert service.retire_identities(session, holder=record.holder, reason="left the post") == 1
    session.commit()
    assert "retired or expired" in _refusals(paths, db, record, "xml", XML, level="B-B")[1]


def test_sign_and_sign_now_write_the_same_row_and_event(pki: PkiSetup, session: Session, container: Container,
                                                         clock: FixedClock, db: Database) -> None:
    service = SigningService.from_container(container)
    _issued, record = _officer_identity(session, container, clock, service)
    for as_seal in (False, True):
        made = {name: sign(record, "xml", XML, level="B-B", as_seal=as_seal, account_id="account-binh")
                for name, sign in _two_paths(service, db).items()}
        rows, events = {}, {}
        with db.session() as s:
            for name, signed in made.items():
                row = s.get(SignatureRecord, signed.signature_id)
                assert row is not None and row.signed_sha256 == _sha256(signed.data)
                rows[name] = {c: getattr(row, c) for c in ("account_id", "identity_id", "kind", "level",
                                                           "document_sha256", "approval_id", "created_at")}
                event = s.scalars(select(AuditEvent).where(AuditEvent.object_id == signed.signature_id)).one()
                details = json.loads(event.details)
                assert details.pop("signed_sha256") == row.signed_sha256  # each names its own signature
                events[name] = (event.event_type, event.object_type, event.outcome, details)
        assert rows["sign"] == rows["sign_now"] and events["sign"] == events["sign_now"]
        assert events["sign"][0] == SIGNED[as_seal]


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
