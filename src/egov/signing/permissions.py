"""Signing permissions `signing:<resource>:<action>`; validating a signature is public."""

from enum import StrEnum

from egov.platform.module import RoleSpec


class SigningPermission(StrEnum):
    DOCUMENT_SIGN = "signing:document:sign"  # sign with one's own (platform-held) key, after step-up
    SEAL_APPLY = "signing:seal:apply"  # apply the agency's seal
    IDENTITY_MANAGE = "signing:identity:manage"  # register key + certificate pairs (pki operators)


# Signing with one's own platform-held key still needs the holder's fresh second factor per document;
# the seal keeper applies the agency's seal; the identity admin pairs keys with pki certificates.
# None of them is part of the platform administrator's set: no administrator signs in someone's name.
ROLES = (
    RoleSpec("document_signer", "Người ký văn bản", "Document signer",
             frozenset({SigningPermission.DOCUMENT_SIGN}), in_platform_admin=False),
    RoleSpec("seal_keeper", "Văn thư đóng dấu (chữ ký số cơ quan)", "Seal keeper (agency signature)",
             frozenset({SigningPermission.SEAL_APPLY}), in_platform_admin=False),
    RoleSpec("signing_identity_admin", "Quản trị chứng thư ký số", "Signing certificate administrator",
             frozenset({SigningPermission.IDENTITY_MANAGE}), in_platform_admin=False),
)
