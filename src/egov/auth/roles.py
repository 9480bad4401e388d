"""The built-in role catalogue (role → permissions), kept in code so it is reviewed like code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from egov.auth.permissions import AuthPermission
from egov.platform.permissions import GLOBAL


class Role(StrEnum):
    REGISTRY_CLERK = "registry_clerk"
    REGISTRY_EDITOR = "registry_editor"
    REGISTRY_EXPORTER = "registry_exporter"
    AUDITOR = "auditor"
    ACCOUNT_ADMIN = "account_admin"
    PLATFORM_ADMIN = "platform_admin"
    IDENTITY_VERIFIER = "identity_verifier"
    PKI_REGISTRAR = "pki_registrar"
    PKI_APPROVER = "pki_approver"
    DOCUMENT_SIGNER = "document_signer"
    SEAL_KEEPER = "seal_keeper"
    SIGNING_IDENTITY_ADMIN = "signing_identity_admin"


# Other contexts own their permission enums; the catalogue names their strings literally so
# auth does not import registry or soc internals.
_CLERK = frozenset({
    "registry:citizen:read",
    "registry:citizen:search",
    "registry:agency:read",
    "registry:enterprise:read",
    "registry:officer:read",
})
_EDITOR = _CLERK | {
    "registry:citizen:create",
    "registry:citizen:update",
    "registry:enterprise:create",
    "registry:agency:update",
    "registry:officer:update",
    "registry:citizen:import",
}
_EXPORTER = frozenset({"registry:citizen:export", "registry:enterprise:export"})
_AUDITOR = frozenset({"soc:audit:read", "soc:audit:verify"})
_ACCOUNT_ADMIN = frozenset({p.value for p in AuthPermission
                            if p not in (AuthPermission.CLIENT_MANAGE, AuthPermission.IDENTITY_VERIFY)})
_IDENTITY_VERIFIER = frozenset({AuthPermission.IDENTITY_VERIFY.value})
# The registration authority (RA) files requests and manages status; approval is another role, so
# one officer alone never issues a certificate (four eyes; the service also refuses self-approval).
_PKI_REGISTRAR = frozenset({"pki:certificate:read", "pki:certificate:request", "pki:certificate:revoke"})
_PKI_APPROVER = frozenset({"pki:certificate:read", "pki:certificate:approve", "pki:crl:publish",
                           "pki:trust:manage"})
# Signing with one's own platform-held key still needs the holder's fresh second factor per document;
# the seal keeper applies the agency's seal; the identity admin pairs keys with pki certificates.
_DOCUMENT_SIGNER = frozenset({"signing:document:sign"})
_SEAL_KEEPER = frozenset({"signing:seal:apply"})
_SIGNING_IDENTITY_ADMIN = frozenset({"signing:identity:manage"})

ROLES: Mapping[str, frozenset[str]] = MappingProxyType({
    Role.REGISTRY_CLERK: _CLERK,
    Role.REGISTRY_EDITOR: frozenset(_EDITOR),
    Role.REGISTRY_EXPORTER: _EXPORTER,
    Role.AUDITOR: _AUDITOR,
    Role.ACCOUNT_ADMIN: _ACCOUNT_ADMIN,
    Role.IDENTITY_VERIFIER: _IDENTITY_VERIFIER,
    Role.PKI_REGISTRAR: _PKI_REGISTRAR,
    Role.PKI_APPROVER: _PKI_APPROVER,
    Role.DOCUMENT_SIGNER: _DOCUMENT_SIGNER,
    Role.SEAL_KEEPER: _SEAL_KEEPER,
    Role.SIGNING_IDENTITY_ADMIN: _SIGNING_IDENTITY_ADMIN,
    Role.PLATFORM_ADMIN: _EDITOR | _EXPORTER | _AUDITOR | _ACCOUNT_ADMIN | _IDENTITY_VERIFIER
    | _PKI_REGISTRAR | _PKI_APPROVER | {AuthPermission.CLIENT_MANAGE.value},
})

ROLE_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType({
    Role.REGISTRY_CLERK: ("Cán bộ tra cứu cơ sở dữ liệu", "Registry clerk"),
    Role.REGISTRY_EDITOR: ("Cán bộ cập nhật cơ sở dữ liệu", "Registry editor"),
    Role.REGISTRY_EXPORTER: ("Cán bộ kết xuất dữ liệu", "Registry exporter"),
    Role.AUDITOR: ("Kiểm toán viên nhật ký", "Auditor"),
    Role.ACCOUNT_ADMIN: ("Quản trị tài khoản", "Account administrator"),
    Role.PLATFORM_ADMIN: ("Quản trị hệ thống", "Platform administrator"),
    Role.IDENTITY_VERIFIER: ("Cán bộ xác thực danh tính (một cửa)", "Identity verifier (one-stop desk)"),
    Role.PKI_REGISTRAR: ("Cán bộ tiếp nhận chứng thư số (RA)", "Certificate registrar (RA)"),
    Role.PKI_APPROVER: ("Cán bộ phê duyệt chứng thư số", "Certificate approver"),
    Role.DOCUMENT_SIGNER: ("Người ký văn bản", "Document signer"),
    Role.SEAL_KEEPER: ("Văn thư đóng dấu (chữ ký số cơ quan)", "Seal keeper (agency signature)"),
    Role.SIGNING_IDENTITY_ADMIN: ("Quản trị chứng thư ký số", "Signing certificate administrator"),
})

# Roles only a holder of a *global* grant may hand out: an agency's account administrator must not
# be able to mint the platform's most powerful role, even scoped to their own agency.
GLOBAL_ONLY_ROLES = frozenset({Role.PLATFORM_ADMIN.value})


def is_role(name: str) -> bool:
    return name in ROLES


def permissions_of(role: str) -> frozenset[str]:
    """The permissions of `role`; an unknown role (e.g. one removed from the code) grants nothing."""
    return ROLES.get(role, frozenset())


def grants_for(assignments: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """(permission, agency_id) pairs for Principal.grants from (role, agency_id) assignments.

    Agency subtrees are not expanded here: the registry owns the tree and widens a grant held
    in an agency to its children when it checks a record. A global grant stays "*".
    """
    grants: set[tuple[str, str]] = set()
    for role, agency_id in assignments:
        for permission in permissions_of(role):
            grants.add((permission, agency_id))
    # A global grant makes the same permission's agency-scoped pairs redundant; drop them.
    return frozenset(g for g in grants if g[1] == GLOBAL or (g[0], GLOBAL) not in grants)
