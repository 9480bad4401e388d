"""Security monitoring: the tamper-evident audit log, its proofs and checkpoints.

Other contexts record events through the functions below (fields: `EventFields`) and may catch soc's
exceptions; the audit tables are soc's own (import-linter keeps `egov.soc.models` private).
"""

from egov.soc.audit.recorder import (
    event_values,
    insert_events,
    insert_many_with_events,
    insert_with_event,
    record_event,
    scrub,
)
from egov.soc.audit.types import SocAudit
from egov.soc.interfaces import (
    CheckpointError,
    CheckpointRefused,
    EventFields,
    MissingNode,
    ProofError,
    RecordEvent,
)

__all__ = [
    "CheckpointError",
    "CheckpointRefused",
    "EventFields",
    "MissingNode",
    "ProofError",
    "RecordEvent",
    "SocAudit",
    "event_values",
    "insert_events",
    "insert_many_with_events",
    "insert_with_event",
    "record_event",
    "scrub",
]
