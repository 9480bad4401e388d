"""Validation of PDF, XML and detached CMS signatures, reported in ETSI EN 319 102-1 terms.

Each signature gets a main indication (TOTAL-PASSED, TOTAL-FAILED, INDETERMINATE) and, unless it
passed, a sub-indication named as in EN 319 102-1 (HASH_FAILURE, SIG_CRYPTO_FAILURE, REVOKED,
REVOKED_NO_POE, NO_CERTIFICATE_CHAIN_FOUND, OUT_OF_BOUNDS_NO_POE, EXPIRED, TRY_LATER, ...).
Cryptography, chain building and revocation are pyHanko's and pyhanko-certvalidator's; this module
decides the indication from their findings and the proof of existence a trusted time-stamp gives.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypedDict

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from lxml import etree
from pyhanko.pdf_utils.misc import PdfError, PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESSubIndic
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    async_validate_detached_cms,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import validate_cert_usage, validate_tst_signed_data
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import RevocationDetails
from pyhanko_certvalidator.util import CancelableAsyncIterator

from egov.signing._sync import loop_safe
from egov.signing.interfaces import SigningError, TrustSource, UnsafeInput
from egov.signing.trust import validation_context
from egov.signing.xades import DS_NS, XADES_NS, parse_xml, signature_value_imprint

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PDF_OBJECTS = 100_000
MAX_SIGNATURES = 30
MAX_REVISIONS = 60
# A signer's certificate must allow signing (digitalSignature or nonRepudiation) and, if it limits its
# purposes (EKU), name one for documents: a TLS server or client certificate does not sign documents.
SIGNER_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"},
    extd_key_usage={"email_protection", "1.3.6.1.5.5.7.3.36",  # id-kp-documentSigning (RFC 9336)
                    "microsoft_document_signing", "adobe_authentic_documents_trust", "any_extended_key_usage"},
    explicit_extd_key_usage_required=False,
)
TIME_BUDGET_SECONDS = 30.0


class Indication(StrEnum):
    TOTAL_PASSED = "TOTAL-PASSED"
    TOTAL_FAILED = "TOTAL-FAILED"
    INDETERMINATE = "INDETERMINATE"


@dataclass
class SignatureReport:
    """One signature (or PDF document time-stamp) as validated."""

    id: str
    format: str  # PAdES | XAdES | XML-DSig | CAdES | PDF document time-stamp
    indication: Indication
    sub_indication: str | None = None
    level: str | None = None  # B-B | B-T | B-LT | B-LTA
    signer_subject: str | None = None
    signer_name: str | None = None  # the certificate's CN, O and title, for people to read
    signer_organization: str | None = None
    signer_title: str | None = None
    signer_serial: str | None = None
    signing_time: datetime | None = None  # what the signer claims
    timestamp_time: datetime | None = None  # what a trusted TSA proves
    timestamp_trusted: bool | None = None
    coverage: str | None = None  # ENTIRE_FILE | ENTIRE_REVISION | DOCUMENT | ...
    modifications: str | None = None
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("signing_time", "timestamp_time"):
            v = out[k]
            out[k] = v.astimezone(UTC).isoformat() if v else None
        out["indication"] = str(self.indication)
        return out


@dataclass
class ValidationReport:
    document_kind: str  # pdf | xml | cms
    document_sha256: str
    validated_at: datetime
    signatures: list[SignatureReport]

    @property
    def indication(self) -> Indication | None:
        """The whole document: passed only if every signature passed; None without any signature."""
        if not self.signatures:
            return None
        kinds = {s.indication for s in self.signatures}
        if Indication.TOTAL_FAILED in kinds:
            return Indication.TOTAL_FAILED
        if Indication.INDETERMINATE in kinds:
            return Indication.INDETERMINATE
        return Indication.TOTAL_PASSED

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_kind": self.document_kind,
            "document_sha256": self.document_sha256,
            "validated_at": self.validated_at.astimezone(UTC).isoformat(),
            "indication": str(self.indication) if self.indication else None,
            "signature_count": len(self.signatures),
            "signatures": [s.to_dict() for s in self.signatures],
            "standard": "ETSI EN 319 102-1",
        }


# --- the decision --------------------------------------------------------------------------------------


def decide(*, intact: bool, valid: bool, trust_problem: AdESSubIndic | None,
           revocation: RevocationDetails | None = None, poe: datetime | None = None,
           not_after: datetime | None = None) -> tuple[Indication, str | None]:
    """Main and sub-indication from the cryptographic and path-validation findings.

    `poe` is the time a *trusted* signature time-stamp proves the signature existed (B-T and up).
    """
    if not intact:
        return Indication.TOTAL_FAILED, "HASH_FAILURE"
    if not valid:
        return Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
    if trust_problem is None:
        return Indication.TOTAL_PASSED, None
    name = str(getattr(trust_problem, "name", trust_problem))
    if name in ("REVOKED_NO_POE", "REVOKED_CA_NO_POE") and revocation is not None and poe is not None:
        if poe >= revocation.revocation_date:
            return Indication.TOTAL_FAILED, "REVOKED"
        return Indication.TOTAL_PASSED, None  # revoked later; the time-stamp proves it was signed before
    if name == "OUT_OF_BOUNDS_NO_POE" and poe is not None and not_after is not None:
        if poe >= not_after:
            return Indication.INDETERMINATE, "EXPIRED"
        return Indication.INDETERMINATE, "OUT_OF_BOUNDS_NOT_REVOKED"
    if isinstance(trust_problem, AdESFailure):
        return Indication.TOTAL_FAILED, name
    return Indication.INDETERMINATE, name


async def _refine_chain_failure(sub: str | None, cert: asn1_x509.Certificate | None,
                                others: list[asn1_x509.Certificate], make_vc: Any) -> str | None:
    """pyHanko reports missing revocation data as CERTIFICATE_CHAIN_GENERAL_FAILURE; EN 319 102-1
    calls it TRY_LATER (the data may become available). Re-run the path validation to tell them apart."""
    if sub != "CERTIFICATE_CHAIN_GENERAL_FAILURE" or cert is None:
        return sub
    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator.errors import InsufficientRevinfoError, PathBuildingError

    validator = CertificateValidator(cert, intermediate_certs=others, validation_context=make_vc())
    try:
        await validator.async_validate_usage(set())
    except InsufficientRevinfoError:
        return "TRY_LATER"
    except PathBuildingError:
        return "NO_CERTIFICATE_CHAIN_FOUND"
    except Exception:  # noqa: BLE001 - any other failure keeps pyHanko's verdict
        return sub
    return sub


def _embedded_certs(signed_data: cms.SignedData) -> list[asn1_x509.Certificate]:
    return [c.chosen for c in (signed_data["certificates"] or []) if c.name == "certificate"]


def _subject(cert: asn1_x509.Certificate | None) -> str | None:
    return cert.subject.human_friendly if cert is not None else None


class _Names(TypedDict):
    signer_name: str | None
    signer_organization: str | None
    signer_title: str | None


def _names(cert: asn1_x509.Certificate | None) -> _Names:
    native = dict(cert.subject.native) if cert is not None else {}

    def one(key: str) -> str | None:
        value = native.get(key)
        return ", ".join(value) if isinstance(value, list) else value

    return {"signer_name": one("common_name"), "signer_organization": one("organization_name"),
            "signer_title": one("title")}


def _poe(ts_status: Any) -> tuple[datetime | None, bool | None, datetime | None]:
    """(trusted time or None, trusted?, time shown) from a TimestampSignatureStatus."""
    if ts_status is None:
        return None, None, None
    trusted = bool(ts_status.intact and ts_status.valid and ts_status.trusted)
    return (ts_status.timestamp if trusted else None), trusted, ts_status.timestamp


def _not_after(cert: asn1_x509.Certificate | None) -> datetime | None:
    return cert["tbs_certificate"]["validity"]["not_after"].native if cert is not None else None


def _check_size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise UnsafeInput(f"Tệp quá lớn (tối đa {max_bytes // (1024 * 1024)} MB).",
                          f"The file is too large (at most {max_bytes // (1024 * 1024)} MB).")


def _budget(started: float) -> None:
    if time.monotonic() - started > TIME_BUDGET_SECONDS:
        raise UnsafeInput("Tệp cần quá nhiều thời gian để kiểm tra.", "The file takes too long to validate.")


# --- PDF -----------------------------------------------------------------------------------------------


@loop_safe
def validate_pdf(data: bytes, trust: TrustSource, *, max_bytes: int = MAX_UPLOAD_BYTES,
                 moment: datetime | None = None, max_objects: int = MAX_PDF_OBJECTS) -> ValidationReport:
    """Every signature and document time-stamp in a PDF, with the DSS's revocation data (B-LT)."""
    _check_size(data, max_bytes)
    return asyncio.run(_validate_pdf(data, trust, moment, max_objects))


