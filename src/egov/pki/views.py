"""Back-office pages of the CA: file a request, a second officer approves or rejects, manage status."""

from __future__ import annotations

from typing import Annotated

from cryptography import x509
from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from egov.pki.permissions import PkiPermission as P
from egov.pki.profiles import PROFILES
from egov.pki.runtime import ca_service
from egov.pki.services import REASONS
from egov.platform import i18n
from egov.platform.errors import DomainError, ValidationFailed
from egov.platform.i18n import get_locale, pick
from egov.platform.permissions import Principal, requires
from egov.platform.uow import UnitOfWork
from egov.web.forms import confirmation
from egov.web.forms import confirmed as is_confirmed
from egov.web.templating import N_, render, templates

router = APIRouter(prefix="/back-office/pki", include_in_schema=False)

AnyPki = Annotated[Principal, Depends(requires(P.CERTIFICATE_READ, P.CERTIFICATE_REQUEST, P.CERTIFICATE_APPROVE))]
Requester = Annotated[Principal, Depends(requires(P.CERTIFICATE_REQUEST))]
Approver = Annotated[Principal, Depends(requires(P.CERTIFICATE_APPROVE))]
Reader = Annotated[Principal, Depends(requires(P.CERTIFICATE_READ))]
Revoker = Annotated[Principal, Depends(requires(P.CERTIFICATE_REVOKE))]

# X.520 / RFC 4519 attribute types a subject may carry, by OID, as a person reads them (not `2.5.4.97=…`).
SUBJECT_LABELS: dict[str, str] = {
    "2.5.4.3": N_("Tên"), "2.5.4.10": N_("Tổ chức"), "2.5.4.11": N_("Đơn vị"),
    "2.5.4.97": N_("Mã định danh tổ chức"), "2.5.4.5": N_("Số định danh"), "2.5.4.12": N_("Chức danh"),
    "2.5.4.4": N_("Họ"), "2.5.4.42": N_("Tên riêng"), "2.5.4.6": N_("Quốc gia"), "2.5.4.8": N_("Tỉnh, thành phố"),
    "2.5.4.7": N_("Địa phương"), "2.5.4.9": N_("Địa chỉ"), "1.2.840.113549.1.9.1": N_("Thư điện tử"),
    "0.9.2342.19200300.100.1.1": N_("Mã định danh"), "0.9.2342.19200300.100.1.25": N_("Thành phần tên miền"),
}


def subject_parts(subject: str) -> list[tuple[str, str]]:
    """An RFC 4514 subject (`2.5.4.97=VN:…,CN=…`) as (label, value) pairs, most specific first, labels in the
    page's language; an attribute with no label keeps its OID, and a string that does not parse is one part."""
    try:
        name = x509.Name.from_rfc4514_string(subject)
    except ValueError:
        common_name = SUBJECT_LABELS["2.5.4.3"]  # not inside gettext(): Babel would take the key for a msgid
        return [(i18n.gettext(common_name), subject)] if subject else []
    parts = []
    for rdn in reversed(list(name.rdns)):  # RFC 4514 writes the last RDN first: the holder, then its parents
        for attr in rdn:
            oid = attr.oid.dotted_string
            value = attr.value if isinstance(attr.value, str) else attr.value.hex()
            parts.append((i18n.gettext(SUBJECT_LABELS[oid]) if oid in SUBJECT_LABELS else oid, value))
    return parts


def readable_subject(subject: str) -> str:
    """The subject on one line, for a table cell: "Tên: …; Tổ chức: …"."""
    return "; ".join(f"{label}: {value}" for label, value in subject_parts(subject))


def profile_label(profile: str) -> str:
    """A certificate profile as its holder reads it ("Con dấu số của cơ quan"), not its code (`agency_seal`)."""
    spec = next((p for p in PROFILES.values() if p.profile == profile), None)
    if spec is None:
        return profile
    return spec.label_vi if i18n.get_locale() == "vi" else spec.label_en


# Registered once for every template (the signing pages show certificate subjects too).
templates.env.filters["subject_parts"] = subject_parts
templates.env.filters["subject"] = readable_subject
templates.env.filters["profile"] = profile_label

REASON_LABELS = {
    "unspecified": ("Không nêu lý do", "Unspecified"),
    "key_compromise": ("Lộ khóa bí mật", "Key compromise"),
    "ca_compromise": ("CA bị xâm phạm", "CA compromise"),
    "affiliation_changed": ("Thay đổi cơ quan, chức vụ", "Affiliation changed"),
    "superseded": ("Đã được thay thế", "Superseded"),
    "cessation_of_operation": ("Ngừng hoạt động", "Cessation of operation"),
    "privilege_withdrawn": ("Rút quyền", "Privilege withdrawn"),
    "aa_compromise": ("AA bị xâm phạm", "AA compromise"),
    "certificate_hold": ("Tạm dừng", "Certificate hold"),
}


def _requestable() -> list[tuple[str, str, str]]:
    return [(p.profile.value, p.label_vi, p.label_en) for p in PROFILES.values() if p.requestable]


