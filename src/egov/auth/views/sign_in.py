"""HTML routes: sign-in and sign-out, the holder's own account, the back-office landing page and role grants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from egov.auth.agencies import agency_choices, agency_id_for_code, agency_labels
from egov.auth.federation.service import Federation
from egov.auth.interfaces import InvalidCredentials, SecondFactorRequired, SignedIn
from egov.auth.models import AccountKind
from egov.auth.permissions import AuthPermission
from egov.auth.roles import ROLE_LABELS, ROLES
from egov.auth.services import AccountService, SignInService
from egov.auth.services.delegation import Delegations
from egov.auth.services.mfa import SecondFactors
from egov.auth.services.passkeys import PHISHING_RESISTANT_AMR, Passkeys
from egov.auth.sessions import (
    PENDING_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    cookies_secure,
    landing,
    session_id_for,
    set_pending_cookie,
    start_session_cookies,
)
from egov.auth.settings import AuthSettings
from egov.auth.usernames import looks_like_username
from egov.platform.clock import today_vn
from egov.platform.context import current_context
from egov.platform.errors import DomainError, FieldError, PermissionDenied, TooManyAttempts, ValidationFailed
from egov.platform.i18n import get_locale, pick
from egov.platform.permissions import Principal, authenticated, public, requires
from egov.platform.uow import UnitOfWork
from egov.web.forms import confirmation
from egov.web.forms import confirmed as is_confirmed
from egov.web.middleware import csp_allowing_forms_to
from egov.web.templating import render

router = APIRouter(include_in_schema=False)

Public = Annotated[Principal | None, Depends(public)]
SignedInPrincipal = Annotated[Principal, Depends(authenticated)]
RoleGranter = Annotated[Principal, Depends(requires(AuthPermission.ROLE_GRANT.value))]
STAFF_KINDS = (AccountKind.OFFICER.value, AccountKind.ADMIN.value)


def safe_next(value: str | None) -> str:
    """`value` if it is a path on this site, else "/": the sign-in form must not become an open redirect."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"  # browsers read "/\evil.example" as "//evil.example"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return "/"
    return value


def _accounts(request: Request) -> AccountService:
    return AccountService.from_container(request.app.state.container)


def _sign_in(request: Request) -> SignInService:
    return SignInService.from_container(request.app.state.container)




def _field_errors(exc: DomainError) -> dict[str, str]:
    locale = get_locale()
    return {e.field: e.message(locale) for e in exc.errors}


# --- sign-in and sign-out ----------------------------------------------------------------------

def _end_relying_party_sessions(request: Request, uow: Session, session_id: str) -> None:
    from egov.auth.oidc import OidcProvider
    from egov.auth.oidc.logout import end_sessions_tokens

    provider = OidcProvider.from_container(request.app.state.container)
    end_sessions_tokens(provider, uow, session_id, provider.clock.now())


