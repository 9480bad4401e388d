"""Back-office pages of the registry: parse the request, call one service, render (no SQL here)."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from egov.platform.clock import Clock, today_vn
from egov.platform.errors import DomainError, ValidationFailed
from egov.platform.i18n import get_locale, pick
from egov.platform.permissions import Principal, requires
from egov.platform.uow import UnitOfWork
from egov.registry import services
from egov.registry.permissions import RegistryPermission as P
from egov.registry.services.access import not_found
from egov.web.once import OneTime
from egov.web.templating import render

router = APIRouter(prefix="/back-office/registry", include_in_schema=False)

AnyReader = Annotated[
    Principal,
    Depends(requires(P.CITIZEN_SEARCH, P.CITIZEN_READ, P.AGENCY_READ, P.ENTERPRISE_READ, P.OFFICER_READ)),
]
Searcher = Annotated[Principal, Depends(requires(P.CITIZEN_SEARCH))]
Reader = Annotated[Principal, Depends(requires(P.CITIZEN_READ))]
Creator = Annotated[Principal, Depends(requires(P.CITIZEN_CREATE))]
Importer = Annotated[Principal, Depends(requires(P.CITIZEN_IMPORT))]
Exporter = Annotated[Principal, Depends(requires(P.CITIZEN_EXPORT))]
AgencyReader = Annotated[Principal, Depends(requires(P.AGENCY_READ))]
EnterpriseReader = Annotated[Principal, Depends(requires(P.ENTERPRISE_READ))]
EnterpriseCreator = Annotated[Principal, Depends(requires(P.ENTERPRISE_CREATE))]
OfficerReader = Annotated[Principal, Depends(requires(P.OFFICER_READ))]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a web upload; bigger files go through `egov registry import`
REPORT_ROWS_SHOWN = 1_000
# An import that kept rows answers 303; the import page then shows its report once (a refresh imports nothing).
IMPORT_REPORT = OneTime("citizen-import", "/back-office/registry/citizens/import")


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.container.clock
    return clock


def _errors_by_field(exc: DomainError) -> dict[str, str]:
    locale = get_locale()
    out: dict[str, str] = {}
    for e in exc.errors:
        out.setdefault(e.field, e.message(locale))
    return out


# --- landing -------------------------------------------------------------------------------------


@router.get("")
def index(request: Request, by: AnyReader) -> Response:
    sections = [
        (P.CITIZEN_SEARCH, "/back-office/registry/citizens", ("Công dân", "Citizens"),
         ("Tra cứu theo số định danh hoặc họ tên; thêm, nhập và kết xuất hồ sơ.",
          "Look up by personal ID or name; add, import and export records.")),
        (P.AGENCY_READ, "/back-office/registry/agencies", ("Cơ quan", "Agencies"),
         ("Cây mã định danh cơ quan theo ngày, kể cả các đơn vị đã sáp nhập.",
          "The agency-code tree as of a date, merged units included.")),
        (P.ENTERPRISE_READ, "/back-office/registry/enterprises", ("Doanh nghiệp", "Enterprises"),
         ("Doanh nghiệp, tổ chức theo mã số thuế.", "Enterprises and organisations by tax code.")),
        (P.OFFICER_READ, "/back-office/registry/officers", ("Cán bộ", "Officers"),
         ("Cán bộ và chức danh tại các cơ quan.", "Officers and their positions.")),
    ]
    return render(request, "registry/index.html", {"sections": [s for s in sections if by.can(s[0])]})


# --- citizens ------------------------------------------------------------------------------------


@router.get("/citizens")
def citizens(request: Request, uow: UnitOfWork, by: Searcher, q: str = "") -> Response:
    """The search page; an htmx request gets only the results, for live search as the clerk types."""
    result = services.search_citizens(uow, q, by=by) if q.strip() else None
    context = {"q": q, "result": result}
    if request.headers.get("hx-request") == "true":
        return render(request, "registry/_citizen_results.html", context)
    return render(request, "registry/citizens.html", context)


def _citizen_form(request: Request, uow: Session, by: Principal, form: dict[str, str],
                  errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    choices = services.agencies_in_scope(uow, by, P.CITIZEN_CREATE, today_vn(_clock(request)))
    return render(request, "registry/citizen_new.html", {
        "form": form, "errors": errors or {}, "agencies": choices,
    }, status_code=status_code)


CITIZEN_FIELDS = ("personal_id", "full_name", "birth_date", "sex", "phone", "email", "managing_agency_code",
                  "guardian_personal_id")


@router.get("/citizens/new")
def citizen_new(request: Request, uow: UnitOfWork, by: Creator) -> Response:
    return _citizen_form(request, uow, by, dict.fromkeys(CITIZEN_FIELDS, ""))


@router.post("/citizens/new")
def citizen_create(
    request: Request,
    uow: UnitOfWork,
    by: Creator,
    personal_id: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    birth_date: Annotated[str, Form()] = "",
    sex: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    managing_agency_code: Annotated[str, Form()] = "",
    guardian_personal_id: Annotated[str, Form()] = "",
) -> Response:
    form = {"personal_id": personal_id, "full_name": full_name, "birth_date": birth_date, "sex": sex,
            "phone": phone, "email": email, "managing_agency_code": managing_agency_code,
            "guardian_personal_id": guardian_personal_id}
    try:
        citizen = services.create_citizen(uow, _clock(request), **form, by=by)
    except ValidationFailed as exc:
        uow.rollback()
        return _citizen_form(request, uow, by, form, _errors_by_field(exc), status_code=422)
    return RedirectResponse(f"/back-office/registry/citizens/{citizen.id}?created=1", status_code=303)


def _report_data(report: services.ImportReport, shown: int) -> dict[str, Any]:
    """The report as the cookie carries it, with at most `shown` row errors (the rest only counted)."""
    kept = report.errors[:shown]
    return {"batch_id": report.batch_id, "skip_invalid": report.skip_invalid, "rows": report.rows,
            "imported": report.imported, "rejected_rows": report.rejected_rows,
            "unreported_errors": report.unreported_errors + len(report.errors) - len(kept),
            "seconds": report.seconds,
            "errors": [[e.line, e.field, e.rule, e.message_vi, e.message_en] for e in kept]}


def _report_from(data: dict[str, Any]) -> services.ImportReport:
    return services.ImportReport(
        batch_id=str(data["batch_id"]), skip_invalid=bool(data["skip_invalid"]), rows=int(data["rows"]),
        imported=int(data["imported"]), rejected_rows=int(data["rejected_rows"]),
        unreported_errors=int(data["unreported_errors"]), seconds=float(data["seconds"]),
        errors=[services.RowError(e[0], str(e[1]), str(e[2]), str(e[3]), str(e[4])) for e in data["errors"]])


def _report_redirect(request: Request, report: services.ImportReport, by: Principal) -> Response:
    """303 to the import page with the report; row errors beyond what one cookie holds are counted, not listed."""
    shown = min(len(report.errors), REPORT_ROWS_SHOWN)
    data = _report_data(report, shown)
    while shown and not IMPORT_REPORT.fits(request, data, account_id=by.account_id):
        shown //= 2
        data = _report_data(report, shown)
    return IMPORT_REPORT.redirect(request, data, account_id=by.account_id)


@router.get("/citizens/import")
def import_form(request: Request, uow: UnitOfWork, by: Importer) -> Response:
    choices = services.agencies_in_scope(uow, by, P.CITIZEN_IMPORT, today_vn(_clock(request)))
    shown = IMPORT_REPORT.take(request, account_id=by.account_id)
    report = _report_from(shown) if shown else None
    return IMPORT_REPORT.clear(request, render(request, "registry/import.html", {
        "agencies": choices, "report": report, "error": "", "shown": REPORT_ROWS_SHOWN,
        "form": {"skip_invalid": bool(report and report.skip_invalid), "agency_code": ""}}))


@router.post("/citizens/import")
def import_upload(
    request: Request,
    uow: UnitOfWork,
    by: Importer,
    file: Annotated[UploadFile | None, File()] = None,
    skip_invalid: Annotated[str, Form()] = "",
    agency_code: Annotated[str, Form()] = "",
) -> Response:
    """Streams the uploaded file (spooled to disk by the server) through the importer; shows the row report."""
    clock = _clock(request)
    error = ""
    report = None
    if file is None or not file.filename or file.size == 0:
        error = pick("Hãy chọn một tệp CSV để nhập.", "Choose a CSV file to import.")
    elif file.size is not None and file.size > MAX_UPLOAD_BYTES:
        error = pick("Tệp lớn hơn 50 MB; hãy dùng lệnh `egov registry import citizens`.",
                     "The file is larger than 50 MB; use `egov registry import citizens`.")
    else:
        report = services.CitizenImporter(uow, clock, by=by).import_rows(
            file.file, skip_invalid=skip_invalid == "1", default_agency_code=agency_code.strip() or None
        )
    rejected = error or (report is not None and report.imported == 0 and not report.ok)
    if report is not None and not rejected:
        return _report_redirect(request, report, by)
    return render(request, "registry/import.html", {
        "agencies": services.agencies_in_scope(uow, by, P.CITIZEN_IMPORT, today_vn(clock)),
        "report": report, "error": error, "shown": REPORT_ROWS_SHOWN,
        "form": {"skip_invalid": skip_invalid == "1", "agency_code": agency_code},
    }, status_code=422 if rejected else 200)


@router.get("/citizens/export")
def export_page(uow: UnitOfWork, request: Request, by: Exporter) -> Response:
    return render(request, "registry/export.html", {"count": services.count_exportable(uow, by=by)})


@router.post("/citizens/export")
def export_download(uow: UnitOfWork, by: Exporter, request: Request) -> Response:
    """The CSV is built inside the request's transaction, so the audit event commits with the read."""
    out = io.StringIO()
    services.export_citizens(uow, out, by=by)
    stamp = today_vn(_clock(request)).strftime("%Y%m%d")
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="citizens-{stamp}.csv"'},
    )


