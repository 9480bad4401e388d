"""JOSE views of store keys: the `alg` name, the public JWK and JWS-format signatures (RFC 7515/7518).

The key store signs in the formats X.509 and CMS want (ECDSA as DER); a JWS wants ECDSA as the
fixed-length r || s pair. The conversion lives here because only the key store may touch
cryptography.hazmat; contexts build the JWS text and ask for the signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from egov.platform.keys.interfaces import KeyAlgorithm, KeyInfo, Signer

JOSE_ALG = {
    KeyAlgorithm.ECDSA_P256: "ES256",
    KeyAlgorithm.ED25519: "EdDSA",
    KeyAlgorithm.RSA_2048: "RS256",
    KeyAlgorithm.RSA_3072: "RS256",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(n: int, length: int | None = None) -> str:
    size = length if length is not None else max(1, (n.bit_length() + 7) // 8)
    return b64url(n.to_bytes(size, "big"))


def public_jwk(info: KeyInfo, kid: str) -> dict[str, Any]:
    """The public JWK of a key version, with `kid`, `use: sig` and `alg`."""
    key = serialization.load_der_public_key(info.public_key_der)
    jwk: dict[str, Any]
    if isinstance(key, ec.EllipticCurvePublicKey):
        numbers = key.public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": _uint(numbers.x, 32), "y": _uint(numbers.y, 32)}
    elif isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    elif isinstance(key, rsa.RSAPublicKey):
        numbers_rsa = key.public_numbers()
        jwk = {"kty": "RSA", "n": _uint(numbers_rsa.n), "e": _uint(numbers_rsa.e)}
    else:  # pragma: no cover - the store makes only the three kinds
        raise ValueError(f"no JWK form for {info.algorithm}")
    return {**jwk, "kid": kid, "use": "sig", "alg": JOSE_ALG[info.algorithm]}


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK (the required members, sorted, no spaces)."""
    required = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
    members = required.get(str(jwk.get("kty")))
    if members is None or any(m not in jwk for m in members):
        raise ValueError("unsupported or incomplete JWK")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def jws_signature(signer: Signer, signing_input: bytes) -> bytes:
    """The JWS signature over `signing_input` (ECDSA as r || s, 32 bytes each; others as the store signs)."""
    signature = signer.sign(signing_input)
    if signer.info.algorithm is KeyAlgorithm.ECDSA_P256:
        r, s = decode_dss_signature(signature)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signature


@lru_cache(maxsize=64)
def _header(alg: str, kid: str, typ: str) -> str:
    return b64url(json.dumps({"alg": alg, "kid": kid, "typ": typ}, separators=(",", ":")).encode("utf-8"))


def sign_compact(signer: Signer, kid: str, claims: dict[str, Any], typ: str = "JWT") -> str:
    """A compact JWS (a signed JWT) of `claims` with header {alg, kid, typ}."""
    head = _header(JOSE_ALG[signer.info.algorithm], kid, typ)  # the same few headers over and over
    body = b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    signing_input = f"{head}.{body}".encode("ascii")
    return f"{head}.{body}.{b64url(jws_signature(signer, signing_input))}"
