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
    CLIENT_CREATED = "auth:oidc_client:created"
    CLIENT_SECRET_ROTATED = "auth:oidc_client:secret_rotated"
    CONSENT_GRANTED = "auth:consent:granted"
    CODE_ISSUED = "auth:code:issued"
    TOKEN_ISSUED = "auth:token:issued"
    TOKEN_REVOKED = "auth:token:revoked"
    USERINFO_READ = "auth:userinfo:read"
    OAUTH_REFUSED = "auth:oauth:refused"
    OIDC_LOGOUT = "auth:oidc:logout"
    MFA_ENROLLED = "auth:mfa:enrolled"
    MFA_REMOVED = "auth:mfa:removed"
    RECOVERY_CODE_USED = "auth:recovery_code:used"
    SECOND_FACTOR_FAILED = "auth:login:second_factor_failed"
