"""Signing JSON API: public validation, remote signing (approve with a fresh code, then sign), agency seal."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.responses import JSONResponse, Response

from egov.platform.container import Container
from egov.platform.context import current_context
from egov.platform.errors import TooManyAttempts
from egov.platform.permissions import Principal, public, requires
from egov.platform.throttle import Throttle
from egov.platform.uow import UnitOfWork
from egov.signing.interfaces import ApprovalRefused, SigningError, UnsafeInput
from egov.signing.permissions import SigningPermission as P
from egov.signing.schemas import ActivationOut, ApprovalOut, ApproveIn
from egov.signing.services import DocumentKind, SigningService
from egov.web.csrf import csrf_exempt
from egov.web.openapi import binary_response, problems

router = APIRouter(prefix="/api/signing", tags=["signing"])
Public = Annotated[Principal | None, Depends(public)]
Signer = Annotated[Principal, Depends(requires(P.DOCUMENT_SIGN))]
SealKeeper = Annotated[Principal, Depends(requires(P.SEAL_APPLY))]

# Public validation is rate-limited per source address: 20 documents a minute run free, then each
# further one doubles the wait (up to a minute); a quiet minute forgets the address.
VALIDATION_THROTTLE = Throttle(free=20, base_seconds=1.0, max_seconds=60.0, forget_after=timedelta(minutes=1))
MEDIA = {"pdf": "application/pdf", "xml": "application/xml", "cms": "application/pkcs7-signature"}
SIGNED = binary_response(tuple(MEDIA.values()), "The signed document (or the detached CMS signature).")


def _service(request: Request) -> SigningService:
    container: Container = request.app.state.container
    return SigningService.from_container(container)


def read_upload(upload: UploadFile | None, limit: int, field: str = "file") -> bytes:
    """Read at most `limit` bytes; a bigger upload is refused without reading the rest."""
    if upload is None or (not upload.filename and upload.size == 0):
        raise SigningError(f"Chưa chọn tệp ({field}).", f"No file was uploaded ({field}).")
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise UnsafeInput(f"Tệp quá lớn (tối đa {limit // (1024 * 1024)} MB).",
                          f"The file is too large (at most {limit // (1024 * 1024)} MB).")
    return bytes(data)


def detect_kind(data: bytes) -> DocumentKind:
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"<", b"\xef\xbb\xbf<")):
        return "xml"
    return "cms"


def throttle_validation(request: Request, uow: Any) -> None:
    """Count this request against the caller's address and commit the count before any parsing."""
    container: Container = request.app.state.container
    now = container.clock.now()
    key = f"signing-validate:{current_context().source_ip or 'unknown'}"
    try:
        VALIDATION_THROTTLE.check(uow, [key], now)
    except TooManyAttempts:
        raise
    VALIDATION_THROTTLE.fail(uow, [key], now)
    uow.commit()


@router.post("/validate", responses=problems(429))
@csrf_exempt
def validate(request: Request, uow: UnitOfWork, _: Public,
                   file: Annotated[UploadFile, File(description="PDF, XML, or a detached CMS signature")],
                   content: Annotated[UploadFile | None, File(description="the signed file, for a CMS")] = None,
                   ) -> JSONResponse:
    """Anyone may validate a signed PDF, XML, or detached CMS (+ the signed file): an ETSI EN 319 102-1
    report (TOTAL-PASSED / TOTAL-FAILED / INDETERMINATE with sub-indications). Errors are problem+json.
    Nothing is fetched from the uploaded certificates unless the URL is on the trust source's allowlist."""
    service = _service(request)
    limit = service.max_upload_bytes
    data = read_upload(file, limit)
    signed_content = read_upload(content, limit, "content") if content is not None else None
    throttle_validation(request, uow)
    kind = detect_kind(data)
    report = service.validate(uow, kind, data, signed_content, untrusted=True)
    return JSONResponse(report.to_dict())


@router.post("/approvals", response_model=ApprovalOut, status_code=201,
             responses=problems(404, 429, s404="The signer has no valid signing certificate yet."))
def request_approval(request: Request, uow: UnitOfWork, by: Signer,
                           file: Annotated[UploadFile, File()]) -> ApprovalOut:
    """Step 1 of remote signing: register the exact document (by SHA-256) the user is about to approve."""
    service = _service(request)
    data = read_upload(file, service.max_upload_bytes)
    approval = service.request_approval(uow, by, detect_kind(data), data, name=file.filename or "")
    return ApprovalOut(approval_id=approval.id, document_sha256=approval.document_sha256,
                       document_kind=approval.document_kind, expires_at=approval.expires_at.isoformat())


@router.post("/approvals/{approval_id}/approve", response_model=ActivationOut, responses=problems(404, 429))
def approve(request: Request, approval_id: str, body: ApproveIn, uow: UnitOfWork, by: Signer) -> ActivationOut:
    """Step 2: the user confirms the hash with a fresh second factor; refusals are audited."""
    try:
        token = _service(request).approve(uow, by, approval_id, body.document_sha256, body.code)
    except ApprovalRefused:
        uow.commit()  # the refusal's audit event and throttle count stay
        raise
    return ActivationOut(approval_id=approval_id, token=token)


@router.post("/approvals/{approval_id}/sign", responses={200: SIGNED, **problems(404, 429)})
def sign(request: Request, approval_id: str, uow: UnitOfWork, by: Signer,
               file: Annotated[UploadFile, File()], token: Annotated[str, Form()] = "",
               level: Annotated[str, Form()] = "B-T") -> Response:
    """Step 3: sign exactly the approved document, once; returns the signed file (or the detached CMS)."""
    service = _service(request)
    data = read_upload(file, service.max_upload_bytes)
    try:
        signed = service.sign_remote(uow, by, approval_id, token, data, level=level)
    except ApprovalRefused:
        uow.commit()
        raise
    return Response(signed.data, media_type=MEDIA[signed.kind],
                    headers={"X-Signature-Id": signed.signature_id, "X-Signature-Level": signed.level})


@router.post("/seal", responses={200: SIGNED, **problems(404)})
def seal(request: Request, uow: UnitOfWork, by: SealKeeper, agency_id: Annotated[str, Form()],
               file: Annotated[UploadFile, File()], level: Annotated[str, Form()] = "B-T",
               seal_image: Annotated[UploadFile | None, File()] = None) -> Response:
    """Apply the agency's seal to a PDF (PAdES, visible as Decree 30/2020 Appendix I describes) or to an
    XML document (XAdES B-B/B-T, enveloped)."""
    service = _service(request)
    data = read_upload(file, service.max_upload_bytes)
    png = read_upload(seal_image, 1024 * 1024, "seal_image") if seal_image is not None else None
    signed = service.apply_seal(uow, by, agency_id, data, seal_png=png, level=level, kind=detect_kind(data))
    return Response(signed.data, media_type=MEDIA[signed.kind], headers={"X-Signature-Id": signed.signature_id})
