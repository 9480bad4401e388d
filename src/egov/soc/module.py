"""What soc contributes: the audit log's pages, API, `egov audit` commands, tables and its round."""

from __future__ import annotations

from collections.abc import Sequence

from egov.platform.container import Container
from egov.platform.db import Database
from egov.platform.i18n import N_
from egov.platform.module import CommandGroup, ContextModule, NavEntry, Round
from egov.soc import api, cli, permissions, views
from egov.soc.audit.recorder import install_audit_hooks
from egov.soc.permissions import SocPermission
from egov.soc.settings import SocSettings
from egov.soc.tasks import AuditRounds


def _install(db: Database) -> None:
    install_audit_hooks(*db.session_factories)


def _rounds(container: Container) -> Sequence[Round]:
    return (AuditRounds(container),)


module = ContextModule(
    name="soc",
    roles=permissions.ROLES,
    settings=("soc", SocSettings),
    routers=(views.router, api.router),
    commands=(CommandGroup("audit", cli.app, "Tamper-evident audit log: verify, proofs, checkpoints, search."),),
    rounds=_rounds,
    models="egov.soc.models",
    install=_install,
    nav=(NavEntry(N_("Nhật ký kiểm toán"), "/back-office/audit", (SocPermission.AUDIT_READ,), order=40),),
)
