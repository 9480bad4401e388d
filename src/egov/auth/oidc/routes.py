"""HTTP surface of the OpenID Connect provider: discovery, JWKS, authorize and consent, PAR, token and the rest.

Back-channel endpoints answer OAuth JSON errors (RFC 6749 §5.2) with `Cache-Control: no-store`;
the browser-facing authorize endpoint shows a page when the client cannot be trusted and
redirects every other error to the client with `state` and `iss` (RFC 9207).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import JSONResponse, RedirectResponse, Response

from egov.auth.oidc.clients import throttle_keys
from egov.auth.oidc.errors import OAuthError, invalid_client
from egov.auth.oidc.provider import SCOPES, NotRedirectable, OidcProvider, RedirectError
from egov.platform.context import current_context
from egov.platform.errors import TooManyAttempts
from egov.platform.permissions import Principal, authenticated, public
from egov.platform.throttle import Throttle
from egov.platform.uow import UnitOfWork
from egov.web.csrf import csrf_exempt
from egov.web.middleware import csp_allowing_forms_to
from egov.web.templating import render

router = APIRouter(include_in_schema=True, tags=["oidc"])
# The browser's endpoints (authorize, consent, logout) answer pages and redirects, not JSON: relying
# parties find them in the discovery document, and the OpenAPI document describes the machine API only.
BROWSER = False  # include_in_schema for the browser's endpoints

Public = Annotated[Principal | None, Depends(public)]
SignedIn = Annotated[Principal, Depends(authenticated)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Client secrets are 256-bit random: guessing them is hopeless, but a stuffer still gets slowed and seen.
CLIENT_THROTTLE = Throttle(free=10, base_seconds=1.0, max_seconds=300.0)


def _oauth_error(description: str, *, challenge: bool = False, retry: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": OAUTH_ERROR}}}
    headers: dict[str, Any] = {}
    if challenge:
        headers["WWW-Authenticate"] = {"description": "The scheme to authenticate with (RFC 6750 §3, RFC 6749 §5.2).",
                                       "schema": {"type": "string"}}
    if retry:
        headers["Retry-After"] = {"description": "Seconds to wait.", "schema": {"type": "integer"}}
    if headers:
        answer["headers"] = headers
    return answer


# RFC 6749 §5.2 error bodies, what every back-channel endpoint answers when it refuses.
OAUTH_ERROR: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "string", "description": "The registered code, e.g. `invalid_client`."},
                   "error_description": {"type": "string"}},
}
OAUTH_JSON = {"application/json": {"schema": {"type": "object"}}}
CLIENT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _oauth_error("`invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_scope`… (RFC 6749 "
                      "§5.2); `invalid_dpop_proof` (RFC 9449)."),
    401: _oauth_error("`invalid_client`: client authentication failed.", challenge=True),
    429: _oauth_error("`slow_down`: too many failed client authentications from this address or client.",
                      retry=True),
}
_CLIENT_AUTH = {
    "client_id": {"type": "string", "description": "For client_secret_post, public clients and private_key_jwt."},
    "client_secret": {"type": "string", "description": "client_secret_post (prefer HTTP Basic)."},
    "client_assertion_type": {"type": "string",
                              "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]},
    "client_assertion": {"type": "string", "description": "private_key_jwt (RFC 7523)."},
}
# HTTP Basic, or the client's credentials in the form.
CLIENT_SECURITY: list[dict[str, list[str]]] = [{"client_basic": []}, {}]


def _form_body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """`openapi_extra=` for an endpoint that reads an application/x-www-form-urlencoded body itself."""
    # Unknown parameters are ignored (RFC 6749 §3.1), each sent once as text; a repeated one is refused.
    schema: dict[str, Any] = {"type": "object", "properties": {**properties, **_CLIENT_AUTH},
                              "additionalProperties": {"type": "string"}}
    if required:
        schema["required"] = list(required)
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}},
            "security": CLIENT_SECURITY}


def _provider(request: Request) -> OidcProvider:
    return OidcProvider.from_container(request.app.state.container)


def _json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _error(exc: OAuthError) -> JSONResponse:
    resp = _json(exc.body(), exc.status)
    if exc.www_authenticate:
        resp.headers["WWW-Authenticate"] = exc.www_authenticate
    return resp


def _form_dict(form: FormData) -> dict[str, str]:
    """Form fields as strings; a repeated parameter is an error (RFC 6749 §3.1)."""
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if key in out:
            raise OAuthError("invalid_request", f"parameter {key} is repeated")
        if not isinstance(value, str):
            raise OAuthError("invalid_request", f"parameter {key} must be text")
        out[key] = value
    return out


async def _parsed_form(request: Request) -> dict[str, str] | OAuthError:
    """The request's form, read on the event loop (an async dependency) so that the endpoints stay
    sync and do their database work in the thread pool, never blocking the loop on a pool checkout."""
    try:
        return _form_dict(await request.form())
    except OAuthError as exc:
        return exc


ParsedForm = Annotated[dict[str, str] | OAuthError, Depends(_parsed_form)]


def _public_url(request: Request, provider: OidcProvider) -> str:
    """The URL a DPoP proof must name: the issuer's origin and this path (behind a proxy, not the socket's)."""
    return provider.config.issuer + request.url.path


def _client_call(request: Request, uow: Session, parsed: dict[str, str] | OAuthError, endpoint: str,
                 call: Callable[[OidcProvider, Any, dict[str, str], str | None], dict[str, Any] | None],
                 status: int = 200) -> Response:
    """Authenticate the client (throttled), verify any DPoP proof, run `call`, answer JSON or an OAuth error."""
    provider = _provider(request)
    now = provider.clock.now()
    client_id: str | None = None
    try:
        if isinstance(parsed, OAuthError):
            raise parsed
        form = parsed
        client_id = form.get("client_id") or None
        if client_id is not None and "\x00" in client_id:
            client_id = None  # names no client, and PostgreSQL text cannot hold it (nor the throttle key)
            raise invalid_client()
        keys = throttle_keys(current_context().source_ip, client_id)
        try:
            CLIENT_THROTTLE.check(uow, keys, now)
        except TooManyAttempts as exc:
            raise OAuthError("slow_down", "too many failed client authentications; wait and retry", 429,
                             audit_reason=f"throttled:{exc.retry_after}") from None
        try:
            client = provider.authenticate_client(uow, form, request.headers.get("authorization"))
        except OAuthError as exc:
            if exc.error == "invalid_client":
                CLIENT_THROTTLE.fail(uow, keys, now)
            raise
        client_id = client.id
        dpop = provider.verify_dpop(uow, request.headers.get("dpop"), method=request.method,
                                    url=_public_url(request, provider), client_id=client.id)
        body = call(provider, client, form, dpop)
    except OAuthError as exc:
        provider.audit_refusal(uow, endpoint, exc, client_id)
        resp = _error(exc)
        if exc.status == 429:
            resp.headers["Retry-After"] = "60"
        return resp
    return _json(body or {}, status)


# --- metadata ---------------------------------------------------------------------------------------

@router.get("/.well-known/openid-configuration",
            responses={200: {"description": "OpenID Connect Discovery 1.0 metadata.", "content": OAUTH_JSON}})
def discovery(request: Request, _: Public) -> JSONResponse:
    return JSONResponse(_provider(request).discovery(), headers={"Cache-Control": "public, max-age=3600"})


@router.get("/oidc/jwks", responses={200: {"description": "A JWK Set (RFC 7517 §5).", "content": OAUTH_JSON}})
def jwks(request: Request, _: Public) -> JSONResponse:
    """The signing keys, including the next one before it signs (relying parties may cache for 5 minutes)."""
    return JSONResponse(_provider(request).jwks(), headers={"Cache-Control": "public, max-age=300"})


# --- the browser's part: authorize and consent -----------------------------------------------------

def _not_redirectable(request: Request, exc: NotRedirectable) -> Response:
    return render(request, "auth/oidc_error.html", {"message_vi": exc.message_vi, "message_en": exc.message_en},
                  status_code=400)


def _consent_page(request: Request, provider: OidcProvider, req: Any, principal: Principal) -> Response:
    scopes = [(s, SCOPES.get(s, (s, s))) for s in req.scopes]
    resp = render(request, "auth/consent.html", {
        "client": req.client, "scopes": scopes, "params": sorted(req.params.items()), "principal": principal,
    })
    resp.headers.update(NO_STORE)
    origin = f"{urlsplit(req.redirect_uri).scheme}://{urlsplit(req.redirect_uri).netloc}"
    resp.headers["Content-Security-Policy"] = csp_allowing_forms_to([origin])
    return resp


def _level_page(request: Request, provider: OidcProvider, req: Any, principal: Principal) -> Response:
    """The service needs a level no online step reaches for this account: say how to reach it (in person)
    and offer the way back to the service, which then learns the requirement was not met."""
    back = req.error_redirect("unmet_authentication_requirements",
                              f"the session is at level {principal.acr}; the service needs {req.acr_level}",
                              provider.config.issuer)
    resp = render(request, "auth/level_needed.html", {"client": req.client, "level": req.acr_level,
                                                      "current": principal.acr, "back": back}, status_code=403)
    resp.headers.update(NO_STORE)
    return resp


def _answer(request: Request, step: Callable[[], Response | str]) -> Response:
    """Run one authorization step: a page (sign-in, consent) as is, a location as a redirect
    carrying the code, an untrusted client as an error page, any other error back to the client."""
    try:
        outcome = step()
    except NotRedirectable as exc:
        return _not_redirectable(request, exc)
    except RedirectError as exc:
        return RedirectResponse(exc.location, status_code=303)
    if isinstance(outcome, str):
        return RedirectResponse(outcome, status_code=303, headers=NO_STORE)
    return outcome


@router.get("/oidc/authorize", include_in_schema=BROWSER)
def authorize(request: Request, principal: Public, uow: UnitOfWork) -> Response:
    """Authorization endpoint: sign in if needed, ask consent once, then redirect with a one-time code."""
    provider = _provider(request)
    query = dict(request.query_params)

    def step() -> Response | str:
        req = provider.authorization_request(uow, query)
        reauth = query.get("egov_reauth")
        reauth_after = int(reauth) if reauth and reauth.isdigit() else None
        if provider.login_needed(req, principal, reauth_after):
            if "none" in req.prompt:
                raise RedirectError(req.error_redirect("login_required", "the user must sign in",
                                                       provider.config.issuer))
            again = {k: v for k, v in query.items() if k != "egov_reauth"}
            if principal is not None or "login" in req.prompt:
                again["egov_reauth"] = str(int(provider.clock.now().timestamp()))
            target = "/oidc/authorize?" + urlencode(again)
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        assert principal is not None
        if provider.can_step_up(uow, req, principal):
            if "none" in req.prompt:
                raise RedirectError(req.error_redirect("interaction_required", "a second factor is needed",
                                                       provider.config.issuer))
            target = "/oidc/authorize?" + urlencode(query)
            return RedirectResponse("/login/step-up?" + urlencode({"next": target}), status_code=303)
        if provider.level_unreachable(req, principal):
            if "none" in req.prompt:
                raise RedirectError(req.error_redirect("unmet_authentication_requirements",
                                                       "the session is below the level the service needs",
                                                       provider.config.issuer))
            return _level_page(request, provider, req, principal)
        if provider.consent_missing(uow, req, principal):
            if "none" in req.prompt:
                raise RedirectError(req.error_redirect("consent_required", "the user has not consented",
                                                       provider.config.issuer))
            return _consent_page(request, provider, req, principal)
        return provider.issue_code(uow, req, principal)

    return _answer(request, step)


@router.post("/oidc/authorize/consent", include_in_schema=BROWSER)
def consent(request: Request, principal: SignedIn, uow: UnitOfWork, parsed: ParsedForm) -> Response:
    """The consent form posts the request back; it is validated again from scratch, never trusted."""
    provider = _provider(request)
    form = dict(parsed) if not isinstance(parsed, OAuthError) else {}
    decision = form.pop("decision", "")
    form.pop("csrf_token", None)

    def step() -> str:
        req = provider.authorization_request(uow, form)
        if decision != "allow":
            raise RedirectError(req.error_redirect("access_denied", "the user declined", provider.config.issuer))
        provider.grant_consent(uow, req, principal)
        return provider.issue_code(uow, req, principal)

    return _answer(request, step)


# --- back channel: clients authenticate in the request --------------------------------------------

@router.post("/oidc/par", status_code=201, responses={201: {"description": "`request_uri` and `expires_in`.",
                                                         "content": OAUTH_JSON}, **CLIENT_ERRORS},
             openapi_extra=_form_body({
                 "response_type": {"type": "string", "enum": ["code"]}, "redirect_uri": {"type": "string"},
                 "scope": {"type": "string"}, "state": {"type": "string"}, "nonce": {"type": "string"},
                 "code_challenge": {"type": "string"}, "code_challenge_method": {"type": "string", "enum": ["S256"]},
                 "acr_values": {"type": "string"}, "prompt": {"type": "string"}}))
@csrf_exempt
def pushed_authorization_request(request: Request, _: Public, uow: UnitOfWork, parsed: ParsedForm) -> Response:
    """RFC 9126: the client posts its authorization request first and gets a short-lived request_uri."""
    return _client_call(request, uow, parsed, "par",
                              lambda p, c, f, dpop: p.push(uow, c, f, dpop_jkt=dpop), status=201)


@router.post("/oidc/token", responses={200: {"description": "Tokens (RFC 6749 §5.1).", "content": OAUTH_JSON},
                                       **CLIENT_ERRORS},
             openapi_extra=_form_body({
                 "grant_type": {"type": "string",
                                "enum": ["authorization_code", "refresh_token", "client_credentials"]},
                 "code": {"type": "string"}, "redirect_uri": {"type": "string"},
                 "code_verifier": {"type": "string"}, "refresh_token": {"type": "string"},
                 "scope": {"type": "string"}}, ("grant_type",)))
@csrf_exempt
def token(request: Request, _: Public, uow: UnitOfWork, parsed: ParsedForm) -> Response:
    """Token endpoint: authorization_code (PKCE), refresh_token (rotating), client_credentials."""
    return _client_call(request, uow, parsed, "token", lambda p, c, f, dpop: p.token(uow, c, f, dpop_jkt=dpop))


@router.post("/oidc/introspect",
             responses={200: {"description": "RFC 7662 §2.2: `active` and, when true, the token's claims.",
                              "content": OAUTH_JSON}, **CLIENT_ERRORS},
             openapi_extra=_form_body({"token": {"type": "string"}, "token_type_hint": {"type": "string"}}))
@csrf_exempt
def introspect(request: Request, _: Public, uow: UnitOfWork, parsed: ParsedForm) -> Response:
    """RFC 7662 for opaque and JWT access tokens and refresh tokens."""
    return _client_call(request, uow, parsed, "introspect",
                              lambda p, c, f, dpop: p.introspect(uow, c, f.get("token", "")))


@router.post("/oidc/revoke",
             responses={200: {"description": "Revoked, or unknown (RFC 7009 §2.2).", "content": OAUTH_JSON},
                        **CLIENT_ERRORS},
             openapi_extra=_form_body({"token": {"type": "string"}, "token_type_hint": {"type": "string"}}))
@csrf_exempt
def revoke(request: Request, _: Public, uow: UnitOfWork, parsed: ParsedForm) -> Response:
    """RFC 7009: always 200 for an unknown token; a revoked token then fails introspection."""
    return _client_call(request, uow, parsed, "revoke", lambda p, c, f, dpop: p.revoke(uow, c, f.get("token", "")))


def _userinfo(request: Request, uow: Session) -> Response:
    provider = _provider(request)
    try:
        body = provider.userinfo(uow, request.headers.get("authorization"), request.headers.get("dpop"),
                                 method=request.method, url=_public_url(request, provider))
    except OAuthError as exc:
        provider.audit_refusal(uow, "userinfo", exc, None)
        return _error(exc)
    return _json(body)


USERINFO_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "The claims the token's scopes allow.", "content": OAUTH_JSON},
    400: _oauth_error("`invalid_request`: no access token, or sent two ways.", challenge=True),
    401: _oauth_error("`invalid_token` (expired, revoked, wrong DPoP binding), `invalid_dpop_proof`.",
                      challenge=True),
}
USERINFO_SECURITY = {"security": [{"oauth2": ["openid"]}]}


@router.get("/oidc/userinfo", responses=USERINFO_ANSWERS, openapi_extra=USERINFO_SECURITY)
def userinfo(request: Request, _: Public, uow: UnitOfWork) -> Response:
    return _userinfo(request, uow)


@router.post("/oidc/userinfo", responses=USERINFO_ANSWERS, openapi_extra=USERINFO_SECURITY)
@csrf_exempt
def userinfo_post(request: Request, _: Public, uow: UnitOfWork) -> Response:
    return _userinfo(request, uow)


# --- logout -------------------------------------------------------------------------------------------

def _finish_logout(request: Request, uow: Session, provider: OidcProvider, redirect: str | None) -> Response:
    from egov.auth.oidc.logout import end_sessions_tokens
    from egov.auth.services import SignInService
    from egov.auth.sessions import SESSION_COOKIE, clear_session_cookie, session_id_for

    token = request.cookies.get(SESSION_COOKIE)
    if token:
        SignInService.from_container(request.app.state.container).sign_out(uow, token)
        end_sessions_tokens(provider, uow, session_id_for(token), provider.clock.now())
    resp: Response = (RedirectResponse(redirect, status_code=303) if redirect
                      else render(request, "auth/logged_out.html", {}))
    clear_session_cookie(resp, bool(request.app.state.container.settings.cookie_secure))
    resp.headers.update(NO_STORE)
    return resp


@router.get("/oidc/logout", include_in_schema=BROWSER)
def end_session(request: Request, principal: Public, uow: UnitOfWork) -> Response:
    """RP-initiated logout: with an id_token_hint naming this browser's session, sign out at once;
    otherwise ask the user first, so a link on another site cannot sign anyone out."""
    from egov.auth.oidc.logout import parse_logout_request

    provider = _provider(request)
    req = parse_logout_request(provider, uow, dict(request.query_params))
    if principal is None:
        return _finish_logout(request, uow, provider, req.redirect)
    current = provider.session_sid(principal.session_id) if principal.session_id else None
    if req.matches(current):
        return _finish_logout(request, uow, provider, req.redirect)
    resp = render(request, "auth/logout_confirm.html", {"params": sorted(request.query_params.items()),
                                                        "principal": principal})
    resp.headers.update(NO_STORE)
    resp.headers["Content-Security-Policy"] = csp_allowing_forms_to(provider.client_origins(uow, req.client_id))
    return resp


@router.post("/oidc/logout", include_in_schema=BROWSER)
def end_session_confirmed(request: Request, _: Public, uow: UnitOfWork, parsed: ParsedForm) -> Response:
    """The confirmation form (CSRF-checked like every form) signs out and goes back if allowed."""
    from egov.auth.oidc.logout import parse_logout_request

    provider = _provider(request)
    form = {k: v for k, v in parsed.items() if k != "csrf_token"} if not isinstance(parsed, OAuthError) else {}
    req = parse_logout_request(provider, uow, form)
    return _finish_logout(request, uow, provider, req.redirect)
