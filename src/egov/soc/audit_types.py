"""Audit event types of the soc context itself."""

from enum import StrEnum


class SocAudit(StrEnum):
    LOG_SEARCHED = "soc:audit:searched"
    LOG_VERIFIED = "soc:audit:verified"
    LOG_EXPORTED = "soc:audit:exported"
    CHECKPOINT_SIGNED = "soc:checkpoint:signed"
