"""Signing pages: the public signature check (anyone) and an officer's remote signing of a document."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.responses import RedirectResponse, Response

from egov.platform.clock import format_datetime
from egov.platform.errors import DomainError, NotFound, TooManyAttempts
from egov.platform.i18n import get_locale
from egov.platform.permissions import Principal, public, requires
from egov.platform.uow import UnitOfWork
from egov.signing.api import MEDIA, detect_kind, read_upload, throttle_validation
from egov.signing.interfaces import ApprovalRefused, SigningError
from egov.signing.models import RemoteApproval
from egov.signing.permissions import SigningPermission as P
from egov.signing.services import SigningService
from egov.web.templating import render

router = APIRouter(include_in_schema=False)
Public = Annotated[Principal | None, Depends(public)]
Signer = Annotated[Principal, Depends(requires(P.DOCUMENT_SIGN))]

# What each EN 319 102-1 sub-indication means, for a citizen reading the result.
SUB_INDICATIONS: dict[str, tuple[str, str]] = {
    "HASH_FAILURE": ("Nội dung đã bị thay đổi sau khi ký.", "The content was changed after signing."),
    "SIG_CRYPTO_FAILURE": ("Giá trị chữ ký không khớp với khoá của người ký.",
                           "The signature value does not match the signer's key."),
    "FORMAT_FAILURE": ("Chữ ký sai cấu trúc hoặc văn bản bị sửa theo cách chữ ký không cho phép.",
                       "The signature is malformed, or the document was changed in a way it does not allow."),
    "REVOKED": ("Chứng thư số của người ký đã bị thu hồi trước thời điểm ký.",
                "The signer's certificate was revoked before the signing time."),
    "REVOKED_NO_POE": ("Chứng thư số đã bị thu hồi và không có dấu thời gian chứng minh chữ ký có trước đó.",
                       "The certificate is revoked and no time-stamp proves the signature came earlier."),
    "REVOKED_CA_NO_POE": ("Chứng thư số của tổ chức cấp đã bị thu hồi.", "An issuing CA certificate is revoked."),
    "NO_CERTIFICATE_CHAIN_FOUND": ("Chứng thư số không do tổ chức chứng thực tin cậy cấp.",
                                   "The certificate was not issued by a trusted certification authority."),
    "OUT_OF_BOUNDS_NO_POE": ("Chứng thư số đã hết hạn và không có dấu thời gian chứng minh thời điểm ký.",
                             "The certificate has expired and no time-stamp proves when it was signed."),
    "OUT_OF_BOUNDS_NOT_REVOKED": ("Chứng thư số đã hết hạn; dấu thời gian cho thấy chữ ký được tạo khi còn hạn.",
                                  "The certificate has expired; a time-stamp shows it was signed while valid."),
    "EXPIRED": ("Chứng thư số đã hết hạn trước thời điểm ghi trên dấu thời gian.",
                "The certificate expired before the time-stamp's time."),
    "NOT_YET_VALID": ("Chứng thư số chưa có hiệu lực.", "The certificate is not yet valid."),
    "TRY_LATER": ("Chưa có thông tin thu hồi (CRL/OCSP) để kiểm tra; hãy thử lại sau.",
                  "No revocation data (CRL/OCSP) is available yet; try again later."),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": ("Không kiểm tra được chuỗi chứng thư số.",
                                          "The certificate chain could not be validated."),
    "NO_SIGNING_CERTIFICATE_FOUND": ("Không tìm thấy chứng thư số của người ký.",
                                     "The signer's certificate was not found."),
    "TIMESTAMP_NOT_TRUSTED": ("Dấu thời gian không hợp lệ hoặc không được tin cậy.",
                              "The time-stamp is invalid or not trusted."),
    "CHAIN_CONSTRAINTS_FAILURE": ("Chứng thư số không được phép dùng để ký văn bản (mục đích sử dụng khác).",
                                  "The certificate is not meant for signing documents (other key usage)."),
    "CRYPTO_CONSTRAINTS_FAILURE": ("Thuật toán không còn đủ an toàn.", "The algorithm is no longer strong enough."),
}
INDICATIONS = {
    "TOTAL-PASSED": ("Hợp lệ", "Valid"),
    "TOTAL-FAILED": ("Không hợp lệ", "Invalid"),
    "INDETERMINATE": ("Chưa xác định", "Indeterminate"),
}


def _service(request: Request) -> SigningService:
    return SigningService.from_container(request.app.state.container)


def _verify_page(request: Request, *, report: object = None, error: str = "", status_code: int = 200,
                 name: str = "") -> Response:
    service = _service(request)
    return render(request, "signing/verify.html", {
        "report": report, "error": error, "file_name": name, "sub_texts": SUB_INDICATIONS,
        "indication_texts": INDICATIONS, "when": format_datetime,
        "max_mb": service.max_upload_bytes // (1024 * 1024),
    }, status_code=status_code)


@router.get("/verify")
def verify_form(request: Request, _: Public) -> Response:
    """Kiểm tra chữ ký số — anyone may check a signed PDF, XML or CMS; nothing is kept but the audit line."""
    return _verify_page(request)


@router.post("/verify")
def verify_upload(request: Request, uow: UnitOfWork, _: Public,
                  file: Annotated[UploadFile | None, File()] = None,
                  content: Annotated[UploadFile | None, File()] = None) -> Response:
    service = _service(request)
    name = (file.filename or "") if file is not None else ""
    try:
        data = read_upload(file, service.max_upload_bytes)
        signed_content = None
        if content is not None and content.filename:
            signed_content = read_upload(content, service.max_upload_bytes, "content")
        throttle_validation(request, uow)
        report = service.validate(uow, detect_kind(data), data, signed_content, untrusted=True)
    except TooManyAttempts as exc:
        resp = _verify_page(request, error=exc.detail(get_locale()), status_code=429, name=name)
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except SigningError as exc:
        uow.rollback()
        return _verify_page(request, error=exc.detail(get_locale()), status_code=422, name=name)
    return _verify_page(request, report=report, name=name)


# --- an officer signs with their platform-held key ----------------------------------------------------


def _sign_page(request: Request, uow: UnitOfWork, by: Principal, *, approval: RemoteApproval | None = None,
               error: str = "", status_code: int = 200) -> Response:
    """Without an authenticator app no code can approve: the page says what to set up instead of asking."""
    needs_authenticator = not _service(request).can_approve(uow, by)
    return render(request, "signing/sign.html", {"approval": approval, "error": error, "when": format_datetime,
                                                 "needs_authenticator": needs_authenticator},
                  status_code=status_code)


@router.get("/back-office/signing")
def sign_form(request: Request, uow: UnitOfWork, by: Signer) -> Response:
    return _sign_page(request, uow, by)


@router.post("/back-office/signing")
def sign_prepare(request: Request, uow: UnitOfWork, by: Signer,
                 file: Annotated[UploadFile | None, File()] = None) -> Response:
    """Show the document's SHA-256 and ask for a fresh code; the approval covers these bytes only."""
    service = _service(request)
    try:
        data = read_upload(file, service.max_upload_bytes)
        approval = service.request_approval(uow, by, detect_kind(data), data,
                                            name=(file.filename or "") if file else "", keep_document=True)
    except DomainError as exc:
        uow.rollback()
        return _sign_page(request, uow, by, error=exc.detail(get_locale()), status_code=exc.status)
    # Post/redirect/get: a refresh shows the same approval instead of uploading the document again.
    return RedirectResponse(f"/back-office/signing/{approval.id}", status_code=303)


