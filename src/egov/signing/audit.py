"""Signing audit event types: every signature, every remote-signing activation or refusal."""

from enum import StrEnum


class SigningAudit(StrEnum):
    SIGNED = "signing:document:signed"
    SEALED = "signing:document:sealed"
    VALIDATED = "signing:document:validated"
    REMOTE_REQUESTED = "signing:remote:requested"
    REMOTE_ACTIVATED = "signing:remote:activated"
    REMOTE_REFUSED = "signing:remote:refused"
    IDENTITY_REGISTERED = "signing:identity:registered"
    IDENTITY_RETIRED = "signing:identity:retired"
    ARCHIVE_STORED = "signing:archive:stored"
    ARCHIVE_RENEWED = "signing:archive:renewed"
