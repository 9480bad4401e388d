"""Permissions the auth context checks: who may read accounts, create them and grant roles."""

from enum import StrEnum


class AuthPermission(StrEnum):
    ROLE_GRANT = "auth:role:grant"
    ACCOUNT_READ = "auth:account:read"
    ACCOUNT_CREATE = "auth:account:create"
    IDENTITY_VERIFY = "auth:identity:verify"  # raise a citizen to level 2 after checking a document in person
    CLIENT_MANAGE = "auth:client:manage"  # OpenID Connect relying parties: platform-wide, platform admins only
