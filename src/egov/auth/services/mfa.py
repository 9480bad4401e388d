"""Second factors: TOTP (RFC 6238) with single-use recovery codes, and the sign-in step that checks them.

A TOTP seed is generated here, shown to the holder once (QR code and text), and stored only
sealed under the platform secret; enrolment completes only when the holder proves the app
works by typing a current code. Each code is accepted once (the last used time step is kept),
with one step of clock drift either way. Ten recovery codes (50 bits each) are shown once and
stored as keyed hashes; each works once. Guessing goes through the same expiring backoff as
passwords, keyed per account.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pyotp
import segno
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.interfaces import StepUpRefused, StepUpVerifier
from egov.auth.models import Account, Authenticator
from egov.auth.services.notices import notify
from egov.auth.settings import AuthSettings
from egov.platform.clock import Clock
from egov.platform.errors import NotFound, ValidationFailed
from egov.platform.keys.sealed import SealBroken, Sealer
from egov.platform.throttle import Throttle
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

ISSUER_NAME = "Cổng Chính phủ điện tử"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed from paper
PENDING_SECONDS = 300  # between the password and the second factor


def _bad_code() -> ValidationFailed:
    return ValidationFailed.single("code", "invalid_code", "Mã xác thực không đúng hoặc đã được dùng.",
                                   "The code is wrong or was already used.")


@dataclass(frozen=True)
class Enrolment:
    """A TOTP seed being set up: shown once, carried sealed in the form until confirmed."""

    secret: str
    sealed: str
    uri: str
    qr_svg: str  # data: URI of an SVG QR code (the CSP allows data: images)


@dataclass(frozen=True)
class AuthenticatorView:
    id: str
    kind: str
    label: str
    created_at: datetime
    last_used_at: datetime | None


class SecondFactors:
    """Enrol, list, remove and check second factors."""

    def __init__(self, clock: Clock, secret_key: bytes, throttle: Throttle | None = None) -> None:
        self.clock = clock
        self._seeds = Sealer(secret_key, "totp-seed")
        self._enrolment = Sealer(secret_key, "totp-enrolment")
        self._pending = Sealer(secret_key, "sign-in-pending")
        self._recovery_key = hmac.new(secret_key, b"egov-recovery-code", hashlib.sha256).digest()
        self.throttle = throttle or Throttle(free=5)

    @classmethod
    def from_container(cls, container: Container) -> SecondFactors:
        s = container.settings
        return cls(container.clock, s.secret_key_bytes(),
                   Throttle(free=5, base_seconds=s.section(AuthSettings).login_backoff_base_seconds,
                            max_seconds=s.section(AuthSettings).login_backoff_max_seconds))

    # --- enrolment ------------------------------------------------------------------------------------

    def begin_totp(self, account: Account) -> Enrolment:
        secret = pyotp.random_base32()
        sealed = self._enrolment.seal_at(json.dumps({"a": account.id, "s": secret}).encode(),
                                         self.clock.now().timestamp())
        return self._enrolment_for(account, secret, sealed)

    def resume_totp(self, account: Account, sealed: str) -> Enrolment:
        """After a mistyped code, the same seed again: the app has already scanned it, a new QR would refuse
        every code it shows. An expired or foreign set-up starts afresh."""
        try:
            data = json.loads(self._enrolment.open(sealed, 900, now=self.clock.now().timestamp()))
        except (SealBroken, ValueError):
            return self.begin_totp(account)
        if data.get("a") != account.id:
            return self.begin_totp(account)
        return self._enrolment_for(account, str(data["s"]), sealed)

    @staticmethod
    def _enrolment_for(account: Account, secret: str, sealed: str) -> Enrolment:
        uri = pyotp.TOTP(secret).provisioning_uri(name=account.username, issuer_name=ISSUER_NAME)
        qr = segno.make(uri, error="m").svg_data_uri(scale=4, dark="#111")
        return Enrolment(secret, sealed, uri, qr)

    def confirm_totp(self, session: Session, account: Account, sealed: str, code: str,
                     label: str = "") -> list[str]:
        """Store the authenticator if `code` is current for the sealed seed; returns new recovery codes."""
        now = self.clock.now()
        try:
            data = json.loads(self._enrolment.open(sealed, 900, now=now.timestamp()))
        except (SealBroken, ValueError):
            raise ValidationFailed.single("code", "expired", "Phiên thiết lập đã hết hạn, vui lòng bắt đầu lại.",
                                          "The set-up has expired; please start again.") from None
        if data.get("a") != account.id:
            raise _bad_code()
        totp = pyotp.TOTP(data["s"])
        step = self._matching_step(totp, code, now)
        if step is None:
            raise _bad_code()
        session.execute(update(Authenticator).where(Authenticator.account_id == account.id,
                                                    Authenticator.kind == "totp",
                                                    Authenticator.revoked_at.is_(None)).values(revoked_at=now))
        session.add(Authenticator(account_id=account.id, kind="totp",
                                  label=(label.strip() or "Ứng dụng xác thực")[:100],
                                  secret_sealed=self._seeds.seal(data["s"].encode()), last_used_step=step,
                                  created_at=now))
        codes = self._new_recovery_codes(session, account, now)
        record_event(session, AuthAudit.MFA_ENROLLED, object_type="account", object_id=account.id,
                     details={"kind": "totp", "recovery_codes": len(codes)})
        notify(session, account, "mfa_enrolled", now=now)
        return codes

    def _new_recovery_codes(self, session: Session, account: Account, now: datetime) -> list[str]:
        session.execute(update(Authenticator).where(Authenticator.account_id == account.id,
                                                    Authenticator.kind == "recovery_code",
                                                    Authenticator.revoked_at.is_(None)).values(revoked_at=now))
        codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
        for c in codes:
            session.add(Authenticator(account_id=account.id, kind="recovery_code", label="",
                                      secret_hash=self._recovery_hash(c), created_at=now))
        return [f"{c[:5]}-{c[5:]}" for c in codes]

    def _recovery_hash(self, code: str) -> str:
        normal = code.strip().lower().replace("-", "").replace(" ", "")
        return hmac.new(self._recovery_key, normal.encode(), hashlib.sha256).hexdigest()

    def list(self, session: Session, account_id: str) -> list[AuthenticatorView]:
        rows = session.scalars(select(Authenticator).where(Authenticator.account_id == account_id,
                                                           Authenticator.kind == "totp",
                                                           Authenticator.revoked_at.is_(None)))
        return [AuthenticatorView(r.id, r.kind, r.label, r.created_at, r.last_used_at) for r in rows]

    def recovery_codes_left(self, session: Session, account_id: str) -> int:
        return len(list(session.scalars(select(Authenticator.id).where(
            Authenticator.account_id == account_id, Authenticator.kind == "recovery_code",
            Authenticator.revoked_at.is_(None)))))

    def has_second_factor(self, session: Session, account_id: str) -> bool:
        return session.scalar(select(Authenticator.id).where(
            Authenticator.account_id == account_id, Authenticator.kind == "totp",
            Authenticator.revoked_at.is_(None)).limit(1)) is not None

    def remove(self, session: Session, account: Account, authenticator_id: str) -> None:
        row = session.get(Authenticator, authenticator_id)
        if row is None or row.account_id != account.id or row.revoked_at is not None or row.kind != "totp":
            raise NotFound("Không tìm thấy phương thức xác thực.", "Authenticator not found.")
        now = self.clock.now()
        row.revoked_at = now
        if not self.has_second_factor(session, account.id):  # the codes only back up a factor
            session.execute(update(Authenticator).where(Authenticator.account_id == account.id,
                                                        Authenticator.kind == "recovery_code",
                                                        Authenticator.revoked_at.is_(None)).values(revoked_at=now))
        record_event(session, AuthAudit.MFA_REMOVED, object_type="account", object_id=account.id,
                     details={"kind": row.kind, "authenticator": row.id})
        notify(session, account, "mfa_removed", now=now)

    # --- the sign-in step -----------------------------------------------------------------------------

    def pending_token(self, account_id: str) -> str:
        """What the browser carries between the password and the second factor (sealed, 5 minutes)."""
        return self._pending.seal_at(account_id.encode(), self.clock.now().timestamp())

    def pending_account(self, token: str | None) -> str | None:
        if not token:
            return None
        try:
            return self._pending.open(token, PENDING_SECONDS, now=self.clock.now().timestamp()).decode()
        except SealBroken:
            return None

    def check(self, session: Session, account: Account, code: str) -> str:
        """"otp" or "recovery" if `code` is a current TOTP code or an unused recovery code; else raise.

        Throttled per account (TooManyAttempts), every failure audited; the caller commits a failure
        before answering, as for passwords.
        """
        now = self.clock.now()
        key = f"mfa:{account.id}"
        self.throttle.check(session, [key], now)
        compact = code.strip().replace(" ", "")
        if compact.isdigit() and len(compact) == 6:
            for row in session.scalars(select(Authenticator).where(
                    Authenticator.account_id == account.id, Authenticator.kind == "totp",
                    Authenticator.revoked_at.is_(None))):
                assert row.secret_sealed is not None
                totp = pyotp.TOTP(self._seeds.open(row.secret_sealed).decode())
                step = self._matching_step(totp, compact, now)
                if step is not None and (row.last_used_step is None or step > row.last_used_step):
                    row.last_used_step = step
                    row.last_used_at = now
                    self.throttle.succeed(session, [key])
                    return "otp"
        else:
            spare = session.scalar(select(Authenticator).where(
                Authenticator.account_id == account.id, Authenticator.kind == "recovery_code",
                Authenticator.revoked_at.is_(None), Authenticator.secret_hash == self._recovery_hash(code)))
            if spare is not None:
                spare.revoked_at = now  # single use
                spare.last_used_at = now
                self.throttle.succeed(session, [key])
                record_event(session, AuthAudit.RECOVERY_CODE_USED, object_type="account", object_id=account.id,
                             actor_id=account.id, actor_kind=account.kind, actor_name=account.display_name,
                             details={"left": self.recovery_codes_left(session, account.id)})
                notify(session, account, "recovery_code_used", now=now)
                return "recovery"
        raise _bad_code()

    def fail(self, session: Session, account: Account) -> None:
        now = self.clock.now()
        self.throttle.fail(session, [f"mfa:{account.id}"], now)
        record_event(session, AuthAudit.SECOND_FACTOR_FAILED, outcome="failure", object_type="account",
                     object_id=account.id, actor_id=account.id, actor_kind=account.kind,
                     actor_name=account.display_name, at=now)

    @staticmethod
    def _matching_step(totp: pyotp.TOTP, code: str, now: datetime) -> int | None:
        """The time step (30 s) whose code `code` is, allowing one step of drift either way."""
        code = code.strip().replace(" ", "")
        if not (code.isdigit() and len(code) == 6):
            return None
        stamp = int(now.timestamp())
        for drift in (0, -1, 1):
            at = stamp + drift * totp.interval
            if hmac.compare_digest(totp.at(at), code):
                return at // totp.interval
        return None


class SecondFactorStepUp:
    """`StepUpVerifier` on the account's second factors: a failure is counted and audited as at sign-in."""

    def __init__(self, factors: SecondFactors) -> None:
        self.factors = factors

    def available(self, session: Session, account_id: str) -> bool:
        return self.factors.has_second_factor(session, account_id)

    def check(self, session: Session, account_id: str, code: str) -> str:
        account = session.get(Account, account_id)
        if account is None or account.status != "active":
            raise StepUpRefused("Tài khoản không hợp lệ.", "The account cannot approve signatures.")
        try:
            return self.factors.check(session, account, code)
        except Exception:
            self.factors.fail(session, account)
            raise


def build_step_up_verifier(container: Container) -> StepUpVerifier:
    """The step-up check other contexts get (signing's remote approval); the composition root calls this."""
    return SecondFactorStepUp(SecondFactors.from_container(container))