@router.get("")
def index(request: Request, uow: UnitOfWork, by: AnyPki) -> Response:
    service = ca_service(request.app.state.container)
    pending = service.pending_requests(uow, by) if by.can(P.CERTIFICATE_APPROVE) else []
    certificates = service.certificates(uow, by=by, limit=50) if by.can(P.CERTIFICATE_READ) else []
    return render(request, "pki/index.html", {"pending": pending, "certificates": certificates,
                                              "can_request": by.can(P.CERTIFICATE_REQUEST)})


def _request_form(request: Request, form: dict[str, str], errors: dict[str, str] | None = None,
                  status_code: int = 200, message: str = "") -> Response:
    return render(request, "pki/request_new.html", {"form": form, "errors": errors or {}, "message": message,
                                                    "profiles": _requestable()}, status_code=status_code)


@router.get("/requests/new")
def request_new(request: Request, by: Requester) -> Response:
    return _request_form(request, {"profile": "officer_signing", "subject_ref": "", "csr": "", "dns_names": ""})


@router.post("/requests/new")
def request_create(
    request: Request,
    uow: UnitOfWork,
    by: Requester,
    profile: Annotated[str, Form()] = "",
    subject_ref: Annotated[str, Form()] = "",
    csr: Annotated[str, Form(max_length=16_384)] = "",
    dns_names: Annotated[str, Form()] = "",
) -> Response:
    form = {"profile": profile, "subject_ref": subject_ref, "csr": csr, "dns_names": dns_names}
    try:
        created = ca_service(request.app.state.container).submit_request(
            uow, profile=profile, csr=csr, subject_ref=subject_ref, dns_names=dns_names.split(), by=by)
    except ValidationFailed as exc:
        uow.rollback()
        locale = get_locale()
        errors: dict[str, str] = {}
        for e in exc.errors:
            errors.setdefault(e.field, e.message(locale))
        return _request_form(request, form, errors, status_code=422)
    return RedirectResponse(f"/back-office/pki/requests/{created.id}/submitted", status_code=303)


@router.get("/requests/{request_id}/submitted")
def request_submitted(request: Request, request_id: str, by: Requester) -> Response:
    return render(request, "pki/request_submitted.html", {"request_id": request_id})


@router.get("/requests/{request_id}")
def request_view(request: Request, request_id: str, uow: UnitOfWork, by: Approver) -> Response:
    row = ca_service(request.app.state.container).request(uow, request_id, by=by)
    return render(request, "pki/request.html", {"req": row, "message": "",
                                                "own": row.requested_by == by.account_id})


@router.post("/requests/{request_id}/decide")
def request_decide(
    request: Request,
    request_id: str,
    uow: UnitOfWork,
    by: Approver,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    service = ca_service(request.app.state.container)
    try:
        if decision == "approve":
            cert = service.approve_request(uow, request_id, by=by)
            return RedirectResponse(f"/back-office/pki/certificates/{cert.id}?issued=1", status_code=303)
        service.reject_request(uow, request_id, reason=reason, by=by)
        return RedirectResponse("/back-office/pki?rejected=1", status_code=303)
    except DomainError as exc:
        uow.rollback()
        row = service.request(uow, request_id, by=by)
        return render(request, "pki/request.html", {"req": row, "message": exc.detail(get_locale()),
                                                    "own": row.requested_by == by.account_id},
                      status_code=exc.status)


@router.get("/certificates/{certificate_id}")
def certificate_view(request: Request, certificate_id: str, uow: UnitOfWork, by: Reader) -> Response:
    cert = ca_service(request.app.state.container).certificate(uow, certificate_id, by=by)
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = x509.load_der_x509_certificate(cert.cert_der).public_bytes(serialization.Encoding.PEM).decode()
    return render(request, "pki/certificate.html", {
        "cert": cert, "pem": pem, "reasons": [(r, REASON_LABELS[r]) for r in REASONS],
        "reason_labels": REASON_LABELS, "can_revoke": by.can(P.CERTIFICATE_REVOKE), "message": "",
        "issued": request.query_params.get("issued") == "1"})


@router.post("/certificates/{certificate_id}/status")
def certificate_status(
    request: Request,
    certificate_id: str,
    uow: UnitOfWork,
    by: Revoker,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "unspecified",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    service = ca_service(request.app.state.container)
    service.certificate(uow, certificate_id, by=by)  # 404 before anything is confirmed for a certificate not there
    if action not in ("suspend", "unsuspend") and not is_confirmed(confirmed):
        return confirmation(
            request, title=pick("Thu hồi chứng thư số?", "Revoke the certificate?"),
            message=pick("Chứng thư bị thu hồi vĩnh viễn và được công bố trong danh sách thu hồi (CRL, OCSP): "
                         "mọi chữ ký tạo sau thời điểm này bằng chứng thư đó đều không hợp lệ.",
                         "The certificate is revoked for good and published as such (CRL, OCSP): any signature "
                         "made with it from now on is invalid."),
            action=f"/back-office/pki/certificates/{certificate_id}/status", button=pick("Thu hồi", "Revoke"),
            cancel=f"/back-office/pki/certificates/{certificate_id}", fields={"action": "revoke", "reason": reason})
    if action == "suspend":
        service.suspend(uow, certificate_id, by=by)
    elif action == "unsuspend":
        service.unsuspend(uow, certificate_id, by=by)
    else:
        service.revoke(uow, certificate_id, reason=reason, by=by)
    return RedirectResponse(f"/back-office/pki/certificates/{certificate_id}", status_code=303)
