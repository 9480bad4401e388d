"""Audit event types written by the auth context."""

from enum import StrEnum


class AuthAudit(StrEnum):
    ACCOUNT_CREATED = "auth:account:created"
    ACCOUNT_DISABLED = "auth:account:disabled"
    ACCOUNT_ENABLED = "auth:account:enabled"
    PASSWORD_CHANGED = "auth:password:changed"
    ROLE_GRANTED = "auth:role:granted"
    ROLE_REVOKED = "auth:role:revoked"
    LOGIN_SUCCEEDED = "auth:login:succeeded"
    LOGIN_FAILED = "auth:login:failed"
    LOGOUT = "auth:logout"
    SESSION_REVOKED = "auth:session:revoked"
