"""Back-office pages of the audit log: search, one event with its live inclusion proof, verify now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from egov.platform.errors import ValidationFailed
from egov.platform.permissions import Principal, requires
from egov.platform.uow import UnitOfWork
from egov.soc.permissions import SocPermission
from egov.soc.schemas import SearchFilters
from egov.soc.services import AuditLogService
from egov.web.templating import render

router = APIRouter(prefix="/back-office/audit", include_in_schema=False)
Reader = Annotated[Principal, Depends(requires(SocPermission.AUDIT_READ))]
Verifier = Annotated[Principal, Depends(requires(SocPermission.AUDIT_VERIFY))]


def _service(request: Request, session: UnitOfWork) -> AuditLogService:
    return AuditLogService(session, request.app.state.container)


Service = Annotated[AuditLogService, Depends(_service)]


@router.get("")
def search(
    request: Request,
    principal: Reader,
    service: Service,
    type: Annotated[str, Query(max_length=200)] = "",
    actor: Annotated[str, Query(max_length=400)] = "",
    object: Annotated[str, Query(max_length=400)] = "",
    since: Annotated[str, Query(max_length=20)] = "",
    until: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    form = {"type": type, "actor": actor, "object": object, "since": since, "until": until}
    try:
        filters = SearchFilters.parse(type, actor, object, since, until)
    except ValidationFailed as exc:
        return render(request, "soc/search.html", {"form": form, "result": None, "errors": exc.errors,
                                                   "can_verify": principal.can(SocPermission.AUDIT_VERIFY)},
                      status_code=422)
    result = service.search(principal, filters, page)
    return render(request, "soc/search.html", {"form": form, "result": result, "errors": [],
                                               "agencies": service.agency_names(e.agency_id for e in result.items),
                                               "can_verify": principal.can(SocPermission.AUDIT_VERIFY)})


@router.get("/events/{event_id}")
def event(request: Request, event_id: str, principal: Reader, service: Service) -> Response:
    detail = service.event(principal, event_id[:64])
    return render(request, "soc/event.html", {"detail": detail,
                                              "agencies": service.agency_names([detail.event.agency_id])})


@router.post("/verify")
def verify_now(request: Request, principal: Verifier, service: Service) -> Response:
    return render(request, "soc/verify.html", {"outcome": service.verify_now(principal)})
