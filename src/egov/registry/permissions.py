"""Registry permissions `registry:<resource>:<action>`; a grant at an agency covers its whole subtree."""

from enum import StrEnum


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
