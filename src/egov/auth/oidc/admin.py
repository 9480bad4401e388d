"""Back-office pages for OpenID Connect clients: list, register (the secret shown once), rotate a secret."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from egov.auth.audit import AuthAudit
from egov.auth.oidc.errors import OAuthError
from egov.auth.oidc.provider import OidcProvider
from egov.auth.permissions import AuthPermission
from egov.platform.errors import DomainError
from egov.platform.i18n import get_locale, pick
from egov.platform.permissions import Principal, requires
from egov.platform.uow import UnitOfWork
from egov.soc import record_event
from egov.web.forms import confirmation
from egov.web.forms import confirmed as is_confirmed
from egov.web.once import OneTime
from egov.web.templating import render

router = APIRouter(include_in_schema=False)
ClientAdmin = Annotated[Principal, Depends(requires(AuthPermission.CLIENT_MANAGE.value))]
GRANT_CHOICES = (("authorization_code", "Đăng nhập người dùng (authorization code + PKCE)",
                  "User sign-in (code + PKCE)"),
                 ("refresh_token", "Làm mới token", "Refresh tokens"),
                 ("client_credentials", "Máy với máy (client credentials)", "Machine to machine (client credentials)"))
# A new or rotated secret: the POST answers 303 and the list page shows the secret once (a refresh shows nothing).
NEW_SECRET = OneTime("oidc-client-secret", "/back-office/oidc-clients")


def _page(request: Request, uow: Session, *, created: tuple[str, str | None] | None = None, error: str = "",
          field_errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
          status_code: int = 200) -> Response:
    provider = OidcProvider.from_container(request.app.state.container)
    resp = render(request, "auth/oidc_clients.html", {
        "clients": provider.clients.list(uow), "created": created, "error": error,
        "field_errors": field_errors or {}, "form": form or {}, "grant_choices": GRANT_CHOICES,
    }, status_code=status_code)
    resp.headers["Cache-Control"] = "no-store"  # the page may show a secret once
    return resp


@router.get("/back-office/oidc-clients")
def clients_page(request: Request, principal: ClientAdmin, uow: UnitOfWork) -> Response:
    shown = NEW_SECRET.take(request, account_id=principal.account_id)
    created = (str(shown["id"]), shown.get("secret")) if shown else None
    return NEW_SECRET.clear(request, _page(request, uow, created=created))


@router.post("/back-office/oidc-clients")
def create_client(
    request: Request,
    principal: ClientAdmin,
    uow: UnitOfWork,
    name: Annotated[str, Form()] = "",
    client_type: Annotated[str, Form()] = "confidential",
    redirect_uris: Annotated[str, Form()] = "",
    grant_types: Annotated[list[str] | None, Form()] = None,
    scopes: Annotated[str, Form()] = "openid profile",
    access_token_format: Annotated[str, Form()] = "jwt",  # noqa: S107 - a format name, not a secret
) -> Response:
    provider = OidcProvider.from_container(request.app.state.container)
    form = {"name": name, "client_type": client_type, "redirect_uris": redirect_uris, "scopes": scopes}
    try:
        client, secret = provider.clients.create(
            uow, name=name, client_type=client_type, redirect_uris=redirect_uris.split(),
            grant_types=grant_types or [], scopes=scopes.split(), now=provider.clock.now(),
            access_token_format=access_token_format)
        uow.flush()
    except DomainError as exc:
        uow.rollback()
        locale = get_locale()
        return _page(request, uow, error=exc.detail(locale), form=form, status_code=422,
                     field_errors={e.field.split("[")[0]: e.message(locale) for e in exc.errors})
    record_event(uow, AuthAudit.CLIENT_CREATED, object_type="oidc_client", object_id=client.id,
                 details={"name": client.name, "type": client.client_type, "auth": client.auth_method})
    return NEW_SECRET.redirect(request, {"id": client.id, "secret": secret}, account_id=principal.account_id)


@router.post("/back-office/oidc-clients/{client_id}/rotate-secret")
def rotate_secret(request: Request, client_id: str, principal: ClientAdmin, uow: UnitOfWork,
                  confirmed: Annotated[str, Form()] = "") -> Response:
    provider = OidcProvider.from_container(request.app.state.container)
    try:
        client = provider.clients.with_secret(uow, client_id)  # nothing to confirm for a client that is not there
    except OAuthError:
        return _page(request, uow, error="Không tìm thấy ứng dụng có khoá bí mật với mã này."
                     if get_locale() == "vi" else "No client with a secret has that id.", status_code=404)
    if not is_confirmed(confirmed):
        return confirmation(
            request, title=pick(f"Đổi khoá bí mật của ứng dụng “{client.name}”?",
                                f"Rotate the secret of “{client.name}”?"),
            message=pick("Khoá bí mật hiện tại ngừng dùng được ngay: ứng dụng sẽ không lấy được mã truy cập cho "
                         "tới khi đơn vị quản lý cài khoá mới.",
                         "The current secret stops working at once: the application gets no tokens until its "
                         "operator installs the new one."),
            action=f"/back-office/oidc-clients/{client_id}/rotate-secret", button=pick("Đổi khoá", "Rotate"),
            cancel="/back-office/oidc-clients")
    try:
        secret = provider.clients.rotate_secret(uow, client_id, provider.clock.now())
    except OAuthError:
        return _page(request, uow, error="Không tìm thấy ứng dụng có khoá bí mật với mã này."
                     if get_locale() == "vi" else "No client with a secret has that id.", status_code=404)
    record_event(uow, AuthAudit.CLIENT_SECRET_ROTATED, object_type="oidc_client", object_id=client_id)
    return NEW_SECRET.redirect(request, {"id": client_id, "secret": secret}, account_id=principal.account_id)