async def _validate_pdf(data: bytes, trust: TrustSource, moment: datetime | None,
                        max_objects: int) -> ValidationReport:
    started = time.monotonic()
    if not data.lstrip()[:5] == b"%PDF-":
        raise SigningError("Tệp không phải PDF.", "The file is not a PDF.")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=True)
        # Bomb guards before any object is resolved: declared object count and incremental updates
        # (each revision is diff-analysed), besides the byte limit and the time budget.
        if int(reader.trailer_view["/Size"]) > max_objects or reader.xrefs.total_revisions > MAX_REVISIONS:
            raise UnsafeInput("Tệp PDF có quá nhiều đối tượng hoặc phiên bản.",
                              "The PDF has too many objects or revisions.")
        if reader.encrypted:
            raise SigningError("Không kiểm tra tệp PDF đã mã hoá.", "Encrypted PDFs are not validated.")
        signatures = list(reader.embedded_signatures)
    except (PdfError, PdfReadError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise SigningError("Tệp PDF bị hỏng hoặc không đọc được.", f"The PDF is corrupt: {exc}") from None
    if len(signatures) > MAX_SIGNATURES:
        raise UnsafeInput("Tệp PDF có quá nhiều chữ ký.", "The PDF has too many signatures.")
    dss_crls: list[bytes] = []
    dss_ocsps: list[bytes] = []
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        dss_crls = [bytes(ref.get_object().data) for ref in dss.crls]
        dss_ocsps = [bytes(ref.get_object().data) for ref in dss.ocsps]
    except (PdfError, ValueError, KeyError, TypeError, AttributeError):
        dss = None
    has_dss_revinfo = bool(dss_crls or dss_ocsps)
    doc_ts_revisions = [s.signed_revision for s in signatures if s.sig_object_type == "/DocTimeStamp"]

    reports: list[SignatureReport] = []
    for sig in signatures:
        _budget(started)
        vc = validation_context(trust, moment=moment, extra_crls=dss_crls, extra_ocsps=dss_ocsps)
        name = str(sig.field_name)
        if sig.sig_object_type == "/DocTimeStamp":
            try:
                ts = await async_validate_pdf_timestamp(sig, validation_context=vc)
            except (SignatureValidationError, ValueError) as exc:
                reports.append(SignatureReport(id=name, format="PDF document time-stamp",
                                               indication=Indication.TOTAL_FAILED, sub_indication="FORMAT_FAILURE",
                                               messages=[str(exc)[:300]]))
                continue
            indication, sub = decide(intact=ts.intact, valid=ts.valid, trust_problem=ts.trust_problem_indic)
            reports.append(SignatureReport(
                id=name, format="PDF document time-stamp", indication=indication, sub_indication=sub,
                signer_subject=_subject(ts.signing_cert), **_names(ts.signing_cert), timestamp_time=ts.timestamp,
                timestamp_trusted=ts.trusted, coverage=ts.coverage.name if ts.coverage else None,
                modifications=ts.modification_level.name if ts.modification_level else None))
            continue
        try:
            st = await async_validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc,
                                                    key_usage_settings=SIGNER_USAGE)
        except (SignatureValidationError, ValueError, PdfError) as exc:
            sub = getattr(exc, "ades_subindication", None)
            reports.append(SignatureReport(
                id=name, format="PAdES", indication=Indication.TOTAL_FAILED if sub is None or isinstance(
                    sub, AdESFailure) else Indication.INDETERMINATE,
                sub_indication=sub.name if sub is not None else "FORMAT_FAILURE", messages=[str(exc)[:300]]))
            continue
        poe, ts_trusted, ts_time = _poe(st.timestamp_validity)
        indication, sub = decide(intact=st.intact, valid=st.valid, trust_problem=st.trust_problem_indic,
                                 revocation=st.revocation_details, poe=poe, not_after=_not_after(st.signing_cert))
        sub = await _refine_chain_failure(sub, st.signing_cert, _embedded_certs(sig.signed_data), lambda: (
            validation_context(trust, moment=moment, extra_crls=dss_crls, extra_ocsps=dss_ocsps)))
        messages = []
        if indication is Indication.TOTAL_PASSED and not st.docmdp_ok:
            indication, sub = Indication.TOTAL_FAILED, "FORMAT_FAILURE"
            messages.append("the document was changed after signing in a way the signature does not allow")
        if st.timestamp_validity is not None and not ts_trusted and indication is Indication.TOTAL_PASSED:
            indication, sub = Indication.INDETERMINATE, "TIMESTAMP_NOT_TRUSTED"
        level = "B-B"
        if st.timestamp_validity is not None:
            level = "B-T"
            if has_dss_revinfo:
                level = "B-LT"
                if any(rev > sig.signed_revision for rev in doc_ts_revisions):
                    level = "B-LTA"
        reports.append(SignatureReport(
            id=name, format="PAdES" if sig.sig_object.get("/SubFilter") == "/ETSI.CAdES.detached" else "PDF (CMS)",
            indication=indication, sub_indication=sub, level=level, signer_subject=_subject(st.signing_cert),
            **_names(st.signing_cert),
            signer_serial=format(st.signing_cert.serial_number, "x") if st.signing_cert else None,
            signing_time=st.signer_reported_dt, timestamp_time=ts_time, timestamp_trusted=ts_trusted,
            coverage=st.coverage.name if st.coverage else None,
            modifications=st.modification_level.name if st.modification_level else None, messages=messages))
    return ValidationReport("pdf", hashlib.sha256(data).hexdigest(), datetime.now(UTC), reports)


