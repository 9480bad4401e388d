"""Audit event types of the soc context itself."""

from enum import StrEnum


class SocAudit(StrEnum):
    LOG_SEARCHED = "soc:audit:searched"
    LOG_VIEWED = "soc:audit:viewed"  # one event opened (back office, API)
    LOG_VERIFIED = "soc:audit:verified"
    LOG_EXPORTED = "soc:audit:exported"
    CHECKPOINT_SIGNED = "soc:checkpoint:signed"  # only checkpoints made by hand: periodic ones would feed themselves
