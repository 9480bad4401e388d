"""The provider's signing keys: which one signs now, which are published, and when they rotate.

Relying parties cache the JWKS, so a new key is published `publish_ahead` before it signs and an
old one stays published for the longest token lifetime after it stopped signing: no relying party
ever meets a `kid` it has not had the chance to fetch, and no live token loses its key.
Keys live in the key store (`<name>-es256`, `-rs256`, `-eddsa`); `egov oidc keys rotate` adds a
version, and the schedule above does the rest with no second step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from egov.platform.clock import Clock
from egov.platform.keys import KeyAlgorithm, KeyInfo, KeyNotFound, KeyStore, Signer
from egov.platform.keys.jose import jwk_thumbprint, public_jwk

CACHE_SECONDS = 5.0
ALGORITHMS = {"ES256": KeyAlgorithm.ECDSA_P256, "RS256": KeyAlgorithm.RSA_2048, "EdDSA": KeyAlgorithm.ED25519}


@dataclass(frozen=True)
class PublishedKey:
    info: KeyInfo
    kid: str
    jwk: dict[str, Any]
    signs_from: datetime
    signs_until: datetime | None  # None: still the newest


class SigningKeys:
    """Signers and the JWKS for each supported algorithm, following the rotation schedule."""

    def __init__(self, store: KeyStore, clock: Clock, base_name: str, *, publish_ahead: timedelta,
                 keep_after: timedelta) -> None:
        self.store = store
        self.clock = clock
        self.base_name = base_name
        self.publish_ahead = publish_ahead
        self.keep_after = keep_after
        self._jwks: dict[tuple[str, int], tuple[str, dict[str, Any]]] = {}
        # The schedule is re-read from the key store at most every CACHE_SECONDS (a token endpoint
        # would otherwise read key metadata from disk per token). Safe: a rotation only takes
        # effect `publish_ahead` later, far longer than this.
        self._cache: dict[str, tuple[float, list[PublishedKey]]] = {}
        self._signers: dict[tuple[str, int], Signer] = {}

    def key_name(self, alg: str) -> str:
        return f"{self.base_name}-{alg.lower()}"

    def ensure(self, algs: tuple[str, ...] = tuple(ALGORITHMS)) -> None:
        """Create the first key of each algorithm that has none (it signs at once: nothing to pre-announce)."""
        for alg in algs:
            try:
                self.store.versions(self.key_name(alg))
            except KeyNotFound:
                self.store.create(self.key_name(alg), ALGORITHMS[alg])

    def rotate(self, alg: str) -> KeyInfo:
        self._cache.clear()
        return self.store.rotate(self.key_name(alg))

    def _schedule(self, alg: str) -> list[PublishedKey]:
        cached = self._cache.get(alg)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        schedule = self._read_schedule(alg)
        self._cache[alg] = (now + CACHE_SECONDS, schedule)
        return schedule

    def _read_schedule(self, alg: str) -> list[PublishedKey]:
        versions = sorted(self.store.versions(self.key_name(alg)), key=lambda v: v.version)
        out: list[PublishedKey] = []
        for i, info in enumerate(versions):
            # The first version signs from its creation; later ones once they have been published.
            signs_from = info.created_at if i == 0 else info.created_at + self.publish_ahead
            out.append(PublishedKey(info, *self._jwk(info), signs_from=signs_from, signs_until=None))
        for i in range(len(out) - 1):  # a version signs until the next one starts
            nxt = out[i + 1].signs_from
            out[i] = PublishedKey(out[i].info, out[i].kid, out[i].jwk, out[i].signs_from, max(nxt, out[i].signs_from))
        return out

    def _jwk(self, info: KeyInfo) -> tuple[str, dict[str, Any]]:
        cached = self._jwks.get((info.name, info.version))
        if cached is None:
            jwk = public_jwk(info, kid="")
            kid = jwk_thumbprint(jwk)  # RFC 7638: stable, and says nothing about our key names
            cached = (kid, {**jwk, "kid": kid})
            self._jwks[(info.name, info.version)] = cached
        return cached

    def signer(self, alg: str) -> tuple[Signer, str]:
        """The signer that signs now for `alg`, with its `kid`."""
        now = self.clock.now()
        schedule = self._schedule(alg)
        current = schedule[0]
        for key in schedule:
            if key.signs_from <= now:
                current = key
        version = (current.info.name, current.info.version)
        signer = self._signers.get(version)
        if signer is None:  # a version never changes once written: its signer can be kept
            signer = self._signers[version] = self.store.signer(*version)
        return signer, current.kid

    def published(self) -> list[dict[str, Any]]:
        """The JWKS `keys`: the signing key, the announced next one, and retired ones still covering tokens."""
        now = self.clock.now()
        keys: list[dict[str, Any]] = []
        for alg in ALGORITHMS:
            try:
                schedule = self._schedule(alg)
            except KeyNotFound:
                continue
            for key in schedule:
                if key.signs_until is None or key.signs_until + self.keep_after > now:
                    keys.append(key.jwk)
        return keys
