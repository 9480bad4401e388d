"""Signing in through an upstream OpenID provider, and linking the person it vouches for to a local account.

The upstream (a VNeID-style national provider) is trusted for one thing: the personal ID of the
person who signed in there, at the level it asserts. That ID must be in our registry (and agree with
its birth date when the upstream sends one); the first sign-in links the upstream subject to the
citizen's account, creating a password-less one if the citizen has none. Only citizen accounts are
linked: staff keep their own, phishing-resistant sign-in.

The session's level is the upstream's `acr` translated through the provider's map (an acr not in
the map is refused, never guessed up); `amr` passes through (RFC 8176 values only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.federation.upstream import UpstreamClient, UpstreamError
from egov.auth.models import Account, AccountKind, FederatedIdentity, UpstreamProvider
from egov.auth.services.accounts import AccountService
from egov.auth.services.sign_in import SignedIn, SignInService
from egov.platform.clock import Clock
from egov.platform.errors import Conflict, FieldError, NotFound, ValidationFailed
from egov.platform.ids import new_token
from egov.platform.keys.sealed import SealBroken, Sealer
from egov.registry import build_registry_facts, decode_personal_id
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

STATE_TTL_S = 600  # from leaving for the provider to coming back
LEVELS = ("1", "2")
RFC8176_AMR = frozenset({"face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pwd", "rba",
                         "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia"})
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,31}")


@dataclass(frozen=True)
class Started:
    url: str
    state_cookie: str


@dataclass(frozen=True)
class Completed:
    signed_in: SignedIn
    next_path: str


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _valid_issuer(url: str) -> bool:
    """https, or http on the loopback only (development and tests); no query or fragment (OIDC Discovery)."""
    parts = urlsplit(url)
    if parts.query or parts.fragment or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"))


class Federation:
    def __init__(self, clock: Clock, secret_key: bytes, public_url: str, sign_in: SignInService,
                 accounts: AccountService, cache: dict[str, object], http: httpx.Client | None = None) -> None:
        self.clock = clock
        self._secrets = Sealer(secret_key, "upstream-client-secret")
        self._state = Sealer(secret_key, "federation-state")
        self.public_url = public_url.rstrip("/")
        self.sign_in = sign_in
        self.accounts = accounts
        self.registry = build_registry_facts()  # an upstream identity must be a person in the registry
        self._cache = cache
        self._http = http

    @classmethod
    def from_container(cls, container: Container) -> Federation:
        """Built once per container, so each upstream's client (metadata, keys) stays cached across requests."""
        return container.get(cls)

    @classmethod
    def build(cls, container: Container) -> Federation:
        s = container.settings
        return cls(container.clock, s.secret_key_bytes(), s.public_url, SignInService.from_container(container),
                   AccountService.from_container(container), {})

    def redirect_uri(self, provider_id: str) -> str:
        return f"{self.public_url}/login/federated/{provider_id}/callback"

    def _client(self, p: UpstreamProvider) -> UpstreamClient:
        """One client per provider configuration, kept across requests so metadata and keys stay cached."""
        key = "federation:" + hashlib.sha256(f"{p.id}\x00{p.issuer}\x00{p.client_id}\x00{p.client_secret_sealed}"
                                             .encode()).hexdigest()
        client = self._cache.get(key)
        if not isinstance(client, UpstreamClient):
            client = UpstreamClient(p.issuer, p.client_id, self._secrets.open(p.client_secret_sealed).decode(),
                                    http=self._http)
            self._cache[key] = client
        return client

    # --- configuration (CLI and back office) ----------------------------------------------------------

    def add_provider(self, session: Session, *, provider_id: str, display_name: str, issuer: str, client_id: str,
                     client_secret: str, acr_map: dict[str, str], scopes: str = "openid profile vn_personal_id",
                     personal_id_claim: str = "vn_personal_id") -> UpstreamProvider:
        errors: list[FieldError] = []
        if not _SLUG.fullmatch(provider_id):
            errors.append(FieldError("id", "slug", "Mã nhà cung cấp: 2–32 ký tự a-z, 0-9, gạch ngang.",
                                     "Provider id: 2-32 characters a-z, 0-9 and hyphens."))
        if not _valid_issuer(issuer):
            errors.append(FieldError("issuer", "https", "Issuer phải là địa chỉ https (http chỉ cho máy cục bộ).",
                                     "The issuer must be an https URL (http only on the loopback)."))
        if not client_id.strip() or not client_secret:
            errors.append(FieldError("client_id", "required", "Cần client_id và client_secret do nhà cung cấp cấp.",
                                     "The client_id and client_secret issued by the provider are required."))
        if not acr_map or any(v not in LEVELS for v in acr_map.values()):
            errors.append(FieldError("acr_map", "levels", "Bảng acr phải ánh xạ mỗi giá trị sang mức 1 hoặc 2.",
                                     "The acr map must map each upstream value to level 1 or 2."))
        if "openid" not in scopes.split():
            errors.append(FieldError("scopes", "openid", "Phạm vi phải có openid.", "The scopes must include openid."))
        if errors:
            raise ValidationFailed(errors)
        if session.get(UpstreamProvider, provider_id) is not None or session.scalar(
                select(UpstreamProvider.id).where(UpstreamProvider.issuer == issuer)) is not None:
            raise Conflict("Nhà cung cấp này đã được cấu hình.", "This provider is already configured.")
        sealed = self._secrets.seal(client_secret.encode())
        row = UpstreamProvider(id=provider_id, display_name=display_name.strip() or provider_id, issuer=issuer,
                               client_id=client_id.strip(), client_secret_sealed=sealed,
                               scopes=" ".join(scopes.split()), personal_id_claim=personal_id_claim,
                               acr_map=json.dumps(acr_map, sort_keys=True), status="active",
                               created_at=self.clock.now())
        session.add(row)
        session.flush()
        record_event(session, AuthAudit.UPSTREAM_PROVIDER_ADDED, object_type="upstream_provider", object_id=row.id,
                     details={"issuer": issuer, "client_id": row.client_id, "acr_map": acr_map})
        return row

    def set_status(self, session: Session, provider_id: str, status: str) -> UpstreamProvider:
        row = session.get(UpstreamProvider, provider_id)
        if row is None:
            raise NotFound("Không có nhà cung cấp định danh này.", "No such identity provider.")
        if status not in ("active", "disabled"):
            raise ValidationFailed.single("status", "choice", "Trạng thái: active hoặc disabled.",
                                          "Status: active or disabled.")
        row.status = status
        record_event(session, AuthAudit.UPSTREAM_PROVIDER_CHANGED, object_type="upstream_provider", object_id=row.id,
                     details={"status": status})
        return row

    @staticmethod
    def providers(session: Session, *, active_only: bool = True) -> list[UpstreamProvider]:
        query = select(UpstreamProvider).order_by(UpstreamProvider.display_name)
        if active_only:
            query = query.where(UpstreamProvider.status == "active")
        return list(session.scalars(query))

    @staticmethod
    def providers_reaching(session: Session, level: str) -> list[UpstreamProvider]:
        """Active providers with an acr that maps to `level` or above (a way to step a citizen up)."""
        return [p for p in Federation.providers(session)
                if any(v >= level for v in json.loads(p.acr_map).values())]

    def _active(self, session: Session, provider_id: str) -> UpstreamProvider:
        row = session.get(UpstreamProvider, provider_id)
        if row is None or row.status != "active":
            raise NotFound("Không có nhà cung cấp định danh này.", "No such identity provider.")
        return row

    # --- the sign-in ------------------------------------------------------------------------------------

    def begin(self, session: Session, provider_id: str, *, next_path: str, level: str | None = None) -> Started:
        """The authorization request (code + PKCE S256 + state + nonce), its secrets sealed into a cookie."""
        p = self._active(session, provider_id)
        meta = self._client(p).metadata()
        state, nonce, verifier = new_token(24), new_token(24), new_token(48)
        params = {"response_type": "code", "client_id": p.client_id, "redirect_uri": self.redirect_uri(p.id),
                  "scope": p.scopes, "state": state, "nonce": nonce, "code_challenge": _s256(verifier),
                  "code_challenge_method": "S256"}
        # Ask for the acr values that reach the level this sign-in needs, strongest first (voluntary
        # in OIDC: whatever the provider asserts is what counts), and for acr/amr/auth_time in the ID
        # token where the provider takes the claims parameter (OIDC Core §5.5).
        acr_map: dict[str, str] = json.loads(p.acr_map)
        wanted = sorted((v for v, lvl in acr_map.items() if lvl >= (level or "1")), key=lambda v: acr_map[v],
                        reverse=True)
        if wanted:
            params["acr_values"] = " ".join(wanted)
        if meta.get("claims_parameter_supported"):
            params["claims"] = json.dumps({"id_token": {"acr": {"essential": True}, "amr": None,
                                                        "auth_time": None}})
        sealed = self._state.seal_at(json.dumps({"p": p.id, "s": state, "n": nonce, "v": verifier,
                                                 "next": next_path}).encode(), self.clock.now().timestamp())
        return Started(meta["authorization_endpoint"] + "?" + urlencode(params), sealed)

    def complete(self, session: Session, provider_id: str, query: dict[str, str], state_cookie: str | None, *,
                 ip: str | None, user_agent: str | None, previous_token: str | None) -> Completed:
        try:
            p = self._active(session, provider_id)
            saved = self._open_state(state_cookie, p.id, query.get("state", ""))
            if "error" in query:
                raise UpstreamError("upstream_refused", f"the provider answered {query['error'][:60]}")
            if "iss" in query and query["iss"] != p.issuer:  # RFC 9207: the answer is from the provider we asked
                raise UpstreamError("iss_mismatch", "the authorization response names another issuer")
            client = self._client(p)
            tokens = client.exchange(query.get("code", ""), self.redirect_uri(p.id), saved["v"])
            now = self.clock.now()
            claims = client.verify_id_token(tokens["id_token"], nonce=saved["n"], now=now.timestamp())
            if p.personal_id_claim not in claims and isinstance(tokens.get("access_token"), str):
                claims = {**client.userinfo(tokens["access_token"], claims["sub"]), **claims}
            level = self._level(p, claims)
            account = self._link(session, p, claims)
            amr = tuple(a for a in claims.get("amr", []) if isinstance(a, str) and a in RFC8176_AMR)
            signed_in = self.sign_in.open_vouched(session, account, acr=level, amr=amr, via=f"federation:{p.id}",
                                                  ip=ip, user_agent=user_agent, previous_token=previous_token)
        except UpstreamError as exc:
            self._refused(session, provider_id, exc.reason)
            raise
        return Completed(signed_in, saved["next"])

    def _open_state(self, cookie: str | None, provider_id: str, state: str) -> dict[str, Any]:
        if not cookie:
            raise UpstreamError("no_state", "the sign-in was not started in this browser (or took too long)")
        try:
            saved = json.loads(self._state.open(cookie, STATE_TTL_S, now=self.clock.now().timestamp()))
        except (SealBroken, ValueError):
            raise UpstreamError("bad_state", "the sign-in state is invalid or expired") from None
        if saved.get("p") != provider_id or not hmac.compare_digest(str(saved.get("s", "")), state):
            raise UpstreamError("state_mismatch", "the answer does not belong to the sign-in started here")
        return dict(saved)

    @staticmethod
    def _level(p: UpstreamProvider, claims: dict[str, Any]) -> str:
        acr = claims.get("acr")
        level = json.loads(p.acr_map).get(acr) if isinstance(acr, str) else None
        if level not in LEVELS:
            raise UpstreamError("unknown_acr", "the provider asserted a level this platform does not know")
        return str(level)

    def _link(self, session: Session, p: UpstreamProvider, claims: dict[str, Any]) -> Account:
        pid = claims.get(p.personal_id_claim)
        if not isinstance(pid, str):
            raise UpstreamError("no_personal_id", "the provider did not send a personal ID")
        try:
            decode_personal_id(pid)
        except ValidationFailed:
            raise UpstreamError("bad_personal_id", "the provider sent a malformed personal ID") from None
        citizen = self.registry.citizen_by_personal_id(session, pid)
        if citizen is None:
            raise UpstreamError("not_in_registry", "the person is not in the population registry")
        birthdate = claims.get("birthdate")
        if isinstance(birthdate, str) and birthdate != citizen.birth_date.isoformat():
            raise UpstreamError("registry_mismatch", "the provider's birth date differs from the registry's")
        now = self.clock.now()
        link = session.scalar(select(FederatedIdentity).where(FederatedIdentity.provider_id == p.id,
                                                              FederatedIdentity.subject == claims["sub"]))
        if link is not None:
            account = session.get(Account, link.account_id)
            if account is None or account.subject_id != citizen.id:
                # The upstream now says this subject is someone else: never follow it silently.
                raise UpstreamError("link_mismatch", "the linked account belongs to another person")
            link.last_used_at = now
        else:
            account = session.scalar(select(Account).where(Account.kind == AccountKind.CITIZEN.value,
                                                           Account.subject_id == citizen.id))
            created = account is None
            if account is None:
                account = self.accounts.create_account(session, kind=AccountKind.CITIZEN.value, username=pid,
                                                       display_name=citizen.full_name, subject_id=citizen.id)
            session.add(FederatedIdentity(provider_id=p.id, subject=claims["sub"], account_id=account.id,
                                          created_at=now, last_used_at=now))
            record_event(session, AuthAudit.FEDERATION_LINKED, object_type="account", object_id=account.id,
                         details={"provider": p.id, "account_created": created})
        if not account.is_active:
            raise UpstreamError("disabled", "the account is disabled")
        return account

    def _refused(self, session: Session, provider_id: str, reason: str) -> None:
        self.sign_in.refused(session, {"reason": f"federation:{reason}"}, object_type="upstream_provider",
                             object_id=provider_id[:64])
