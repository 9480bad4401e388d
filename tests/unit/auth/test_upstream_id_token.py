"""The upstream ID token checks: forged, confused, stale or misdirected tokens never pass (real signatures,
the provider's endpoints served by an in-memory transport)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from egov.auth.federation import UpstreamClient, UpstreamError

ISSUER = "https://sso.vneid.example"
CLIENT = "tinh-x"


class Provider:
    def __init__(self) -> None:
        self.key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256", "use": "sig"})
        self.jwks_fetches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={
                "issuer": ISSUER, "authorization_endpoint": ISSUER + "/auth", "token_endpoint": ISSUER + "/token",
                "jwks_uri": ISSUER + "/jwks", "id_token_signing_alg_values_supported": ["ES256", "HS256", "none"]})
        if request.url.path == "/jwks":
            self.jwks_fetches += 1
            return httpx.Response(200, json=KeySet([self.key]).as_dict(private=False))
        return httpx.Response(404)

    def token(self, **override: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": CLIENT, "sub": "u1", "exp": now + 300, "iat": now, "nonce": "n-1",
                  **override}
        return jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, self.key)


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
def client(provider: Provider) -> UpstreamClient:
    return UpstreamClient(ISSUER, CLIENT, "secret", http=httpx.Client(transport=httpx.MockTransport(provider.handler)))


def _check(client: UpstreamClient, token: str) -> dict[str, Any]:
    return client.verify_id_token(token, nonce="n-1", now=time.time())


def test_a_genuine_token_passes(client: UpstreamClient, provider: Provider) -> None:
    assert _check(client, provider.token())["sub"] == "u1"


@pytest.mark.parametrize(("override", "reason"), [
    ({"iss": "https://evil.example"}, "id_token_iss"),
    ({"aud": "another-client"}, "id_token_aud"),
    ({"aud": [CLIENT, "other"]}, "id_token_azp"),
    ({"exp": int(time.time()) - 3600}, "id_token_exp"),
    ({"iat": int(time.time()) + 3600}, "id_token_iat"),
    ({"nonce": "replayed"}, "id_token_nonce"),
])
def test_wrong_claims_are_refused(client: UpstreamClient, provider: Provider, override: dict[str, Any],
                                  reason: str) -> None:
    with pytest.raises(UpstreamError) as err:
        _check(client, provider.token(**override))
    assert err.value.reason == reason


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_and_hmac_key_confusion_are_refused_though_the_provider_lists_them(
        client: UpstreamClient, provider: Provider) -> None:
    claims = json.loads(base64.urlsafe_b64decode(provider.token().split(".")[1] + "=="))
    unsigned = f"{_b64({'alg': 'none', 'kid': 'k1'})}.{_b64(claims)}."
    public_pem = provider.key.as_pem(private=False)
    signing_input = f"{_b64({'alg': 'HS256', 'kid': 'k1'})}.{_b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()  # the public key as HMAC secret
    confused = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    for token in (unsigned, confused):
        with pytest.raises(UpstreamError) as err:
            _check(client, token)
        assert err.value.reason == "id_token_signature"


def test_a_token_signed_by_another_key_is_refused_and_a_rotated_key_is_fetched_once(
        client: UpstreamClient, provider: Provider) -> None:
    _check(client, provider.token())
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    now = int(time.time())
    forged = jwt.encode({"alg": "ES256", "kid": "k1"}, {"iss": ISSUER, "aud": CLIENT, "sub": "u1", "exp": now + 60,
                                                        "iat": now, "nonce": "n-1"}, stranger)
    with pytest.raises(UpstreamError):
        _check(client, forged)
    provider.key = ECKey.generate_key("P-256", parameters={"kid": "k2", "alg": "ES256"})  # the provider rotates
    assert _check(client, provider.token())["sub"] == "u1"
    assert provider.jwks_fetches == 2


def test_discovery_must_name_the_configured_issuer(provider: Provider) -> None:
    def lying(request: httpx.Request) -> httpx.Response:
        resp = provider.handler(request)
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json={**resp.json(), "issuer": "https://evil.example"})
        return resp

    client = UpstreamClient(ISSUER, CLIENT, "s", http=httpx.Client(transport=httpx.MockTransport(lying)))
    with pytest.raises(UpstreamError) as err:
        client.metadata()
    assert err.value.reason == "discovery_issuer"
