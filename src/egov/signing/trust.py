"""ValidationContext from a TrustSource: embedded/known revocation data, and fetching only from the allowlist."""

from __future__ import annotations

from asyncio import to_thread
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.api import FetcherBackend, Fetchers, FetchLimits
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget
from pyhanko_certvalidator.fetchers.requests_fetchers import (
    RequestsCertificateFetcher,
    RequestsCRLFetcher,
    RequestsOCSPFetcher,
)

from egov.signing.interfaces import TrustSource

FETCH_TIMEOUT_SECONDS = 5
FETCH_LIMITS = FetchLimits()


class FetchRefused(requests.RequestException):
    """A URL from a certificate is not on the trust source's allowlist; it was not contacted.

    A RequestException, so pyhanko-certvalidator treats it as the failed fetch it is (no data)."""


def url_allowed(url: str, allowlist: Sequence[str]) -> bool:
    """An entry ending in "/" allows the URLs under it; any other entry exactly that URL (pki's trust
    list names whole URLs). http(s) only, no userinfo."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.username or parts.password or not parts.hostname:
        return False
    return any(url.startswith(entry) if entry.endswith("/") else url == entry for entry in allowlist if entry)


class _AllowlistMixin:
    """Replaces pyhanko-certvalidator's HTTP calls: allowlist check first, no redirects followed."""

    allowlist: Sequence[str] = ()
    per_request_timeout: float
    user_agent: str

    def _refuse(self, url: str) -> None:
        if not url_allowed(url, self.allowlist):
            raise FetchRefused(f"not on the fetch allowlist: {url[:200]}")

    async def _get(self, url: str, *, acceptable_content_types: Any) -> requests.Response:  # type: ignore[override]
        self._refuse(url)
        def task() -> requests.Response:
            response = requests.get(url, timeout=self.per_request_timeout, allow_redirects=False,
                                    headers={"Accept": ",".join(acceptable_content_types),
                                             "User-Agent": self.user_agent})
            if response.status_code != 200:
                raise requests.RequestException(f"status code {response.status_code}")
            return response

        return await to_thread(task)

    async def _post(self, url: str, data: bytes, *, content_type: str,  # type: ignore[override]
                    acceptable_content_types: Any) -> requests.Response:
        self._refuse(url)
        def task() -> requests.Response:
            response = requests.post(url, data=data, timeout=self.per_request_timeout, allow_redirects=False,
                                     headers={"Accept": ",".join(acceptable_content_types),
                                              "User-Agent": self.user_agent, "Content-Type": content_type})
            if response.status_code != 200:
                raise requests.RequestException(f"status code {response.status_code}")
            return response

        return await to_thread(task)


class AllowlistFetcherBackend(FetcherBackend):
    """Fetchers that contact only allowlisted URLs (no redirects), within pyhanko's fetch budget."""

    def __init__(self, allowlist: Sequence[str]) -> None:
        self.allowlist = tuple(allowlist)

    def get_fetchers(self) -> Fetchers:
        budget = FetchBudget(FETCH_LIMITS)
        allow = self.allowlist

        def make(base: type) -> Any:
            cls = type(f"Allowlist{base.__name__}", (_AllowlistMixin, base), {"allowlist": allow})
            return cls(per_request_timeout=FETCH_TIMEOUT_SECONDS, budget=budget)

        return Fetchers(ocsp_fetcher=make(RequestsOCSPFetcher), crl_fetcher=make(RequestsCRLFetcher),
                        cert_fetcher=make(RequestsCertificateFetcher))

    async def close(self) -> None:
        return None


def validation_context(trust: TrustSource, *, moment: datetime | None = None,
                       extra_crls: Sequence[bytes] = (), extra_ocsps: Sequence[bytes] = (),
                       revocation_mode: str | None = None) -> ValidationContext:
    """A fresh context per validation (contexts cache what they learn); fetching only if allowlisted."""
    mode = revocation_mode or trust.revocation_mode
    kwargs: dict[str, Any] = {}
    if trust.fetch_allowlist:
        kwargs["fetcher_backend"] = AllowlistFetcherBackend(trust.fetch_allowlist)
    return ValidationContext(
        trust_roots=[asn1_x509.Certificate.load(c) for c in trust.roots_der],
        other_certs=[asn1_x509.Certificate.load(c) for c in trust.intermediates_der],
        crls=[*trust.revocation.crls, *extra_crls],
        ocsps=[*trust.revocation.ocsps, *extra_ocsps],
        allow_fetching=bool(trust.fetch_allowlist),
        revocation_mode=mode,
        moment=moment,
        **kwargs,
    )

