"""The signing service: sign (audited, in the caller's transaction), validate, remote signing, archives."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from cryptography import x509
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egov.auth.interfaces import StepUpRefused, StepUpVerifier
from egov.platform.clock import Clock
from egov.platform.db import Database, table_of
from egov.platform.errors import NotFound
from egov.platform.ids import new_id
from egov.platform.keys import KeyStore
from egov.platform.permissions import Principal
from egov.signing.audit import SigningAudit
from egov.signing.cms import sign_detached
from egov.signing.interfaces import (
    ApprovalRefused,
    RevocationData,
    SigningError,
    SigningIdentity,
    TrustProvider,
    TrustSource,
)
from egov.signing.isolation import shared_validator
from egov.signing.keys import KeyStoreSigner
from egov.signing.models import ArchivedDocument, RemoteApproval, SignatureRecord, SigningIdentityRecord
from egov.signing.pades import PadesLevel, VisibleSignature, add_archive_timestamp, sign_pdf
from egov.signing.permissions import SigningPermission as P
from egov.signing.settings import SigningSettings
from egov.signing.validation import (
    ValidationReport,
    check_signing_certificate,
    validate_cms,
    validate_pdf,
    validate_xml,
)
from egov.signing.xades import sign_xml
from egov.soc import event_values, insert_with_event, record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

DocumentKind = Literal["pdf", "xml", "cms"]
OFFICER_BOX = (330, 40, 565, 118)
SEAL_BOX = (330, 124, 565, 202)
_SIGNATURES = table_of(SignatureRecord)
# Renew an archive time-stamp this long before its TSA certificate expires.
RENEW_MARGIN = timedelta(days=90)
# The baseline levels each kind is signed at (PAdES up to B-LTA; XAdES and CMS here up to B-T).
LEVELS: Final[dict[str, tuple[str, ...]]] = {
    "pdf": ("B-B", "B-T", "B-LT", "B-LTA"), "xml": ("B-B", "B-T"), "cms": ("B-B", "B-T")}
_LEVEL_REFUSALS: Final = {
    "pdf": ("Mức chữ ký PDF không hỗ trợ: {level}", "Unsupported PDF signature level {level}."),
    "xml": ("Mức chữ ký XML không hỗ trợ: {level}", "Unsupported XML signature level {level}."),
    "cms": ("CMS chỉ hỗ trợ mức B-B và B-T.", "CMS supports levels B-B and B-T."),
}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SignedDocument:
    signature_id: str
    kind: DocumentKind
    level: str
    data: bytes  # the signed PDF/XML, or the detached CMS for "cms"
    document_sha256: str


NO_AUTHENTICATOR_VI = ("Để ký số, bạn cần thiết lập ứng dụng xác thực trước: vào Tài khoản, "
                       "chọn “Thiết lập ứng dụng xác thực”, rồi ký lại.")
NO_AUTHENTICATOR_EN = ("To sign, set up an authenticator app first: go to Account, choose "
                       "“Set up an authenticator app”, then sign again.")


class FileTrust:
    """Trusted roots and CRLs from a directory (*.pem / *.crt / *.cer roots, *.crl CRLs), read per call."""

    def __init__(self, directory: Path, allowlist: Sequence[str] = ()) -> None:
        self.directory = directory
        self.allowlist = tuple(allowlist)

    def trust_source(self) -> TrustSource:
        from cryptography.hazmat.primitives import serialization

        roots: list[bytes] = []
        crls: list[bytes] = []
        if self.directory.is_dir():
            for path in sorted(self.directory.iterdir()):
                raw = path.read_bytes()
                if path.suffix in (".pem", ".crt", ".cer"):
                    try:
                        certs = x509.load_pem_x509_certificates(raw) if b"-----BEGIN" in raw else [
                            x509.load_der_x509_certificate(raw)]
                    except ValueError:
                        continue
                    roots.extend(c.public_bytes(serialization.Encoding.DER) for c in certs)
                elif path.suffix == ".crl":
                    try:
                        crl = x509.load_pem_x509_crl(raw) if b"-----BEGIN" in raw else x509.load_der_x509_crl(raw)
                    except ValueError:
                        continue
                    crls.append(crl.public_bytes(serialization.Encoding.DER))
        return TrustSource(roots_der=roots, revocation=RevocationData(crls=crls), fetch_allowlist=self.allowlist)


class SigningService:
    """Everything the signing context does for pages, API, CLI and jobs."""

    def __init__(self, *, clock: Clock, keys: KeyStore, secret_key: bytes, trust: TrustProvider,
                 timestamper: TimeStamper | None, step_up: StepUpVerifier, approval_seconds: int = 300,
                 max_upload_bytes: int = 10 * 1024 * 1024, validation_timeout: float = 20.0,
                 db: Database | None = None) -> None:
        self.clock = clock
        self.db = db
        self.keys = keys
        self.trust = trust
        self.timestamper = timestamper
        self.step_up = step_up
        self.approval_lifetime = timedelta(seconds=approval_seconds)
        self.max_upload_bytes = max_upload_bytes
        self._token_key = hmac.new(secret_key, b"egov-remote-signing-activation", hashlib.sha256).digest()
        self._signers: dict[tuple[str, bytes], KeyStoreSigner] = {}
        self._identities: dict[str, SigningIdentity] = {}
        self.isolation = shared_validator(timeout=validation_timeout)
        # Validation happens at the real time unless this says otherwise (tests that pin the pki's clock).
        self.validation_moment: Callable[[], datetime] | None = None

    @classmethod
    def from_container(cls, container: Container) -> SigningService:
        """The process's one signing service (built by `build`, registered by signing's module)."""
        return container.get(cls)

    @classmethod
    def build(cls, container: Container) -> SigningService:
        s = container.settings
        sg = s.section(SigningSettings)
        assert sg.trust_dir is not None
        from egov.signing.pki_bridge import PkiTimeStamper, PkiTrust

        files = FileTrust(sg.trust_dir, sg.fetch_allowlist)
        service = cls(
            clock=container.clock, keys=container.keys, secret_key=s.secret_key_bytes(),
            # the platform's own CAs and trust list, plus any roots an operator put in the trust directory
            trust=PkiTrust(container, extra=[files]),
            # An external TSA when configured, else the platform's own in-process, whose audit events join
            # the signing transaction (so SQLite's one writer does not wait on itself).
            timestamper=(HTTPTimeStamper(sg.tsa_url) if sg.tsa_url else PkiTimeStamper(container)),
            step_up=container.get(StepUpVerifier),  # type: ignore[type-abstract]  # a Protocol as the key
            approval_seconds=sg.approval_seconds,
            max_upload_bytes=sg.max_upload_mb * 1024 * 1024, db=container.db)
        return service

    # --- identities -------------------------------------------------------------------------------------

    def register_identity(self, session: Session, *, holder: str, key_name: str, certificate_der: bytes,
                          chain_der: Sequence[bytes], display_name: str, position: str = "",
                          agency_name: str = "", by: Principal | None = None) -> SigningIdentityRecord:
        """Pair a key-store key with its certificate (from the pki context); refuses a certificate of another key."""
        if by is not None:
            by.require(P.IDENTITY_MANAGE)
        cert = x509.load_der_x509_certificate(certificate_der)
        KeyStoreSigner(SigningIdentity(self.keys.signer(key_name), certificate_der, tuple(chain_der)))  # checks
        check_signing_certificate(certificate_der, list(chain_der), self._trust(session), moment=self._moment())
        now = self.clock.now()
        record = SigningIdentityRecord(
            holder=holder, key_name=key_name, certificate_der=certificate_der,
            chain_der=json.dumps([base64.b64encode(c).decode() for c in chain_der]), display_name=display_name,
            position=position, agency_name=agency_name, not_after=cert.not_valid_after_utc, created_at=now)
        session.add(record)
        session.flush()
        record_event(session, SigningAudit.IDENTITY_REGISTERED, object_type="signing_identity", object_id=record.id,
                     details={"holder": holder, "key": key_name, "serial": format(cert.serial_number, "x")})
        return record

    def retire_identities(self, session: Session, *, holder: str | None = None,
                          certificate_der: bytes | None = None, reason: str = "") -> int:
        """Stop signing with a holder's identities (the officer left the post, the agency merged) or with
        one certificate (revoked or suspended by the pki context); audited. Returns how many."""
        if holder is None and certificate_der is None:
            raise ValueError("name a holder or a certificate")
        query = select(SigningIdentityRecord).where(SigningIdentityRecord.retired_at.is_(None))
        if holder is not None:
            query = query.where(SigningIdentityRecord.holder == holder)
        if certificate_der is not None:
            query = query.where(SigningIdentityRecord.certificate_der == certificate_der)
        now = self.clock.now()
        rows = list(session.scalars(query))
        for row in rows:
            row.retired_at = now
            self._identities.pop(row.id, None)
            record_event(session, SigningAudit.IDENTITY_RETIRED, object_type="signing_identity", object_id=row.id,
                         details={"holder": row.holder, "reason": reason[:200]}, at=now)
        return len(rows)

    def identity_of(self, session: Session, holder: str) -> SigningIdentityRecord:
        now = self.clock.now()
        record = session.scalar(select(SigningIdentityRecord).where(
            SigningIdentityRecord.holder == holder, SigningIdentityRecord.retired_at.is_(None),
            SigningIdentityRecord.not_after > now).order_by(SigningIdentityRecord.created_at.desc()).limit(1))
        if record is None:
            raise NotFound("Chưa có chứng thư số còn hiệu lực để ký.", "No valid signing certificate on file.")
        return record

    def _identity(self, record: SigningIdentityRecord) -> SigningIdentity:
        """Kept per record: the certificate never changes, and the signer is bound to the key version the
        certificate names (KeyStoreSigner refuses a rotated key), so the key store's meta.json need not be
        re-read for every document."""
        cached = self._identities.get(record.id)
        if cached is not None and cached.certificate_der == record.certificate_der:
            return cached
        chain = tuple(base64.b64decode(c) for c in json.loads(record.chain_der))
        identity = SigningIdentity(signer=self.keys.signer(record.key_name), certificate_der=record.certificate_der,
                                   chain_der=chain, display_name=record.display_name, position=record.position,
                                   agency_name=record.agency_name)
        self._identities[record.id] = identity
        return identity

    def _signer(self, identity: SigningIdentity) -> KeyStoreSigner:
        """pyHanko signers are cheap to keep: certificate parsing and the key check happen once per identity."""
        key = (identity.signer.info.key_id, identity.certificate_der)
        signer = self._signers.get(key)
        if signer is None or signer._key is not identity.signer:
            signer = self._signers[key] = KeyStoreSigner(identity)
        return signer

    # --- signing ------------------------------------------------------------------------------------------

    def sign(self, session: Session, record: SigningIdentityRecord, kind: DocumentKind, data: bytes, *,
             level: str = "B-T", visible: bool = True, seal_png: bytes | None = None,
             as_seal: bool = False, approval_id: str | None = None,
             account_id: str | None = None, flush: bool = False) -> SignedDocument:
        """Sign `data` with `record`'s key and audit it in the caller's transaction.

        Callers check who may use the key: `sign_remote` for a person's key, SEAL_APPLY for a seal. The
        rules every signature obeys are `_allowed` and `_recorded`, shared with `sign_now`.
        """
        from egov import pki

        now = self.clock.now()
        identity = self._allowed(record, kind, data, level, now,
                                 pki.certificate_status(session, record.certificate_der, max_age_seconds=1.0))
        out = self._produce(identity, kind, data, now=now, level=level, visible=visible, seal_png=seal_png,
                            as_seal=as_seal, trust=self._trust(session) if level in ("B-LT", "B-LTA") else None,
                            timestamper=self._timestamper(session))
        row, event_type, details = self._recorded(record, kind, level, data, out, now, as_seal=as_seal,
                                                  approval_id=approval_id, account_id=account_id)
        signature = SignatureRecord(**row)
        session.add(signature)
        if flush:
            session.flush()
        record_event(session, event_type, object_type="signature", object_id=signature.id, at=now, details=details)
        if kind == "pdf" and level == "B-LTA":
            session.flush()  # the archive row refers to the signature row
            self.archive(session, signature.id, out, title=f"signature {signature.id}")
        return SignedDocument(signature.id, kind, level, out, signature.document_sha256)

    def sign_now(self, record: SigningIdentityRecord, kind: DocumentKind, data: bytes, *, level: str = "B-T",
                 visible: bool = True, seal_png: bytes | None = None, as_seal: bool = False,
                 account_id: str | None = None) -> SignedDocument:
        """Sign one document on its own and make its record durable before returning it.

        For a caller with nothing else to write (a seal run, an integrator's library call): the signature
        row and its audit event are one atomic write (`Database.write_once`: on PostgreSQL one statement
        in autocommit, one round trip) instead of a unit of work's BEGIN, two INSERTs and COMMIT, which
        cost more than a whole XML signature. Levels that write more (B-LT/B-LTA keep revocation data and
        archives) and the platform's own TSA (which audits each time-stamp) take `sign` in a transaction.
        The rules, the row and the audit event are `sign`'s (`_allowed`, `_recorded`): only the write differs.
        """
        from egov.signing.pki_bridge import PkiTimeStamper

        if self.db is None:
            raise RuntimeError("sign_now needs the service's database")
        own_tsa = isinstance(self.timestamper, PkiTimeStamper) and level != "B-B"
        if level in ("B-LT", "B-LTA") or own_tsa:
            with self.db.session() as session:
                return self.sign(session, record, kind, data, level=level, visible=visible, seal_png=seal_png,
                                 as_seal=as_seal, account_id=account_id)
        now = self.clock.now()
        identity = self._allowed(record, kind, data, level, now, self._status_now(self.db, record.certificate_der))
        # Signed with no connection held (on SQLite a write transaction would stop every other writer
        # for the length of a signature and its time-stamp); recorded in one write afterwards.
        out = self._produce(identity, kind, data, now=now, level=level, visible=visible, seal_png=seal_png,
                            as_seal=as_seal, trust=None, timestamper=self.timestamper)
        row, event_type, details = self._recorded(record, kind, level, data, out, now, as_seal=as_seal,
                                                  approval_id=None, account_id=account_id)
        with self.db.write_once() as conn:
            event = event_values(event_type, object_type="signature", object_id=row["id"], at=now, details=details)
            insert_with_event(conn, _SIGNATURES, row, event)
        return SignedDocument(row["id"], kind, level, out, row["document_sha256"])

    @staticmethod
    def _status_now(db: Database, certificate_der: bytes) -> str | None:
        """The certificate's status for `sign_now`: from memory when fresh, else read on a connection of its
        own (returned before signing starts, so no connection is held while signing)."""
        from egov import pki

        found, status = pki.cached_certificate_status(certificate_der, max_age_seconds=1.0)
        if not found:
            with db.engine.execution_options(sqlite_begin="DEFERRED").connect() as conn:
                status = pki.certificate_status(conn, certificate_der, max_age_seconds=1.0)
        return status

    def _allowed(self, record: SigningIdentityRecord, kind: str, data: bytes, level: str, now: datetime,
                 status: str | None) -> SigningIdentity:
        """Whether this identity may sign this document at this level now: the one rule set of `sign` and
        `sign_now` (they differ only in how they read the status and write the record). Refusals, in
        order: the document kind and level, the size, an identity retired or past its certificate's end,
        a certificate our CA revoked or suspended (`status`: at once in this process, within a second in
        others). Returns the identity's signer."""
        levels = LEVELS.get(kind)
        if levels is None:
            raise SigningError("Loại văn bản không hỗ trợ.", f"Unsupported document kind {kind!r}.")
        if level not in levels:
            vi, en = _LEVEL_REFUSALS[kind]
            raise SigningError(vi.format(level=level), en.format(level=level))
        if len(data) > self.max_upload_bytes:
            raise SigningError("Tệp quá lớn.", "The file is too large.")
        if record.retired_at is not None or record.not_after <= now:
            raise SigningError("Chứng thư số này không còn dùng để ký (đã ngừng sử dụng hoặc hết hạn).",
                               "This signing certificate is no longer in use (retired or expired).")
        _refuse_unless_valid(status)
        return self._identity(record)

    @staticmethod
    def _recorded(record: SigningIdentityRecord, kind: str, level: str, data: bytes, out: bytes, now: datetime,
                  *, as_seal: bool, approval_id: str | None, account_id: str | None
                  ) -> tuple[dict[str, Any], SigningAudit, dict[str, Any]]:
        """The signature row, its audit event's type and its details: what `sign` and `sign_now` write."""
        row = {"id": new_id(), "account_id": account_id, "identity_id": record.id, "kind": kind, "level": level,
               "document_sha256": sha256_hex(data), "signed_sha256": sha256_hex(out), "approval_id": approval_id,
               "created_at": now}
        details = {"kind": kind, "level": level, "document_sha256": row["document_sha256"],
                   "signed_sha256": row["signed_sha256"], "identity": record.id, "approval": approval_id}
        return row, SigningAudit.SEALED if as_seal else SigningAudit.SIGNED, details

    def _produce(self, identity: SigningIdentity, kind: DocumentKind, data: bytes, *, now: datetime, level: str,
                 visible: bool, seal_png: bytes | None, as_seal: bool, trust: TrustSource | None,
                 timestamper: TimeStamper | None) -> bytes:
        """The signed PDF or XML, or the detached CMS: the signature itself, nothing checked (`_allowed` did)
        or recorded."""
        if kind == "pdf":
            box = VisibleSignature("seal", SEAL_BOX, seal_png=seal_png) if as_seal else VisibleSignature(
                "officer", OFFICER_BOX)
            return sign_pdf(data, identity, signing_time=now, level=PadesLevel(level), timestamper=timestamper,
                            trust=trust, visible=box if visible else None, signer=self._signer(identity),
                            validation_moment=self._moment())
        if kind == "xml":
            return sign_xml(data, identity, signing_time=now, level=level, timestamper=timestamper)
        if kind == "cms":  # at B-B or B-T (`_allowed`)
            return sign_detached(data, identity, timestamper=timestamper if level == "B-T" else None,
                                 signer=self._signer(identity))
        raise SigningError("Loại văn bản không hỗ trợ.", f"Unsupported document kind {kind!r}.")

    def sign_batch(self, session: Session, record: SigningIdentityRecord, kind: DocumentKind,
                   documents: Sequence[bytes], *, level: str = "B-T", visible: bool = True,
                   as_seal: bool = False, account_id: str | None = None) -> list[SignedDocument]:
        """Many documents with one identity in one transaction (a seal run, a batch of receipts): each
        signature still gets its own row and audit event; the recorder writes the events in one INSERT."""
        return [self.sign(session, record, kind, data, level=level, visible=visible, as_seal=as_seal,
                          account_id=account_id, flush=False) for data in documents]

    def apply_seal(self, session: Session, by: Principal, agency_id: str, data: bytes, *,
                   seal_png: bytes | None = None, level: str = "B-T", kind: DocumentKind = "pdf") -> SignedDocument:
        """The agency's seal on a PDF (usually after the officer's signature) or an XML document (XAdES);
        needs SEAL_APPLY there."""
        by.require(P.SEAL_APPLY, agency_id)
        if kind not in ("pdf", "xml"):
            raise SigningError("Chỉ đóng dấu lên tệp PDF hoặc XML.", "Only PDF and XML files are sealed.")
        record = self.identity_of(session, f"agency:{agency_id}")
        return self.sign(session, record, kind, data, level=level, as_seal=True, seal_png=seal_png,
                         account_id=by.account_id)

    # --- remote signing: a platform-held key, activated per document by a fresh second factor -----------

    def request_approval(self, session: Session, by: Principal, kind: DocumentKind, data: bytes,
                         name: str = "", keep_document: bool = False) -> RemoteApproval:
        """Record the exact document (its SHA-256) the user is being shown; approval must name that hash."""
        by.require(P.DOCUMENT_SIGN)
        record = self.identity_of(session, f"account:{by.account_id}")
        now = self.clock.now()
        approval = RemoteApproval(account_id=by.account_id, identity_id=record.id, document_sha256=sha256_hex(data),
                                  document_kind=kind, document_name=name[:300], created_at=now,
                                  document=data if keep_document else None,
                                  expires_at=now + self.approval_lifetime)
        session.add(approval)
        session.flush()
        record_event(session, SigningAudit.REMOTE_REQUESTED, object_type="remote_approval", object_id=approval.id,
                     details={"document_sha256": approval.document_sha256, "kind": kind}, at=now)
        return approval

    def can_approve(self, session: Session, by: Principal) -> bool:
        """An approval needs a code from an authenticator app: false when the signer has none yet."""
        return bool(self.step_up.available(session, by.account_id))

    def approve(self, session: Session, by: Principal, approval_id: str, shown_sha256: str, code: str) -> str:
        """The user confirms the hash they were shown with a fresh TOTP code; returns the one-time
        activation token (only its hash is stored). Refusals are audited; the caller commits them."""
        now = self.clock.now()
        approval = session.get(RemoteApproval, approval_id)
        refuse = self._refuser(session, approval_id, now)
        if approval is None or approval.account_id != by.account_id:
            refuse("unknown_or_foreign")  # an administrator cannot approve for someone else
        assert approval is not None
        if approval.approved_at is not None or approval.consumed_at is not None:
            refuse("already_approved")
        if now >= approval.expires_at:
            refuse("expired")
        if not hmac.compare_digest(shown_sha256.strip().lower(), approval.document_sha256):
            refuse("hash_mismatch")
        if not self.step_up.available(session, by.account_id):
            refuse("no_second_factor")
        try:
            method = self.step_up.check(session, by.account_id, code)
        except StepUpRefused as exc:  # the account cannot approve at all: no refusal of this approval to record
            raise ApprovalRefused(exc.detail_vi, exc.detail_en) from None
        except Exception as exc:  # wrong or replayed code, throttled
            refuse("second_factor", exc)
            raise  # unreachable: refuse raises
        token = secrets.token_urlsafe(32)
        approval.approved_at = now
        approval.approved_with = method
        approval.token_hash = self._token_hash(approval, token)
        record_event(session, SigningAudit.REMOTE_ACTIVATED, object_type="remote_approval", object_id=approval.id,
                     details={"document_sha256": approval.document_sha256, "method": method}, at=now)
        return token

    def sign_remote(self, session: Session, by: Principal, approval_id: str, token: str, data: bytes, *,
                    level: str = "B-T", visible: bool = True) -> SignedDocument:
        """Sign with the user's platform-held key: only the approved bytes, once, before expiry."""
        now = self.clock.now()
        refuse = self._refuser(session, approval_id, now)
        approval = session.get(RemoteApproval, approval_id)
        if approval is None or approval.account_id != by.account_id or not by.can(P.DOCUMENT_SIGN):
            refuse("unknown_or_foreign")
        assert approval is not None
        if approval.approved_at is None or approval.token_hash is None:
            refuse("not_approved")
        if now >= approval.expires_at:
            refuse("expired")
        if not hmac.compare_digest(self._token_hash(approval, token), approval.token_hash or ""):
            refuse("bad_token")
        if sha256_hex(data) != approval.document_sha256:
            refuse("hash_mismatch")
        if session.scalar(select(RemoteApproval.consumed_at).where(RemoteApproval.id == approval.id)) is not None:
            refuse("already_used")
        record = session.get(SigningIdentityRecord, approval.identity_id)
        if record is None or record.retired_at is not None:
            refuse("identity_retired")
        assert record is not None
        kind: DocumentKind = approval.document_kind  # type: ignore[assignment]
        # One-time: only the request that flips consumed_at from NULL keeps its signature; a racing one
        # loses its signature row and audit event with the savepoint, and its bytes are never returned.
        savepoint = session.begin_nested()
        try:
            signed = self.sign(session, record, kind, data, level=level, visible=visible, approval_id=approval.id,
                               account_id=by.account_id, flush=True)
            claimed = session.execute(update(RemoteApproval).where(
                RemoteApproval.id == approval.id, RemoteApproval.consumed_at.is_(None)).values(consumed_at=now))
            won = claimed.rowcount == 1  # type: ignore[attr-defined]
        except BaseException:
            savepoint.rollback()
            raise
        if not won:
            savepoint.rollback()
            refuse("already_used")
        savepoint.commit()
        return signed

    def _trust(self, session: Session | None) -> TrustSource:
        """The trust source, read in the caller's transaction when the provider can (PkiTrust)."""
        in_session = getattr(self.trust, "trust_source_in", None)
        if session is not None and in_session is not None:
            found: TrustSource = in_session(session)
            return found
        return self.trust.trust_source()

    def _moment(self) -> datetime | None:
        return self.validation_moment() if self.validation_moment is not None else None

    def _token_hash(self, approval: RemoteApproval, token: str) -> str:
        """MAC over the token *and* what it activates: a row edited in the database no longer matches."""
        message = "|".join([approval.id, approval.account_id, approval.identity_id, approval.document_sha256,
                            approval.expires_at.isoformat(), token]).encode()
        return hmac.new(self._token_key, message, hashlib.sha256).hexdigest()

    def _refuser(self, session: Session, approval_id: str, now: datetime) -> Callable[..., None]:
        def refuse(reason: str, cause: BaseException | None = None) -> None:
            record_event(session, SigningAudit.REMOTE_REFUSED, outcome="failure", object_type="remote_approval",
                         object_id=approval_id, details={"reason": reason}, at=now)
            messages = {
                "hash_mismatch": ("Văn bản khác với văn bản đã được phê duyệt ký.",
                                  "The document differs from the one approved for signing."),
                "expired": ("Phê duyệt ký đã hết hạn, vui lòng xác thực lại.",
                            "The approval has expired; please confirm again."),
                "already_used": ("Phê duyệt ký chỉ dùng được một lần.", "An approval signs only once."),
                "already_approved": ("Phê duyệt này đã được dùng.", "This approval was already given."),
                "second_factor": ("Mã xác thực không đúng.", "The verification code is not valid."),
                "no_second_factor": (NO_AUTHENTICATOR_VI, NO_AUTHENTICATOR_EN),
            }
            vi, en = messages.get(reason, ("Không được phép ký văn bản này.", "Signing this document is not allowed."))
            raise ApprovalRefused(vi, en) from cause
        return refuse

    # --- validation ---------------------------------------------------------------------------------------

    def validate(self, session: Session | None, kind: DocumentKind, data: bytes,
                 content: bytes | None = None, *, untrusted: bool = False) -> ValidationReport:
        """Validate against the trust source; audited (document hash and verdict only) when a session is given.

        `untrusted=True` (public uploads) runs the validation in a worker process with hard time and
        memory limits (signing/isolation.py)."""
        trust = self._trust(session)
        if untrusted:
            if kind not in ("pdf", "xml", "cms"):
                raise SigningError("Loại tệp không hỗ trợ.", "Unsupported file type.")
            report: ValidationReport = self.isolation.validate(kind, data, content, trust, self.max_upload_bytes)
        elif kind == "pdf":
            report = validate_pdf(data, trust, max_bytes=self.max_upload_bytes, moment=self._moment())
        elif kind == "xml":
            report = validate_xml(data, trust, max_bytes=self.max_upload_bytes, moment=self._moment()).report
        elif kind == "cms":
            if content is None:
                raise SigningError("Cần tệp nội dung đã ký.", "The signed content file is required.")
            report = validate_cms(data, content, trust, max_bytes=self.max_upload_bytes, moment=self._moment())
        else:
            raise SigningError("Loại tệp không hỗ trợ.", "Unsupported file type.")
        if session is not None:
            record_event(session, SigningAudit.VALIDATED, object_type="document", object_id=report.document_sha256,
                         details={"kind": kind, "indication": str(report.indication),
                                  "signatures": len(report.signatures)})
        return report

    # --- B-LTA archives -----------------------------------------------------------------------------------

    def archive(self, session: Session, signature_id: str | None, content: bytes, *,
                title: str = "") -> ArchivedDocument:
        now = self.clock.now()
        expires = _last_doc_timestamp_expiry(content) or now + timedelta(days=365)
        doc = ArchivedDocument(signature_id=signature_id, title=title[:300], content=content,
                               content_sha256=sha256_hex(content), last_timestamp_expires_at=expires,
                               renew_after=expires - RENEW_MARGIN, created_at=now, renewals=0)
        session.add(doc)
        session.flush()
        record_event(session, SigningAudit.ARCHIVE_STORED, object_type="archive", object_id=doc.id,
                     details={"sha256": doc.content_sha256, "renew_after": doc.renew_after.isoformat()}, at=now)
        return doc

    def _timestamper(self, session: Session) -> TimeStamper | None:
        """The configured TSA; the platform's own one bound to `session` (its audit joins this transaction)."""
        from egov.signing.pki_bridge import PkiTimeStamper

        stamper = self.timestamper
        return stamper.bound(session) if isinstance(stamper, PkiTimeStamper) else stamper

    def renew_archive(self, session: Session, archive_id: str) -> ArchivedDocument:
        """Add fresh revocation data and a new document time-stamp (B-LTA renewal); audited."""
        doc = session.get(ArchivedDocument, archive_id)
        if doc is None:
            raise NotFound()
        stamper = self._timestamper(session)
        if stamper is None:
            raise SigningError("Chưa cấu hình dịch vụ cấp dấu thời gian.", "No time-stamping service is configured.")
        now = self.clock.now()
        renewed = add_archive_timestamp(doc.content, timestamper=stamper, trust=self._trust(session))
        expires = _last_doc_timestamp_expiry(renewed) or now + timedelta(days=365)
        previous = doc.content_sha256
        doc.content = renewed
        doc.content_sha256 = sha256_hex(renewed)
        doc.renewals += 1
        doc.renewed_at = now
        doc.last_timestamp_expires_at = expires
        doc.renew_after = expires - RENEW_MARGIN
        record_event(session, SigningAudit.ARCHIVE_RENEWED, object_type="archive", object_id=doc.id, at=now,
                     actor_kind="system", details={"previous_sha256": previous, "sha256": doc.content_sha256,
                                                   "renewals": doc.renewals})
        return doc

    def due_archives(self, session: Session, *, limit: int = 50) -> list[str]:
        now = self.clock.now()
        return list(session.scalars(select(ArchivedDocument.id).where(ArchivedDocument.renew_after <= now)
                                    .order_by(ArchivedDocument.renew_after).limit(limit)))


def _refuse_unless_valid(status: str | None) -> None:
    """None: not one of our CAs' certificates (an external CA's revocation is checked by validation)."""
    if status not in (None, "valid"):
        raise SigningError("Chứng thư số đã bị thu hồi hoặc tạm dừng: không ký được.",
                           "The certificate is revoked or suspended: it cannot sign.")


def _last_doc_timestamp_expiry(pdf: bytes) -> datetime | None:
    """When the TSA certificate of the newest document time-stamp expires (its strength ends there)."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        stamps = PdfFileReader(io.BytesIO(pdf)).embedded_timestamp_signatures
    except Exception:  # noqa: BLE001 - an unreadable archive is renewed on the default schedule
        return None
    if not stamps:
        return None
    cert = stamps[-1].signer_cert
    value: datetime = cert["tbs_certificate"]["validity"]["not_after"].native
    return value
