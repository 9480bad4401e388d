"""The OpenID Connect provider: authorization (with PAR and PKCE), tokens, introspection, revocation, userinfo.

Shape of the state: an authorization code or a pushed request is a row keyed by the SHA-256 of
its handle; every issued access token (JWT or opaque) and refresh token is a row keyed by its
`jti` or hash, so revocation and introspection work for both formats and a replayed code or
refresh token can take down everything issued from it. Nothing secret is stored in clear.

The protocol rules follow RFC 6749/6750, OIDC Core 1.0, RFC 7636 (PKCE), RFC 9126 (PAR),
RFC 9449 (DPoP), RFC 9068 (JWT access tokens), RFC 7662 (introspection), RFC 7009 (revocation),
RFC 9207 (`iss` in the authorization response) and RFC 8176 (`amr`). See docs/auth.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import update
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.models import Account, OidcAuthorization, OidcClient, OidcConsent, OidcToken
from egov.auth.oidc.clients import ClientRegistry, grant_types_of, post_logout_uris_of, redirect_uris_of, scopes_of
from egov.auth.oidc.dpop import verify_proof
from egov.auth.oidc.errors import OAuthError, invalid_grant, invalid_request, invalid_token
from egov.auth.oidc.signing import ALGORITHMS, SigningKeys
from egov.auth.services.delegation import Delegations
from egov.auth.settings import AuthSettings
from egov.platform.clock import Clock
from egov.platform.ids import new_id, new_token
from egov.platform.keys.jose import b64url, sign_compact
from egov.platform.permissions import Principal
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

ACR_PREFIX = "urn:vn:egov:loa:"  # acr values: urn:vn:egov:loa:1 (Decree 69/2024 level 1), …:2
SCOPES: dict[str, tuple[str, str]] = {
    "openid": ("Xác nhận danh tính của bạn", "Confirm who you are"),
    "profile": ("Họ và tên", "Your full name"),
    "vn_personal_id": ("Số định danh cá nhân", "Your personal identification number"),
    "offline_access": ("Duy trì truy cập khi bạn không trực tuyến", "Keep access while you are away"),
}
CLIENT_SCOPE_PATTERN = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")  # machine scopes, e.g. "registry.read"
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 §4.1
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


def handle_hash(handle: str) -> str:
    """The key a code, pushed request or token is stored under: its SHA-256 (nothing secret in clear)."""
    return hashlib.sha256(handle.encode("utf-8")).hexdigest()


def check_machine_scopes(granted: Iterable[str], asked: list[str]) -> list[str]:
    """The scopes a machine token (client_credentials, certificate challenge) gets: those asked for, or
    every machine scope the client holds when none are; raises invalid_scope for one it does not hold.
    The user-facing OIDC scopes (`SCOPES`) are never machine scopes."""
    allowed = [s for s in granted if s not in SCOPES]
    wanted = asked or allowed
    bad = [s for s in wanted if s not in allowed]
    if bad:
        raise OAuthError("invalid_scope", f"scope not allowed for this client: {' '.join(bad)}")
    return wanted


def _s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    access_ttl: timedelta
    id_ttl: timedelta
    refresh_ttl: timedelta
    code_ttl: timedelta
    default_alg: str
    par_ttl: timedelta = timedelta(seconds=90)

    @property
    def api_audience(self) -> str:
        return f"{self.issuer}/api"

    def endpoint(self, path: str) -> str:
        return f"{self.issuer}{path}"


@dataclass
class AuthorizationRequest:
    """A validated authorization request: safe to redirect errors to `redirect_uri` from here on."""

    client: OidcClient
    redirect_uri: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    prompt: set[str]
    max_age: int | None
    acr_level: str | None
    dpop_jkt: str | None
    request_uri: str | None
    params: dict[str, str] = field(default_factory=dict)  # what the consent form posts back

    def error_redirect(self, error: str, description: str, issuer: str) -> str:
        query = {"error": error, "error_description": description, "iss": issuer}
        if self.state is not None:
            query["state"] = self.state
        return _with_query(self.redirect_uri, query)


class NotRedirectable(Exception):
    """The client or redirect URI cannot be trusted: the user sees an error page, nobody is redirected."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


