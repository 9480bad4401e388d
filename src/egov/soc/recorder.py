"""record_event(): every context writes its audit events here, inside its own transaction."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, UOWTransaction, attributes

from egov.platform.context import current_context
from egov.platform.ids import new_id
from egov.platform.metrics import AUDIT_EVENTS
from egov.soc.leaf import LEAF_VERSION, canonical_json
from egov.soc.models import AuditEvent

# One round trip for all the ids a flush needs, drawn from the same sequence the column default uses.
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('audit_events', 'id')) FROM generate_series(1, :n)")

_SECRET_KEYS = re.compile(r"pass|secret|token|otp|pin|code_verifier|private|credential|cookie|authorization", re.I)


def scrub(value: Any) -> Any:
    """Drop secret-looking keys at any depth: an audit log must never become a password store."""
    if isinstance(value, dict):
        return {k: ("[scrubbed]" if _SECRET_KEYS.search(str(k)) else scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def record_event(
    session: Session,
    event_type: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
    outcome: str = "success",
    agency_id: str | None = None,
    actor_id: str | None = None,
    actor_name: str | None = None,
    actor_kind: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one event to `session`; it commits or rolls back with the business change.

    Actor, represented party, agency, assurance level, source address and request id come from
    the current request context; explicit arguments override them (e.g. a failed sign-in names
    the account that was tried, not a signed-in actor).
    """
    ctx = current_context()
    p = ctx.principal
    event = AuditEvent(
        event_id=new_id(),
        occurred_at=(at or datetime.now(UTC)).astimezone(UTC),
        event_type=str(event_type),
        outcome=outcome,
        actor_id=actor_id if actor_id is not None else (p.account_id if p else None),
        actor_kind=actor_kind if actor_kind is not None else (p.kind if p else ctx.channel),
        actor_name=actor_name if actor_name is not None else (p.display_name if p else None),
        represented_party=p.represented_party if p else None,
        agency_id=agency_id if agency_id is not None else (p.agency_id if p else None),
        assurance_level=p.acr if p else None,
        source_ip=ctx.source_ip,
        request_id=ctx.request_id,
        channel=ctx.channel,
        object_type=object_type,
        object_id=object_id,
        details=canonical_json(scrub(details or {})),
        leaf_version=LEAF_VERSION,
    )
    session.add(event)
    AUDIT_EVENTS.labels(event_type=str(event_type)).inc()
    return event


@event.listens_for(Session, "before_flush")
def _draw_audit_ids(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Give a flush's new audit events their ids up front (PostgreSQL, two or more events).

    Without ids the ORM must INSERT ... RETURNING them, as one huge multi-row statement that
    psycopg re-parses every time; with ids known it sends a plain pipelined executemany, which
    roughly doubles the rate of transactions that record many events. The ids still come from the
    column's sequence, drawn just before the INSERT in the same transaction, so the sequencer's
    reasoning about when ids are drawn is unchanged. A single event keeps RETURNING: one round trip.
    """
    pending = [obj for obj in session.new if type(obj) is AuditEvent and obj.id is None]
    if len(pending) < 2:
        return
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return
    pending.sort(key=lambda obj: attributes.instance_state(obj).insert_order or 0)
    ids = sorted(conn.execute(_NEXT_IDS, {"n": len(pending)}).scalars())
    for obj, pk in zip(pending, ids, strict=True):
        obj.id = pk
