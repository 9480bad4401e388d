"""Signing permissions `signing:<resource>:<action>`; validating a signature is public."""

from enum import StrEnum


class SigningPermission(StrEnum):
    DOCUMENT_SIGN = "signing:document:sign"  # sign with one's own (platform-held) key, after step-up
    SEAL_APPLY = "signing:seal:apply"  # apply the agency's seal
    IDENTITY_MANAGE = "signing:identity:manage"  # register key + certificate pairs (pki operators)
