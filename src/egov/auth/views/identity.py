"""Pages for identity proofing: citizens register (level 1); one-stop desk officers verify in person (level 2)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from egov.auth.permissions import AuthPermission
from egov.auth.services.proofing import EVIDENCE_TYPES, Proofing
from egov.platform.context import current_context
from egov.platform.errors import DomainError, TooManyAttempts
from egov.platform.i18n import get_locale
from egov.platform.permissions import Principal, public, requires
from egov.platform.uow import UnitOfWork
from egov.registry import parse_date
from egov.web.templating import render

router = APIRouter(include_in_schema=False)
Public = Annotated[Principal | None, Depends(public)]
Verifier = Annotated[Principal, Depends(requires(AuthPermission.IDENTITY_VERIFY.value))]


def _proofing(request: Request) -> Proofing:
    return Proofing.from_container(request.app.state.container)


def _errors(exc: DomainError) -> dict[str, str]:
    locale = get_locale()
    return {e.field: e.message(locale) for e in exc.errors}


def _parse_date(value: str, field: str) -> date | None:
    """None when left empty (the service says it is required); dd/mm/yyyy or yyyy-mm-dd otherwise."""
    return parse_date(value, field=field) if value.strip() else None


# --- registration (level 1) ------------------------------------------------------------------------

def _register_page(request: Request, form: dict[str, str] | None = None, error: str = "",
                   field_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "auth/register.html", {"form": form or {}, "error": error,
                                                   "field_errors": field_errors or {}}, status_code=status_code)


@router.get("/register")
def register_form(request: Request, _: Public) -> Response:
    return _register_page(request)


@router.post("/register")
def register_start(
    request: Request,
    _: Public,
    uow: UnitOfWork,
    personal_id: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    birth_date: Annotated[str, Form()] = "",
    channel: Annotated[str, Form()] = "email",
) -> Response:
    form = {"personal_id": personal_id.strip(), "full_name": full_name, "birth_date": birth_date, "channel": channel}
    try:
        started = _proofing(request).start(uow, personal_id=personal_id, full_name=full_name,
                                           birth_date=_parse_date(birth_date, "birth_date"), channel=channel,
                                           ip=current_context().source_ip)
    except TooManyAttempts as exc:
        resp = _register_page(request, form, exc.detail(get_locale()), status_code=429)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except DomainError as exc:
        return _register_page(request, form, exc.detail(get_locale()), _errors(exc), status_code=exc.status)
    return RedirectResponse(f"/register/confirm?c={started.challenge_id}", status_code=303)


def _confirm_page(request: Request, uow: Session, challenge_id: str, error: str = "",
                  field_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    try:
        challenge = _proofing(request).challenge(uow, challenge_id)
    except DomainError as exc:
        return _register_page(request, error=exc.detail(get_locale()), status_code=exc.status)
    return render(request, "auth/register_confirm.html", {
        "challenge_id": challenge.id, "channel": challenge.channel, "to": challenge.destination_masked,
        "error": error, "field_errors": field_errors or {}}, status_code=status_code)


@router.get("/register/confirm")
def register_confirm_form(request: Request, _: Public, uow: UnitOfWork, c: str = "") -> Response:
    return _confirm_page(request, uow, c)


@router.post("/register/confirm")
def register_confirm(
    request: Request,
    _: Public,
    uow: UnitOfWork,
    challenge_id: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> Response:
    if password != password_again:
        return _confirm_page(request, uow, challenge_id, field_errors={"password_again": (
            "Hai mật khẩu không giống nhau." if get_locale() == "vi" else "The two passwords differ.")},
            status_code=422)
    try:
        _proofing(request).confirm(uow, challenge_id, code, password)
    except DomainError as exc:
        uow.rollback()
        return _confirm_page(request, uow, challenge_id, exc.detail(get_locale()), _errors(exc),
                             status_code=exc.status)
    return RedirectResponse("/login?next=/account&registered=1", status_code=303)


# --- in-person verification (level 2) -------------------------------------------------------------

def _identity_page(request: Request, uow: Session, principal: Principal, q: str = "", *, notice: str = "",
                   error: str = "", field_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    account = _proofing(request).find_citizen_account(uow, principal, q)
    return render(request, "auth/identity_verify.html", {
        "q": q, "account": account, "evidence_types": EVIDENCE_TYPES, "notice": notice, "error": error,
        "field_errors": field_errors or {}}, status_code=status_code)


@router.get("/back-office/identity")
def identity_desk(request: Request, principal: Verifier, uow: UnitOfWork, q: str = "") -> Response:
    return _identity_page(request, uow, principal, q)


@router.post("/back-office/identity/verify")
def identity_verify(
    request: Request,
    principal: Verifier,
    uow: UnitOfWork,
    personal_id: Annotated[str, Form()] = "",
    evidence_type: Annotated[str, Form()] = "",
    evidence_ref: Annotated[str, Form()] = "",
) -> Response:
    try:
        account = _proofing(request).verify_in_person(uow, principal, personal_id=personal_id,
                                                      evidence_type=evidence_type, evidence_ref=evidence_ref)
    except DomainError as exc:
        uow.rollback()
        return _identity_page(request, uow, principal, personal_id, error=exc.detail(get_locale()),
                              field_errors=_errors(exc), status_code=exc.status)
    notice = (f"Đã xác thực mức 2 cho {account.display_name}." if get_locale() == "vi"
              else f"{account.display_name} is now verified at level 2.")
    return _identity_page(request, uow, principal, personal_id, notice=notice)
