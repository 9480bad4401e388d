"""What signing needs from outside (pki, key store) as small interfaces, and the context's exceptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from egov.platform.errors import DomainError
from egov.platform.keys import Signer


class SigningError(DomainError):
    """A document could not be signed or read; nothing was signed. The detail is safe to show."""

    status = 422
    code = "signing_refused"
    title_vi = "Không xử lý được văn bản"
    title_en = "The document could not be processed"

    def __init__(self, reason_vi: str, reason_en: str | None = None) -> None:
        super().__init__(reason_vi, reason_en or reason_vi)


class UnsafeInput(SigningError):
    """An upload was refused before any parsing that could hurt: too big, DTD/entities, PDF bomb."""

    code = "unsafe_input"


class ApprovalRefused(DomainError):
    """A remote-signing approval is missing, expired, used, for another document or another person."""

    status = 403
    code = "approval_refused"
    title_vi = "Không được phép ký"
    title_en = "Signing not approved"


@dataclass(frozen=True)
class SigningIdentity:
    """A key-store Signer and the certificate (plus chain) that vouches for its public key.

    The pki context issues the certificate; the private key never leaves the key store.
    `chain_der` is issuing CA(s) first, the root last (the root is optional).
    """

    signer: Signer
    certificate_der: bytes
    chain_der: Sequence[bytes] = ()
    # Shown in a visible signature; the certificate's subject stays the authority.
    display_name: str = ""
    position: str = ""
    agency_name: str = ""


@dataclass(frozen=True)
class RevocationData:
    """CRLs and OCSP responses (DER) the validator may use without fetching anything."""

    crls: Sequence[bytes] = ()
    ocsps: Sequence[bytes] = ()


@dataclass(frozen=True)
class TrustSource:
    """Trusted roots, current revocation data, and the only URLs that may ever be fetched.

    A URL taken from an uploaded certificate (AIA, CRL distribution point, OCSP) is fetched only
    if it starts with one of `fetch_allowlist`; with an empty allowlist nothing is fetched at all.
    """

    roots_der: Sequence[bytes]
    revocation: RevocationData = field(default_factory=RevocationData)
    fetch_allowlist: Sequence[str] = ()
    # hard-fail: a certificate without usable revocation data is INDETERMINATE/TRY_LATER.
    revocation_mode: Literal["hard-fail", "soft-fail", "require"] = "hard-fail"
    intermediates_der: Sequence[bytes] = ()


class TrustProvider(Protocol):
    """Gives the validator the trust list as it is now (the pki context implements this)."""

    def trust_source(self) -> TrustSource: ...