@router.get("/back-office/signing/{approval_id}")
def sign_approval(request: Request, approval_id: str, uow: UnitOfWork, by: Signer) -> Response:
    """The document waiting for this signer's code (its hash, its deadline); anything else is not found."""
    approval = uow.get(RemoteApproval, approval_id)
    if approval is None or approval.account_id != by.account_id or approval.document is None:
        raise NotFound("Không tìm thấy văn bản chờ ký.", "No document is waiting for this approval.")
    if approval.consumed_at is not None:
        return RedirectResponse(f"/back-office/signing/{approval_id}/done", status_code=303)
    return _sign_page(request, uow, by, approval=approval)


@router.post("/back-office/signing/{approval_id}")
def sign_confirm(request: Request, approval_id: str, uow: UnitOfWork, by: Signer,
                 document_sha256: Annotated[str, Form()] = "", code: Annotated[str, Form()] = "") -> Response:
    """The code approves exactly the hash on the page, then the kept bytes are signed (and kept for the download)."""
    service = _service(request)
    approval = uow.get(RemoteApproval, approval_id)
    try:
        if approval is None or approval.document is None:  # unknown, or made by the API (bytes not kept)
            raise ApprovalRefused("Không tìm thấy văn bản chờ ký.", "No document is waiting for this approval.")
        token = service.approve(uow, by, approval_id, document_sha256, code)
        signed = service.sign_remote(uow, by, approval_id, token, approval.document)
        approval.document = signed.data  # the signed result replaces the shown bytes, for the download
    except ApprovalRefused as exc:
        uow.commit()  # the refusal's audit event stays
        mine = approval if approval is not None and approval.account_id == by.account_id else None
        # 422, not 403: the signer may sign; this approval (code, hash, time) is what failed
        return _sign_page(request, uow, by, approval=mine, error=exc.detail(get_locale()), status_code=422)
    except SigningError as exc:
        uow.rollback()
        return _sign_page(request, uow, by, error=exc.detail(get_locale()), status_code=exc.status)
    # Post/redirect/get: a refresh does not post the code again, and the page after signing says it worked
    # (a download answered straight to the POST left the old page, error and all, on the screen).
    return RedirectResponse(f"/back-office/signing/{approval_id}/done", status_code=303)


def _signed(uow: UnitOfWork, by: Principal, approval_id: str) -> RemoteApproval:
    approval = uow.get(RemoteApproval, approval_id)
    if approval is None or approval.account_id != by.account_id or approval.consumed_at is None \
            or approval.document is None:
        raise NotFound("Không tìm thấy văn bản đã ký.", "No signed document was found.")
    return approval


def _download_name(approval: RemoteApproval) -> str:
    base = (approval.document_name or "van-ban").rsplit(".", 1)[0]
    suffix = {"pdf": ".pdf", "xml": ".xml", "cms": ".p7s"}[approval.document_kind]
    return f"{base}-da-ky{suffix}"


@router.get("/back-office/signing/{approval_id}/done")
def sign_done(request: Request, approval_id: str, uow: UnitOfWork, by: Signer) -> Response:
    approval = _signed(uow, by, approval_id)
    return render(request, "signing/signed.html", {"approval": approval, "file_name": _download_name(approval),
                                                   "when": format_datetime})


@router.get("/back-office/signing/{approval_id}/download")
def sign_download(request: Request, approval_id: str, uow: UnitOfWork, by: Signer) -> Response:
    approval = _signed(uow, by, approval_id)
    assert approval.document is not None
    return Response(approval.document, media_type=MEDIA[approval.document_kind],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(_download_name(approval))}",
                             "Cache-Control": "no-store"})
