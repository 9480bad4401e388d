"""DPoP proofs (RFC 9449): a token bound to a key the client holds, so a stolen token alone is useless.

A proof is a JWT the client signs for each request with the private key whose public half rides
in the header (`typ: dpop+jwt`); it names the method and URL (`htm`, `htu`), is fresh (`iat`),
one-time (`jti`), and at a resource carries the hash of the access token (`ath`). The token is
bound to the key's RFC 7638 thumbprint (`cnf.jkt`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import import_key
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egov.auth.models import OidcAuthorization
from egov.auth.oidc.errors import OAuthError

DPOP_ALGS = ("ES256", "EdDSA", "RS256", "PS256")
MAX_AGE = timedelta(minutes=5)
MAX_SKEW = timedelta(seconds=60)


def _invalid(description: str) -> OAuthError:
    return OAuthError("invalid_dpop_proof", description, 400, audit_reason="dpop_invalid")


def _b64json(part: str) -> dict[str, Any]:
    value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def normalise_htu(url: str) -> str:
    """The URL a proof must name: scheme, host and path, without query and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def access_token_hash(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode("ascii")).digest()).rstrip(b"=").decode()


def verify_proof(session: Session, proof: str, *, method: str, url: str, now: datetime,
                 access_token: str | None = None, client_id: str = "") -> str:
    """The thumbprint (jkt) of the proof's key, or invalid_dpop_proof; the proof's jti is spent."""
    try:
        header = _b64json(proof.split(".")[0])
    except (ValueError, IndexError):
        raise _invalid("the DPoP proof is not a JWT") from None
    if header.get("typ") != "dpop+jwt" or header.get("alg") not in DPOP_ALGS:
        raise _invalid("the DPoP proof needs typ dpop+jwt and an asymmetric alg")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or any(k in jwk for k in ("d", "p", "q", "dp", "dq", "qi", "k")):
        raise _invalid("the DPoP proof needs a public jwk in its header")
    try:
        key = import_key(jwk)
        token = jwt.decode(proof, key, algorithms=[str(header["alg"])])
    except (JoseError, ValueError, TypeError) as exc:
        raise _invalid(f"the DPoP proof does not verify ({type(exc).__name__})") from None
    claims = token.claims
    if claims.get("htm") != method or normalise_htu(str(claims.get("htu", ""))) != normalise_htu(url):
        raise _invalid("the DPoP proof names another method or URL")
    iat = claims.get("iat")
    if not isinstance(iat, int | float):
        raise _invalid("the DPoP proof needs iat")
    issued = datetime.fromtimestamp(iat, tz=now.tzinfo)
    if issued > now + MAX_SKEW or issued < now - MAX_AGE:
        raise _invalid("the DPoP proof is too old or from the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
        raise _invalid("the DPoP proof needs a jti")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise _invalid("the DPoP proof's ath does not match the access token")
    jkt = key.thumbprint()
    marker = OidcAuthorization(id=hashlib.sha256(f"dpop\x00{jkt}\x00{jti}".encode()).hexdigest(), kind="dpop",
                               client_id=client_id or None, params="{}", created_at=now,
                               expires_at=now + MAX_AGE + MAX_SKEW, used_at=now)
    try:
        with session.begin_nested():
            session.add(marker)
    except IntegrityError:
        raise _invalid("the DPoP proof was already used") from None
    return jkt
