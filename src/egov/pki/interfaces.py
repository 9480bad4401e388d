"""What other contexts (signing above all) may rely on from pki, and its exceptions."""

from __future__ import annotations

from dataclasses import dataclass, field

from egov.platform.errors import Conflict


@dataclass(frozen=True)
class TrustAnchors:
    """Roots a validator may build chains to, and the only URLs it may fetch revocation data or
    certificates from (our own endpoints plus those the trust list allows); DER certificates."""

    roots: list[bytes]
    intermediates: list[bytes]
    fetch_urls: list[str] = field(default_factory=list)

    def allows(self, url: str) -> bool:
        return url in self.fetch_urls


@dataclass(frozen=True)
class IssuedCert:
    id: str
    serial: str
    profile: str
    cert_der: bytes
    chain_der: list[bytes]  # issuing CA, then root


class PkiNotReady(Conflict):
    """The CA hierarchy is not set up yet (run the root ceremony, then certify the issuing CAs)."""

    code = "pki_not_ready"
