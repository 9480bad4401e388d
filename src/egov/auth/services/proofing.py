"""Identity proofing: citizens register to level 1 through the registry, officers raise them to level 2.

Level 1 (registration): the personal ID, full name and birth date typed must match the
population registry, and a one-time code is sent to the phone or e-mail **on record in the
registry** (never to one the person types: whoever knows someone's ID, name and birth date
still cannot open their account). A mismatch and an unknown ID get the same answer, and guessing
is slowed per address and per ID. Level 2: an officer with `auth:identity:verify`, who is not
the person, checks an identity document in person and records its type and reference; the act
is audited with the officer as actor and the citizen as subject.

A session's `acr` is the account's level, but level 2 only with a second factor in the session
(NIST 800-63 IAL2 needs AAL2); otherwise 1.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.models import Account, AccountKind, IdentityProofing, OtpChallenge
from egov.auth.settings import AuthSettings
from egov.platform.clock import Clock
from egov.platform.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from egov.platform.jobs import Handler, enqueue
from egov.platform.keys.sealed import Sealer
from egov.platform.permissions import Principal
from egov.platform.throttle import Throttle
from egov.registry import RegistryFacts, build_registry_facts, decode_personal_id, mask_email, mask_phone, name_key
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.auth.services.accounts import AccountService
    from egov.platform.container import Container

CODE_TTL = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
OTP_JOB = "notify.otp"
EVIDENCE_TYPES = {
    "cccd_chip": ("Thẻ căn cước / CCCD gắn chip", "Chip-based citizen identity card"),
    "passport": ("Hộ chiếu", "Passport"),
    "cmnd": ("Chứng minh nhân dân", "Old identity card (CMND)"),
}
MFA_AMR = frozenset({"otp", "mfa", "hwk"})


def session_acr(account: Account, amr: tuple[str, ...]) -> str:
    """The level a session carries: level 2 needs both in-person proofing and a second factor."""
    if account.assurance_level == "2" and MFA_AMR & set(amr):
        return "2"
    return "1"


def _mismatch() -> ValidationFailed:
    # One answer for an unknown ID and for a wrong name or birth date: no registry enumeration.
    return ValidationFailed.single("personal_id", "registry_mismatch",
                                   "Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư.",
                                   "These details do not match the national population database.")


@dataclass(frozen=True)
class Started:
    challenge_id: str
    channel: str
    destination_masked: str


class Proofing:
    def __init__(self, clock: Clock, secret_key: bytes, accounts: AccountService,
                 throttle: Throttle | None = None, registry: RegistryFacts | None = None) -> None:
        self.clock = clock
        self.accounts = accounts
        self.registry = registry or build_registry_facts()  # proofing checks claims against the registry
        self._code_key = hmac.new(secret_key, b"egov-otp-code", hashlib.sha256).digest()
        self._payload = Sealer(secret_key, "notify-otp")
        self.throttle = throttle or Throttle(free=5)

    @classmethod
    def from_container(cls, container: Container) -> Proofing:
        from egov.auth.services.accounts import AccountService

        s = container.settings
        return cls(container.clock, s.secret_key_bytes(), AccountService.from_container(container),
                   Throttle(free=5, base_seconds=s.section(AuthSettings).login_backoff_base_seconds,
                            max_seconds=s.section(AuthSettings).login_backoff_max_seconds))

    def _hash(self, challenge_id: str, code: str) -> str:
        return hmac.new(self._code_key, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()

    # --- level 1: registration ------------------------------------------------------------------------

    def start(self, session: Session, *, personal_id: str, full_name: str, birth_date: date | None,
              channel: str, ip: str | None) -> Started:
        """Check the typed details against the registry and send a code to the contact on record."""
        now = self.clock.now()
        pid = personal_id.strip()
        decode_personal_id(pid)  # ValidationFailed naming the digit and the rule
        if birth_date is None:
            raise ValidationFailed.single("birth_date", "required", "Vui lòng nhập ngày sinh (dd/mm/yyyy).",
                                          "Enter your date of birth (dd/mm/yyyy).")
        if channel not in ("email", "sms"):
            raise ValidationFailed.single("channel", "choice", "Chọn nhận mã qua e-mail hoặc tin nhắn.",
                                          "Choose to receive the code by e-mail or text message.")
        keys = [f"reg-ip:{ip or 'unknown'}", f"reg-id:{pid}"]
        self.throttle.check(session, keys, now)
        citizen = self.registry.citizen_by_personal_id(session, pid)
        if citizen is None or citizen.birth_date != birth_date or name_key(citizen.full_name) != name_key(full_name):
            self._refuse(session, keys, pid, "mismatch")
            raise _mismatch()
        if session.scalar(select(Account.id).where(Account.username == pid)) is not None:
            raise Conflict("Số định danh này đã có tài khoản. Hãy đăng nhập.",
                           "An account already exists for this personal ID. Please sign in.")
        destination = citizen.email if channel == "email" else citizen.phone
        if not destination:
            what = ("địa chỉ e-mail", "e-mail address") if channel == "email" else ("số điện thoại", "phone number")
            raise ValidationFailed.single(
                "channel", "no_contact_on_record",
                f"Hồ sơ dân cư của bạn chưa có {what[0]}. Hãy chọn cách khác hoặc đến bộ phận một cửa.",
                f"Your registry record has no {what[1]}. Choose the other way or visit a one-stop desk.")
        code = f"{secrets.randbelow(10**6):06d}"
        challenge = OtpChallenge(purpose="register", subject=citizen.id, channel=channel,
                                 destination_masked=mask_email(destination) if channel == "email"
                                 else mask_phone(destination), code_hash="", created_at=now,
                                 expires_at=now + CODE_TTL, attempts=0)
        session.add(challenge)
        session.flush()
        challenge.code_hash = self._hash(challenge.id, code)
        sealed = self._payload.seal(json.dumps({"channel": channel, "to": destination, "code": code}).encode())
        enqueue(session, OTP_JOB, {"sealed": sealed}, now=now)  # the code is sealed even in the job row
        record_event(session, AuthAudit.REGISTRATION_STARTED, object_type="citizen", object_id=citizen.id,
                     at=now, details={"channel": channel, "to": challenge.destination_masked})
        return Started(challenge.id, channel, challenge.destination_masked)

    def _refuse(self, session: Session, keys: list[str], pid: str, reason: str) -> None:
        """Count and audit a refusal, committed before the answer (as for sign-in failures)."""
        now = self.clock.now()
        session.rollback()
        self.throttle.fail(session, keys, now)
        record_event(session, AuthAudit.REGISTRATION_REFUSED, outcome="failure", object_type="citizen",
                     at=now, details={"reason": reason, "personal_id_tail": pid[-3:]})
        session.commit()

    def challenge(self, session: Session, challenge_id: str) -> OtpChallenge:
        row = session.get(OtpChallenge, challenge_id)
        if row is None or row.purpose != "register" or row.used_at is not None or row.expires_at <= self.clock.now():
            raise NotFound("Mã đã hết hạn hoặc đã được dùng. Vui lòng đăng ký lại.",
                           "The code has expired or was used. Please start again.")
        return row

    def confirm(self, session: Session, challenge_id: str, code: str, password: str) -> Account:
        """The code from the contact on record plus a new password: the account exists, at level 1."""
        now = self.clock.now()
        row = self.challenge(session, challenge_id)
        if row.attempts >= MAX_CODE_ATTEMPTS:
            raise NotFound("Đã nhập sai quá nhiều lần. Vui lòng đăng ký lại.",
                           "Too many wrong codes. Please start again.")
        if not hmac.compare_digest(row.code_hash, self._hash(row.id, code.strip())):
            row.attempts += 1
            session.commit()  # the attempt counts even though the request fails
            raise ValidationFailed.single("code", "invalid_code", "Mã xác nhận không đúng.", "The code is wrong.")
        citizen = self.registry.citizen(session, row.subject)
        if citizen is None:
            raise NotFound("Không tìm thấy hồ sơ dân cư.", "Registry record not found.")
        account = self.accounts.create_account(session, kind=AccountKind.CITIZEN.value, username=citizen.personal_id,
                                               display_name=citizen.full_name, password=password,
                                               subject_id=citizen.id)
        account.assurance_level = "1"
        row.used_at = now
        session.add(IdentityProofing(account_id=account.id, level="1", method=f"registry_code_{row.channel}",
                                     created_at=now))
        record_event(session, AuthAudit.IDENTITY_PROOFED, object_type="account", object_id=account.id,
                     actor_id=account.id, actor_kind=account.kind, actor_name=account.display_name, at=now,
                     details={"level": "1", "method": f"registry_code_{row.channel}"})
        return account

    # --- level 2: in person -----------------------------------------------------------------------------

    def find_citizen_account(self, session: Session, officer: Principal, personal_id: str) -> Account | None:
        """The citizen account the desk officer typed the personal ID of, with the read audited.

        Looking a person up is reading personal data (name, level of assurance), so, like the
        registry's citizen view, the read is an audit event naming the officer, found or not.
        """
        pid = personal_id.strip()
        if not pid:
            return None
        account = session.scalar(select(Account).where(Account.username == pid,
                                                       Account.kind == AccountKind.CITIZEN.value))
        record_event(session, AuthAudit.IDENTITY_LOOKED_UP, object_type="account",
                     object_id=account.id if account is not None else None,
                     actor_id=officer.account_id, actor_kind=officer.kind, actor_name=officer.display_name,
                     at=self.clock.now(), details={"found": account is not None, "personal_id_tail": pid[-3:]})
        return account

    def verify_in_person(self, session: Session, officer: Principal, *, personal_id: str, evidence_type: str,
                         evidence_ref: str) -> Account:
        errors: list[FieldError] = []
        if evidence_type not in EVIDENCE_TYPES:
            errors.append(FieldError("evidence_type", "choice", "Chọn loại giấy tờ đã kiểm tra.",
                                     "Choose the document you checked."))
        ref = evidence_ref.strip()
        if not ref or len(ref) > 64:
            errors.append(FieldError("evidence_ref", "required", "Nhập số giấy tờ (tối đa 64 ký tự).",
                                     "Enter the document number (up to 64 characters)."))
        if errors:
            raise ValidationFailed(errors)
        account = session.scalar(select(Account).where(Account.username == personal_id.strip(),
                                                       Account.kind == AccountKind.CITIZEN.value))
        if account is None:
            raise NotFound("Không có tài khoản công dân với số định danh này.",
                           "No citizen account has this personal ID.")
        officer_record = self.registry.officer_of_citizen(session, account.subject_id) if account.subject_id else None
        if account.id == officer.account_id or (officer_record is not None and officer_record.id == officer.subject_id):
            raise SelfVerification("Cán bộ không được tự xác thực danh tính của chính mình.",
                                   "Officers may not verify their own identity.")
        now = self.clock.now()
        account.assurance_level = "2"
        session.add(IdentityProofing(account_id=account.id, level="2", method="in_person",
                                     evidence_type=evidence_type, evidence_ref=ref, verified_by=officer.account_id,
                                     created_at=now))
        record_event(session, AuthAudit.IDENTITY_VERIFIED, object_type="account", object_id=account.id, at=now,
                     details={"level": "2", "evidence_type": evidence_type, "evidence_ref_tail": ref[-4:],
                              "subject": account.username})
        return account

    # --- the job that sends the code --------------------------------------------------------------------

    def deliver(self, container: Container, payload: dict[str, str]) -> None:
        data = json.loads(self._payload.open(payload["sealed"]))
        notifier = container.notifier
        text = (f"Mã xác nhận đăng ký tài khoản Cổng dịch vụ công: {data['code']}. Mã có hiệu lực 10 phút. "
                "Không chia sẻ mã này với bất kỳ ai.")
        if data["channel"] == "email":
            notifier.email.send_email(data["to"], "Mã xác nhận đăng ký tài khoản", text)
        else:
            notifier.sms.send_sms(data["to"], text)


class SelfVerification(DomainError):
    status = 403
    code = "self_verification"
    title_vi = "Không được tự xác thực"
    title_en = "Self-verification refused"


def job_handlers(container: Container) -> dict[str, Handler]:
    proofing = Proofing.from_container(container)
    return {OTP_JOB: lambda payload: proofing.deliver(container, payload)}
