"""Registry audit event types: reading personal data (view, search, export) is audited like changing it."""

from enum import StrEnum


class RegistryAudit(StrEnum):
    CITIZEN_VIEWED = "registry:citizen:viewed"
    CITIZEN_SEARCHED = "registry:citizen:searched"
    CITIZEN_EXPORTED = "registry:citizen:exported"
    CITIZEN_CREATED = "registry:citizen:created"
    CITIZEN_UPDATED = "registry:citizen:updated"
    CITIZEN_IMPORTED = "registry:citizen:imported"
    AGENCY_CREATED = "registry:agency:created"
    AGENCY_MERGED = "registry:agency:merged"
    ENTERPRISE_VIEWED = "registry:enterprise:viewed"
    ENTERPRISE_CREATED = "registry:enterprise:created"
    ENTERPRISE_STATUS_CHANGED = "registry:enterprise:status_changed"
    OFFICER_VIEWED = "registry:officer:viewed"
    OFFICER_CREATED = "registry:officer:created"
    OFFICER_POSITION_ADDED = "registry:officer:position_added"
    OFFICER_POSITION_ENDED = "registry:officer:position_ended"
