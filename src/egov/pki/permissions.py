"""PKI permissions `pki:<resource>:<action>`."""

from enum import StrEnum


class PkiPermission(StrEnum):
    CERTIFICATE_READ = "pki:certificate:read"
    CERTIFICATE_REQUEST = "pki:certificate:request"
    CERTIFICATE_APPROVE = "pki:certificate:approve"  # a different officer than the one who asked
    CERTIFICATE_REVOKE = "pki:certificate:revoke"
    CRL_PUBLISH = "pki:crl:publish"
    TRUST_MANAGE = "pki:trust:manage"
