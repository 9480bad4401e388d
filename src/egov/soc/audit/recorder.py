"""record_event(): every context writes its audit events here, inside its own transaction.

Events recorded in a session's main transaction are held in the session and written in one
statement (on PostgreSQL a COPY from `COPY_FROM` events on, else one INSERT) just before it commits
(or at once when `FLUSH_AT` are waiting, or before the session next reads): a request that audits
one event pays one round trip as before, and a batch job that audits thousands pays a handful
instead of one each. A rollback, or closing the session without commit, drops them with the
business change, as it must. Inside a savepoint (`begin_nested`) an event is written at once, so a
savepoint rolled back takes its events with it and one released keeps them. The holding needs the
session hooks `install_audit_hooks` puts on the project's session factories at start-up; a session
from anywhere else writes each event at once (slower, never lost).
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Unpack, cast

from sqlalchemy import Connection, Table
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from egov.platform.context import current_context
from egov.platform.db import bulk_load
from egov.platform.db.hooks import SessionTarget, has_hooks, install_hooks
from egov.platform.db.raw import insert_rows, insert_rows_with
from egov.platform.ids import new_id
from egov.platform.metrics import AUDIT_EVENTS
from egov.soc.audit.leaf import LEAF_VERSION, V1_ORDERED, canonical_json, encode_values
from egov.soc.audit.merkle import leaf_hash
from egov.soc.interfaces import EventFields
from egov.soc.models import AuditEvent

_TABLE = cast(Table, AuditEvent.__table__)
_INSERT = _TABLE.insert()
_V1_VALUES = operator.itemgetter(*V1_ORDERED)  # an event_values row's leaf fields, in encode_values order

_PENDING = "egov.soc.pending_events"
FLUSH_AT = 1_000
COPY_FROM = 16  # from this many held events on, one COPY (PostgreSQL) beats a multi-row INSERT

_SECRET_KEYS = re.compile(r"pass|secret|token|otp|pin|code_verifier|private|credential|cookie|authorization", re.I)
# Verdicts of _SECRET_KEYS on plain-str keys already seen: details keys are the few names the code
# writes, so a lookup replaces a regex search per key. Bounded, so keys made from data cannot grow it;
# past the bound the regex simply runs every time.
_KEY_IS_SECRET: dict[str, bool] = {}
_KEY_CACHE_MAX = 4096
_CONTAINERS = (dict, list, tuple)


def _secret_key(key: Any) -> bool:
    if type(key) is not str:
        return _SECRET_KEYS.search(str(key)) is not None
    secret = _KEY_IS_SECRET.get(key)
    if secret is None:
        secret = _SECRET_KEYS.search(key) is not None
        if len(_KEY_IS_SECRET) < _KEY_CACHE_MAX:
            _KEY_IS_SECRET[key] = secret
    return secret


def scrub(value: Any) -> Any:
    """Drop secret-looking keys at any depth: an audit log must never become a password store."""
    if isinstance(value, dict):
        out = {}
        cached = _KEY_IS_SECRET.get
        for k, v in value.items():
            secret = cached(k) if type(k) is str else None
            if secret is None:
                secret = _secret_key(k)
            if secret:
                out[k] = "[scrubbed]"
            elif isinstance(v, _CONTAINERS):
                out[k] = scrub(v)
            else:
                out[k] = v
        return out
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


# canonical_json for scrub()'s output, without JSONEncoder.encode's per-call set-up (a new C encoder and
# its circular-reference table each time). Same C encoder, same options, so the same text; the table
# is not needed because scrub() copies every dict and list, and so could not have returned a cycle.
_encode_scrubbed = c_make_encoder(
    None, str, encode_basestring, None, ":", ",", True, False, True
) if c_make_encoder is not None else None


def scrubbed_json(details: Any) -> str:
    """canonical_json(scrub(details)): the stored `details` text of an event."""
    clean = scrub(details)
    if _encode_scrubbed is None:  # pragma: no cover - CPython always has the C encoder
        return canonical_json(clean)
    return "".join(_encode_scrubbed(clean, 0))


def event_values(event_type: str, **fields: Unpack[EventFields]) -> dict[str, Any]:
    """The audit row for one event, leaf hash included, filled from the current request context.

    Actor, represented party, agency, assurance level, source address and request id come from
    the context; explicit fields override them (e.g. a failed sign-in names the account that was
    tried, not a signed-in actor).
    """
    f = fields
    ctx = current_context()
    p = ctx.principal
    values = {
        "event_id": new_id(),
        "occurred_at": (f.get("at") or datetime.now(UTC)).astimezone(UTC),
        "event_type": str(event_type),
        "outcome": f.get("outcome", "success"),
        "actor_id": _given(f, "actor_id", p.account_id if p else None),
        "actor_kind": _given(f, "actor_kind", p.kind if p else ctx.channel),
        "actor_name": _given(f, "actor_name", p.display_name if p else None),
        "represented_party": p.represented_party if p else None,
        "agency_id": _given(f, "agency_id", p.agency_id if p else None),
        "assurance_level": p.acr if p else None,
        "source_ip": ctx.source_ip,
        "request_id": ctx.request_id,
        "channel": ctx.channel,
        "object_type": f.get("object_type"),
        "object_id": f.get("object_id"),
        "details": scrubbed_json(f.get("details") or {}),
        "leaf_version": LEAF_VERSION,
    }
    values["leaf_hash"] = leaf_hash(encode_values(LEAF_VERSION, _V1_VALUES(values)))
    return values


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write audit rows made by `event_values` on a Core connection, inside the caller's transaction
    (for hot paths that skip the ORM session; the rows are the same as `record_event`'s)."""
    conn.execute(_INSERT, rows)
    _count(rows)