@router.get("/citizens/{citizen_id}")
def citizen_detail(request: Request, citizen_id: str, uow: UnitOfWork, by: Reader, created: str = "") -> Response:
    record = services.get_citizen(uow, _clock(request), citizen_id, by=by)
    return render(request, "registry/citizen.html", {"r": record, "created": created == "1"})


# --- agencies ------------------------------------------------------------------------------------


def _as_of(request: Request, value: str) -> tuple[date, dict[str, str]]:
    if value.strip():
        try:
            return services.parse_date(value, field="as_of"), {}
        except ValidationFailed as exc:
            return today_vn(_clock(request)), _errors_by_field(exc)
    return today_vn(_clock(request)), {}


@router.get("/agencies")
def agencies(request: Request, uow: UnitOfWork, by: AgencyReader, as_of: str = "") -> Response:
    day, errors = _as_of(request, as_of)
    return render(request, "registry/agencies.html", {
        "tree": services.agency_tree(uow, day), "day": day, "as_of": as_of, "errors": errors,
    }, status_code=422 if errors else 200)


@router.get("/agencies/{code}")
def agency(request: Request, code: str, uow: UnitOfWork, by: AgencyReader, as_of: str = "") -> Response:
    day, errors = _as_of(request, as_of)
    view = services.agency_view(uow, code, day)
    if view is None:
        raise not_found("agency")
    return render(request, "registry/agency.html", {"v": view, "day": day, "as_of": as_of, "errors": errors})


