"""Permissions the auth context checks: who may read accounts, create them and grant roles."""

from enum import StrEnum

from egov.platform.module import RoleSpec


class AuthPermission(StrEnum):
    ROLE_GRANT = "auth:role:grant"
    ACCOUNT_READ = "auth:account:read"
    ACCOUNT_CREATE = "auth:account:create"
    IDENTITY_VERIFY = "auth:identity:verify"  # raise a citizen to level 2 after checking a document in person
    CLIENT_MANAGE = "auth:client:manage"  # OpenID Connect relying parties: platform-wide, platform admins only


_P = AuthPermission
ROLES = (
    RoleSpec("account_admin", "Quản trị tài khoản", "Account administrator",
             frozenset(p for p in _P if p not in (_P.CLIENT_MANAGE, _P.IDENTITY_VERIFY))),
    RoleSpec("identity_verifier", "Cán bộ xác thực danh tính (một cửa)", "Identity verifier (one-stop desk)",
             frozenset({_P.IDENTITY_VERIFY})),
)
