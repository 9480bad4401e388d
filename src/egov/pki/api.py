"""PKI HTTP: public CA certificates, CRLs, OCSP and TSA (machines, no sign-in), and the JSON RA API."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from egov.pki.permissions import PkiPermission as P
from egov.pki.runtime import ca_service, ocsp_responder, time_stamp_authority
from egov.pki.schemas import CertificateOut, CertificateRequestIn, RejectIn, RequestOut, StatusChangeIn
from egov.platform.errors import NotFound
from egov.platform.permissions import Principal, public, requires
from egov.platform.uow import UnitOfWork
from egov.web.csrf import csrf_exempt
from egov.web.openapi import binary_body, binary_response, problems

router = APIRouter(tags=["pki"])

Requester = Annotated[Principal, Depends(requires(P.CERTIFICATE_REQUEST))]
Approver = Annotated[Principal, Depends(requires(P.CERTIFICATE_APPROVE))]
Reader = Annotated[Principal, Depends(requires(P.CERTIFICATE_READ))]
Revoker = Annotated[Principal, Depends(requires(P.CERTIFICATE_REVOKE))]
Anyone = Annotated[Principal | None, Depends(public)]

OCSP_RESPONSE = "application/ocsp-response"
MAX_BODY = 16 * 1024
OCSP_ANSWER = binary_response(OCSP_RESPONSE, "An OCSP response; a malformed request gets `malformedRequest` in it.")


# --- public endpoints (named in AIA / CDP of every certificate) -----------------------------------------


@router.get("/pki/ca/{name}.crt", response_class=Response,
            responses={200: binary_response("application/pkix-cert", "The CA certificate, DER."), **problems(404)})
def ca_certificate(request: Request, name: str, uow: UnitOfWork, _: Anyone) -> Response:
    """A CA certificate, DER (AIA caIssuers)."""
    for ca in ca_service(request.app.state.container).cas(uow):
        if ca.name == name:
            return Response(ca.cert_der, media_type="application/pkix-cert",
                            headers={"Cache-Control": "public, max-age=86400"})
    raise NotFound("Không có CA này.", "No such CA.")


@router.get("/pki/crl/{name}.crl", response_class=Response,
            responses={200: binary_response("application/pkix-crl", "The CRL, DER."), **problems(404)})
def crl(request: Request, name: str, uow: UnitOfWork, _: Anyone) -> Response:
    """The newest full CRL of a CA, DER (CRL distribution point)."""
    der = ca_service(request.app.state.container).latest_crl(uow, name)
    if der is None:
        raise NotFound("Không có CRL của CA này.", "No CRL for this CA.")
    return Response(der, media_type="application/pkix-crl", headers={"Cache-Control": "public, max-age=300"})


@router.post("/pki/ocsp", response_class=Response, openapi_extra=binary_body(
                 "application/ocsp-request", "DER; an absent or unreadable body is answered `malformedRequest`."),
             responses={200: OCSP_ANSWER})
@csrf_exempt
async def ocsp_post(request: Request, _: Anyone) -> Response:
    """RFC 6960 OCSP over POST (application/ocsp-request)."""
    body = await _bounded_body(request)
    container = request.app.state.container
    from starlette.concurrency import run_in_threadpool

    der = await run_in_threadpool(ocsp_responder(container).respond, body)
    return Response(der, media_type=OCSP_RESPONSE)


@router.get("/pki/ocsp/{encoded:path}", response_class=Response,
            responses={200: OCSP_ANSWER, **problems(404, s404="The path is not a request at all.")})
def ocsp_get(request: Request, encoded: str, _: Anyone) -> Response:
    """RFC 6960 A.1 OCSP over GET: the DER request, base64, URL-encoded, as the last path segment."""
    from urllib.parse import unquote

    try:
        body = base64.b64decode(unquote(encoded), validate=True)
    except (binascii.Error, ValueError):
        body = b""
    der = ocsp_responder(request.app.state.container).respond(body)
    return Response(der, media_type=OCSP_RESPONSE, headers={"Cache-Control": "public, max-age=60"})


@router.post("/pki/tsa", response_class=Response, openapi_extra=binary_body(
                 "application/timestamp-query", "DER; an absent or unreadable body is answered `rejection`."),
             responses={200: binary_response("application/timestamp-reply",
                                             "A time-stamp response (a rejection status for a bad request).")})
@csrf_exempt
async def tsa(request: Request, _: Anyone) -> Response:
    """RFC 3161 time-stamping over HTTP: application/timestamp-query in, application/timestamp-reply out."""
    body = await _bounded_body(request)
    from starlette.concurrency import run_in_threadpool

    der = await run_in_threadpool(time_stamp_authority(request.app.state.container).respond, body)
    return Response(der, media_type="application/timestamp-reply")


async def _bounded_body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return b""  # answered as malformed, without reading further
        chunks.append(chunk)
    return b"".join(chunks)


# --- the JSON RA API -------------------------------------------------------------------------------------


@router.post("/api/pki/requests", response_model=RequestOut, status_code=201, responses=problems(409))
def submit_request(request: Request, body: CertificateRequestIn, uow: UnitOfWork, by: Requester) -> RequestOut:
    """Submit a PKCS#10 request; a second officer approves it. 422 problem+json names the field and rule."""
    r = ca_service(request.app.state.container).submit_request(
        uow, profile=body.profile, csr=body.csr, subject_ref=body.subject_ref, dns_names=body.dns_names, by=by)
    return RequestOut.of(r)


@router.get("/api/pki/requests", response_model=list[RequestOut])
def pending_requests(request: Request, uow: UnitOfWork, by: Approver) -> list[RequestOut]:
    return [RequestOut.of(r) for r in ca_service(request.app.state.container).pending_requests(uow, by)]


@router.post("/api/pki/requests/{request_id}/approve", response_model=CertificateOut, status_code=201,
             responses=problems(404, 409))
def approve(request: Request, request_id: str, uow: UnitOfWork, by: Approver) -> CertificateOut:
    """Issue the certificate (409 if the approver is the requester)."""
    return CertificateOut.of(ca_service(request.app.state.container).approve_request(uow, request_id, by=by))


@router.post("/api/pki/requests/{request_id}/reject", response_model=RequestOut, responses=problems(404, 409))
def reject(request: Request, request_id: str, body: RejectIn, uow: UnitOfWork, by: Approver) -> RequestOut:
    return RequestOut.of(ca_service(request.app.state.container).reject_request(uow, request_id,
                                                                                reason=body.reason, by=by))


@router.get("/api/pki/certificates/{certificate_id}", response_model=CertificateOut, responses=problems(404))
def certificate(request: Request, certificate_id: str, uow: UnitOfWork, by: Reader) -> CertificateOut:
    return CertificateOut.of(ca_service(request.app.state.container).certificate(uow, certificate_id, by=by))


@router.post("/api/pki/certificates/{certificate_id}/status", response_model=CertificateOut,
             responses=problems(404, 409))
def change_status(request: Request, certificate_id: str, body: StatusChangeIn, uow: UnitOfWork,
                  by: Revoker) -> CertificateOut:
    """Suspend (certificateHold), unsuspend, or revoke with an RFC 5280 reason (snake_case)."""
    service = ca_service(request.app.state.container)
    if body.action == "suspend":
        cert = service.suspend(uow, certificate_id, by=by)
    elif body.action == "unsuspend":
        cert = service.unsuspend(uow, certificate_id, by=by)
    else:
        cert = service.revoke(uow, certificate_id, reason=body.reason, by=by)
    return CertificateOut.of(cert)