# --- enterprises ---------------------------------------------------------------------------------


@router.get("/enterprises")
def enterprises(request: Request, uow: UnitOfWork, by: EnterpriseReader, q: str = "") -> Response:
    return render(request, "registry/enterprises.html", {"rows": services.list_enterprises(uow, by=by, query=q),
                                                         "q": q})


ENTERPRISE_FIELDS = ("tax_code", "name", "name_en", "legal_representative_personal_id", "managing_agency_code",
                     "status", "registered_on")


def _enterprise_form(request: Request, uow: Session, by: Principal, form: dict[str, str],
                     errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    choices = services.agencies_in_scope(uow, by, P.ENTERPRISE_CREATE, today_vn(_clock(request)))
    return render(request, "registry/enterprise_new.html", {"form": form, "errors": errors or {},
                                                            "agencies": choices}, status_code=status_code)


@router.get("/enterprises/new")
def enterprise_new(request: Request, uow: UnitOfWork, by: EnterpriseCreator) -> Response:
    return _enterprise_form(request, uow, by, {**dict.fromkeys(ENTERPRISE_FIELDS, ""), "status": "active"})


@router.post("/enterprises/new")
def enterprise_create(
    request: Request,
    uow: UnitOfWork,
    by: EnterpriseCreator,
    tax_code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    name_en: Annotated[str, Form()] = "",
    legal_representative_personal_id: Annotated[str, Form()] = "",
    managing_agency_code: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "active",
    registered_on: Annotated[str, Form()] = "",
) -> Response:
    form = {"tax_code": tax_code, "name": name, "name_en": name_en,
            "legal_representative_personal_id": legal_representative_personal_id,
            "managing_agency_code": managing_agency_code, "status": status, "registered_on": registered_on}
    try:
        enterprise = services.create_enterprise(uow, _clock(request), **form, by=by)
    except ValidationFailed as exc:
        uow.rollback()
        return _enterprise_form(request, uow, by, form, _errors_by_field(exc), status_code=422)
    return RedirectResponse(f"/back-office/registry/enterprises/{quote(enterprise.tax_code)}", status_code=303)


@router.get("/enterprises/{tax_code}")
def enterprise(request: Request, tax_code: str, uow: UnitOfWork, by: EnterpriseReader) -> Response:
    return render(request, "registry/enterprise.html", {"r": services.get_enterprise(uow, tax_code, by=by)})


# --- officers ------------------------------------------------------------------------------------


@router.get("/officers")
def officers(request: Request, uow: UnitOfWork, by: OfficerReader) -> Response:
    return render(request, "registry/officers.html", {"rows": services.list_officers(uow, _clock(request), by=by)})


@router.get("/officers/{officer_id}")
def officer(request: Request, officer_id: str, uow: UnitOfWork, by: OfficerReader) -> Response:
    record = services.get_officer(uow, officer_id, by=by)
    context: dict[str, Any] = {"r": record, "today": today_vn(_clock(request))}
    return render(request, "registry/officer.html", context)
