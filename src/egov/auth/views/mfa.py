"""Routes for the holder's authenticators: an authenticator app (recovery codes shown once) and passkeys,
including passkey sign-in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Form, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from egov.auth.services import AccountService, SignInService
from egov.auth.services.mfa import SecondFactors
from egov.auth.services.passkeys import Passkeys
from egov.auth.sessions import SESSION_COOKIE, cookies_secure, landing, start_session_cookies
from egov.platform.context import current_context
from egov.platform.errors import DomainError
from egov.platform.i18n import get_locale, pick
from egov.platform.permissions import Principal, authenticated, public
from egov.platform.uow import UnitOfWork
from egov.web.forms import confirmation
from egov.web.forms import confirmed as is_confirmed
from egov.web.once import OneTime
from egov.web.templating import render

router = APIRouter(include_in_schema=False)
SignedInPrincipal = Annotated[Principal, Depends(authenticated)]
Public = Annotated[Principal | None, Depends(public)]
# The ten recovery codes after a confirmed set-up: the POST answers 303 and this page shows them once.
RECOVERY_CODES = OneTime("recovery-codes", "/account/mfa/recovery-codes")


def _factors(request: Request) -> SecondFactors:
    return SecondFactors.from_container(request.app.state.container)


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"  # seeds and recovery codes must not sit in a cache
    return resp


@router.get("/account/mfa/totp")
def totp_setup(request: Request, principal: SignedInPrincipal, uow: UnitOfWork) -> Response:
    account = AccountService.from_container(request.app.state.container).get(uow, principal.account_id)
    enrolment = _factors(request).begin_totp(account)
    return _no_store(render(request, "auth/totp_setup.html", {"enrolment": enrolment, "error": ""}))


@router.post("/account/mfa/totp")
def totp_confirm(
    request: Request,
    principal: SignedInPrincipal,
    uow: UnitOfWork,
    sealed: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
) -> Response:
    """The app works (a current code was typed): store it and show the recovery codes, once."""
    account = AccountService.from_container(request.app.state.container).get(uow, principal.account_id)
    factors = _factors(request)
    try:
        codes = factors.confirm_totp(uow, account, sealed, code, label)
    except DomainError as exc:
        enrolment = factors.resume_totp(account, sealed)
        return _no_store(render(request, "auth/totp_setup.html", {"enrolment": enrolment,
                                                                  "error": exc.detail(get_locale())},
                                status_code=422))
    return RECOVERY_CODES.redirect(request, {"codes": list(codes)}, account_id=principal.account_id)


@router.get("/account/mfa/recovery-codes")
def recovery_codes(request: Request, principal: SignedInPrincipal) -> Response:
    """The codes just made, once: a refresh or a later visit goes to the account page instead."""
    shown = RECOVERY_CODES.take(request, account_id=principal.account_id)
    if not shown:
        return RECOVERY_CODES.clear(request, RedirectResponse("/account", status_code=303))
    return RECOVERY_CODES.clear(request, render(request, "auth/recovery_codes.html",
                                                {"codes": [str(c) for c in shown.get("codes", [])]}))


@router.post("/account/mfa/{authenticator_id}/remove")
def remove_authenticator(request: Request, authenticator_id: str, principal: SignedInPrincipal,
                         uow: UnitOfWork, confirmed: Annotated[str, Form()] = "") -> Response:
    if not is_confirmed(confirmed):
        return confirmation(
            request, title=pick("Gỡ ứng dụng xác thực?", "Remove the authenticator app?"),
            message=pick("Mã từ ứng dụng này sẽ không còn dùng được để đăng nhập hay ký số. Nếu đây là ứng dụng "
                         "xác thực duy nhất, các mã khôi phục cũng bị huỷ.",
                         "Codes from this app will no longer sign you in or approve signatures. If it is your "
                         "only authenticator app, the recovery codes are cancelled too."),
            action=f"/account/mfa/{authenticator_id}/remove", button=pick("Gỡ ứng dụng", "Remove the app"),
            cancel="/account")
    account = AccountService.from_container(request.app.state.container).get(uow, principal.account_id)
    _factors(request).remove(uow, account, authenticator_id)
    return RedirectResponse("/account?done=mfa_removed", status_code=303)


# --- passkeys -------------------------------------------------------------------------------------

def _passkeys(request: Request) -> Passkeys:
    return Passkeys.from_container(request.app.state.container)


def _refusal(exc: DomainError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail(get_locale())}, status_code=exc.status,
                        headers={"Cache-Control": "no-store"})


@router.post("/account/passkeys/options")
def passkey_registration_options(request: Request, principal: SignedInPrincipal, uow: UnitOfWork) -> JSONResponse:
    account = AccountService.from_container(request.app.state.container).get(uow, principal.account_id)
    return JSONResponse(_passkeys(request).registration_options(uow, account), headers={"Cache-Control": "no-store"})


@router.post("/account/passkeys")
def passkey_register(request: Request, principal: SignedInPrincipal, uow: UnitOfWork,
                     body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
    account = AccountService.from_container(request.app.state.container).get(uow, principal.account_id)
    try:
        _passkeys(request).register(uow, account, dict(body.get("credential") or {}), str(body.get("state", "")),
                                    str(body.get("label", "")))
    except DomainError as exc:
        return _refusal(exc)
    return JSONResponse({"ok": True})


@router.post("/account/passkeys/{authenticator_id}/remove")
def passkey_remove(request: Request, authenticator_id: str, principal: SignedInPrincipal,
                   uow: UnitOfWork, confirmed: Annotated[str, Form()] = "") -> Response:
    if not is_confirmed(confirmed):
        return confirmation(
            request, title=pick("Gỡ khoá truy cập?", "Remove the passkey?"),
            message=pick("Thiết bị giữ khoá này sẽ không còn đăng nhập được vào tài khoản.",
                         "The device holding this passkey will no longer sign in to your account."),
            action=f"/account/passkeys/{authenticator_id}/remove", button=pick("Gỡ khoá", "Remove the passkey"),
            cancel="/account#passkeys")
    account = AccountService.from_container(request.app.state.container).get(uow, principal.account_id)
    _passkeys(request).remove(uow, account, authenticator_id)
    return RedirectResponse("/account?done=passkey_removed", status_code=303)


@router.post("/login/passkey/options")
def passkey_sign_in_options(request: Request, _: Public) -> JSONResponse:
    return JSONResponse(_passkeys(request).authentication_options(), headers={"Cache-Control": "no-store"})


@router.post("/login/passkey")
def passkey_sign_in(request: Request, _: Public, uow: UnitOfWork,
                    body: Annotated[dict[str, Any], Body()]) -> JSONResponse:
    """A passkey alone opens the session: phishing-resistant and, with user verification, multi-factor."""
    from egov.auth.views.sign_in import safe_next

    ctx = current_context()
    sign_in = SignInService.from_container(request.app.state.container)
    try:
        account = _passkeys(request).authenticate(uow, dict(body.get("credential") or {}), str(body.get("state", "")))
    except DomainError as exc:
        sign_in.passkey_failed(uow, str(exc.detail("en")))
        return _refusal(exc)
    signed_in = sign_in.open_with_passkey(uow, account, ip=ctx.source_ip, user_agent=ctx.user_agent,
                                          previous_token=request.cookies.get(SESSION_COOKIE))
    resp = JSONResponse({"redirect": landing(safe_next(str(body.get("next", "/"))), signed_in.kind)})
    start_session_cookies(resp, signed_in.token, cookies_secure(request))
    return resp
