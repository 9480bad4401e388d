"""Talking to an upstream OpenID provider as its relying party: discovery, code exchange, ID token checks.

Everything the upstream sends is checked before it is believed: the ID token's signature against the
provider's published keys (asymmetric algorithms only, so `none` and HMAC key confusion cannot pass),
`iss`, `aud`/`azp`, `exp`/`iat` with a small leeway, the `nonce` we sent, and userinfo's `sub` against
the ID token's. Metadata and keys are cached per process (losing them costs one fetch); an unknown
`kid` refetches the keys once, which is how a provider's key rotation reaches us.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from egov.platform.errors import DomainError

ID_TOKEN_ALGS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")  # never "none", never HS*
HTTP_TIMEOUT_S = 5.0
METADATA_TTL_S = 3600.0
LEEWAY_S = 60


class UpstreamError(DomainError):
    """The upstream provider refused, answered wrongly, or sent something that does not verify."""

    status = 502
    code = "upstream_failed"
    title_vi = "Không xác thực được qua nhà cung cấp định danh"
    title_en = "The identity provider sign-in failed"

    def __init__(self, reason: str, detail_en: str = "") -> None:
        self.reason = reason  # a short machine code for the audit log
        super().__init__(
            "Đăng nhập qua nhà cung cấp định danh không thành công. Vui lòng thử lại hoặc đăng nhập bằng cách khác.",
            detail_en or "Signing in through the identity provider failed. Try again or use another way.")


class UpstreamClient:
    """One provider's endpoints and keys, fetched on first use and kept for an hour."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, *,
                 http: httpx.Client | None = None) -> None:
        self.issuer = issuer  # compared exactly, as configured (OIDC Discovery §4.3)
        self.client_id = client_id
        self._secret = client_secret
        self._http = http or httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    # --- discovery and keys -----------------------------------------------------------------------

    def _get_json(self, url: str, reason: str) -> dict[str, Any]:
        try:
            resp = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise UpstreamError(reason, f"{reason}: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise UpstreamError(reason, f"{reason}: HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError:
            raise UpstreamError(reason, f"{reason}: not JSON") from None
        if not isinstance(data, dict):
            raise UpstreamError(reason, f"{reason}: not a JSON object")
        return data

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL_S:
                return self._metadata
        data = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration", "discovery")
        # OIDC Discovery §4.3: the document must name exactly the issuer we configured (mix-up defence).
        if data.get("issuer") != self.issuer:
            raise UpstreamError("discovery_issuer", "the discovery document names another issuer")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(key), str):
                raise UpstreamError("discovery", f"the discovery document lacks {key}")
        with self._lock:
            self._metadata, self._metadata_at = data, time.monotonic()
        return data

    def _key_set(self, refresh: bool = False) -> KeySet:
        with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
        data = self._get_json(self.metadata()["jwks_uri"], "jwks")
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise UpstreamError("jwks", "the provider's key set cannot be read") from None
        with self._lock:
            self._keys = keys
        return keys

    # --- the code flow ----------------------------------------------------------------------------

    def exchange(self, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
        """Trade the code for tokens (client_secret_basic, PKCE verifier)."""
        try:
            resp = self._http.post(self.metadata()["token_endpoint"], auth=(self.client_id, self._secret), data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": code_verifier}, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise UpstreamError("token", f"token request: {type(exc).__name__}") from None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            error = body.get("error") if isinstance(body, dict) else None
            raise UpstreamError("token", f"token request refused: {error or resp.status_code}")
        return body

    def verify_id_token(self, id_token: str, *, nonce: str, now: float) -> dict[str, Any]:
        allowed = [a for a in self.metadata().get("id_token_signing_alg_values_supported", ID_TOKEN_ALGS)
                   if a in ID_TOKEN_ALGS] or list(ID_TOKEN_ALGS)
        token = None
        for refresh in (False, True):
            try:
                token = jwt.decode(id_token, self._key_set(refresh=refresh), algorithms=allowed)
                break
            except InvalidKeyIdError:  # no published key has this kid: maybe the provider rotated
                continue
            except JoseError as exc:
                raise UpstreamError("id_token_signature", f"the ID token does not verify ({type(exc).__name__})"
                                    ) from None
        if token is None:
            raise UpstreamError("id_token_signature", "no published key matches the ID token")
        claims = dict(token.claims)
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        problems = [
            (claims.get("iss") != self.issuer, "iss"),
            (self.client_id not in audiences, "aud"),
            (len(audiences) > 1 and claims.get("azp") != self.client_id, "azp"),
            (not isinstance(claims.get("exp"), int) or claims["exp"] < now - LEEWAY_S, "exp"),
            (not isinstance(claims.get("iat"), int) or claims["iat"] > now + LEEWAY_S, "iat"),
            (claims.get("nonce") != nonce, "nonce"),
            (not isinstance(claims.get("sub"), str) or not claims["sub"], "sub"),
        ]
        for bad, name in problems:
            if bad:
                raise UpstreamError(f"id_token_{name}", f"the ID token's {name} is wrong")
        return claims

    def userinfo(self, access_token: str, sub: str) -> dict[str, Any]:
        url = self.metadata().get("userinfo_endpoint")
        if not isinstance(url, str):
            return {}
        try:
            resp = self._http.get(url, headers={"Authorization": f"Bearer {access_token}",
                                                "Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise UpstreamError("userinfo", f"userinfo: {type(exc).__name__}") from None
        if resp.status_code != 200 or "json" not in resp.headers.get("content-type", ""):
            raise UpstreamError("userinfo", f"userinfo: HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError:
            raise UpstreamError("userinfo", "userinfo is not JSON") from None
        if not isinstance(data, dict) or data.get("sub") != sub:  # OIDC Core §5.3.2: must be the same person
            raise UpstreamError("userinfo_sub", "userinfo is about another subject")
        return data