def _count(rows: list[dict[str, Any]]) -> None:
    for event_type, n in Counter(v["event_type"] for v in rows).items():
        AUDIT_EVENTS.labels(event_type=event_type).inc(n)


def insert_with_event(conn: Connection, table: Table, row: dict[str, Any], event: dict[str, Any]) -> None:
    """A business row and its audit event (from `event_values`) written together: on PostgreSQL as one
    statement (the business INSERT as a data-modifying CTE), atomic even on an autocommit connection
    (`Database.write_once`); elsewhere as two statements in the connection's transaction."""
    insert_many_with_events(conn, table, [row], [event])


def insert_many_with_events(conn: Connection, table: Table, rows: list[dict[str, Any]],
                            events: list[dict[str, Any]]) -> None:
    """Business rows and their audit events, as `insert_with_event` writes one pair: on PostgreSQL one
    statement for them all (one round trip and, on an autocommit connection, one commit: a hot path
    makes a batch of requests durable with one WAL flush; `platform.db.raw.insert_rows_with`). Every
    row has the same keys, every event too."""
    if not rows:
        return
    insert_rows_with(conn, table, rows, _TABLE, events)
    _count(events)


def _given(fields: EventFields, name: str, default: str | None) -> str | None:
    value = fields.get(name)
    return value if isinstance(value, str) else default


def record_event(session: Session, event_type: str, **fields: Unpack[EventFields]) -> dict[str, Any]:
    """Add one event to `session`; it commits or rolls back with the business change (fields as for
    `event_values`)."""
    values = event_values(event_type, **fields)
    # Core INSERTs, no ORM objects: the unit-of-work bookkeeping was ~75 % of an audited request's
    # audit cost in the profile.
    if session.in_nested_transaction() or not has_hooks(session, _HOOKS):
        # A savepoint's events go with it; a session without the hooks would never write held ones.
        session.execute(_INSERT, values)
        AUDIT_EVENTS.labels(event_type=values["event_type"]).inc()
    else:
        if not session.in_transaction():
            session.begin()  # held events must belong to a transaction, so that its end drops them
        pending: list[dict[str, Any]] = session.info.setdefault(_PENDING, [])
        pending.append(values)
        if len(pending) >= FLUSH_AT:
            flush_events(session)
    return values


def flush_events(session: Session) -> int:
    """Write the events `session` holds (COPY, or a multi-row INSERT for a few); returns how many. Called
    by the hooks below; call it yourself only to read the events back through another connection
    before commit."""
    pending: list[dict[str, Any]] | None = session.info.pop(_PENDING, None)
    if not pending:
        return 0
    conn = session.connection()  # in the session's transaction (begun if need be), as any statement
    if len(pending) >= COPY_FROM:
        columns = tuple(pending[0])  # every row comes from event_values: the same keys, in the same order
        bulk_load(session, _TABLE, columns, map(operator.itemgetter(*columns), pending))
    else:
        insert_rows(conn, _TABLE, pending)  # a few: one INSERT compiled once per shape
    _count(pending)
    return len(pending)



def _write_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's own events were written at once
        flush_events(session)


def _write_before_reading(state: ORMExecuteState) -> None:
    if state.is_select and state.session.info.get(_PENDING):
        flush_events(state.session)  # a session reads its own writes, audit events included


def _drop_with_the_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed (already written) or rolled back / closed: gone
        session.info.pop(_PENDING, None)


_HOOKS = "audit"


def install_audit_hooks(*targets: SessionTarget) -> None:
    """Hold audit events in the sessions of these factories (`Database.session_factories`) and write
    them before commit, before a read, or drop them with a rollback. Called once at start-up
    (`bootstrap.build_container`); a session from any other factory writes each event at once."""
    install_hooks(_HOOKS, [("before_commit", _write_before_commit),
                           ("do_orm_execute", _write_before_reading),
                           ("after_transaction_end", _drop_with_the_transaction)], *targets)
