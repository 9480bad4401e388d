"""Registry permissions `registry:<resource>:<action>`; a grant at an agency covers its whole subtree."""

from enum import StrEnum

from egov.platform.module import RoleSpec


class RegistryPermission(StrEnum):
    CITIZEN_READ = "registry:citizen:read"
    CITIZEN_SEARCH = "registry:citizen:search"
    CITIZEN_CREATE = "registry:citizen:create"
    CITIZEN_UPDATE = "registry:citizen:update"
    CITIZEN_IMPORT = "registry:citizen:import"
    CITIZEN_EXPORT = "registry:citizen:export"
    AGENCY_READ = "registry:agency:read"
    AGENCY_UPDATE = "registry:agency:update"
    ENTERPRISE_READ = "registry:enterprise:read"
    ENTERPRISE_CREATE = "registry:enterprise:create"
    ENTERPRISE_EXPORT = "registry:enterprise:export"
    OFFICER_READ = "registry:officer:read"
    OFFICER_UPDATE = "registry:officer:update"


_P = RegistryPermission
_CLERK = frozenset({_P.CITIZEN_READ, _P.CITIZEN_SEARCH, _P.AGENCY_READ, _P.ENTERPRISE_READ, _P.OFFICER_READ})
_EDITOR = _CLERK | {_P.CITIZEN_CREATE, _P.CITIZEN_UPDATE, _P.ENTERPRISE_CREATE, _P.AGENCY_UPDATE, _P.OFFICER_UPDATE,
                    _P.CITIZEN_IMPORT}

ROLES = (
    RoleSpec("registry_clerk", "Cán bộ tra cứu cơ sở dữ liệu", "Registry clerk", _CLERK),
    RoleSpec("registry_editor", "Cán bộ cập nhật cơ sở dữ liệu", "Registry editor", frozenset(_EDITOR)),
    RoleSpec("registry_exporter", "Cán bộ kết xuất dữ liệu", "Registry exporter",
             frozenset({_P.CITIZEN_EXPORT, _P.ENTERPRISE_EXPORT})),
)
