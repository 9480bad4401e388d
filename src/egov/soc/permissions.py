"""Permissions of the soc context: reading the audit log and running its verification."""

from enum import StrEnum


class SocPermission(StrEnum):
    AUDIT_READ = "soc:audit:read"  # search the log and open events (personal data: itself audited)
    AUDIT_VERIFY = "soc:audit:verify"  # run a full verification from the back office
