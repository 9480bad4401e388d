"""Registry JSON API for machines: the same services as the pages, errors as problem+json."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BeforeValidator

from egov.platform.clock import Clock, today_vn
from egov.platform.permissions import Principal, requires
from egov.platform.uow import UnitOfWork
from egov.registry import services
from egov.registry.permissions import RegistryPermission as P
from egov.registry.schemas import AgencyOut, CitizenIn, CitizenOut, CitizenSearchOut, CitizenSummaryOut, EnterpriseOut
from egov.registry.services.access import not_found
from egov.web.openapi import problems

router = APIRouter(prefix="/api/registry", tags=["registry"])

Searcher = Annotated[Principal, Depends(requires(P.CITIZEN_SEARCH))]
Reader = Annotated[Principal, Depends(requires(P.CITIZEN_READ))]
Creator = Annotated[Principal, Depends(requires(P.CITIZEN_CREATE))]
AgencyReader = Annotated[Principal, Depends(requires(P.AGENCY_READ))]
EnterpriseReader = Annotated[Principal, Depends(requires(P.ENTERPRISE_READ))]


def _iso_date(value: object) -> object:
    """Only `YYYY-MM-DD`, as documented: pydantic would also read `0` as 1970-01-01 (a Unix time)."""
    if isinstance(value, str) and not (len(value) == 10 and value[4] == "-" and value[7] == "-"):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.container.clock
    return clock


@router.get("/citizens", response_model=CitizenSearchOut)
def search_citizens(
    uow: UnitOfWork, by: Searcher, q: str = "", limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> CitizenSearchOut:
    """Citizens in your agencies by 12-digit personal ID (exact) or name words (each word starts a word
    of the name; accents, case and đ/d ignored). Audited with the query and the count."""
    result = services.search_citizens(uow, q, by=by, limit=limit)
    return CitizenSearchOut(query=result.query, count=len(result.items),
                            items=[CitizenSummaryOut.of(c) for c in result.items])


@router.get("/citizens/by-personal-id/{personal_id}", response_model=CitizenOut, responses=problems(404))
def citizen_by_personal_id(request: Request, personal_id: str, uow: UnitOfWork, by: Reader) -> CitizenOut:
    """404 both when unknown and when managed outside your agencies. Audited."""
    return CitizenOut.of_record(services.get_citizen_by_personal_id(uow, _clock(request), personal_id, by=by))


@router.get("/citizens/{citizen_id}", response_model=CitizenOut, responses=problems(404))
def citizen(request: Request, citizen_id: str, uow: UnitOfWork, by: Reader) -> CitizenOut:
    """404 both when unknown and when managed outside your agencies. Audited."""
    return CitizenOut.of_record(services.get_citizen(uow, _clock(request), citizen_id, by=by))


@router.post("/citizens", response_model=CitizenOut, status_code=201, responses=problems(409))
def create_citizen(request: Request, body: CitizenIn, uow: UnitOfWork, by: Creator) -> CitizenOut:
    """Register a citizen; 422 problem+json lists every broken rule (field and rule code)."""
    clock = _clock(request)
    created = services.create_citizen(uow, clock, **body.model_dump(), by=by)
    uow.flush()
    return CitizenOut.of_record(services.citizen_record(uow, clock, created))


@router.get("/agencies", response_model=list[AgencyOut])
def agencies(request: Request, uow: UnitOfWork, by: AgencyReader, as_of: IsoDate | None = None) -> list[AgencyOut]:
    """The agencies open on `as_of` (default: today in Vietnam), by code."""
    day = as_of or today_vn(_clock(request))
    return [AgencyOut.of(a, as_of=day) for a in services.agencies_open_on(uow, day)]


@router.get("/agencies/{code}", response_model=AgencyOut, responses=problems(404))
def agency(request: Request, code: str, uow: UnitOfWork, by: AgencyReader,
           as_of: IsoDate | None = None) -> AgencyOut:
    """One agency, open or closed (history stays readable), with its successor and its open children."""
    day = as_of or today_vn(_clock(request))
    view = services.agency_view(uow, code, day)
    if view is None:
        raise not_found("agency")
    return AgencyOut.of(view.agency, parent=view.parent, successor=view.successor, as_of=day, children=view.children)


@router.get("/enterprises/{tax_code}", response_model=EnterpriseOut, responses=problems(404))
def enterprise(tax_code: str, uow: UnitOfWork, by: EnterpriseReader) -> EnterpriseOut:
    """404 both when unknown and when managed outside your agencies. Audited (it names a person)."""
    return EnterpriseOut.of_record(services.get_enterprise(uow, tax_code, by=by))
