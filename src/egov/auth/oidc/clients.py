"""Relying parties and machine clients: registration, secrets as keyed hashes, client authentication.

Client authentication methods (RFC 6749 §2.3, OIDC Core §9): `client_secret_basic`,
`client_secret_post`, `private_key_jwt` (an assertion signed with a key from the client's
registered JWKS, one-time `jti`) and `none` for public clients, which must then use PKCE.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egov.auth.models import OidcAuthorization, OidcClient
from egov.auth.oidc.errors import OAuthError, invalid_client, invalid_request
from egov.platform.errors import FieldError, ValidationFailed
from egov.platform.ids import new_token

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGS = ("ES256", "RS256", "PS256", "EdDSA")
SECRET_BYTES = 32


def throttle_keys(source_ip: str | None, form_client_id: str | None) -> list[str]:
    """The backoff keys of a client authentication: the source address, and the client id named in the
    form (shared by the token route and its hot path, so both count and check the same buckets)."""
    return [f"oidc-ip:{source_ip or 'unknown'}"] + ([f"oidc-client:{form_client_id}"] if form_client_id else [])


def secret_accepted(client: Any, key: bytes, secret: str, method: str) -> bool:
    """Whether `secret`, sent by `method`, authenticates `client` (an ORM object or a Core row; None for
    an unknown id, which costs the same HMAC work and is refused)."""
    expected = client.secret_hash if client is not None and client.secret_hash else "0" * 64
    ok = hmac.compare_digest(expected, secret_hash(key, secret))
    return ok and client is not None and client.status == "active" and client.auth_method == method


def secret_hash(key: bytes, secret: str) -> str:
    """HMAC-SHA256 of a client secret under the platform key: a stolen table cannot be replayed."""
    return hmac.digest(key, b"oidc-client-secret\x00" + secret.encode("utf-8"), "sha256").hex()


def _json_list(value: str) -> list[str]:
    return [str(v) for v in json.loads(value or "[]")]


@dataclass(frozen=True)
class ClientView:
    """A client as the admin pages and CLI show it (never its secret)."""

    client_id: str
    name: str
    client_type: str
    auth_method: str
    redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    access_token_format: str
    sector_identifier: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, c: OidcClient) -> ClientView:
        return cls(c.id, c.name, c.client_type, c.auth_method, _json_list(c.redirect_uris),
                   _json_list(c.grant_types), _json_list(c.scopes), c.access_token_format,
                   c.sector_identifier, c.status, c.created_at)


def redirect_uris_of(client: OidcClient) -> list[str]:
    return _json_list(client.redirect_uris)


def post_logout_uris_of(client: OidcClient) -> list[str]:
    return _json_list(client.post_logout_redirect_uris)


def grant_types_of(client: OidcClient) -> list[str]:
    return _json_list(client.grant_types)


def scopes_of(client: OidcClient) -> list[str]:
    return _json_list(client.scopes)


def _check_redirect_uri(uri: str, index: int, name: str = "redirect_uris") -> FieldError | None:
    parts = urlsplit(uri)
    field = f"{name}[{index}]"
    if parts.fragment:
        return FieldError(field, "no_fragment", "Địa chỉ chuyển hướng không được chứa phần #.",
                          "A redirect URI must not contain a fragment.")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        return FieldError(field, "https", "Địa chỉ chuyển hướng phải dùng https (http chỉ cho localhost).",
                          "A redirect URI must use https (http only for localhost).")
    if not parts.hostname:
        return FieldError(field, "absolute", "Địa chỉ chuyển hướng phải là địa chỉ tuyệt đối.",
                          "A redirect URI must be absolute.")
    return None


class ClientRegistry:
    """Registers, lists and disables clients; hands out a new secret once, keeps only its keyed hash."""

    def __init__(self, secret_key: bytes) -> None:
        self.secret_key = secret_key

    def create(self, session: Session, *, name: str, client_type: str, redirect_uris: list[str],
               grant_types: list[str], scopes: list[str], now: datetime, auth_method: str | None = None,
               access_token_format: str = "jwt", sector_identifier: str | None = None,  # noqa: S107
               jwks: dict[str, Any] | None = None, agency_id: str | None = None,
               require_dpop: bool = False, post_logout_redirect_uris: list[str] | None = None,
               backchannel_logout_uri: str | None = None,
               client_id: str | None = None) -> tuple[OidcClient, str | None]:
        """A new client and its secret (None for public and private_key_jwt clients); ValidationFailed on bad input."""
        errors: list[FieldError] = []
        method = auth_method or ("none" if client_type == "public" else "client_secret_basic")
        if not name.strip():
            errors.append(FieldError("name", "required", "Vui lòng nhập tên ứng dụng.", "Enter the client's name."))
        if client_type not in ("confidential", "public"):
            errors.append(FieldError("client_type", "choice", "Loại ứng dụng phải là confidential hoặc public.",
                                     "client_type must be confidential or public."))
        if method not in AUTH_METHODS or (client_type == "public") != (method == "none"):
            errors.append(FieldError("auth_method", "choice",
                                     "Ứng dụng công khai dùng 'none'; ứng dụng bảo mật dùng client_secret_basic, "
                                     "client_secret_post hoặc private_key_jwt.",
                                     "Public clients use 'none'; confidential clients use client_secret_basic, "
                                     "client_secret_post or private_key_jwt."))
        bad_grants = [g for g in grant_types if g not in GRANT_TYPES]
        if not grant_types or bad_grants or (client_type == "public" and "client_credentials" in grant_types):
            errors.append(FieldError("grant_types", "choice",
                                     f"Loại cấp quyền không hợp lệ: {', '.join(bad_grants) or grant_types}.",
                                     f"Unsupported grant types: {', '.join(bad_grants) or grant_types}."))
        if "authorization_code" in grant_types and not redirect_uris:
            errors.append(FieldError("redirect_uris", "required", "Cần ít nhất một địa chỉ chuyển hướng.",
                                     "At least one redirect URI is required."))
        errors.extend(e for i, uri in enumerate(redirect_uris) if (e := _check_redirect_uri(uri, i)))
        errors.extend(e for i, uri in enumerate(post_logout_redirect_uris or [])
                      if (e := _check_redirect_uri(uri, i, "post_logout_redirect_uris")))
        if backchannel_logout_uri and (e := _check_redirect_uri(backchannel_logout_uri, 0, "backchannel_logout_uri")):
            errors.append(e)
        if access_token_format not in ("jwt", "opaque"):
            errors.append(FieldError("access_token_format", "choice", "Định dạng token phải là jwt hoặc opaque.",
                                     "access_token_format must be jwt or opaque."))
        if method == "private_key_jwt":
            try:
                KeySet.import_key_set(jwks or {})  # type: ignore[arg-type]
                if not (jwks or {}).get("keys"):
                    raise ValueError("empty")
            except (JoseError, ValueError, TypeError, KeyError):
                errors.append(FieldError("jwks", "invalid", "private_key_jwt cần bộ khoá công khai (JWKS) hợp lệ.",
                                         "private_key_jwt needs a valid public JWKS."))
        if errors:
            raise ValidationFailed(errors)
        secret = new_token(SECRET_BYTES) if method in ("client_secret_basic", "client_secret_post") else None
        first_host = urlsplit(redirect_uris[0]).hostname if redirect_uris else None
        client = OidcClient(
            id=client_id or new_token(16), name=name.strip(), client_type=client_type, auth_method=method,
            secret_hash=secret_hash(self.secret_key, secret) if secret else None,
            jwks=json.dumps(jwks) if jwks else None, redirect_uris=json.dumps(redirect_uris),
            post_logout_redirect_uris=json.dumps(post_logout_redirect_uris or []),
            backchannel_logout_uri=backchannel_logout_uri, grant_types=json.dumps(grant_types),
            scopes=json.dumps(scopes), access_token_format=access_token_format,
            sector_identifier=sector_identifier or first_host or name.strip(), require_dpop=require_dpop,
            agency_id=agency_id, status="active", created_at=now)
        session.add(client)
        return client, secret

    def with_secret(self, session: Session, client_id: str) -> ClientView:
        """The client whose secret may be rotated; OAuthError when no client with a secret has that id."""
        client = session.get(OidcClient, client_id)
        if client is None or client.secret_hash is None:
            raise invalid_request("no client with a secret has that id")
        return ClientView.of(client)

    def rotate_secret(self, session: Session, client_id: str, now: datetime) -> str:
        client = session.get(OidcClient, client_id)
        if client is None or client.secret_hash is None:
            raise invalid_request("no client with a secret has that id")
        secret = new_token(SECRET_BYTES)
        client.secret_hash = secret_hash(self.secret_key, secret)
        client.secret_rotated_at = now
        return secret

    def list(self, session: Session) -> list[ClientView]:
        return [ClientView.of(c) for c in session.scalars(select(OidcClient).order_by(OidcClient.created_at))]

    # --- authentication at the token, PAR, introspection and revocation endpoints ------------------

    def authenticate(self, session: Session, form: Mapping[str, str], authorization: str | None, *,
                     audiences: tuple[str, ...], now: datetime) -> OidcClient:
        """The client that made this request, or invalid_client (after the same work for unknown ids)."""
        basic = _basic_credentials(authorization)
        assertion = form.get("client_assertion")
        if basic is not None:
            client_id, secret = basic
            if form.get("client_id") not in (None, "", client_id) or "client_secret" in form or assertion:
                raise invalid_request("use exactly one client authentication method")
            return self._by_secret(session, client_id, secret, "client_secret_basic")
        if assertion is not None:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise invalid_request(f"client_assertion_type must be {ASSERTION_TYPE}")
            return self._by_assertion(session, assertion, form.get("client_id"), audiences, now)
        client_id = form.get("client_id") or ""
        if "client_secret" in form:
            return self._by_secret(session, client_id, form["client_secret"], "client_secret_post")
        client = session.get(OidcClient, client_id) if client_id else None
        if client is None or client.status != "active" or client.auth_method != "none":
            raise invalid_client()
        return client

    def _by_secret(self, session: Session, client_id: str, secret: str, method: str) -> OidcClient:
        client = session.get(OidcClient, client_id) if client_id else None
        if client is None or not secret_accepted(client, self.secret_key, secret, method):
            raise invalid_client()
        return client

    def _by_assertion(self, session: Session, assertion: str, client_id: str | None,
                      audiences: tuple[str, ...], now: datetime) -> OidcClient:
        try:
            unverified = json.loads(_b64decode(assertion.split(".")[1]))
        except (ValueError, IndexError, binascii.Error):
            raise invalid_client("the client assertion is not a JWT") from None
        issuer = unverified.get("iss") if isinstance(unverified, dict) else None
        if not isinstance(issuer, str) or (client_id and client_id != issuer):
            raise invalid_client("the client assertion's iss must be the client_id")
        client = session.get(OidcClient, issuer)
        if client is None or client.status != "active" or client.auth_method != "private_key_jwt" or not client.jwks:
            raise invalid_client()
        try:
            keys = KeySet.import_key_set(json.loads(client.jwks))
            token = jwt.decode(assertion, keys, algorithms=list(ASSERTION_ALGS))
        except (JoseError, ValueError) as exc:
            raise invalid_client(f"the client assertion does not verify ({type(exc).__name__})") from None
        claims = token.claims
        stamp = int(now.timestamp())
        aud = claims.get("aud")
        aud_list = aud if isinstance(aud, list) else [aud]
        if claims.get("sub") != issuer or not any(a in audiences for a in aud_list):
            raise invalid_client("the client assertion's sub must be the client_id and aud this server")
        exp, jti = claims.get("exp"), claims.get("jti")
        if not isinstance(exp, int) or exp <= stamp or exp > stamp + 600 or not isinstance(jti, str) or not jti:
            raise invalid_client("the client assertion needs a jti and an exp within 10 minutes")
        # One-time: the jti is remembered until the assertion expires (a replay fails on the key).
        marker = OidcAuthorization(id=hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest(), kind="jti",
                                   client_id=issuer, params="{}", created_at=now,
                                   expires_at=now + timedelta(seconds=exp - stamp), used_at=now)
        try:
            with session.begin_nested():
                session.add(marker)
        except IntegrityError:
            raise invalid_client("the client assertion was already used") from None
        return client


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: Basic with form-urlencoded id and secret."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("malformed Basic credentials") from None
    client_id, sep, secret = raw.partition(":")
    if not sep:
        raise invalid_client("malformed Basic credentials")
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


__all__ = ["ClientRegistry", "ClientView", "OAuthError", "secret_hash"]
