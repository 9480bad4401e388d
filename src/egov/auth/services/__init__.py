"""The auth context's behaviour: accounts and roles, sign-in and sessions."""

from egov.auth.services.accounts import ROLE_HOLDER_KINDS, AccountService, Subtree
from egov.auth.services.sign_in import IP_FREE_ATTEMPTS, SessionView, SignInService

__all__ = [
    "IP_FREE_ATTEMPTS",
    "ROLE_HOLDER_KINDS",
    "AccountService",
    "SessionView",
    "SignInService",
    "Subtree",
]
