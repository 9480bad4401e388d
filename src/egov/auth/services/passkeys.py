"""Passkeys (WebAuthn Level 3, py_webauthn): register several per account, sign in with one, remove.

A passkey is phishing-resistant by construction (the browser binds every signature to this
site's origin) and, with user verification required, multi-factor by itself (the device plus
its PIN or biometric): signing in with one needs no password. The ceremony's challenge travels
sealed in the page (five minutes, bound to the ceremony and, for registration, the account),
so no server-side state is kept between the two requests. Signature counters are checked
where the authenticator keeps one: a counter that does not grow means a cloned key.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from egov.auth.audit import AuthAudit
from egov.auth.models import Account, Authenticator
from egov.auth.services.notices import notify
from egov.platform.clock import Clock
from egov.platform.errors import NotFound, ValidationFailed
from egov.platform.keys.sealed import SealBroken, Sealer
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

RP_NAME = "Nền tảng Chính phủ điện tử"
CEREMONY_SECONDS = 300
PASSKEY_AMR = ("hwk", "user", "mfa")  # RFC 8176: a key held in hardware, user verification, multi-factor
CERTIFICATE_AMR = ("sc", "mfa")  # RFC 8176 "sc": the certificate's key on a smart card / USB token (+ its PIN)
# What staff sessions need: a key bound to this origin (passkey) or a client certificate checked in TLS.
PHISHING_RESISTANT_AMR = frozenset({"hwk", "sc"})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _refused(en: str) -> ValidationFailed:
    return ValidationFailed.single("passkey", "invalid", "Không xác minh được khoá truy cập. Vui lòng thử lại.",
                                   f"The passkey could not be verified ({en}). Please try again.")


@dataclass(frozen=True)
class PasskeyView:
    id: str
    label: str
    created_at: datetime
    last_used_at: datetime | None


class Passkeys:
    def __init__(self, clock: Clock, secret_key: bytes, public_url: str) -> None:
        self.clock = clock
        self._state = Sealer(secret_key, "webauthn-ceremony")
        parts = urlsplit(public_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.rp_id = parts.hostname or "localhost"

    @classmethod
    def from_container(cls, container: Container) -> Passkeys:
        s = container.settings
        return cls(container.clock, s.secret_key_bytes(), s.public_url)

    def _seal(self, kind: str, challenge: bytes, account_id: str | None) -> str:
        data = json.dumps({"k": kind, "c": _b64url(challenge), "a": account_id}).encode()
        return self._state.seal_at(data, self.clock.now().timestamp())

    def _open(self, kind: str, state: str) -> tuple[bytes, str | None]:
        try:
            data = json.loads(self._state.open(state, CEREMONY_SECONDS, now=self.clock.now().timestamp()))
        except (SealBroken, ValueError):
            raise _refused("the ceremony expired or was altered") from None
        if data.get("k") != kind:
            raise _refused("wrong ceremony")
        return _unb64url(data["c"]), data.get("a")

    # --- registration --------------------------------------------------------------------------------

    def registration_options(self, session: Session, account: Account) -> dict[str, Any]:
        existing = [PublicKeyCredentialDescriptor(id=_unb64url(r.credential_id or ""))
                    for r in self._rows(session, account.id)]
        options = generate_registration_options(
            rp_id=self.rp_id, rp_name=RP_NAME, user_name=account.username, user_id=account.id.encode(),
            user_display_name=account.display_name, challenge=secrets.token_bytes(32), exclude_credentials=existing,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED))
        return {"publicKey": json.loads(options_to_json(options)),
                "state": self._seal("register", options.challenge, account.id)}

    def register(self, session: Session, account: Account, credential: dict[str, Any], state: str,
                 label: str = "") -> Authenticator:
        challenge, account_id = self._open("register", state)
        if account_id != account.id:
            raise _refused("the ceremony belongs to another account")
        try:
            verified = verify_registration_response(credential=credential, expected_challenge=challenge,
                                                    expected_rp_id=self.rp_id, expected_origin=self.origin,
                                                    require_user_verification=True)
        except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
            raise _refused(type(exc).__name__) from None
        credential_id = _b64url(verified.credential_id)
        if session.scalar(select(Authenticator.id).where(Authenticator.credential_id == credential_id)):
            raise _refused("this passkey is already registered")
        now = self.clock.now()
        row = Authenticator(account_id=account.id, kind="passkey", label=(label.strip() or "Khoá truy cập")[:100],
                            credential_id=credential_id, public_key=verified.credential_public_key,
                            sign_count=verified.sign_count, created_at=now)
        session.add(row)
        session.flush()
        record_event(session, AuthAudit.MFA_ENROLLED, object_type="account", object_id=account.id,
                     details={"kind": "passkey", "authenticator": row.id, "format": str(verified.fmt)})
        notify(session, account, "passkey_added", now=now)
        return row

    # --- sign-in ---------------------------------------------------------------------------------------

    def authentication_options(self) -> dict[str, Any]:
        """Options for a discoverable-credential sign-in: the browser offers the passkeys it holds."""
        options = generate_authentication_options(rp_id=self.rp_id, challenge=secrets.token_bytes(32),
                                                  user_verification=UserVerificationRequirement.REQUIRED)
        return {"publicKey": json.loads(options_to_json(options)),
                "state": self._seal("authenticate", options.challenge, None)}

    def authenticate(self, session: Session, credential: dict[str, Any], state: str) -> Account:
        """The account whose passkey signed this challenge, or ValidationFailed (audited by the caller)."""
        challenge, _ = self._open("authenticate", state)
        credential_id = str(credential.get("id") or credential.get("rawId") or "")
        row = session.scalar(select(Authenticator).where(Authenticator.kind == "passkey",
                                                         Authenticator.credential_id == credential_id,
                                                         Authenticator.revoked_at.is_(None)))
        if row is None or row.public_key is None:
            raise _refused("unknown passkey")
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self.rp_id,
                expected_origin=self.origin, credential_public_key=row.public_key,
                credential_current_sign_count=row.sign_count or 0, require_user_verification=True)
        except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
            raise _refused(type(exc).__name__) from None
        account = session.get(Account, row.account_id)
        if account is None or not account.is_active:
            raise _refused("account disabled")
        row.sign_count = verified.new_sign_count
        row.last_used_at = self.clock.now()
        return account

    # --- management ------------------------------------------------------------------------------------

    def _rows(self, session: Session, account_id: str) -> list[Authenticator]:
        return list(session.scalars(select(Authenticator).where(Authenticator.account_id == account_id,
                                                                Authenticator.kind == "passkey",
                                                                Authenticator.revoked_at.is_(None))))

    def list(self, session: Session, account_id: str) -> list[PasskeyView]:
        return [PasskeyView(r.id, r.label, r.created_at, r.last_used_at) for r in self._rows(session, account_id)]

    def remove(self, session: Session, account: Account, authenticator_id: str) -> None:
        row = session.get(Authenticator, authenticator_id)
        if row is None or row.account_id != account.id or row.kind != "passkey" or row.revoked_at is not None:
            raise NotFound("Không tìm thấy khoá truy cập.", "Passkey not found.")
        row.revoked_at = self.clock.now()
        record_event(session, AuthAudit.MFA_REMOVED, object_type="account", object_id=account.id,
                     details={"kind": "passkey", "authenticator": row.id})
        notify(session, account, "passkey_removed", now=row.revoked_at)
