"""The pki context as signing's trust source and time-stamping authority (in-process, no HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from asn1crypto import tsp
from pyhanko.sign.timestamps import TimeStamper

from egov.signing.interfaces import RevocationData, TrustProvider, TrustSource

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from egov.platform.container import Container


class PkiTrust:
    """Roots (ours + the trust list), our issuing CAs, their current CRLs, and pki's fetch URLs (exact)."""

    def __init__(self, container: Container, extra: Sequence[TrustProvider] = ()) -> None:
        self.container = container
        self.extra = tuple(extra)

    def trust_source(self) -> TrustSource:
        with self.container.db.session() as session:
            return self.trust_source_in(session)

    def trust_source_in(self, session: Session) -> TrustSource:
        """The same, read in the caller's transaction (SQLite allows one writer: a second session would wait)."""
        from egov import pki

        roots: list[bytes] = []
        intermediates: list[bytes] = []
        crls: list[bytes] = []
        urls: list[str] = []
        try:
            anchors = pki.trust_anchors(self.container, session)
            service = pki.ca_service(self.container)
            crls = [der for ca in service.cas(session) if (der := service.latest_crl(session, ca.name))]
            roots, intermediates, urls = list(anchors.roots), list(anchors.intermediates), list(anchors.fetch_urls)
        except pki.PkiNotReady:
            pass
        for provider in self.extra:  # e.g. roots an operator dropped into EGOV_SIGNING__TRUST_DIR
            more = provider.trust_source()
            roots += list(more.roots_der)
            intermediates += list(more.intermediates_der)
            crls += list(more.revocation.crls)
            urls += list(more.fetch_allowlist)
        return TrustSource(roots_der=roots, intermediates_der=intermediates, revocation=RevocationData(crls=crls),
                           fetch_allowlist=urls)


class PkiTimeStamper(TimeStamper):
    """RFC 3161 through the pki context's TSA in this process (same code as POST /pki/tsa)."""

    def __init__(self, container: Container, session: Session | None = None) -> None:
        super().__init__()
        self.container = container
        self.session = session

    def bound(self, session: Session) -> PkiTimeStamper:
        """The same TSA, its audit events joining `session` (the signature's own transaction)."""
        return PkiTimeStamper(self.container, session)

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        from egov import pki

        return tsp.TimeStampResp.load(pki.timestamp(self.container, req.dump(), self.session))
