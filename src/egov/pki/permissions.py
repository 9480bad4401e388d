"""PKI permissions `pki:<resource>:<action>`."""

from enum import StrEnum

from egov.platform.module import RoleSpec


class PkiPermission(StrEnum):
    CERTIFICATE_READ = "pki:certificate:read"
    CERTIFICATE_REQUEST = "pki:certificate:request"
    CERTIFICATE_APPROVE = "pki:certificate:approve"  # a different officer than the one who asked
    CERTIFICATE_REVOKE = "pki:certificate:revoke"
    CRL_PUBLISH = "pki:crl:publish"
    TRUST_MANAGE = "pki:trust:manage"


_P = PkiPermission
# The registration authority (RA) files requests and manages status; approval is another role, so
# one officer alone never issues a certificate (four eyes; the service also refuses self-approval).
ROLES = (
    RoleSpec("pki_registrar", "Cán bộ tiếp nhận chứng thư số (RA)", "Certificate registrar (RA)",
             frozenset({_P.CERTIFICATE_READ, _P.CERTIFICATE_REQUEST, _P.CERTIFICATE_REVOKE})),
    RoleSpec("pki_approver", "Cán bộ phê duyệt chứng thư số", "Certificate approver",
             frozenset({_P.CERTIFICATE_READ, _P.CERTIFICATE_APPROVE, _P.CRL_PUBLISH, _P.TRUST_MANAGE})),
)
