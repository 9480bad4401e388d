"""What the registry contributes: its pages, API, `egov registry` commands, tables and menu entry."""

from __future__ import annotations

from egov.platform.i18n import N_
from egov.platform.module import CommandGroup, ContextModule, NavEntry
from egov.registry import api, cli, permissions, views
from egov.registry.permissions import RegistryPermission

module = ContextModule(
    name="registry",
    roles=permissions.ROLES,
    routers=(views.router, api.router),
    commands=(CommandGroup("registry", cli.app,
                           "Citizens, agencies, enterprises, officers: import, export, look up."),),
    models="egov.registry.models",
    nav=(NavEntry(N_("Cơ sở dữ liệu"), "/back-office/registry",
                  (RegistryPermission.CITIZEN_SEARCH, RegistryPermission.AGENCY_READ), order=10),),
)
