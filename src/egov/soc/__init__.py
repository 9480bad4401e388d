"""Security monitoring: the tamper-evident audit log, its proofs and checkpoints."""

from egov.soc.audit_types import SocAudit
from egov.soc.models import AuditCheckpoint, AuditEvent, AuditLeaf, AuditTreeNode
from egov.soc.recorder import (
    event_values,
    insert_events,
    insert_many_with_events,
    insert_with_event,
    record_event,
    scrub,
)

__all__ = [
    "AuditCheckpoint",
    "AuditEvent",
    "AuditLeaf",
    "AuditTreeNode",
    "SocAudit",
    "event_values",
    "insert_events",
    "insert_many_with_events",
    "insert_with_event",
    "record_event",
    "scrub",
]
