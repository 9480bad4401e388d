"""The CA: hierarchy, issuance from CSRs with four-eyes approval, renewal, suspension and revocation,
CRLs, the trust list, and revocation driven by the registry. Everything audited in the same transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egov.pki import ceremony, x509build
from egov.pki.audit import PkiAudit
from egov.pki.interfaces import IssuedCert, PkiNotReady, TrustAnchors
from egov.pki.models import CertificateAuthority, CertificateRequest, IssuedCertificate, PublishedCrl, TrustedCa
from egov.pki.permissions import PkiPermission
from egov.pki.profiles import ORGANIZATION_IDENTIFIER, PROFILES, Issuer, Profile, ProfileSpec
from egov.pki.settings import PkiSettings
from egov.pki.x509build import (
    BACKDATE,
    ca_urls,
    check_dns_names,
    check_subject_matches,
    key_hash_sha1,
    parse_csr,
    public_key_der,
    serial_hex,
    vn_name,
)
from egov.platform.clock import VN_TZ, Clock
from egov.platform.db.hooks import SessionTarget, install_hooks
from egov.platform.errors import Conflict, NotFound, ValidationFailed
from egov.platform.ids import new_id
from egov.platform.keys import FileKeyStore, KeyAlgorithm, KeyNotFound, KeyStore, KeyStoreError
from egov.platform.permissions import GLOBAL, Principal
from egov.registry import RegistryFacts, build_registry_facts
from egov.settings import Settings
from egov.soc import record_event

PKI_SYSTEM = Principal(account_id="system", kind="system", display_name="egov PKI",
                       grants=frozenset((str(p), GLOBAL) for p in PkiPermission))
"""Who acts for the CLI, the ceremony and registry-driven revocation."""

ROOT_ORG = "Nền tảng Chính phủ điện tử (thử nghiệm)"
CA_NAMES = {
    "root": "egov Root CA (thử nghiệm)",
    Issuer.SPECIALISED.value: "egov CA chuyên dùng (thử nghiệm)",
    Issuer.PUBLIC.value: "egov CA công cộng (thử nghiệm)",
}
REASONS = ("unspecified", "key_compromise", "ca_compromise", "affiliation_changed", "superseded",
           "cessation_of_operation", "privilege_withdrawn", "aa_compromise")
# Decree 130/2018 Art. 63 (specialised government CA): renewed once only, with 60+ days left.
RENEWAL_MIN_DAYS_LEFT = 60
MAX_RENEWALS = 1


def _audit(session: Session, by: Principal, event: PkiAudit, *, object_type: str, object_id: str,
           details: dict[str, Any] | None = None, agency_id: str | None = None) -> None:
    record_event(session, event, object_type=object_type, object_id=object_id, details=details,
                 actor_id=by.account_id, actor_kind=by.kind, actor_name=by.display_name, agency_id=agency_id)


def _not_found(what_vi: str, what_en: str) -> NotFound:
    return NotFound(f"Không tìm thấy {what_vi}.", f"{what_en} not found.")


def _profile(value: str) -> ProfileSpec:
    try:
        return PROFILES[Profile(value)]
    except ValueError:
        raise ValidationFailed.single(
            "profile", "profile.unknown", f"Không có mẫu chứng thư '{value}'",
            f"Unknown certificate profile '{value}' (one of {', '.join(p.value for p in Profile)})") from None


@dataclass(frozen=True)
class SubjectPlan:
    """What the registry says the certificate must name."""

    name: x509.Name
    subject_kind: str
    subject_ref: str
    agency_id: str | None
    dns_names: list[str]


class CertificateAuthorityService:
    """The platform's CAs; built once per process from the key store, the clock and the settings."""

    def __init__(self, keys: KeyStore, clock: Clock, settings: Settings, registry: RegistryFacts | None = None) -> None:
        self.keys = keys
        self.clock = clock
        self.settings = settings
        self._pki = settings.section(PkiSettings)
        self.registry = registry or build_registry_facts()  # subjects and their end come from the registry

    # --- hierarchy (ceremony) -------------------------------------------------------------------------

    def init_root(self, session: Session, root_dir: Path | None = None) -> tuple[CertificateAuthority, str, str]:
        """Create the root key in its own store and its self-signed certificate; returns the two shares."""
        root_dir = Path(root_dir or self._pki.root_dir or "")
        if session.scalar(select(CertificateAuthority).where(CertificateAuthority.name == "root")) is not None:
            raise Conflict("Đã có CA gốc.", "The root CA already exists.")
        if root_dir.exists() and any(root_dir.iterdir()):
            raise Conflict(f"Thư mục {root_dir} không trống.", f"{root_dir} is not empty.")
        passphrase, share_a, share_b = ceremony.split_new_passphrase()
        store = FileKeyStore(root_dir, passphrase)
        del passphrase
        info = store.create(ceremony.ROOT_KEY_NAME, KeyAlgorithm.ECDSA_P256)
        now = self.clock.now()
        cert = x509build.build_root(store.signer(ceremony.ROOT_KEY_NAME), CA_NAMES["root"], ROOT_ORG, now,
                                    self._pki.root_validity_days)
        ca = self._add_ca(session, "root", "root", None, cert, info.name, info.version)
        session.flush()
        _audit(session, PKI_SYSTEM, PkiAudit.ROOT_CREATED, object_type="pki_ca", object_id=ca.id,
               details={"serial": ca.serial, "subject": ca.subject, "custodian_shares": 2})
        self._publish_crl(session, ca, store.signer(ceremony.ROOT_KEY_NAME), PKI_SYSTEM)
        return ca, share_a, share_b

    def certify_issuing_ca(self, session: Session, name: str, share_a: str, share_b: str,
                           root_dir: Path | None = None) -> CertificateAuthority:
        """Ceremony step: the root (both shares) certifies an issuing CA whose key is made in the platform store."""
        issuer = Issuer(name)
        root = self._ca(session, "root")
        store = ceremony.open_root_store(Path(root_dir or self._pki.root_dir or ""), share_a, share_b)
        if session.scalar(select(CertificateAuthority).where(CertificateAuthority.name == issuer.value)):
            raise Conflict("CA này đã được chứng thực.", "This CA is already certified.")
        key_name = f"pki-ca-{issuer.value}"
        info = _ensure_key(self.keys, key_name, KeyAlgorithm.ECDSA_P256)
        root_cert = x509.load_der_x509_certificate(root.cert_der)
        cert = x509build.build_issuing_ca(store.signer(ceremony.ROOT_KEY_NAME), root_cert, info.public_key_der,
                                          CA_NAMES[issuer.value], ROOT_ORG, self.clock.now(),
                                          self._pki.issuing_validity_days,
                                          ca_urls(self.settings.public_url, "root"))
        ca = self._add_ca(session, issuer.value, "issuing", root.id, cert, info.name, info.version)
        session.flush()
        _audit(session, PKI_SYSTEM, PkiAudit.CA_CERTIFIED, object_type="pki_ca", object_id=ca.id,
               details={"name": ca.name, "serial": ca.serial, "key": info.key_id,
                        "not_after": ca.not_after.isoformat()})
        self._publish_crl(session, ca, self.keys.signer(ca.key_name, ca.key_version), PKI_SYSTEM)
        return ca

    def publish_root_crl(self, session: Session, share_a: str, share_b: str,
                         root_dir: Path | None = None) -> PublishedCrl:
        root = self._ca(session, "root")
        store = ceremony.open_root_store(Path(root_dir or self._pki.root_dir or ""), share_a, share_b)
        return self._publish_crl(session, root, store.signer(ceremony.ROOT_KEY_NAME), PKI_SYSTEM)

    def _add_ca(self, session: Session, name: str, kind: str, parent_id: str | None, cert: x509.Certificate,
                key_name: str, key_version: int) -> CertificateAuthority:
        ca = CertificateAuthority(
            id=new_id(), name=name, kind=kind, status="active", parent_id=parent_id,
            subject=cert.subject.rfc4514_string(), cert_der=cert.public_bytes(serialization.Encoding.DER),
            key_name=key_name, key_version=key_version, serial=serial_hex(cert.serial_number),
            not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
            key_hash_sha1=key_hash_sha1(cert), crl_number=0, status_epoch=0, created_at=self.clock.now())
        session.add(ca)
        return ca

    def _ca(self, session: Session, name: str) -> CertificateAuthority:
        ca = session.scalar(select(CertificateAuthority).where(CertificateAuthority.name == name))
        if ca is None:
            raise PkiNotReady(f"CA '{name}' chưa được thiết lập (chạy nghi thức khóa gốc trước).",
                              f"CA '{name}' is not set up: run the `egov pki ceremony` commands first.")
        return ca

    def cas(self, session: Session) -> list[CertificateAuthority]:
        return list(session.scalars(select(CertificateAuthority).order_by(CertificateAuthority.created_at)))

    def chain_der(self, session: Session, ca: CertificateAuthority) -> list[bytes]:
        chain = [ca.cert_der]
        parent_id = ca.parent_id
        while parent_id is not None:
            parent = session.get(CertificateAuthority, parent_id)
            assert parent is not None
            chain.append(parent.cert_der)
            parent_id = parent.parent_id
        return chain

    # --- service certificates (OCSP signer, TSU) ------------------------------------------------------

    def service_certificate(self, session: Session, profile: Profile, ca_name: str = Issuer.SPECIALISED.value
                            ) -> tuple[IssuedCertificate, CertificateAuthority]:
        """The current OCSP-signer or TSU certificate of a CA, issued (and audited) on first use or when it
        is within a tenth of its life of expiry; its key lives in the platform key store."""
        spec = PROFILES[profile]
        ca = self._ca(session, ca_name)
        ref = f"{profile.value}:{ca.name}"
        now = self.clock.now()
        current = session.scalar(
            select(IssuedCertificate).where(IssuedCertificate.subject_kind == "service",
                                            IssuedCertificate.subject_ref == ref,
                                            IssuedCertificate.status == "valid",
                                            IssuedCertificate.not_after > now)
            .order_by(IssuedCertificate.not_after.desc()).limit(1))
        if current is not None:
            life = current.not_after - current.not_before
            if current.not_after - now > life / 10:
                return current, ca
        key_name = f"pki-{'ocsp' if profile is Profile.OCSP_SIGNER else 'tsu'}-{ca.name}"
        info = _ensure_key(self.keys, key_name, KeyAlgorithm.ECDSA_P256)
        label = "OCSP" if profile is Profile.OCSP_SIGNER else "TSA"
        name = vn_name((NameOID.ORGANIZATION_NAME, ROOT_ORG), (NameOID.COMMON_NAME, f"egov {label} {ca.name}"))
        plan = SubjectPlan(name, "service", ref, None, [])
        cert = self._issue(session, spec, ca, info.public_key_der, plan, PKI_SYSTEM, request_id=None,
                           days=getattr(self._pki, spec.validity_setting))
        return cert, ca

    # --- subjects from the registry -------------------------------------------------------------------

    def plan_subject(self, session: Session, spec: ProfileSpec, subject_ref: str, dns_names: list[str],
                     by: Principal) -> SubjectPlan:
        registry = self.registry
        today = self.clock.now().astimezone(VN_TZ).date()
        ref = subject_ref.strip()
        if spec.subject_kind == "position":
            position = registry.position(session, ref)
            if position is None or not position.is_held_on(today):
                raise ValidationFailed.single("subject_ref", "subject.position",
                                              "Không có chức vụ đang giữ với mã này",
                                              "No position currently held with this id")
            agency = registry.agency(session, position.agency_id)
            officer = registry.officer(session, position.officer_id)
            citizen = registry.citizen(session, officer.citizen_id) if officer else None
            if agency is None or citizen is None or not agency.is_open_on(today):
                raise ValidationFailed.single("subject_ref", "subject.agency_closed",
                                              "Cơ quan của chức vụ không còn hoạt động",
                                              "The position's agency is not open")
            name = vn_name((NameOID.ORGANIZATION_NAME, agency.name_vi), (ORGANIZATION_IDENTIFIER, agency.code),
                           (NameOID.TITLE, position.title), (NameOID.COMMON_NAME, citizen.full_name),
                           (NameOID.USER_ID, f"CCCD:{citizen.personal_id}"))
            return SubjectPlan(name, "position", position.id, agency.id, [])
        if spec.subject_kind == "agency" or spec.profile is Profile.TLS_SERVER:
            agency = registry.agency_by_code(session, ref)
            if agency is None or not agency.is_open_on(today):
                raise ValidationFailed.single("subject_ref", "subject.agency",
                                              f"Không có cơ quan đang hoạt động với mã {ref}",
                                              f"No open agency with code {ref}")
            names = check_dns_names(dns_names)
            if spec.profile is Profile.TLS_SERVER:
                if not names:
                    raise ValidationFailed.single("dns_names", "dns.missing", "Cần ít nhất một tên miền",
                                                  "At least one DNS name is needed")
                cn = names[0]
            elif spec.profile is Profile.TLS_CLIENT:
                cn = f"{agency.code} (trục liên thông)"
            else:
                cn = agency.name_vi
            name = vn_name((NameOID.ORGANIZATION_NAME, agency.name_vi), (ORGANIZATION_IDENTIFIER, agency.code),
                           (NameOID.COMMON_NAME, cn))
            kind = "host" if spec.profile is Profile.TLS_SERVER else "agency"
            return SubjectPlan(name, kind, agency.code, agency.id, names)
        if spec.subject_kind == "citizen":
            citizen = registry.citizen_by_personal_id(session, ref)
            if citizen is None:
                raise ValidationFailed.single("subject_ref", "subject.citizen",
                                              "Không có công dân với số định danh này",
                                              "No citizen with this personal ID")
            if by.kind == "citizen" and by.subject_id != citizen.id:
                raise ValidationFailed.single("subject_ref", "subject.not_you",
                                              "Chỉ được yêu cầu chứng thư cho chính mình",
                                              "You may only request a certificate for yourself")
            name = vn_name((NameOID.COMMON_NAME, citizen.full_name), (NameOID.USER_ID, f"CCCD:{citizen.personal_id}"))
            return SubjectPlan(name, "citizen", citizen.personal_id, citizen.managing_agency_id, [])
        raise ValidationFailed.single("profile", "profile.not_requestable",
                                      "Mẫu chứng thư này do hệ thống tự cấp", "The platform issues this profile itself")

    def _check_request(self, session: Session, profile: str, csr_data: bytes | str, subject_ref: str,
                       dns_names: list[str], by: Principal) -> tuple[ProfileSpec, x509.CertificateSigningRequest,
                                                                      SubjectPlan]:
        spec = _profile(profile)
        if not spec.requestable:
            raise ValidationFailed.single("profile", "profile.not_requestable",
                                          "Mẫu chứng thư này do hệ thống tự cấp",
                                          "The platform issues this profile itself")
        csr = parse_csr(csr_data)
        plan = self.plan_subject(session, spec, subject_ref, dns_names, by)
        check_subject_matches(csr, plan.name)
        return spec, csr, plan

    # --- requests and approval (four eyes) ------------------------------------------------------------

    def submit_request(self, session: Session, *, profile: str, csr: bytes | str, subject_ref: str,
                       dns_names: list[str] | None = None, by: Principal) -> CertificateRequest:
        by.require(PkiPermission.CERTIFICATE_REQUEST)
        spec, parsed, plan = self._check_request(session, profile, csr, subject_ref, dns_names or [], by)
        request = CertificateRequest(
            id=new_id(), profile=spec.profile.value, csr_der=parsed.public_bytes(serialization.Encoding.DER),
            subject_ref=plan.subject_ref, dns_names="\n".join(plan.dns_names), subject=plan.name.rfc4514_string(),
            agency_id=plan.agency_id, status="pending", requested_by=by.account_id, requested_at=self.clock.now())
        session.add(request)
        session.flush()
        _audit(session, by, PkiAudit.REQUEST_SUBMITTED, object_type="pki_request", object_id=request.id,
               details={"profile": request.profile, "subject": request.subject}, agency_id=plan.agency_id)
        return request

    def pending_requests(self, session: Session, by: Principal) -> list[CertificateRequest]:
        by.require(PkiPermission.CERTIFICATE_APPROVE)
        return list(session.scalars(select(CertificateRequest).where(CertificateRequest.status == "pending")
                                    .order_by(CertificateRequest.requested_at)))

    def request(self, session: Session, request_id: str, *, by: Principal) -> CertificateRequest:
        by.require(PkiPermission.CERTIFICATE_APPROVE)
        request = session.get(CertificateRequest, request_id)
        if request is None:
            raise _not_found("yêu cầu", "Request")
        return request

    def record_ceremony_failure(self, session: Session, step: str, reason: str) -> None:
        """A failed root unlock (wrong or missing share) is itself evidence: audited in its own transaction."""
        _audit(session, PKI_SYSTEM, PkiAudit.CEREMONY_FAILED, object_type="pki_ca", object_id="root",
               details={"step": step, "reason": reason})

    def _pending(self, session: Session, request_id: str, by: Principal) -> CertificateRequest:
        by.require(PkiPermission.CERTIFICATE_APPROVE)
        request = session.get(CertificateRequest, request_id, with_for_update=True)
        if request is None:
            raise _not_found("yêu cầu", "Request")
        if request.status != "pending":
            raise Conflict("Yêu cầu đã được xử lý.", "The request was already decided.")
        if request.requested_by == by.account_id:
            raise Conflict("Người duyệt phải khác người đề nghị (nguyên tắc bốn mắt).",
                           "The approver must be someone other than the requester (four eyes).")
        return request

    def approve_request(self, session: Session, request_id: str, *, by: Principal) -> IssuedCertificate:
        request = self._pending(session, request_id, by)
        # Checked again: the registry may have changed since the request (officer left, agency merged).
        spec, csr, plan = self._check_request(session, request.profile, request.csr_der, request.subject_ref,
                                              request.dns_names.split("\n") if request.dns_names else [], by)
        ca = self._ca(session, spec.issuer.value)
        cert = self._issue(session, spec, ca, public_key_der(csr), plan, by, request_id=request.id,
                           days=getattr(self._pki, spec.validity_setting))
        request.status, request.decided_by, request.decided_at = "issued", by.account_id, self.clock.now()
        request.certificate_id = cert.id
        return cert

    def reject_request(self, session: Session, request_id: str, *, reason: str, by: Principal) -> CertificateRequest:
        request = self._pending(session, request_id, by)
        reason = " ".join(reason.split())[:500]
        if not reason:
            raise ValidationFailed.single("reason", "reason.missing", "Cần nêu lý do từ chối", "A reason is needed")
        request.status, request.decided_by, request.decided_at, request.reason = (
            "rejected", by.account_id, self.clock.now(), reason)
        _audit(session, by, PkiAudit.REQUEST_REJECTED, object_type="pki_request", object_id=request.id,
               details={"reason": reason}, agency_id=request.agency_id)
        return request

    # --- issuance -------------------------------------------------------------------------------------

    def issue(self, session: Session, *, profile: str, csr: bytes | str, subject_ref: str,
              dns_names: list[str] | None = None, by: Principal, days: int | None = None) -> IssuedCertificate:
        """Issue at once (CLI and the system; people go through submit/approve)."""
        by.require(PkiPermission.CERTIFICATE_APPROVE)
        spec, parsed, plan = self._check_request(session, profile, csr, subject_ref, dns_names or [], by)
        limit = getattr(self._pki, spec.validity_setting)
        if days is not None and not 1 <= days <= limit:
            raise ValidationFailed.single("days", "validity.range", f"Thời hạn phải từ 1 đến {limit} ngày",
                                          f"Validity must be 1 to {limit} days")
        return self._issue(session, spec, self._ca(session, spec.issuer.value), public_key_der(parsed), plan, by,
                           request_id=None, days=days or limit)

    def _issue(self, session: Session, spec: ProfileSpec, ca: CertificateAuthority, public_der: bytes,
               plan: SubjectPlan, by: Principal, *, request_id: str | None, days: int,
               renewed_from: IssuedCertificate | None = None) -> IssuedCertificate:
        now = self.clock.now()
        if ca.status != "active" or ca.not_after <= now:
            raise Conflict("CA phát hành không còn hiệu lực.", "The issuing CA is no longer valid.")
        ca_cert = x509.load_der_x509_certificate(ca.cert_der)
        cert = x509build.build_leaf(self.keys.signer(ca.key_name, ca.key_version), ca_cert, spec, public_der,
                                    plan.name, plan.dns_names, now - BACKDATE, now + timedelta(days=days),
                                    ca_urls(self.settings.public_url, ca.name))
        row = IssuedCertificate(
            id=new_id(), ca_id=ca.id, serial=serial_hex(cert.serial_number), profile=spec.profile.value,
            subject=plan.name.rfc4514_string(), subject_kind=plan.subject_kind, subject_ref=plan.subject_ref,
            agency_id=plan.agency_id, cert_der=cert.public_bytes(serialization.Encoding.DER),
            not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc, status="valid",
            renewed_from_id=renewed_from.id if renewed_from else None,
            renewal_count=(renewed_from.renewal_count + 1) if renewed_from else 0,
            request_id=request_id, created_at=now)
        session.add(row)
        session.flush()
        event = PkiAudit.CERTIFICATE_RENEWED if renewed_from else PkiAudit.CERTIFICATE_ISSUED
        _audit(session, by, event, object_type="pki_certificate", object_id=row.id, agency_id=plan.agency_id,
               details={"ca": ca.name, "serial": row.serial, "profile": row.profile, "subject": row.subject,
                        "not_after": row.not_after.isoformat(), "request_id": request_id,
                        "renewed_from": renewed_from.id if renewed_from else None})
        return row

    def renew(self, session: Session, certificate_id: str, *, by: Principal, csr: bytes | str | None = None
              ) -> IssuedCertificate:
        """A new certificate for the same subject (new key if a CSR is given, else the same key)."""
        by.require(PkiPermission.CERTIFICATE_APPROVE)
        old = self.certificate(session, certificate_id, by=by)
        spec = PROFILES[Profile(old.profile)]
        now = self.clock.now()
        if old.status != "valid" or old.not_after <= now:
            raise Conflict("Chỉ gia hạn được chứng thư đang có hiệu lực.", "Only a valid certificate can be renewed.")
        if spec.issuer is Issuer.SPECIALISED:
            already = session.scalar(select(IssuedCertificate.id).where(IssuedCertificate.renewed_from_id == old.id)
                                     .limit(1))
            if old.renewal_count >= MAX_RENEWALS or already is not None:
                raise Conflict("Chứng thư chuyên dùng chỉ được gia hạn một lần.",
                               "A specialised certificate may be renewed once only.")
            if old.not_after - now < timedelta(days=RENEWAL_MIN_DAYS_LEFT):
                raise Conflict(f"Chứng thư phải còn ít nhất {RENEWAL_MIN_DAYS_LEFT} ngày hiệu lực để gia hạn.",
                               f"A certificate needs {RENEWAL_MIN_DAYS_LEFT}+ days left to be renewed.")
        old_cert = x509.load_der_x509_certificate(old.cert_der)
        if csr is not None:
            parsed = parse_csr(csr)
            public_der = public_key_der(parsed)
        else:
            public_der = old_cert.public_key().public_bytes(serialization.Encoding.DER,
                                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        dns = _dns_of(old_cert)
        plan = self.plan_subject(session, spec, old.subject_ref, dns, by) if spec.requestable else SubjectPlan(
            old_cert.subject, old.subject_kind, old.subject_ref, old.agency_id, [])
        if csr is not None:
            check_subject_matches(parsed, plan.name)
        ca = session.get(CertificateAuthority, old.ca_id)
        assert ca is not None
        return self._issue(session, spec, ca, public_der, plan, by, request_id=None,
                           days=self._pki.renewal_validity_days, renewed_from=old)

    # --- status ---------------------------------------------------------------------------------------

    def certificate(self, session: Session, certificate_id: str, *, by: Principal) -> IssuedCertificate:
        if not by.can(PkiPermission.CERTIFICATE_APPROVE):
            by.require(PkiPermission.CERTIFICATE_READ)
        cert = session.get(IssuedCertificate, certificate_id)
        if cert is None:
            raise _not_found("chứng thư", "Certificate")
        return cert

    def certificates(self, session: Session, *, by: Principal, limit: int = 200) -> list[IssuedCertificate]:
        by.require(PkiPermission.CERTIFICATE_READ)
        return list(session.scalars(select(IssuedCertificate).order_by(IssuedCertificate.created_at.desc())
                                    .limit(limit)))

    def suspend(self, session: Session, certificate_id: str, *, by: Principal) -> IssuedCertificate:
        return self._change(session, certificate_id, "suspended", "certificate_hold", by)

    def unsuspend(self, session: Session, certificate_id: str, *, by: Principal) -> IssuedCertificate:
        return self._change(session, certificate_id, "valid", None, by)

    def revoke(self, session: Session, certificate_id: str, *, reason: str, by: Principal) -> IssuedCertificate:
        if reason not in REASONS:
            raise ValidationFailed.single("reason", "reason.unknown", "Lý do thu hồi không hợp lệ",
                                          f"Unknown revocation reason (one of {', '.join(REASONS)})")
        return self._change(session, certificate_id, "revoked", reason, by)

    def _change(self, session: Session, certificate_id: str, to: str, reason: str | None,
                by: Principal) -> IssuedCertificate:
        by.require(PkiPermission.CERTIFICATE_REVOKE)
        cert = session.get(IssuedCertificate, certificate_id, with_for_update=True)
        if cert is None:
            raise _not_found("chứng thư", "Certificate")
        allowed = {("valid", "suspended"), ("suspended", "valid"), ("valid", "revoked"), ("suspended", "revoked")}
        if (cert.status, to) not in allowed:
            raise Conflict(f"Không thể chuyển chứng thư từ '{cert.status}' sang '{to}'.",
                           f"A certificate cannot go from '{cert.status}' to '{to}'.")
        now = self.clock.now()
        previous, cert.status = cert.status, to
        if to == "valid":
            cert.revoked_at = None
        elif previous == "valid":
            cert.revoked_at = now
        # suspended -> revoked keeps the hold's time: the key has not been relied on since then.
        cert.revocation_reason = reason
        ca = session.get(CertificateAuthority, cert.ca_id)
        assert ca is not None
        session.execute(update(CertificateAuthority).where(CertificateAuthority.id == ca.id)
                        .values(status_epoch=CertificateAuthority.status_epoch + 1))
        event = {"suspended": PkiAudit.CERTIFICATE_SUSPENDED, "valid": PkiAudit.CERTIFICATE_UNSUSPENDED,
                 "revoked": PkiAudit.CERTIFICATE_REVOKED}[to]
        _audit(session, by, event, object_type="pki_certificate", object_id=cert.id, agency_id=cert.agency_id,
               details={"ca": ca.name, "serial": cert.serial, "reason": reason})
        session.flush()
        session.refresh(ca)
        self._publish_crl(session, ca, self.keys.signer(ca.key_name, ca.key_version), by)
        session.info[_STATUS_CHANGED] = True  # local OCSP responders drop their answers at commit
        return cert

    # --- CRLs -----------------------------------------------------------------------------------------

    def publish_crl(self, session: Session, ca_name: str, *, by: Principal) -> PublishedCrl:
        by.require(PkiPermission.CRL_PUBLISH)
        ca = self._ca(session, ca_name)
        if ca.kind == "root":
            raise Conflict("CRL của CA gốc chỉ được ký trong nghi thức hai người giữ khóa.",
                           "The root CRL is signed only in the two-custodian ceremony.")
        return self._publish_crl(session, ca, self.keys.signer(ca.key_name, ca.key_version), by)

    def _publish_crl(self, session: Session, ca: CertificateAuthority, signer: Any, by: Principal) -> PublishedCrl:
        now = self.clock.now()
        number = ca.crl_number + 1
        ca.crl_number = number
        if ca.kind == "root":
            rows = session.execute(select(CertificateAuthority.serial, CertificateAuthority.created_at)
                                   .where(CertificateAuthority.parent_id == ca.id,
                                          CertificateAuthority.status == "retired")).all()
            revoked = [(int(s, 16), at, "cessation_of_operation") for s, at in rows]
            next_update = now + timedelta(days=31)  # the root is offline: a monthly ceremony
        else:
            rows2 = session.execute(
                select(IssuedCertificate.serial, IssuedCertificate.revoked_at, IssuedCertificate.revocation_reason)
                .where(IssuedCertificate.ca_id == ca.id, IssuedCertificate.status != "valid",
                       IssuedCertificate.not_after > now)).all()
            revoked = [(int(s, 16), at or now, reason or "unspecified") for s, at, reason in rows2]
            next_update = now + timedelta(hours=self._pki.crl_hours)
        crl = x509build.build_crl(signer, x509.load_der_x509_certificate(ca.cert_der), number, now, next_update,
                                  revoked)
        row = PublishedCrl(id=new_id(), ca_id=ca.id, crl_number=number, this_update=now, next_update=next_update,
                           entries=len(revoked), crl_der=crl.public_bytes(serialization.Encoding.DER))
        session.add(row)
        session.flush()
        _audit(session, by, PkiAudit.CRL_PUBLISHED, object_type="pki_ca", object_id=ca.id,
               details={"ca": ca.name, "crl_number": number, "entries": len(revoked),
                        "next_update": next_update.isoformat()})
        return row

    def latest_crl(self, session: Session, ca_name: str) -> bytes | None:
        ca = session.scalar(select(CertificateAuthority).where(CertificateAuthority.name == ca_name))
        if ca is None:
            return None
        return session.scalar(select(PublishedCrl.crl_der).where(PublishedCrl.ca_id == ca.id)
                              .order_by(PublishedCrl.crl_number.desc()).limit(1))

    def republish_due_crls(self, session: Session, within: timedelta = timedelta(hours=2)) -> int:
        """A job: issue a fresh CRL for each online CA whose newest one expires within `within`."""
        n = 0
        for ca in self.cas(session):
            if ca.kind != "issuing":
                continue
            nxt = session.scalar(select(PublishedCrl.next_update).where(PublishedCrl.ca_id == ca.id)
                                 .order_by(PublishedCrl.crl_number.desc()).limit(1))
            if nxt is None or nxt - self.clock.now() < within:
                self._publish_crl(session, ca, self.keys.signer(ca.key_name, ca.key_version), PKI_SYSTEM)
                n += 1
        return n

    # --- registry-driven revocation -------------------------------------------------------------------

    def reconcile_with_registry(self, session: Session, *, by: Principal = PKI_SYSTEM) -> list[tuple[str, str]]:
        """Revoke certificates whose registry facts ended: an officer who left the post
        (affiliationChanged), an agency code closed by a merger (cessationOfOperation).
        Returns (certificate id, reason) for each change; idempotent, run by the worker and the CLI."""
        registry = self.registry
        today = self.clock.now().astimezone(VN_TZ).date()
        changed: list[tuple[str, str]] = []
        live = session.scalars(select(IssuedCertificate).where(IssuedCertificate.status != "revoked",
                                                              IssuedCertificate.not_after > self.clock.now(),
                                                              IssuedCertificate.subject_kind.in_(
                                                                  ("position", "agency", "host")))).all()
        for cert in live:
            reason: str | None = None
            if cert.subject_kind == "position":
                position = registry.position(session, cert.subject_ref)
                agency = registry.agency(session, position.agency_id) if position else None
                if position is None or not position.is_held_on(today) or agency is None or not agency.is_open_on(today):
                    reason = "affiliation_changed"
            else:
                agency = registry.agency_by_code(session, cert.subject_ref)
                if agency is None or not agency.is_open_on(today):
                    reason = "cessation_of_operation"
            if reason is not None:
                try:
                    self._change(session, cert.id, "revoked", reason, by)
                except Conflict:
                    continue  # revoked meanwhile by someone else: nothing left to do
                changed.append((cert.id, reason))
        return changed

    # --- trust list -----------------------------------------------------------------------------------

    def add_trusted_ca(self, session: Session, *, name: str, cert_pem: bytes | str, fetch_urls: list[str],
                       by: Principal) -> TrustedCa:
        by.require(PkiPermission.TRUST_MANAGE)
        raw = cert_pem.encode() if isinstance(cert_pem, str) else cert_pem
        try:
            cert = (x509.load_pem_x509_certificate(raw) if raw.lstrip().startswith(b"-----BEGIN")
                    else x509.load_der_x509_certificate(raw))
        except ValueError:
            raise ValidationFailed.single("certificate", "trust.malformed", "Chứng thư CA không đọc được",
                                          "The CA certificate cannot be read") from None
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            bc = None
        if bc is None or not bc.ca:
            raise ValidationFailed.single("certificate", "trust.not_ca", "Đây không phải chứng thư CA",
                                          "This is not a CA certificate")
        if cert.not_valid_after_utc <= self.clock.now():
            raise ValidationFailed.single("certificate", "trust.expired", "Chứng thư CA đã hết hạn",
                                          "The CA certificate has expired")
        urls = [u.strip() for u in fetch_urls if u.strip()]
        for u in urls:
            if not u.startswith(("http://", "https://")) or any(c in u for c in " \t\r\n"):
                raise ValidationFailed.single("fetch_urls", "trust.url", f"Địa chỉ không hợp lệ: {u}",
                                              f"Not an http(s) URL: {u}")
        der = cert.public_bytes(serialization.Encoding.DER)
        fp = hashlib.sha256(der).hexdigest()
        if session.scalar(select(TrustedCa).where(TrustedCa.fingerprint_sha256 == fp)) is not None:
            raise Conflict("CA này đã có trong danh sách tin cậy.", "This CA is already on the trust list.")
        row = TrustedCa(id=new_id(), name=" ".join(name.split())[:200] or cert.subject.rfc4514_string()[:200],
                        subject=cert.subject.rfc4514_string()[:500], fingerprint_sha256=fp, cert_der=der,
                        fetch_urls="\n".join(urls), not_after=cert.not_valid_after_utc, active=True,
                        added_by=by.account_id, added_at=self.clock.now())
        session.add(row)
        session.flush()
        _audit(session, by, PkiAudit.TRUST_ADDED, object_type="pki_trusted_ca", object_id=row.id,
               details={"name": row.name, "fingerprint_sha256": fp, "fetch_urls": urls})
        return row

    def remove_trusted_ca(self, session: Session, trusted_id: str, *, by: Principal) -> TrustedCa:
        by.require(PkiPermission.TRUST_MANAGE)
        row = session.get(TrustedCa, trusted_id)
        if row is None or not row.active:
            raise _not_found("CA tin cậy", "Trusted CA")
        row.active, row.removed_at = False, self.clock.now()
        _audit(session, by, PkiAudit.TRUST_REMOVED, object_type="pki_trusted_ca", object_id=row.id,
               details={"name": row.name, "fingerprint_sha256": row.fingerprint_sha256})
        return row

    def trusted_cas(self, session: Session) -> list[TrustedCa]:
        return list(session.scalars(select(TrustedCa).where(TrustedCa.active.is_(True)).order_by(TrustedCa.name)))

    def trust_anchors(self, session: Session) -> TrustAnchors:
        """Our root, the external CAs on the trust list, our issuing CAs as intermediates, and the URLs
        a validator may fetch: our OCSP/CRL/CA endpoints plus each trusted CA's allowlisted ones."""
        roots: list[bytes] = []
        intermediates: list[bytes] = []
        urls: list[str] = []
        for ca in self.cas(session):
            (roots if ca.kind == "root" else intermediates).append(ca.cert_der)
            u = ca_urls(self.settings.public_url, ca.name)
            urls += [u.crl, u.ca_cert] + ([u.ocsp] if ca.kind == "issuing" else [])
        now = self.clock.now()
        for t in self.trusted_cas(session):
            if t.not_after > now:
                roots.append(t.cert_der)
                urls += [u for u in t.fetch_urls.split("\n") if u]
        return TrustAnchors(roots=roots, intermediates=intermediates, fetch_urls=sorted(set(urls)))

    def as_issued(self, session: Session, cert: IssuedCertificate) -> IssuedCert:
        ca = session.get(CertificateAuthority, cert.ca_id)
        assert ca is not None
        return IssuedCert(id=cert.id, serial=cert.serial, profile=cert.profile, cert_der=cert.cert_der,
                          chain_der=self.chain_der(session, ca))


_STATUS_CHANGED = "egov.pki.status_changed"


def _tell_local_responders(session: Session) -> None:
    if session.info.pop(_STATUS_CHANGED, False):
        from egov.pki.ocsp import note_status_change

        note_status_change()


def _forget_status_change(session: Session) -> None:
    session.info.pop(_STATUS_CHANGED, None)


def install_status_hooks(*targets: SessionTarget) -> None:
    """Tell this process's OCSP responders at commit that a certificate's status changed (they drop
    their cached answers at once instead of at the next status-epoch check). Called once at start-up
    on `Database.session_factories` (`bootstrap.build_container`)."""
    install_hooks("pki_status", [("after_commit", _tell_local_responders),
                                 ("after_rollback", _forget_status_change)], *targets)


def _dns_of(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)]


def _ensure_key(keys: KeyStore, name: str, algorithm: KeyAlgorithm) -> Any:
    try:
        info = keys.signer(name).info
    except KeyNotFound:
        return keys.create(name, algorithm)
    if info.algorithm is not algorithm:
        raise KeyStoreError(f"key {name!r} exists with algorithm {info.algorithm}, not {algorithm}")
    return info

