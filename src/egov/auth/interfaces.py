"""What other contexts may rely on from auth: its exceptions and the result of a sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from egov.platform.errors import DomainError

# One wording for every refused sign-in (unknown account, wrong password, disabled account, no
# password): a different message would tell a stranger which personal IDs have accounts.
INVALID_CREDENTIALS_VI = "Tên đăng nhập hoặc mật khẩu không đúng."
INVALID_CREDENTIALS_EN = "The username or password is incorrect."


class InvalidCredentials(DomainError):
    """Sign-in refused; deliberately silent about which part was wrong."""

    status = 401
    code = "invalid_credentials"
    title_vi = "Đăng nhập không thành công"
    title_en = "Sign-in failed"

    def __init__(self) -> None:
        super().__init__(INVALID_CREDENTIALS_VI, INVALID_CREDENTIALS_EN)


@dataclass(frozen=True)
class SignedIn:
    """A new session: `token` goes into the cookie and nowhere else (the database keeps its hash)."""

    token: str
    session_id: str
    account_id: str
    expires_at: datetime
    kind: str = "citizen"


@dataclass(frozen=True)
class SecondFactorRequired:
    """The password was right and the account has a second factor: `pending` (sealed, short-lived)
    goes into a cookie until the code is given; no session exists yet."""

    pending: str
    account_id: str


class StepUpRefused(DomainError):
    """The account cannot step up at all (unknown or not active); a wrong code raises its own error."""

    status = 403
    code = "step_up_refused"
    title_vi = "Không xác thực bổ sung được"
    title_en = "Step-up refused"


class StepUpVerifier(Protocol):
    """A fresh second factor for an account, checked by auth (signing's remote approval asks for it)."""

    def available(self, session: Session, account_id: str) -> bool:
        """Whether the account has a second factor at all: without one no code can ever be right, so the
        caller says what to set up instead of refusing every code."""
        ...

    def check(self, session: Session, account_id: str, code: str) -> str:
        """The method that matched ("totp", "recovery_code", ...); raises StepUpRefused if the account cannot
        step up, another DomainError if the code is wrong, replayed or throttled (the failure is counted)."""
        ...
