"""What signing contributes: the signing service, pages, API, `egov signing` and its jobs."""

from __future__ import annotations

from egov.platform.container import Container
from egov.platform.i18n import N_
from egov.platform.module import CommandGroup, ContextModule, NavEntry
from egov.signing import api, cli, permissions, views
from egov.signing.isolation import close_shared_validators
from egov.signing.permissions import SigningPermission
from egov.signing.services import SigningService
from egov.signing.settings import SigningSettings
from egov.signing.tasks import job_handlers


def _build(container: Container) -> None:
    container.provide(SigningService, SigningService.build)


module = ContextModule(
    name="signing",
    roles=permissions.ROLES,
    settings=("signing", SigningSettings),
    routers=(views.router, api.router),
    commands=(CommandGroup("signing", cli.app,
                           "Digital signatures: validate (ETSI EN 319 102-1), identities, archives."),),
    jobs=job_handlers,
    models="egov.signing.models",
    nav=(NavEntry(N_("Ký số"), "/back-office/signing", (SigningPermission.DOCUMENT_SIGN,), order=30),),
    build=_build,
    stop=close_shared_validators,
)
