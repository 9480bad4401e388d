"""What the pki contributes: CA, OCSP and TSA services, pages, API, `egov pki`, maintenance, OCSP hot path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.types import ASGIApp

from egov.pki import api, cli, permissions, views
from egov.pki.hotpath import OcspHotPath
from egov.pki.permissions import PkiPermission
from egov.pki.runtime import provide
from egov.pki.services import install_status_hooks
from egov.pki.settings import PkiSettings
from egov.pki.tasks import maintenance_round
from egov.platform.container import Container
from egov.platform.db import Database
from egov.platform.i18n import N_
from egov.platform.module import CommandGroup, ContextModule, HotPathContext, NavEntry, Round


def _install(db: Database) -> None:
    install_status_hooks(*db.session_factories)


def _rounds(container: Container) -> Sequence[Round]:
    return (maintenance_round(container),)


def _hot_paths(ctx: HotPathContext) -> Mapping[str, ASGIApp]:
    return {OcspHotPath.path: OcspHotPath(ctx.framework)}


module = ContextModule(
    name="pki",
    roles=permissions.ROLES,
    settings=("pki", PkiSettings),
    routers=(views.router, api.router),
    commands=(CommandGroup("pki", cli.app,
                           "PKI: root key ceremony (two custodians), certificates, CRLs, trust list."),),
    rounds=_rounds,
    models="egov.pki.models",
    install=_install,
    nav=(NavEntry(N_("Chứng thư số"), "/back-office/pki",
                  (PkiPermission.CERTIFICATE_READ, PkiPermission.CERTIFICATE_REQUEST,
                   PkiPermission.CERTIFICATE_APPROVE), order=20),),
    build=provide,
    hot_paths=_hot_paths,
)