# --- detached CMS --------------------------------------------------------------------------------------


@loop_safe
def validate_cms(signature: bytes, content: bytes, trust: TrustSource, *, max_bytes: int = MAX_UPLOAD_BYTES,
                 moment: datetime | None = None) -> ValidationReport:
    """A detached CMS signature (DER or PEM) over `content`."""
    _check_size(content, max_bytes)
    _check_size(signature, 1024 * 1024)
    if signature.lstrip().startswith(b"-----BEGIN"):
        body = b"".join(line for line in signature.splitlines() if line and not line.startswith(b"-----"))
        try:
            signature = base64.b64decode(body, validate=False)
        except ValueError:
            raise SigningError("Tệp chữ ký không hợp lệ.", "The signature file is not valid PEM.") from None
    try:
        info = cms.ContentInfo.load(signature, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError("not SignedData")
        signed_data = info["content"]
        _ = signed_data["signer_infos"][0]
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SigningError("Tệp chữ ký CMS không hợp lệ.", f"The CMS signature is malformed: {exc}") from None
    vc = validation_context(trust, moment=moment)
    try:
        st = asyncio.run(async_validate_detached_cms(content, signed_data, signer_validation_context=vc,
                                                     ts_validation_context=vc, key_usage_settings=SIGNER_USAGE))
        poe, ts_trusted, ts_time = _poe(st.timestamp_validity)
        indication, sub = decide(intact=st.intact, valid=st.valid, trust_problem=st.trust_problem_indic,
                                 revocation=st.revocation_details, poe=poe, not_after=_not_after(st.signing_cert))
        sub = asyncio.run(_refine_chain_failure(sub, st.signing_cert, _embedded_certs(signed_data),
                                                lambda: validation_context(trust, moment=moment)))
        report = SignatureReport(
            id="cms-1", format="CAdES", indication=indication, sub_indication=sub,
            level="B-T" if st.timestamp_validity is not None else "B-B", signer_subject=_subject(st.signing_cert),
            **_names(st.signing_cert),
            signer_serial=format(st.signing_cert.serial_number, "x") if st.signing_cert else None,
            signing_time=st.signer_reported_dt, timestamp_time=ts_time, timestamp_trusted=ts_trusted,
            coverage="DETACHED_CONTENT")
    except (SignatureValidationError, ValueError) as exc:
        sub_i = getattr(exc, "ades_subindication", None)
        report = SignatureReport(id="cms-1", format="CAdES", indication=Indication.TOTAL_FAILED,
                                 sub_indication=sub_i.name if sub_i is not None else "FORMAT_FAILURE",
                                 messages=[str(exc)[:300]])
    return ValidationReport("cms", hashlib.sha256(content).hexdigest(), datetime.now(UTC), [report])


# --- XML -----------------------------------------------------------------------------------------------


@dataclass
class XmlVerification:
    """What an XML signature covers: read `signed_xml`, never the uploaded tree (signature wrapping)."""

    report: ValidationReport
    signed_xml: bytes | None


@loop_safe
def validate_xml(data: bytes, trust: TrustSource, *, max_bytes: int = MAX_UPLOAD_BYTES,
                 moment: datetime | None = None) -> XmlVerification:
    """One enveloped XML-DSig/XAdES signature over the whole document (the only form we accept)."""
    _check_size(data, max_bytes)
    root = parse_xml(data, max_bytes=max_bytes)
    sigs = root.findall(f".//{{{DS_NS}}}Signature")
    digest = hashlib.sha256(data).hexdigest()
    if not sigs:
        return XmlVerification(ValidationReport("xml", digest, datetime.now(UTC), []), None)
    if len(sigs) > 1:
        report = SignatureReport(id="xml-1", format="XML-DSig", indication=Indication.TOTAL_FAILED,
                                 sub_indication="FORMAT_FAILURE",
                                 messages=["more than one ds:Signature: only one enveloped signature is accepted"])
        return XmlVerification(ValidationReport("xml", digest, datetime.now(UTC), [report]), None)
    report, signed = asyncio.run(_validate_xml_signature(data, root, sigs[0], trust, moment))
    return XmlVerification(ValidationReport("xml", digest, datetime.now(UTC), [report]), signed)


def _xml_fail(sig_id: str, fmt: str, sub: str, msg: str,
              indication: Indication = Indication.TOTAL_FAILED) -> tuple[SignatureReport, None]:
    return SignatureReport(id=sig_id, format=fmt, indication=indication, sub_indication=sub,
                           messages=[msg[:300]]), None


async def _validate_xml_signature(data: bytes, root: etree._Element, signature: etree._Element,
                                  trust: TrustSource, moment: datetime | None) -> tuple[SignatureReport, bytes | None]:
    from signxml import InvalidDigest, InvalidInput, InvalidSignature, XMLVerifier
    from signxml.xades import XAdESVerifier

    sig_id = signature.get("Id") or "xml-1"
    is_xades = signature.find(f".//{{{XADES_NS}}}SignedProperties") is not None
    fmt = "XAdES" if is_xades else "XML-DSig"
    if signature.getparent() is not root:
        return _xml_fail(sig_id, fmt, "FORMAT_FAILURE", "the signature is not enveloped in the document element")
    certs = signature.findall(f"{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    if not certs:
        return _xml_fail(sig_id, fmt, "NO_SIGNING_CERTIFICATE_FOUND", "no X.509 certificate in KeyInfo",
                         Indication.INDETERMINATE)
    try:
        chain = [asn1_x509.Certificate.load(base64.b64decode("".join((c.text or "").split()))) for c in certs]
        signing_cert = chain[0]
        _ = signing_cert.subject
    except (ValueError, TypeError):
        return _xml_fail(sig_id, fmt, "FORMAT_FAILURE", "the certificate in KeyInfo is malformed")
    cert_pem = ("-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(signing_cert.dump()).decode()
                + "-----END CERTIFICATE-----\n")
    # The signature first, with the signer's certificate pinned (its chain is validated below): a
    # wrong digest or signature says nothing about trust, and needs no network.
    try:
        if is_xades:
            results = XAdESVerifier().verify(data, x509_cert=cert_pem, expect_references=3)
        else:
            single = XMLVerifier().verify(data, x509_cert=cert_pem)
            results = single if isinstance(single, list) else [single]
    except InvalidDigest as exc:
        return _xml_fail(sig_id, fmt, "HASH_FAILURE", str(exc))
    except InvalidSignature as exc:
        # signxml raises InvalidSignature for a bad SignatureValue and for structural problems alike
        message = str(exc)
        crypto = "Signature verification failed" in message or "signature" in message.lower()
        return _xml_fail(sig_id, fmt, "SIG_CRYPTO_FAILURE" if crypto else "FORMAT_FAILURE", message)
    except (InvalidInput, ValueError, etree.LxmlError) as exc:
        return _xml_fail(sig_id, fmt, "FORMAT_FAILURE", str(exc))
    document_result = results[0]
    signed_el = document_result.signed_xml
    # Signature wrapping: the first reference must cover the document element itself (URI="" or its Id),
    # so the signed bytes are exactly the document the caller receives.
    uri = signature.find(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference")
    ref_uri = uri.get("URI") if uri is not None else None
    root_id = root.get("Id") or root.get("ID") or root.get("id")
    if ref_uri not in ("", None) and not (root_id and ref_uri == f"#{root_id}"):
        return _xml_fail(sig_id, fmt, "FORMAT_FAILURE",
                         "the signature does not cover the document element (possible signature wrapping)")
    if signed_el is None or signed_el.tag != root.tag:
        return _xml_fail(sig_id, fmt, "FORMAT_FAILURE",
                         "the signed element is not the document element (possible signature wrapping)")
    signed_bytes = bytes(etree.tostring(signed_el, encoding="UTF-8", xml_declaration=True))

    # Time-stamp (B-T): an RFC 3161 token over the c14n of SignatureValue.
    poe = ts_time = None
    ts_trusted: bool | None = None
    level = "B-B"
    messages: list[str] = []
    vc = validation_context(trust, moment=moment)
    encapsulated = signature.find(f".//{{{XADES_NS}}}SignatureTimeStamp/{{{XADES_NS}}}EncapsulatedTimeStamp")
    if encapsulated is not None:
        level = "B-T"
        try:
            token = cms.ContentInfo.load(base64.b64decode("".join((encapsulated.text or "").split())))
            imprint = signature_value_imprint(signature)
            ts_kwargs = await validate_tst_signed_data(token["content"], vc, lambda _alg: imprint)
            ts_time = ts_kwargs.get("timestamp")
            ts_trusted = bool(ts_kwargs.get("intact") and ts_kwargs.get("valid")
                              and ts_kwargs.get("trust_problem_indic") is None)
            poe = ts_time if ts_trusted else None
        except (ValueError, TypeError, KeyError, SignatureValidationError) as exc:
            ts_trusted = False
            messages.append(f"signature time-stamp unusable: {str(exc)[:200]}")
    signing_time = None
    st_el = signature.find(f".//{{{XADES_NS}}}SigningTime")
    if st_el is not None and st_el.text:
        try:
            signing_time = datetime.fromisoformat(st_el.text.strip())
        except ValueError:
            messages.append("SigningTime is not ISO 8601")
    # The chain: pyhanko-certvalidator with the trust source (revocation, allowlisted fetching only).
    vc.certificate_registry.register_multiple(chain[1:])
    op = await validate_cert_usage(signing_cert, vc, SIGNER_USAGE,
                                   _paths(vc, signing_cert))
    indication, sub_found = decide(intact=True, valid=True, trust_problem=op.error_subindic,
                                   revocation=op.revo_details, poe=poe, not_after=_not_after(signing_cert))
    sub = await _refine_chain_failure(sub_found, signing_cert, chain[1:],
                                      lambda: validation_context(trust, moment=moment))
    if encapsulated is not None and not ts_trusted and indication is Indication.TOTAL_PASSED:
        indication, sub = Indication.INDETERMINATE, "TIMESTAMP_NOT_TRUSTED"
    report = SignatureReport(id=sig_id, format=fmt, indication=indication, sub_indication=sub, level=level,
                             signer_subject=_subject(signing_cert), **_names(signing_cert),
                             signer_serial=format(signing_cert.serial_number, "x"), signing_time=signing_time,
                             timestamp_time=ts_time, timestamp_trusted=ts_trusted, coverage="DOCUMENT",
                             messages=messages)
    return report, signed_bytes if indication is Indication.TOTAL_PASSED else None


def _paths(vc: Any, cert: asn1_x509.Certificate) -> CancelableAsyncIterator[Any]:
    return vc.path_builder.async_build_paths_lazy(cert)  # type: ignore[no-any-return]



def certificate_problem(cert: asn1_x509.Certificate, chain: list[asn1_x509.Certificate], trust: TrustSource,
                        usage: KeyUsageConstraints, moment: datetime | None) -> str | None:
    """The EN 319 102-1 sub-indication that stops `cert` being used for `usage` now (chain, validity,
    key usage, revocation with hard failure), or None when it may be used."""

    async def run() -> str | None:
        vc = validation_context(trust, moment=moment)
        vc.certificate_registry.register_multiple(chain)
        op = await validate_cert_usage(cert, vc, usage, _paths(vc, cert))
        _, sub = decide(intact=True, valid=True, trust_problem=op.error_subindic, revocation=op.revo_details,
                        not_after=_not_after(cert))
        return await _refine_chain_failure(sub, cert, chain, lambda: validation_context(trust, moment=moment))

    return asyncio.run(run())


@loop_safe
def check_signing_certificate(certificate_der: bytes, chain_der: list[bytes], trust: TrustSource, *,
                              moment: datetime | None = None) -> None:
    """Refuse (SigningError with the EN 319 102-1 reason) a certificate that could not make a valid
    signature now: unknown CA, revoked, expired, not for document signing, no revocation data."""
    cert = asn1_x509.Certificate.load(certificate_der)
    chain = [asn1_x509.Certificate.load(c) for c in chain_der]
    sub = certificate_problem(cert, chain, trust, SIGNER_USAGE, moment)
    if sub is not None:
        raise SigningError(f"Chứng thư số không dùng được để ký ({sub}).",
                           f"The certificate cannot make a valid signature ({sub}).")
