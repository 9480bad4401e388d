"""Relying parties and an independent OAuth client for the OIDC provider's tests.

The client side is oauthlib (requests and response parsing) and PyJWT (every signature and claim
check): neither shares code with the server, which signs through the key store and verifies with
joserfc. DPoP proofs and client assertions are made with PyJWT and keys generated here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec
from oauthlib.oauth2 import WebApplicationClient
from sqlalchemy.orm import Session

from egov.auth.oidc import ClientRegistry
from egov.platform.clock import Clock
from egov.settings import Settings

REDIRECT = "https://rp.example.gov.vn/callback"


@dataclass
class RP:
    client_id: str
    secret: str | None
    redirect_uri: str = REDIRECT
    private_key: Any = None
    kid: str = ""


def make_client(session: Session, settings: Settings, clock: Clock, *, client_type: str = "confidential",
                grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
                scopes: tuple[str, ...] = ("openid", "profile", "offline_access"),
                auth_method: str | None = None, access_token_format: str = "jwt",
                sector: str | None = None, redirect_uri: str = REDIRECT, private_key: Any = None,
                require_dpop: bool = False, name: str = "Cổng dịch vụ công tỉnh (thử)") -> RP:
    registry = ClientRegistry(settings.secret_key_bytes())
    jwks = None
    kid = ""
    if auth_method == "private_key_jwt":
        private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))
        kid = secrets.token_hex(4)
        jwks = {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "ES256"}]}
    client, secret = registry.create(
        session, name=name, client_type=client_type, redirect_uris=[redirect_uri] if redirect_uri else [],
        grant_types=list(grant_types), scopes=list(scopes), now=clock.now(), auth_method=auth_method,
        access_token_format=access_token_format, sector_identifier=sector, jwks=jwks, require_dpop=require_dpop)
    session.commit()
    return RP(client.id, secret, redirect_uri, private_key, kid)


def basic(rp: RP) -> dict[str, str]:
    raw = f"{rp.client_id}:{rp.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def jwks_of(client: Any) -> dict[str, Any]:
    resp = client.get("/oidc/jwks")
    assert resp.status_code == 200
    return dict(resp.json())


def verify_jwt(client: Any, token: str, *, audience: str, typ: str | None = None, **options: Any) -> dict[str, Any]:
    """PyJWT's verdict: signature against the published JWKS (by kid), exp/iat, aud and iss."""
    header = pyjwt.get_unverified_header(token)
    if typ is not None:
        assert header.get("typ") == typ, header
    keys = {k["kid"]: k for k in jwks_of(client)["keys"]}
    assert header["kid"] in keys, "signed with a key the JWKS does not publish"
    key = pyjwt.PyJWK(keys[header["kid"]])
    return dict(pyjwt.decode(token, key=key, algorithms=[header["alg"]], audience=audience,
                             issuer="http://localhost:8000", options=options or None))


@dataclass
class DPoPKey:
    """A client's DPoP key pair; `proof()` signs a fresh one-time proof with PyJWT."""

    private_key: Any = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def jwk(self) -> dict[str, Any]:
        return dict(json.loads(pyjwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key())))

    @property
    def thumbprint(self) -> str:
        j = self.jwk
        canonical = json.dumps({"crv": j["crv"], "kty": j["kty"], "x": j["x"], "y": j["y"]},
                               separators=(",", ":"), sort_keys=True)
        return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()

    def proof(self, method: str, url: str, access_token: str | None = None, iat: int | None = None) -> str:
        claims: dict[str, Any] = {"htm": method, "htu": url, "iat": iat or int(time.time()),
                                  "jti": secrets.token_urlsafe(16)}
        if access_token is not None:
            claims["ath"] = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(
                b"=").decode()
        return pyjwt.encode(claims, self.private_key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})


def client_assertion(rp: RP, audience: str = "http://localhost:8000/oidc/token", jti: str | None = None) -> str:
    now = int(time.time())
    claims = {"iss": rp.client_id, "sub": rp.client_id, "aud": audience, "iat": now, "exp": now + 60,
              "jti": jti or secrets.token_urlsafe(16)}
    return pyjwt.encode(claims, rp.private_key, algorithm="ES256", headers={"kid": rp.kid})


@dataclass
class CodeFlow:
    """The relying party's side of one authorization code + PKCE flow, driven by oauthlib."""

    rp: RP
    scope: str = "openid profile"
    state: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def __post_init__(self) -> None:
        self.oauth = WebApplicationClient(self.rp.client_id)
        self.verifier = self.oauth.create_code_verifier(64)
        self.challenge = self.oauth.create_code_challenge(self.verifier, "S256")

    def authorize_url(self, **extra: str) -> str:
        url = self.oauth.prepare_request_uri(
            "https://localhost/oidc/authorize", redirect_uri=self.rp.redirect_uri, scope=self.scope.split(),
            state=self.state, nonce=self.nonce, code_challenge=self.challenge, code_challenge_method="S256", **extra)
        return url.removeprefix("https://localhost")

    def code_from(self, location: str) -> str:
        assert location.startswith(self.rp.redirect_uri), location
        self.oauth.parse_request_uri_response(location, state=self.state)
        query = parse_qs(urlsplit(location).query)
        assert query["iss"] == ["http://localhost:8000"]  # RFC 9207
        return str(self.oauth.code)

    def token_body(self, code: str, **extra: Any) -> str:
        return str(self.oauth.prepare_request_body(code=code, redirect_uri=self.rp.redirect_uri,
                                                   code_verifier=self.verifier, include_client_id=True, **extra))


def form_headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded", **(extra or {})}
