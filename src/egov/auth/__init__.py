"""Identity: accounts, passwords, sessions and roles; resolves the signed-in Principal for every request."""

from egov.auth.audit import AuthAudit
from egov.auth.interfaces import (
    INVALID_CREDENTIALS_EN,
    INVALID_CREDENTIALS_VI,
    InvalidCredentials,
    SignedIn,
    StepUpRefused,
    StepUpVerifier,
)
from egov.auth.models import AccountKind, AccountStatus
from egov.auth.passwords import Passwords, check_password_policy
from egov.auth.permissions import AuthPermission
from egov.auth.resolver import PRINCIPAL_COOKIES, resolve_principal_for
from egov.auth.roles import ROLE_LABELS, ROLES, Role, grants_for, permissions_of
from egov.auth.services import AccountService, SignInService
from egov.auth.services.mfa import SecondFactors, build_step_up_verifier
from egov.auth.services.notices import job_handlers as notice_job_handlers
from egov.auth.services.proofing import job_handlers as proofing_job_handlers
from egov.auth.sessions import PASSWORD_ACR, SESSION_COOKIE

__all__ = [
    "INVALID_CREDENTIALS_EN",
    "INVALID_CREDENTIALS_VI",
    "PASSWORD_ACR",
    "PRINCIPAL_COOKIES",
    "ROLES",
    "ROLE_LABELS",
    "SESSION_COOKIE",
    "AccountKind",
    "AccountService",
    "AccountStatus",
    "AuthAudit",
    "AuthPermission",
    "InvalidCredentials",
    "Passwords",
    "Role",
    "SecondFactors",
    "SignInService",
    "SignedIn",
    "StepUpRefused",
    "StepUpVerifier",
    "build_step_up_verifier",
    "check_password_policy",
    "grants_for",
    "notice_job_handlers",
    "permissions_of",
    "proofing_job_handlers",
    "resolve_principal_for",
]
