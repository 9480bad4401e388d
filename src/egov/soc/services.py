"""Audit log services for people: search, open one event with a live proof, verify now; each use is audited."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from egov.platform.clock import VN_TZ
from egov.platform.container import Container
from egov.platform.errors import NotFound
from egov.platform.permissions import Principal
from egov.registry import build_registry_facts
from egov.soc.audit.checkpoints import verifier_keys
from egov.soc.audit.leaf import encode_leaf
from egov.soc.audit.merkle import leaf_hash
from egov.soc.audit.proofs import EventProofStatus, b64, prove_event
from egov.soc.audit.recorder import record_event
from egov.soc.audit.types import SocAudit
from egov.soc.audit.verify import AuditVerificationError, VerifyReport, verify_log
from egov.soc.models import AuditEvent, AuditLeaf
from egov.soc.permissions import SocPermission
from egov.soc.schemas import SearchFilters
from egov.soc.settings import SocSettings

PER_PAGE = 25
MAX_PER_PAGE = 500


def _day_start_utc(d: date) -> datetime:
    """Midnight in Hồ Chí Minh City as a UTC instant: a date typed by an officer means their day."""
    return datetime.combine(d, time.min, tzinfo=VN_TZ).astimezone(UTC)


@dataclass(frozen=True)
class SearchPage:
    items: list[AuditEvent]
    leaf_of: dict[int, int]  # event pk -> leaf index, for those already sequenced
    page: int
    per_page: int
    has_next: bool
    filters: SearchFilters = field(default_factory=SearchFilters)


def search_events(session: Session, filters: SearchFilters, *, agencies: set[str] | None, page: int = 1,
                  per_page: int = PER_PAGE) -> SearchPage:
    """Newest first. `agencies` limits to events of those agencies (None: every agency, the platform scope)."""
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    q = select(AuditEvent)
    if filters.event_type:
        if filters.event_type.endswith((":", "*")):
            q = q.where(AuditEvent.event_type.startswith(filters.event_type.rstrip("*"), autoescape=True))
        else:
            q = q.where(AuditEvent.event_type == filters.event_type)
    if filters.actor:
        q = q.where(or_(AuditEvent.actor_id == filters.actor,
                        func.lower(AuditEvent.actor_name).contains(filters.actor.lower(), autoescape=True)))
    if filters.object_id:
        q = q.where(AuditEvent.object_id == filters.object_id)
    if filters.since:
        q = q.where(AuditEvent.occurred_at >= _day_start_utc(filters.since))
    if filters.until:
        q = q.where(AuditEvent.occurred_at < _day_start_utc(filters.until + timedelta(days=1)))
    if agencies is not None:
        q = q.where(AuditEvent.agency_id.in_(sorted(agencies)))
    q = q.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    q = q.offset((page - 1) * per_page).limit(per_page + 1)
    rows = list(session.execute(q).scalars())
    items = rows[:per_page]
    leaf_of: dict[int, int] = {}
    if items:
        for pk, idx in session.execute(
            select(AuditLeaf.event_pk, AuditLeaf.leaf_index).where(AuditLeaf.event_pk.in_([e.id for e in items]))
        ):
            leaf_of[int(pk)] = int(idx)
    return SearchPage(items, leaf_of, page, per_page, len(rows) > per_page, filters)


@dataclass(frozen=True)
class EventDetail:
    event: AuditEvent
    proof: EventProofStatus
    details: dict[str, Any]


@dataclass(frozen=True)
class VerifyOutcome:
    ok: bool
    report: VerifyReport
    error: str = ""


def event_json(event: AuditEvent, leaf_index: int | None) -> dict[str, Any]:
    """An event for machines, with the exact leaf bytes so an auditor can recompute its leaf hash."""
    encoded = encode_leaf(event)
    return {
        "leaf_index": leaf_index,
        "leaf_hash": b64(leaf_hash(encoded)),
        "leaf": b64(encoded),
        "event_id": event.event_id,
        "occurred_at": event.occurred_at.isoformat(),
        "event_type": event.event_type,
        "outcome": event.outcome,
        "actor_id": event.actor_id,
        "actor_kind": event.actor_kind,
        "actor_name": event.actor_name,
        "represented_party": event.represented_party,
        "agency_id": event.agency_id,
        "assurance_level": event.assurance_level,
        "source_ip": event.source_ip,
        "request_id": event.request_id,
        "channel": event.channel,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": json.loads(event.details or "{}"),
        "leaf_version": event.leaf_version,
    }


class AuditLogService:
    """What officers do with the audit log. Every read of it is itself an audit event (convention 4)."""

    def __init__(self, session: Session, container: Container) -> None:
        self.session = session
        self.container = container

    def agency_names(self, agency_ids: Iterable[str | None]) -> dict[str, str]:
        """Agency ids as the officer knows them: code and name from the registry (the id if it has none)."""
        facts = build_registry_facts()
        names: dict[str, str] = {}
        for agency_id in {a for a in agency_ids if a}:
            agency = facts.agency(self.session, agency_id)
            names[agency_id] = f"{agency.name_vi} ({agency.code})" if agency else agency_id
        return names

    def search(self, principal: Principal, filters: SearchFilters, page: int = 1,
               per_page: int = PER_PAGE) -> SearchPage:
        principal.require(SocPermission.AUDIT_READ)
        result = search_events(self.session, filters, agencies=principal.agencies_for(SocPermission.AUDIT_READ),
                               page=page, per_page=per_page)
        # Recorded after the query, so the search does not list itself.
        record_event(self.session, SocAudit.LOG_SEARCHED, object_type="audit_log",
                     details={**filters.as_details(), "page": result.page, "results": len(result.items)})
        return result

    def _readable(self, principal: Principal, event: AuditEvent | None) -> AuditEvent:
        """The event if this principal may read it; the same NotFound otherwise, so ids cannot be probed."""
        agencies = principal.agencies_for(SocPermission.AUDIT_READ)
        if event is None or (agencies is not None and event.agency_id not in agencies):
            raise NotFound("Không tìm thấy sự kiện nhật ký này.", "No such audit event.")
        return event

    def event(self, principal: Principal, event_id: str) -> EventDetail:
        principal.require(SocPermission.AUDIT_READ)
        event = self.session.execute(select(AuditEvent).where(AuditEvent.event_id == event_id)).scalar_one_or_none()
        event = self._readable(principal, event)
        soc = self.container.settings.section(SocSettings)
        vkeys = verifier_keys(self.container.keys, soc.audit_key_name, soc.audit_origin)
        status = prove_event(self.session, event, vkeys, soc.audit_origin)
        record_event(self.session, SocAudit.LOG_VIEWED, object_type="audit_event", object_id=event.event_id,
                     details={"leaf_index": status.leaf_index, "proof": status.state})
        return EventDetail(event, status, json.loads(event.details or "{}"))

    def event_at_leaf(self, principal: Principal, leaf_index: int) -> dict[str, Any]:
        principal.require(SocPermission.AUDIT_READ)
        event = self.session.execute(
            select(AuditEvent).join(AuditLeaf, AuditLeaf.event_pk == AuditEvent.id)
            .where(AuditLeaf.leaf_index == leaf_index)
        ).scalar_one_or_none()
        event = self._readable(principal, event)
        record_event(self.session, SocAudit.LOG_VIEWED, object_type="audit_event", object_id=event.event_id,
                     details={"leaf_index": leaf_index})
        return event_json(event, leaf_index)

    def verify_now(self, principal: Principal) -> VerifyOutcome:
        """Full verification on a snapshot of its own; the outcome is audited whatever it is."""
        principal.require(SocPermission.AUDIT_VERIFY)
        c = self.container
        try:
            report = verify_log(c.db, c.keys, c.settings, now=c.clock.now())
            outcome = VerifyOutcome(True, report)
        except AuditVerificationError as exc:
            outcome = VerifyOutcome(False, exc.report, str(exc))
        record_event(self.session, SocAudit.LOG_VERIFIED, object_type="audit_log",
                     outcome="success" if outcome.ok else "failure",
                     details={"leaves": outcome.report.leaves, "problems": len(outcome.report.problems),
                              "first_problem": outcome.error[:300]})
        return outcome
