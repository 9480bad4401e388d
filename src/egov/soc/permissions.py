"""Permissions of the soc context: reading the audit log and running its verification."""

from enum import StrEnum

from egov.platform.module import RoleSpec


class SocPermission(StrEnum):
    AUDIT_READ = "soc:audit:read"  # search the log and open events (personal data: itself audited)
    AUDIT_VERIFY = "soc:audit:verify"  # run a full verification from the back office


ROLES = (
    RoleSpec("auditor", "Kiểm toán viên nhật ký", "Auditor",
             frozenset({SocPermission.AUDIT_READ, SocPermission.AUDIT_VERIFY})),
)
