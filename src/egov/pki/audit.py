"""PKI audit event types: every issuance, renewal, status change, CRL and ceremony is audited."""

from enum import StrEnum


class PkiAudit(StrEnum):
    ROOT_CREATED = "pki:root:created"
    CA_CERTIFIED = "pki:ca:certified"
    CEREMONY_FAILED = "pki:ceremony:failed"
    REQUEST_SUBMITTED = "pki:request:submitted"
    REQUEST_REJECTED = "pki:request:rejected"
    CERTIFICATE_ISSUED = "pki:certificate:issued"
    CERTIFICATE_RENEWED = "pki:certificate:renewed"
    CERTIFICATE_SUSPENDED = "pki:certificate:suspended"
    CERTIFICATE_UNSUSPENDED = "pki:certificate:unsuspended"
    CERTIFICATE_REVOKED = "pki:certificate:revoked"
    CRL_PUBLISHED = "pki:crl:published"
    TRUST_ADDED = "pki:trust:added"
    TRUST_REMOVED = "pki:trust:removed"
    TIMESTAMP_ISSUED = "pki:timestamp:issued"