class RedirectError(Exception):
    """An authorization error to send back to the client's redirect URI."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _with_query(uri: str, query: Mapping[str, str]) -> str:
    return uri + ("&" if urlsplit(uri).query else "?") + urlencode(query)


class OidcProvider:
    """Every OpenID Connect operation; routes parse HTTP and call one method each."""

    def __init__(self, config: ProviderConfig, clock: Clock, keys: SigningKeys, clients: ClientRegistry,
                 secret_key: bytes) -> None:
        self.config = config
        self.clock = clock
        self.keys = keys
        self.clients = clients
        self._pairwise_key = hmac.new(secret_key, b"oidc-pairwise-subject", hashlib.sha256).digest()

    @classmethod
    def from_container(cls, container: Container) -> OidcProvider:
        """The process's one provider (built by `build`, registered by auth's module)."""
        return container.get(cls)

    @classmethod
    def build(cls, container: Container) -> OidcProvider:
        s = container.settings
        a = s.section(AuthSettings)
        config = ProviderConfig(
            issuer=s.public_url.rstrip("/"), access_ttl=timedelta(seconds=a.oidc_access_token_seconds),
            id_ttl=timedelta(seconds=a.oidc_id_token_seconds), refresh_ttl=timedelta(days=a.oidc_refresh_token_days),
            code_ttl=timedelta(seconds=a.oidc_code_seconds), default_alg=a.oidc_key_algorithm)
        longest = max(config.access_ttl, config.id_ttl)
        keys = SigningKeys(container.keys, container.clock, a.oidc_key_name,
                           publish_ahead=timedelta(minutes=a.oidc_key_publish_ahead_minutes),
                           keep_after=longest + timedelta(minutes=5))
        keys.ensure()
        secret = s.secret_key_bytes()
        return cls(config, container.clock, keys, ClientRegistry(secret), secret)

    # --- where a form's redirects may end ---------------------------------------------------------

    @staticmethod
    def client_origins(session: Session, client_id: str | None) -> list[str]:
        """Origins of a client's registered redirect and post-logout URIs (for the CSP form-action)."""
        client = session.get(OidcClient, client_id) if client_id else None
        if client is None:
            return []
        uris = redirect_uris_of(client) + post_logout_uris_of(client)
        return sorted({f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in uris})

    @classmethod
    def origins_for_next(cls, session: Session, next_path: str) -> list[str]:
        """A sign-in that continues to /oidc/authorize ends at that client: its origins."""
        parts = urlsplit(next_path)
        if parts.path != "/oidc/authorize":
            return []
        client_id = dict(_query_of(next_path)).get("client_id")
        return cls.client_origins(session, client_id)

    # --- metadata ----------------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        e = self.config.endpoint
        return {
            "issuer": self.config.issuer,
            "authorization_endpoint": e("/oidc/authorize"),
            "pushed_authorization_request_endpoint": e("/oidc/par"),
            "token_endpoint": e("/oidc/token"),
            "userinfo_endpoint": e("/oidc/userinfo"),
            "jwks_uri": e("/oidc/jwks"),
            "introspection_endpoint": e("/oidc/introspect"),
            "revocation_endpoint": e("/oidc/revoke"),
            "end_session_endpoint": e("/oidc/logout"),
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                      "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                              "private_key_jwt"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                           "private_key_jwt", "none"],
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": ["ES256", "EdDSA", "RS256", "PS256"],
            "acr_values_supported": [ACR_PREFIX + "1", ACR_PREFIX + "2"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp",
                                 "sid", "name", "personal_id"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "require_pushed_authorization_requests": False,
            "authorization_response_iss_parameter_supported": True,
            "ui_locales_supported": ["vi", "en"],
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": self.keys.published()}

    # --- authorization endpoint -------------------------------------------------------------------

    def authorization_request(self, session: Session, query: Mapping[str, str]) -> AuthorizationRequest:
        """Validate an authorization request (or load a pushed one); raise NotRedirectable or RedirectError."""
        now = self.clock.now()
        client_id = query.get("client_id", "")
        client = session.get(OidcClient, client_id) if client_id else None
        if client is None or client.status != "active":
            raise NotRedirectable("Ứng dụng yêu cầu đăng nhập không được đăng ký.",
                                  "The application asking you to sign in is not registered.")
        params = dict(query)
        request_uri = params.get("request_uri")
        if request_uri:
            pushed = self._pushed(session, client, request_uri, now)
            params = {**pushed, "client_id": client.id, "request_uri": request_uri}
        redirect_uri = params.get("redirect_uri", "")
        registered = redirect_uris_of(client)
        if not redirect_uri and len(registered) == 1:
            redirect_uri = registered[0]
        if redirect_uri not in registered:  # exact string match: no open redirect through a prefix
            raise NotRedirectable("Địa chỉ quay về không khớp với địa chỉ đã đăng ký của ứng dụng.",
                                  "The return address does not match the application's registered address.")
        state = params.get("state")
        req = AuthorizationRequest(client=client, redirect_uri=redirect_uri, scopes=[], state=state,
                                   nonce=params.get("nonce"), code_challenge=None, prompt=set(), max_age=None,
                                   acr_level=None, dpop_jkt=params.get("dpop_jkt"), request_uri=request_uri,
                                   params={k: v for k, v in params.items() if isinstance(v, str)})

        def fail(error: str, description: str) -> RedirectError:
            return RedirectError(req.error_redirect(error, description, self.config.issuer))

        if "authorization_code" not in grant_types_of(client):
            raise fail("unauthorized_client", "this client may not use the authorization code flow")
        if params.get("response_type") != "code":
            raise fail("unsupported_response_type", "response_type must be code")
        if "request" in params:
            raise fail("request_not_supported", "request objects are not supported; use PAR")
        scopes = params.get("scope", "").split()
        allowed = set(scopes_of(client)) | {"openid"}
        unknown = [s for s in scopes if s not in allowed]
        if not scopes or unknown:
            raise fail("invalid_scope", f"scope not allowed for this client: {' '.join(unknown) or '(empty)'}")
        req.scopes = list(dict.fromkeys(scopes))
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
        if challenge:
            if method != "S256":
                raise fail("invalid_request", "code_challenge_method must be S256")
            if not re.fullmatch(r"[A-Za-z0-9\-_]{43}", challenge):
                raise fail("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)")
            req.code_challenge = challenge
        elif client.client_type == "public":
            raise fail("invalid_request", "public clients must send a PKCE code_challenge (S256)")
        req.prompt = set(params.get("prompt", "").split())
        if "none" in req.prompt and len(req.prompt) > 1:
            raise fail("invalid_request", "prompt=none cannot be combined with other values")
        if params.get("max_age"):
            if not params["max_age"].isdigit():
                raise fail("invalid_request", "max_age must be a number of seconds")
            req.max_age = int(params["max_age"])
        levels = [v.removeprefix(ACR_PREFIX) for v in params.get("acr_values", "").split()]
        if levels:
            known = [v for v in levels if v in ("1", "2")]
            if not known:
                raise fail("invalid_request", f"acr_values must be among {ACR_PREFIX}1 and {ACR_PREFIX}2")
            req.acr_level = min(known)  # the weakest level the client accepts
        if req.client.min_level > (req.acr_level or "1"):
            req.acr_level = req.client.min_level  # the service's own requirement wins over a weaker request
        return req

    def _pushed(self, session: Session, client: OidcClient, request_uri: str, now: datetime) -> dict[str, str]:
        handle = request_uri.removeprefix(REQUEST_URI_PREFIX)
        found = request_uri.startswith(REQUEST_URI_PREFIX)
        row = session.get(OidcAuthorization, handle_hash(handle)) if found else None
        if row is None or row.kind != "par" or row.client_id != client.id or row.used_at is not None \
                or row.expires_at <= now:
            raise NotRedirectable("Yêu cầu đăng nhập đã hết hạn. Vui lòng quay lại ứng dụng và thử lại.",
                                  "The sign-in request has expired. Go back to the application and try again.")
        return {str(k): str(v) for k, v in json.loads(row.params).items()}

    def push(self, session: Session, client: OidcClient, form: Mapping[str, str], *,
             dpop_jkt: str | None) -> dict[str, Any]:
        """RFC 9126: store the request, validated now, behind a one-time request_uri."""
        now = self.clock.now()
        params = {k: v for k, v in form.items() if not k.startswith("client_assertion") and k != "client_secret"}
        if "request_uri" in params:
            raise invalid_request("request_uri is not allowed in a pushed request")
        if dpop_jkt is not None:
            if params.get("dpop_jkt") not in (None, dpop_jkt):
                raise invalid_request("dpop_jkt does not match the DPoP proof's key")
            params["dpop_jkt"] = dpop_jkt
        params["client_id"] = client.id
        try:
            self.authorization_request(session, params)
        except NotRedirectable as exc:
            raise invalid_request(str(exc)) from None
        except RedirectError as exc:
            query = dict(_query_of(exc.location))
            raise OAuthError(query.get("error", "invalid_request"), query.get("error_description", "")) from None
        handle = new_token(32)
        session.add(OidcAuthorization(id=handle_hash(handle), kind="par", client_id=client.id,
                                      params=json.dumps(params),
                                      created_at=now, expires_at=now + self.config.par_ttl))
        return {"request_uri": REQUEST_URI_PREFIX + handle, "expires_in": int(self.config.par_ttl.total_seconds())}

    def login_needed(self, req: AuthorizationRequest, principal: Principal | None, reauth_after: int | None) -> bool:
        """Whether the user must (again) prove who they are before this request can be answered."""
        if principal is None or principal.session_id is None:
            return True
        now = self.clock.now()
        auth_time = principal.authenticated_at or now
        if req.max_age is not None and (now - auth_time).total_seconds() > req.max_age:
            return True
        if reauth_after is not None and auth_time.timestamp() < reauth_after:
            return True
        return "login" in req.prompt and reauth_after is None

    def consent_missing(self, session: Session, req: AuthorizationRequest, principal: Principal) -> list[str]:
        row = session.get(OidcConsent, (principal.account_id, req.client.id))
        granted = set(json.loads(row.scopes)) if row is not None else set()
        missing = [s for s in req.scopes if s not in granted]
        return missing if missing or "consent" in req.prompt else []

    def grant_consent(self, session: Session, req: AuthorizationRequest, principal: Principal) -> None:
        now = self.clock.now()
        row = session.get(OidcConsent, (principal.account_id, req.client.id))
        if row is None:
            row = OidcConsent(account_id=principal.account_id, client_id=req.client.id, scopes="[]", granted_at=now)
            session.add(row)
        row.scopes = json.dumps(sorted(set(json.loads(row.scopes)) | set(req.scopes)))
        row.granted_at = now
        record_event(session, AuthAudit.CONSENT_GRANTED, object_type="oidc_client", object_id=req.client.id,
                     details={"scopes": req.scopes})

    def can_step_up(self, session: Session, req: AuthorizationRequest, principal: Principal) -> bool:
        """The session is below the requested level but something online closes the gap: a second factor
        in this session (the account's proofing reaches the level), or, for a citizen, signing in again
        through an upstream provider that asserts the level. Ask for that instead of refusing."""
        if req.acr_level is None or principal.acr >= req.acr_level:
            return False
        account = session.get(Account, principal.account_id)
        if account is None:
            return False
        if account.assurance_level >= req.acr_level:
            return True
        from egov.auth.federation import Federation

        return account.kind == "citizen" and bool(Federation.providers_reaching(session, req.acr_level))

    def level_unreachable(self, req: AuthorizationRequest, principal: Principal) -> bool:
        return req.acr_level is not None and principal.acr < req.acr_level

    def acting_covers(self, session: Session, account_id: str, party_key: str, client_id: str) -> bool:
        """Whether the account may still act for `party_key` at this relying party (a delegation names the
        services it covers by client_id; a guardian, representative or member covers all)."""
        account = session.get(Account, account_id)
        party = Delegations(self.clock).still_allowed(session, account, party_key) if account else None
        return party is not None and party.covers(client_id)

    def issue_code(self, session: Session, req: AuthorizationRequest, principal: Principal) -> str:
        """The redirect carrying a fresh code (or an error when the session cannot meet the request)."""
        now = self.clock.now()
        level = principal.acr
        if req.acr_level is not None and level < req.acr_level:
            # The account's proofing is below the level (no second factor can fix that online).
            return req.error_redirect("unmet_authentication_requirements",
                                      f"the session is at level {level}; the client asked for {req.acr_level}",
                                      self.config.issuer)
        if principal.represented_party and not self.acting_covers(session, principal.account_id,
                                                                  principal.represented_party, req.client.id):
            return req.error_redirect("access_denied", "the delegation the user acts under does not cover this "
                                      "service", self.config.issuer)
        code = new_token(32)
        params = {
            "redirect_uri": req.redirect_uri, "scope": " ".join(req.scopes), "nonce": req.nonce,
            "code_challenge": req.code_challenge, "acr": ACR_PREFIX + level, "amr": list(principal.amr),
            "auth_time": int((principal.authenticated_at or now).timestamp()), "dpop_jkt": req.dpop_jkt,
            "represented": principal.represented_party,
        }
        session.add(OidcAuthorization(id=handle_hash(code), kind="code", client_id=req.client.id,
                                      account_id=principal.account_id, session_id=principal.session_id,
                                      params=json.dumps(params), created_at=now, expires_at=now + self.config.code_ttl))
        if req.request_uri:
            session.execute(update(OidcAuthorization)
                            .where(OidcAuthorization.id
                                   == handle_hash(req.request_uri.removeprefix(REQUEST_URI_PREFIX)))
                            .values(used_at=now))
        record_event(session, AuthAudit.CODE_ISSUED, object_type="oidc_client", object_id=req.client.id,
                     details={"scope": params["scope"], "acr": params["acr"], "par": bool(req.request_uri)})
        query = {"code": code, "iss": self.config.issuer}
        if req.state is not None:
            query["state"] = req.state
        return _with_query(req.redirect_uri, query)

    # --- token endpoint ---------------------------------------------------------------------------

    def token(self, session: Session, client: OidcClient, form: Mapping[str, str], *,
              dpop_jkt: str | None) -> dict[str, Any]:
        grant = form.get("grant_type", "")
        if grant not in ("authorization_code", "refresh_token", "client_credentials"):
            raise OAuthError("unsupported_grant_type", f"grant_type {grant or '(missing)'} is not supported")
        if grant not in grant_types_of(client):
            raise OAuthError("unauthorized_client", f"this client may not use {grant}")
        if client.require_dpop and dpop_jkt is None:
            raise invalid_request("this client must send a DPoP proof")
        if grant == "authorization_code":
            return self._from_code(session, client, form, dpop_jkt)
        if grant == "refresh_token":
            return self._from_refresh(session, client, form, dpop_jkt)
        return self._client_credentials(session, client, form, dpop_jkt)

    def _from_code(self, session: Session, client: OidcClient, form: Mapping[str, str],
                   dpop_jkt: str | None) -> dict[str, Any]:
        now = self.clock.now()
        code = form.get("code", "")
        row = session.get(OidcAuthorization, handle_hash(code)) if code else None
        if row is None or row.kind != "code":
            raise invalid_grant("the code is unknown", "code_unknown")
        if row.client_id != client.id:
            raise invalid_grant("the code was issued to another client", "code_foreign")
        if row.used_at is not None:
            # RFC 6749 §4.1.2: a code used twice revokes what it issued; someone else has it too.
            revoked = self._revoke_where(session, OidcToken.code_id == row.id, now)
            raise invalid_grant("the code was already used", f"code_replayed:{revoked}")
        if row.expires_at <= now:
            raise invalid_grant("the code has expired", "code_expired")
        params = json.loads(row.params)
        if form.get("redirect_uri", params["redirect_uri"]) != params["redirect_uri"]:
            raise invalid_grant("redirect_uri differs from the authorization request", "redirect_mismatch")
        verifier = form.get("code_verifier")
        if params.get("code_challenge"):
            if not verifier or not VERIFIER.fullmatch(verifier):
                raise invalid_grant("code_verifier is missing or malformed", "pkce_missing")
            if not hmac.compare_digest(_s256(verifier), params["code_challenge"]):
                raise invalid_grant("code_verifier does not match the code_challenge", "pkce_mismatch")
        elif verifier:
            raise invalid_grant("no code_challenge was sent with the authorization request", "pkce_unexpected")
        if params.get("dpop_jkt") and params["dpop_jkt"] != dpop_jkt:
            raise invalid_grant("the DPoP key differs from the one bound at authorization", "dpop_mismatch")
        row.used_at = now
        account = session.get(Account, row.account_id)
        if account is None or not account.is_active:
            raise invalid_grant("the account is no longer active", "account_inactive")
        scopes = params["scope"].split()
        ctx = Grant(client=client, account=account, scopes=scopes, acr=params["acr"], amr=params["amr"],
                     auth_time=params["auth_time"], session_id=row.session_id, family_id=new_id(), code_id=row.id,
                     jkt=dpop_jkt, nonce=params.get("nonce"), represented=params.get("represented"))
        return self._issue(session, ctx, "authorization_code", refresh="refresh_token" in grant_types_of(client))

    def _from_refresh(self, session: Session, client: OidcClient, form: Mapping[str, str],
                      dpop_jkt: str | None) -> dict[str, Any]:
        now = self.clock.now()
        presented = form.get("refresh_token", "")
        row = session.get(OidcToken, handle_hash(presented)) if presented else None
        if row is None or row.kind != "refresh":
            raise invalid_grant("the refresh token is unknown", "refresh_unknown")
        if row.client_id != client.id:
            raise invalid_grant("the refresh token was issued to another client", "refresh_foreign")
        if row.used_at is not None:
            # Rotation's point: the old token is presented again, so two parties hold the family.
            revoked = self._revoke_where(session, OidcToken.family_id == row.family_id, now)
            raise invalid_grant("the refresh token was already used; its family is revoked",
                                f"refresh_replayed:{revoked}")
        if row.revoked_at is not None or row.expires_at <= now:
            raise invalid_grant("the refresh token is revoked or expired", "refresh_dead")
        claims = json.loads(row.claims)
        if claims.get("jkt") and claims["jkt"] != dpop_jkt:
            raise invalid_grant("the refresh token is bound to another DPoP key", "dpop_mismatch")
        granted = row.scope.split()
        asked = form.get("scope", "").split() or granted
        if any(s not in granted for s in asked):
            raise OAuthError("invalid_scope", "a refresh cannot widen the scope")
        account = session.get(Account, row.account_id) if row.account_id else None
        if account is None or not account.is_active:
            raise invalid_grant("the account is no longer active", "account_inactive")
        represented = claims.get("represented")
        if represented and not self.acting_covers(session, account.id, represented, client.id):
            # Acting for someone ends with the delegation (revoked, expired, 14th birthday): so do its tokens.
            raise invalid_grant("the user may no longer act for the represented party", "delegation_ended")
        row.used_at = now
        ctx = Grant(client=client, account=account, scopes=asked, acr=claims["acr"], amr=claims["amr"],
                     auth_time=claims["auth_time"], session_id=row.session_id, family_id=row.family_id,
                     code_id=row.code_id, jkt=claims.get("jkt") or dpop_jkt, nonce=None,
                     refresh_expires=row.expires_at, refresh_scopes=granted, represented=claims.get("represented"))
        return self._issue(session, ctx, "refresh_token", refresh=True)

    def _client_credentials(self, session: Session, client: OidcClient, form: Mapping[str, str],
                            dpop_jkt: str | None) -> dict[str, Any]:
        if client.client_type != "confidential":
            raise OAuthError("unauthorized_client", "client_credentials needs a confidential client")
        asked = check_machine_scopes(scopes_of(client), form.get("scope", "").split())
        ctx = Grant(client=client, account=None, scopes=asked, acr=None, amr=None, auth_time=None, session_id=None,
                     family_id=new_id(), code_id=None, jkt=dpop_jkt, nonce=None)
        return self._issue(session, ctx, "client_credentials", refresh=False)

    def certificate_token(self, session: Session, client: OidcClient, scopes: list[str]) -> dict[str, Any]:
        """An access token for an agency system that proved it holds its agency certificate's key by
        signing our challenge (the caller checked both): level 2, `amr` ["sc"]."""
        asked = check_machine_scopes(scopes_of(client), scopes)
        ctx = Grant(client=client, account=None, scopes=asked, acr=ACR_PREFIX + "2", amr=["sc"],
                     auth_time=int(self.clock.now().timestamp()), session_id=None, family_id=new_id(),
                     code_id=None, jkt=None, nonce=None)
        return self._issue(session, ctx, "certificate_challenge", refresh=False)

    def _issue(self, session: Session, g: Grant, grant: str, *, refresh: bool) -> dict[str, Any]:
        """Issue in the caller's unit of work: the token rows and the audit event join its transaction."""
        issued = self.mint(g, grant, self.clock.now(), refresh=refresh)
        session.add_all(OidcToken(**row) for row in issued.rows)
        record_event(session, AuthAudit.TOKEN_ISSUED, **issued.event)
        return issued.body

    def mint(self, g: Grant, grant: str, now: datetime, *, refresh: bool) -> Issued:
        """A token answer, its token rows and its audit event, written nowhere: the one place a token is
        made, for the full path (`_issue`) and the client_credentials hot path, which differ only in how
        they write what this returns."""
        stamp = int(now.timestamp())
        exp = now + self.config.access_ttl
        sub = self.subject(g.client, g.account) if g.account is not None else g.client.id
        common: dict[str, Any] = {k: v for k, v in {"acr": g.acr, "amr": g.amr, "auth_time": g.auth_time}.items()
                                  if v is not None}
        if g.represented and g.account is not None:
            # RFC 8693 delegation: the token is about the represented party; `act` names who acts.
            common["act"] = {"sub": sub}
            sub = self.party_subject(g.client, g.represented)
        jti = new_token(18)
        scope = " ".join(g.scopes)
        at_claims: dict[str, Any] = {
            "iss": self.config.issuer, "sub": sub, "aud": self.config.api_audience, "client_id": g.client.id,
            "scope": scope, "iat": stamp, "exp": int(exp.timestamp()), "jti": jti, **common,
        }
        if g.jkt:
            at_claims["cnf"] = {"jkt": g.jkt}
        if g.client.access_token_format == "jwt":
            signer, kid = self.keys.signer(self.config.default_alg)
            access_token = sign_compact(signer, kid, at_claims, typ="at+jwt")
            token_id = handle_hash("jti:" + jti)
        else:
            access_token = new_token(32)
            token_id = handle_hash(access_token)
        stored = {**common, "sub": sub, "aud": self.config.api_audience, "jti": jti, "represented": g.represented}
        if g.jkt:
            stored["jkt"] = g.jkt
        account_id = g.account.id if g.account else None
        claims = json.dumps(stored)
        rows = [{"id": token_id, "kind": "access", "client_id": g.client.id, "account_id": account_id,
                 "family_id": g.family_id, "code_id": g.code_id, "session_id": g.session_id, "scope": scope,
                 "claims": claims, "issued_at": now, "expires_at": exp, "used_at": None, "revoked_at": None}]
        body: dict[str, Any] = {"access_token": access_token, "token_type": "DPoP" if g.jkt else "Bearer",
                                "expires_in": int(self.config.access_ttl.total_seconds()), "scope": scope}
        if g.account is not None and "openid" in g.scopes:
            body["id_token"] = self.id_token(g, sub, access_token, now)
        if refresh and g.account is not None:
            refresh_token = new_token(32)
            rows.append({"id": handle_hash(refresh_token), "kind": "refresh", "client_id": g.client.id,
                         "account_id": account_id, "family_id": g.family_id, "code_id": g.code_id,
                         "session_id": g.session_id, "scope": " ".join(g.refresh_scopes or g.scopes),
                         "claims": claims, "issued_at": now,
                         "expires_at": g.refresh_expires or now + self.config.refresh_ttl,
                         "used_at": None, "revoked_at": None})
            body["refresh_token"] = refresh_token
        event = {"object_type": "oidc_client", "object_id": g.client.id,
                 "actor_id": g.account.id if g.account else g.client.id,
                 "actor_kind": g.account.kind if g.account else "client",
                 "actor_name": g.account.display_name if g.account else g.client.name,
                 "details": {"grant_type": grant, "scope": scope, "jti": jti, "format": g.client.access_token_format,
                             "dpop": bool(g.jkt), "refresh": "refresh_token" in body, "family": g.family_id}}
        return Issued(body, rows, event)

    def party_subject(self, client: OidcClient, party: str) -> str:
        """Pairwise `sub` of a represented party (a child, an enterprise) for this client's sector."""
        mac = hmac.new(self._pairwise_key, f"{client.sector_identifier}\x00party\x00{party}".encode(), hashlib.sha256)
        return b64url(mac.digest())

    def id_token(self, g: Grant, sub: str, access_token: str, now: datetime) -> str:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        claims: dict[str, Any] = {
            "iss": self.config.issuer, "sub": sub, "aud": g.client.id, "azp": g.client.id,
            "iat": int(now.timestamp()), "exp": int((now + self.config.id_ttl).timestamp()),
            "auth_time": g.auth_time, "acr": g.acr, "amr": g.amr,
            "at_hash": b64url(digest[:16]),
        }
        if g.session_id:
            claims["sid"] = self.session_sid(g.session_id)
        if g.nonce:
            claims["nonce"] = g.nonce
        if g.represented and g.account is not None:
            claims["act"] = {"sub": self.subject(g.client, g.account)}
        if g.account is not None and "profile" in g.scopes and not g.represented:
            claims["name"] = g.account.display_name
        signer, kid = self.keys.signer(self.config.default_alg)
        return sign_compact(signer, kid, claims, typ="JWT")

    def session_sid(self, session_id: str) -> str:
        """The `sid` relying parties see for a platform session: stable, unlinkable to its database key."""
        mac = hmac.new(self._pairwise_key, f"sid\x00{session_id}".encode(), hashlib.sha256)
        return b64url(mac.digest())[:32]

    def subject(self, client: OidcClient, account: Account) -> str:
        """Pairwise `sub` (OIDC Core §8.1): the same person looks different to each sector."""
        mac = hmac.new(self._pairwise_key, f"{client.sector_identifier}\x00{account.id}".encode(), hashlib.sha256)
        return b64url(mac.digest())

    def _revoke_where(self, session: Session, condition: Any, now: datetime) -> int:
        result = session.execute(update(OidcToken).where(condition, OidcToken.revoked_at.is_(None))
                                 .values(revoked_at=now))
        return int(getattr(result, "rowcount", 0) or 0)

    # --- introspection, revocation, userinfo ------------------------------------------------------

    def _find(self, session: Session, token: str) -> OidcToken | None:
        """The row of an access or refresh token we issued: JWTs by their verified jti, others by hash."""
        if token.count(".") == 2:
            try:
                decoded = jwt.decode(token, KeySet.import_key_set({"keys": self.keys.published()}),  # type: ignore[typeddict-item]
                                     algorithms=list(ALGORITHMS))
            except (JoseError, ValueError):
                return None
            jti = decoded.claims.get("jti")
            if decoded.header.get("typ") != "at+jwt" or not isinstance(jti, str):
                return None
            return session.get(OidcToken, handle_hash("jti:" + jti))
        return session.get(OidcToken, handle_hash(token))

    def _live(self, row: Any, now: datetime) -> bool:
        return (row is not None and row.revoked_at is None and row.expires_at > now
                and (row.kind == "access" or row.used_at is None))

    def introspect(self, session: Session, client: OidcClient, token: str) -> dict[str, Any]:
        """RFC 7662: `{"active": false}` for anything not live, else what a resource server needs."""
        if client.client_type != "confidential":
            raise OAuthError("unauthorized_client", "only confidential clients may introspect", 401)
        return self.describe(self._find(session, token) if token else None, self.clock.now())

    def describe(self, row: Any, now: datetime) -> dict[str, Any]:
        """The introspection answer for a token's row (an ORM object or a Core row), or for no row."""
        if row is None or not self._live(row, now):
            return {"active": False}
        claims = json.loads(row.claims)
        out: dict[str, Any] = {
            "active": True, "iss": self.config.issuer, "client_id": row.client_id, "scope": row.scope,
            "sub": claims.get("sub"), "aud": claims.get("aud"), "exp": int(row.expires_at.timestamp()),
            "iat": int(row.issued_at.timestamp()), "token_type": "refresh_token" if row.kind == "refresh" else (
                "DPoP" if claims.get("jkt") else "Bearer"),
        }
        for name in ("acr", "amr", "auth_time", "jti"):
            if name in claims:
                out[name] = claims[name]
        if claims.get("jkt"):
            out["cnf"] = {"jkt": claims["jkt"]}
        return out

    def revoke(self, session: Session, client: OidcClient, token: str) -> None:
        """RFC 7009: unknown tokens are fine (200); a refresh token takes its whole family with it."""
        now = self.clock.now()
        row = self._find(session, token) if token else None
        if row is None:
            return
        if row.client_id != client.id:
            raise OAuthError("unauthorized_client", "the token was issued to another client")
        if row.kind == "refresh":
            count = self._revoke_where(session, OidcToken.family_id == row.family_id, now)
        else:
            count = self._revoke_where(session, OidcToken.id == row.id, now)
        record_event(session, AuthAudit.TOKEN_REVOKED, object_type="oidc_client", object_id=client.id,
                     actor_id=client.id, actor_kind="client", actor_name=client.name,
                     details={"kind": row.kind, "family": row.family_id, "revoked": count})

    def userinfo(self, session: Session, authorization: str | None, dpop_proof: str | None, *,
                 method: str, url: str) -> dict[str, Any]:
        now = self.clock.now()
        scheme, _, token = (authorization or "").partition(" ")
        scheme = scheme.lower()
        if scheme not in ("bearer", "dpop") or not token.strip():
            raise OAuthError("invalid_request", "send the access token as Authorization: Bearer or DPoP", 401,
                             www_authenticate='Bearer realm="egov", DPoP algs="ES256 EdDSA RS256 PS256"')
        token = token.strip()
        row = self._find(session, token)
        if row is None or row.kind != "access" or not self._live(row, now) or row.account_id is None:
            raise invalid_token()
        claims = json.loads(row.claims)
        if claims.get("jkt"):
            if scheme != "dpop" or not dpop_proof:
                raise invalid_token("the token is DPoP-bound; send it with a DPoP proof", "DPoP")
            jkt = verify_proof(session, dpop_proof, method=method, url=url, now=now, access_token=token,
                               client_id=row.client_id)
            if jkt != claims["jkt"]:
                raise invalid_token("the DPoP proof's key is not the token's", "DPoP")
        elif scheme == "dpop":
            raise invalid_token("the token is not DPoP-bound; send it as Bearer")
        scopes = row.scope.split()
        if "openid" not in scopes:
            raise OAuthError("insufficient_scope", "userinfo needs the openid scope", 403,
                             www_authenticate='Bearer error="insufficient_scope", scope="openid"')
        account = session.get(Account, row.account_id)
        if account is None or not account.is_active:
            raise invalid_token()
        out: dict[str, Any] = {"sub": claims["sub"]}
        if "profile" in scopes:
            out["name"] = account.display_name
        if "vn_personal_id" in scopes and account.kind == "citizen":
            out["personal_id"] = account.username  # only with the dedicated scope the user consented to
        record_event(session, AuthAudit.USERINFO_READ, object_type="account", object_id=account.id,
                     actor_id=row.client_id, actor_kind="client", details={"scope": row.scope})
        return out

    def verify_dpop(self, session: Session, proof: str | None, *, method: str, url: str,
                    client_id: str = "") -> str | None:
        if proof is None:
            return None
        return verify_proof(session, proof, method=method, url=url, now=self.clock.now(), client_id=client_id)

    def authenticate_client(self, session: Session, form: Mapping[str, str], authorization: str | None) -> OidcClient:
        audiences = (self.config.issuer, self.config.endpoint("/oidc/token"), self.config.endpoint("/oidc/par"),
                     self.config.endpoint("/oidc/introspect"), self.config.endpoint("/oidc/revoke"))
        return self.clients.authenticate(session, form, authorization, audiences=audiences, now=self.clock.now())

    def audit_refusal(self, session: Session, endpoint: str, error: OAuthError, client_id: str | None) -> None:
        record_event(session, AuthAudit.OAUTH_REFUSED, outcome="failure", object_type="oidc_client",
                     object_id=client_id, actor_id=client_id, actor_kind="client",
                     details={"endpoint": endpoint, "error": error.error, "reason": error.audit_reason})


@dataclass(frozen=True, slots=True)
class Issued:
    """What issuing a token makes (`OidcProvider.mint`): the answer, the oidc_tokens rows (access, then
    refresh if any) and the fields of its auth:token:issued audit event."""

    body: dict[str, Any]
    rows: list[dict[str, Any]]
    event: dict[str, Any]  # record_event/event_values fields


@dataclass
class Grant:
    """Who and what a token is issued for, as the grant decided it (the input of `OidcProvider.mint`)."""

    client: OidcClient
    account: Account | None
    scopes: list[str]
    acr: str | None
    amr: list[str] | None
    auth_time: int | None
    session_id: str | None
    family_id: str
    code_id: str | None
    jkt: str | None
    nonce: str | None
    refresh_expires: datetime | None = None
    refresh_scopes: list[str] | None = None
    represented: str | None = None  # "citizen:<id>" / "enterprise:<id>" when acting for them


def _query_of(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