def _login_page(request: Request, *, next_path: str, username: str = "", error: str = "",
                field_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    with request.app.state.container.db.deferred_sessions() as session:
        providers = [(p.id, p.display_name) for p in Federation.providers(session)]
    resp = render(request, "auth/login.html", {
        "next": next_path, "username": username, "error": error, "field_errors": field_errors or {},
        "providers": providers,
        "certificate_sign_in": bool(request.app.state.container.settings.section(AuthSettings).client_cert_proxies),
    }, status_code=status_code)
    return _allow_relying_party(request, resp, next_path)


def _allow_relying_party(request: Request, resp: Response, next_path: str) -> Response:
    """A sign-in on its way to /oidc/authorize ends, after redirects, at the relying party: the
    page's CSP form-action must name that party's registered origin (and only it)."""
    if next_path.startswith("/oidc/authorize"):
        from egov.auth.oidc import OidcProvider

        with request.app.state.container.db.deferred_sessions() as session:
            origins = OidcProvider.origins_for_next(session, next_path)
        resp.headers["Content-Security-Policy"] = csp_allowing_forms_to(origins)
    return resp


@router.get("/login")
def login_form(request: Request, _: Public, next: str = "/") -> Response:
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
def login_submit(
    request: Request,
    _: Public,
    uow: UnitOfWork,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    target = safe_next(next)
    # Echo the username only when it looks like one: it may be a password typed in the wrong box.
    shown = username.strip() if looks_like_username(username.strip()) else ""
    if not username.strip() or not password:
        missing = [FieldError("username", "required", "Vui lòng nhập tên đăng nhập.", "Please enter your username.")
                   ] if not username.strip() else []
        if not password:
            missing.append(FieldError("password", "required", "Vui lòng nhập mật khẩu.", "Please enter your password."))
        exc = ValidationFailed(missing, "Vui lòng nhập tên đăng nhập và mật khẩu.",
                               "Please enter your username and password.")
        return _login_page(request, next_path=target, username=shown, error=exc.detail(get_locale()),
                           field_errors=_field_errors(exc), status_code=422)
    ctx = current_context()
    sign_in = _sign_in(request)
    try:
        signed_in = sign_in.sign_in(uow, username, password, ip=ctx.source_ip, user_agent=ctx.user_agent,
                                    previous_token=request.cookies.get(SESSION_COOKIE))
    except (InvalidCredentials, TooManyAttempts) as exc:
        resp = _login_page(request, next_path=target, username=shown, error=exc.detail(get_locale()),
                           status_code=exc.status)
        if isinstance(exc, TooManyAttempts):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    if isinstance(signed_in, SecondFactorRequired):
        resp = RedirectResponse("/login/second-factor?" + urlencode({"next": target}), status_code=303)
        set_pending_cookie(resp, signed_in.pending, cookies_secure(request))
        return resp
    return _signed_in_redirect(request, signed_in, target)


def _signed_in_redirect(request: Request, signed_in: SignedIn, target: str) -> Response:
    resp = RedirectResponse(landing(target, signed_in.kind), status_code=303)
    start_session_cookies(resp, signed_in.token, cookies_secure(request))
    return resp


def _second_factor_page(request: Request, *, next_path: str, error: str = "", status_code: int = 200) -> Response:
    resp = render(request, "auth/second_factor.html", {"next": next_path, "error": error}, status_code=status_code)
    return _allow_relying_party(request, resp, next_path)


@router.get("/login/second-factor")
def second_factor_form(request: Request, _: Public, next: str = "/") -> Response:
    if not request.cookies.get(PENDING_COOKIE):
        return RedirectResponse("/login?" + urlencode({"next": safe_next(next)}), status_code=303)
    return _second_factor_page(request, next_path=safe_next(next))


@router.get("/login/step-up")
def step_up(request: Request, principal: SignedInPrincipal, uow: UnitOfWork, next: str = "/") -> Response:
    """A relying party asked for more than this session proves: add a second factor to it.
    With an authenticator app, the code step (a new session replaces this one); with a passkey,
    a passkey sign-in; with neither, say how to get one."""
    target = safe_next(next)
    factors = SecondFactors.from_container(request.app.state.container)
    if factors.has_second_factor(uow, principal.account_id):
        resp = RedirectResponse("/login/second-factor?" + urlencode({"next": target}), status_code=303)
        set_pending_cookie(resp, factors.pending_token(principal.account_id), cookies_secure(request))
        return resp
    has_passkey = bool(Passkeys.from_container(request.app.state.container).list(uow, principal.account_id))
    upstream = ([(p.id, p.display_name) for p in Federation.providers_reaching(uow, "2")]
                if principal.kind == AccountKind.CITIZEN.value else [])
    return _allow_relying_party(request, render(request, "auth/step_up.html", {
        "next": target, "has_passkey": has_passkey, "upstream": upstream}), target)


@router.post("/login/second-factor")
def second_factor_submit(
    request: Request,
    _: Public,
    uow: UnitOfWork,
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """The code from the authenticator app (or a recovery code) opens the session the password began."""
    target = safe_next(next)
    ctx = current_context()
    try:
        signed_in = _sign_in(request).complete_second_factor(
            uow, request.cookies.get(PENDING_COOKIE), code, ip=ctx.source_ip, user_agent=ctx.user_agent,
            previous_token=request.cookies.get(SESSION_COOKIE))
    except InvalidCredentials:
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    except (ValidationFailed, TooManyAttempts) as exc:
        resp = _second_factor_page(request, next_path=target, error=exc.detail(get_locale()),
                                   status_code=exc.status)
        if isinstance(exc, TooManyAttempts):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    return _signed_in_redirect(request, signed_in, target)


@router.post("/logout")
def logout(request: Request, _: Public, uow: UnitOfWork) -> Response:
    """Public on purpose: signing out with a session that already expired must still clear the cookie."""
    sign_in = _sign_in(request)
    token = request.cookies.get(SESSION_COOKIE)
    sign_in.sign_out(uow, token)
    if token:  # the relying parties signed in through this session are signed out too
        _end_relying_party_sessions(request, uow, session_id_for(token))
    resp = RedirectResponse("/", status_code=303)
    clear_session_cookie(resp, cookies_secure(request))
    return resp


# --- the holder's own account ------------------------------------------------------------------

def _account_page(request: Request, uow: Session, principal: Principal, *, notice: str = "", error: str = "",
                  field_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    accounts = _accounts(request)
    account = accounts.get(uow, principal.account_id)
    roles = accounts.roles_of(uow, principal.account_id)
    wanted = [r.agency_id for r in roles] + ([account.primary_agency_id] if account.primary_agency_id else [])
    return render(request, "auth/account.html", {
        "account": account, "roles": roles, "agency_labels": agency_labels(uow, wanted, get_locale()),
        "sessions": _sign_in(request).active_sessions(uow, principal),
        "authenticators": SecondFactors.from_container(request.app.state.container).list(uow, principal.account_id),
        "passkeys": Passkeys.from_container(request.app.state.container).list(uow, principal.account_id),
        "parties": Delegations.from_container(request.app.state.container).parties(uow, account),
        "recovery_left": SecondFactors.from_container(request.app.state.container).recovery_codes_left(
            uow, principal.account_id),
        "role_labels": ROLE_LABELS,
        "notice": notice, "error": error, "field_errors": field_errors or {},
    }, status_code=status_code)


_NOTICES = {
    "password": ("Đã đổi mật khẩu. Các phiên đăng nhập khác đã được đăng xuất.",
                 "Password changed. Your other sessions have been signed out."),
    "revoked": ("Đã đăng xuất phiên đã chọn.", "The selected session has been signed out."),
    "mfa_removed": ("Đã gỡ ứng dụng xác thực.", "The authenticator app has been removed."),
    "passkey_added": ("Đã thêm khoá truy cập.", "Passkey added."),
    "passkey_removed": ("Đã gỡ khoá truy cập.", "Passkey removed."),
    "acting": ("Bạn đang thay mặt người hoặc tổ chức đã chọn. Mọi thao tác được ghi nhận cả tên bạn và "
               "bên được thay mặt.",
               "You are now acting for the chosen party. Every action records both you and them."),
    "self": ("Bạn đã trở lại thao tác cho chính mình.", "You are acting for yourself again."),
}


@router.get("/account")
def account(request: Request, principal: SignedInPrincipal, uow: UnitOfWork, done: str = "") -> Response:
    vi, en = _NOTICES.get(done, ("", ""))
    return _account_page(request, uow, principal, notice=en if get_locale() == "en" else vi)


@router.post("/account/sessions/{session_id}/revoke")
def revoke_session(request: Request, session_id: str, principal: SignedInPrincipal, uow: UnitOfWork) -> Response:
    sign_in = _sign_in(request)
    sign_in.revoke_session(uow, principal, session_id)
    _end_relying_party_sessions(request, uow, session_id)
    if session_id == principal.session_id:
        resp = RedirectResponse("/login", status_code=303)
        clear_session_cookie(resp, cookies_secure(request))
        return resp
    return RedirectResponse("/account?done=revoked", status_code=303)


@router.post("/account/password")
def change_password(
    request: Request,
    principal: SignedInPrincipal,
    uow: UnitOfWork,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_confirm: Annotated[str, Form()] = "",
) -> Response:
    accounts = _accounts(request)
    try:
        if new_password != new_password_confirm:
            raise ValidationFailed.single("new_password_confirm", "new_password_confirm.mismatch",
                                          "Mật khẩu nhập lại không khớp.", "The two new passwords do not match.")
        accounts.change_password(uow, principal.account_id, current_password, new_password,
                                 keep_session_id=principal.session_id)
    except (ValidationFailed, TooManyAttempts) as exc:
        uow.rollback()
        resp = _account_page(request, uow, principal, error=exc.detail(get_locale()),
                             field_errors=_field_errors(exc), status_code=exc.status)
        if isinstance(exc, TooManyAttempts):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    return RedirectResponse("/account?done=password", status_code=303)


# --- back office -------------------------------------------------------------------------------

def _require_staff(principal: Principal) -> None:
    if principal.kind not in STAFF_KINDS:
        raise PermissionDenied("Trang này chỉ dành cho cán bộ.", "This page is for officers only.")


@router.get("/back-office")
def back_office(request: Request, principal: SignedInPrincipal) -> Response:
    _require_staff(principal)
    links = [
        ("registry:citizen:read", "/back-office/registry/citizens", "Cơ sở dữ liệu dân cư",
         "Population registry", "Tra cứu công dân, doanh nghiệp, cơ quan và cán bộ theo thẩm quyền.",
         "Look up citizens, enterprises, agencies and officers within your remit."),
        ("soc:audit:read", "/back-office/audit", "Nhật ký kiểm toán", "Audit log",
         "Xem và kiểm chứng nhật ký các thao tác bảo mật.", "Read and verify the log of security actions."),
        (AuthPermission.ROLE_GRANT.value, "/back-office/accounts", "Tài khoản và vai trò", "Accounts and roles",
         "Giao và thu hồi vai trò của cán bộ.", "Grant and revoke officers' roles."),
        (AuthPermission.IDENTITY_VERIFY.value, "/back-office/identity", "Xác thực danh tính trực tiếp",
         "In-person identity verification", "Nâng tài khoản công dân lên mức 2 sau khi kiểm tra giấy tờ.",
         "Raise a citizen's account to level 2 after checking their document."),
        (AuthPermission.CLIENT_MANAGE.value, "/back-office/oidc-clients", "Ứng dụng đăng nhập một lần",
         "Single sign-on clients", "Đăng ký cổng dịch vụ công và hệ thống kết nối đăng nhập qua nền tảng.",
         "Register the portals and systems that sign users in through the platform."),
    ]
    settings = request.app.state.container.settings
    needs_passkey = (bool(settings.section(AuthSettings).staff_require_passkey)
                     and not PHISHING_RESISTANT_AMR & set(principal.amr))
    return render(request, "auth/back_office.html",
                  {"links": [link for link in links if principal.can(link[0])], "needs_passkey": needs_passkey})


def _accounts_page(request: Request, uow: Session, principal: Principal, q: str = "", *, error: str = "",
                   field_errors: dict[str, str] | None = None, notice: str = "", status_code: int = 200) -> Response:
    accounts = _accounts(request)
    agencies = principal.agencies_for(AuthPermission.ROLE_GRANT)
    rows = accounts.list_for_admin(uow, principal, q)
    locale = get_locale()
    return render(request, "auth/accounts.html", {
        "rows": rows, "q": q, "roles": list(ROLES), "role_labels": ROLE_LABELS,
        "agency_labels": agency_labels(uow, (r.agency_id for _, held in rows for r in held), locale),
        "agency_choices": agency_choices(uow, agencies or (), locale), "can_grant_globally": agencies is None,
        "error": error, "field_errors": field_errors or {}, "notice": notice,
    }, status_code=status_code)


@router.get("/back-office/accounts")
def accounts_list(request: Request, principal: RoleGranter, uow: UnitOfWork, q: str = "",
                  done: str = "") -> Response:
    _require_staff(principal)
    notices = {"granted": ("Đã giao vai trò.", "Role granted."), "revoked": ("Đã thu hồi vai trò.", "Role revoked.")}
    vi, en = notices.get(done, ("", ""))
    return _accounts_page(request, uow, principal, q, notice=en if get_locale() == "en" else vi)


def _role_change(request: Request, uow: Session, principal: Principal, action: str,
                 call: Callable[[], object]) -> Response:
    """Run one grant or revoke; a refusal re-renders the list with the reason and changes nothing."""
    _require_staff(principal)
    try:
        call()
    except DomainError as exc:
        uow.rollback()
        return _accounts_page(request, uow, principal, error=exc.detail(get_locale()),
                              field_errors=_field_errors(exc), status_code=exc.status)
    return RedirectResponse(f"/back-office/accounts?done={quote(action)}", status_code=303)


@router.post("/back-office/accounts/grant")
def grant_role(
    request: Request,
    principal: RoleGranter,
    uow: UnitOfWork,
    username: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    agency_code: Annotated[str, Form()] = "",
) -> Response:
    """Officers know agencies by code (000.00.15.H29); the grant is stored against the agency's id."""
    accounts = _accounts(request)
    clock = request.app.state.container.clock

    def call() -> None:
        target = accounts.by_username(uow, username)
        agency_id = agency_id_for_code(uow, agency_code, today_vn(clock))
        accounts.grant_role(uow, target.id, role, agency_id, actor=principal)

    return _role_change(request, uow, principal, "granted", call)


@router.post("/back-office/accounts/revoke")
def revoke_role(
    request: Request,
    principal: RoleGranter,
    uow: UnitOfWork,
    account_id: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    agency_id: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    accounts = _accounts(request)
    if not is_confirmed(confirmed):
        _require_staff(principal)
        target = accounts.get(uow, account_id)  # 404 before anything is confirmed for an account not there
        vi, en = ROLE_LABELS.get(role, (role, role))
        where = agency_labels(uow, [agency_id], get_locale())[agency_id]
        return confirmation(
            request, title=pick("Thu hồi vai trò?", "Revoke the role?"),
            message=pick(f"Tài khoản {target.display_name} sẽ mất vai trò “{vi}” tại {where} ngay lập tức.",
                         f"{target.display_name} loses the role “{en}” in {where} at once."),
            action="/back-office/accounts/revoke", button=pick("Thu hồi vai trò", "Revoke the role"),
            cancel="/back-office/accounts", fields={"account_id": account_id, "role": role, "agency_id": agency_id})
    return _role_change(request, uow, principal, "revoked",
                        lambda: accounts.revoke_role(uow, account_id, role, agency_id, actor=principal))
