"""The pki parts a process builds once (CA service, OCSP responder, TSA), kept in the container's cache."""

from __future__ import annotations

from typing import TYPE_CHECKING

from egov.pki.ocsp import OcspResponder
from egov.pki.services import CertificateAuthorityService
from egov.pki.tsa import TimeStampAuthority

if TYPE_CHECKING:
    from egov.bootstrap import Container


def ca_service(container: Container) -> CertificateAuthorityService:
    cached = container.cache.get("pki.ca")
    if not isinstance(cached, CertificateAuthorityService):
        cached = container.cache["pki.ca"] = CertificateAuthorityService(container.keys, container.clock,
                                                                         container.settings)
    return cached


def ocsp_responder(container: Container) -> OcspResponder:
    cached = container.cache.get("pki.ocsp")
    if not isinstance(cached, OcspResponder):
        cached = container.cache["pki.ocsp"] = OcspResponder(
            container.db, ca_service(container), container.clock,
            validity_minutes=container.settings.pki_ocsp_validity_minutes)
    return cached


def time_stamp_authority(container: Container) -> TimeStampAuthority:
    cached = container.cache.get("pki.tsa")
    if not isinstance(cached, TimeStampAuthority):
        cached = container.cache["pki.tsa"] = TimeStampAuthority(container.db, ca_service(container), container.clock)
    return cached
