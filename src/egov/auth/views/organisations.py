"""Organisation accounts: the legal representative opens one and manages who may act for it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from egov.auth.services.organisations import LevelTooLow, Organisations
from egov.auth.views.delegation import _account
from egov.platform.errors import DomainError
from egov.platform.i18n import get_locale, pick
from egov.platform.permissions import Principal, authenticated
from egov.platform.uow import UnitOfWork
from egov.web.forms import confirmation
from egov.web.forms import confirmed as is_confirmed
from egov.web.templating import render

router = APIRouter(include_in_schema=False)
SignedInPrincipal = Annotated[Principal, Depends(authenticated)]
PAGE = "/account/organisations"


def _organisations(request: Request) -> Organisations:
    return Organisations.from_container(request.app.state.container)


def _page(request: Request, uow: Session, principal: Principal, *, error: str = "", notice: str = "",
          status_code: int = 200) -> Response:
    views = _organisations(request).mine(uow, _account(uow, principal))
    return render(request, "auth/organisations.html", {"organisations": views, "error": error, "notice": notice},
                  status_code=status_code)


@router.get(PAGE)
def organisations_page(request: Request, principal: SignedInPrincipal, uow: UnitOfWork, done: str = "") -> Response:
    notices = {"opened": ("Đã mở tài khoản tổ chức.", "The organisation account is open."),
               "added": ("Đã thêm thành viên.", "Member added."), "removed": ("Đã gỡ thành viên.", "Member removed.")}
    pair = notices.get(done)
    notice = (pair[1] if get_locale().startswith("en") else pair[0]) if pair else ""
    return _page(request, uow, principal, notice=notice)


def _act(request: Request, uow: Session, principal: Principal, call: object, done: str) -> Response:
    try:
        call()  # type: ignore[operator]
    except LevelTooLow:
        uow.rollback()
        # Step up rather than refuse: come back here once the session reaches the level.
        return RedirectResponse("/login/step-up?" + urlencode({"next": PAGE}), status_code=303)
    except DomainError as exc:
        uow.rollback()
        return _page(request, uow, principal, error=exc.detail(get_locale()), status_code=exc.status)
    return RedirectResponse(f"{PAGE}?done={done}", status_code=303)


@router.post(PAGE)
def open_organisation(request: Request, principal: SignedInPrincipal, uow: UnitOfWork,
                      enterprise_id: Annotated[str, Form()] = "") -> Response:
    """Open the enterprise's account (legal representative, level-2 session)."""
    return _act(request, uow, principal, lambda: _organisations(request).open(
        uow, _account(uow, principal), enterprise_id, session_level=principal.acr), "opened")


@router.post(PAGE + "/{org_id}/members")
def add_member(request: Request, org_id: str, principal: SignedInPrincipal, uow: UnitOfWork,
               member: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "member") -> Response:
    return _act(request, uow, principal, lambda: _organisations(request).add_member(
        uow, _account(uow, principal), org_id, member, role, session_level=principal.acr), "added")


@router.post(PAGE + "/{org_id}/members/{membership_id}/remove")
def remove_member(request: Request, org_id: str, membership_id: str, principal: SignedInPrincipal,
                  uow: UnitOfWork, confirmed: Annotated[str, Form()] = "") -> Response:
    if not is_confirmed(confirmed):
        # Looked up first: a member who is not there (or an organisation not yours) is a 404, not a question.
        org, _, member = _organisations(request).membership(uow, _account(uow, principal), org_id, membership_id)
        who = member.display_name if member else "—"
        return confirmation(
            request, title=pick("Gỡ thành viên khỏi tổ chức?", "Remove the member?"),
            message=pick(f"{who} sẽ không còn thay mặt {org.display_name} được nữa, kể cả trong phiên đang mở.",
                         f"{who} can no longer act for {org.display_name}, open sessions included."),
            action=f"{PAGE}/{org_id}/members/{membership_id}/remove", button=pick("Gỡ thành viên", "Remove"),
            cancel=PAGE)
    return _act(request, uow, principal, lambda: _organisations(request).remove_member(
        uow, _account(uow, principal), org_id, membership_id, session_level=principal.acr), "removed")
