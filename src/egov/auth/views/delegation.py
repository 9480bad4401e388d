"""Pages for acting on behalf of others: choose whom to act for; legal representatives authorise employees."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from egov.auth.models import Account, AuthSession
from egov.auth.services.delegation import Delegations
from egov.platform.errors import DomainError, NotFound, ValidationFailed
from egov.platform.i18n import get_locale, pick
from egov.platform.permissions import Principal, authenticated
from egov.platform.uow import UnitOfWork
from egov.registry import parse_date
from egov.web.forms import confirmation
from egov.web.forms import confirmed as is_confirmed
from egov.web.templating import render

router = APIRouter(include_in_schema=False)
SignedInPrincipal = Annotated[Principal, Depends(authenticated)]


def _delegations(request: Request) -> Delegations:
    return Delegations.from_container(request.app.state.container)


def _account(uow: Session, principal: Principal) -> Account:
    account = uow.get(Account, principal.account_id)
    if account is None:
        raise NotFound("Không tìm thấy tài khoản.", "Account not found.")
    return account


@router.post("/account/act-as")
def act_as(request: Request, principal: SignedInPrincipal, uow: UnitOfWork,
           party: Annotated[str, Form()] = "") -> Response:
    """Act for a child under 14 or an enterprise in this session (empty: act for yourself again)."""
    row = uow.get(AuthSession, principal.session_id) if principal.session_id else None
    if row is None:
        raise NotFound("Không tìm thấy phiên đăng nhập.", "Session not found.")
    chosen = _delegations(request).act_as(uow, _account(uow, principal), row, party or None)
    return RedirectResponse("/account?done=" + ("acting" if chosen else "self"), status_code=303)


def _page(request: Request, uow: Session, principal: Principal, *, error: str = "", notice: str = "",
          field_errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    account = _account(uow, principal)
    enterprises = (_delegations(request).registry.enterprises_represented_by(uow, account.subject_id)
                   if account.subject_id else [])
    return render(request, "auth/delegations.html", {
        "enterprises": enterprises, "granted": _delegations(request).granted_by(uow, account),
        "error": error, "notice": notice, "field_errors": field_errors or {}, "form": form or {}},
        status_code=status_code)


@router.get("/account/delegations")
def delegations_page(request: Request, principal: SignedInPrincipal, uow: UnitOfWork, done: str = "") -> Response:
    notices = {"granted": ("Đã uỷ quyền.", "Delegation granted."), "revoked": ("Đã thu hồi uỷ quyền.",
                                                                            "Delegation revoked.")}
    pair = notices.get(done)
    return _page(request, uow, principal, notice=pick(*pair) if pair else "")


@router.post("/account/delegations")
def grant(request: Request, principal: SignedInPrincipal, uow: UnitOfWork,
          enterprise_id: Annotated[str, Form()] = "", delegate: Annotated[str, Form()] = "",
          services: Annotated[str, Form()] = "", until: Annotated[str, Form()] = "") -> Response:
    """Every field's error at once: a date that does not parse is still checked with the other fields."""
    locale = get_locale()
    form = {"enterprise_id": enterprise_id, "delegate": delegate, "services": services, "until": until}
    field_errors: dict[str, str] = {}
    day = None
    if until.strip():
        try:
            day = parse_date(until, field="until")
        except ValidationFailed as exc:
            field_errors.update({e.field: e.message(locale) for e in exc.errors})
    try:
        _delegations(request).grant(uow, _account(uow, principal), enterprise_id=enterprise_id,
                                    delegate_username=delegate, services=services.split(","), until=day)
    except ValidationFailed as exc:
        for e in exc.errors:
            field_errors.setdefault(e.field, e.message(locale))  # the date's own message comes first
    except DomainError as exc:
        uow.rollback()
        return _page(request, uow, principal, error=exc.detail(locale), form=form, status_code=exc.status)
    if field_errors:
        uow.rollback()
        return _page(request, uow, principal, field_errors=field_errors, form=form, status_code=422)
    return RedirectResponse("/account/delegations?done=granted", status_code=303)  # a refresh grants nothing


@router.post("/account/delegations/{delegation_id}/revoke")
def revoke(request: Request, delegation_id: str, principal: SignedInPrincipal, uow: UnitOfWork,
           confirmed: Annotated[str, Form()] = "") -> Response:
    if not is_confirmed(confirmed):
        # Looked up first: a delegation that is not there (or not yours) is a 404, not a question.
        row = _delegations(request).granted(uow, _account(uow, principal), delegation_id)
        delegate = uow.get(Account, row.delegate_account_id)
        who = delegate.display_name if delegate else "—"
        return confirmation(
            request, title=pick("Thu hồi uỷ quyền?", "Revoke the delegation?"),
            message=pick(f"{who} sẽ không còn thay mặt doanh nghiệp được nữa, kể cả trong phiên đang mở.",
                         f"{who} can no longer act for the enterprise, open sessions included."),
            action=f"/account/delegations/{delegation_id}/revoke", button=pick("Thu hồi uỷ quyền", "Revoke"),
            cancel="/account/delegations")
    _delegations(request).revoke(uow, _account(uow, principal), delegation_id)
    return RedirectResponse("/account/delegations?done=revoked", status_code=303)
