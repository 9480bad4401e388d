"""Security notices to the account holder: a new device, a change of authenticators, a recovery code used.

Sent by e-mail to the address **on record in the registry** (the citizen's own, or the officer's
citizen record), through the job queue so that the notice exists exactly when the change does.
The notice never contains a code or a link that acts: it says what happened, when and from where,
and what to do if it was not them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from egov.auth.models import Account, AccountKind
from egov.platform.clock import format_datetime
from egov.platform.jobs import Handler, enqueue
from egov.registry import build_registry_facts

if TYPE_CHECKING:
    from datetime import datetime

    from egov.platform.container import Container

log = logging.getLogger("egov.auth.notices")
NOTICE_JOB = "notify.account_notice"
WHAT = {
    "new_device": "Tài khoản của bạn vừa được đăng nhập từ một thiết bị hoặc trình duyệt mới",
    "mfa_enrolled": "Một ứng dụng xác thực vừa được thêm vào tài khoản của bạn",
    "mfa_removed": "Một ứng dụng xác thực vừa bị gỡ khỏi tài khoản của bạn",
    "passkey_added": "Một khoá truy cập (passkey) vừa được thêm vào tài khoản của bạn",
    "passkey_removed": "Một khoá truy cập (passkey) vừa bị gỡ khỏi tài khoản của bạn",
    "recovery_code_used": "Một mã khôi phục vừa được dùng để đăng nhập tài khoản của bạn",
}


def notify(session: Session, account: Account, kind: str, *, now: datetime, where: str | None = None) -> None:
    """Queue a notice in the caller's transaction."""
    enqueue(session, NOTICE_JOB, {"account_id": account.id, "kind": kind, "at": now.isoformat(),
                                  "where": (where or "")[:200]}, now=now)


_REGISTRY = build_registry_facts()


def email_on_record(session: Session, account: Account) -> str | None:
    if not account.subject_id:
        return None
    citizen_id: str | None = account.subject_id
    if account.kind in (AccountKind.OFFICER.value, AccountKind.ADMIN.value):
        officer = _REGISTRY.officer(session, account.subject_id)
        citizen_id = officer.citizen_id if officer is not None else None
    citizen = _REGISTRY.citizen(session, citizen_id) if citizen_id else None
    return citizen.email if citizen is not None else None


def job_handlers(container: Container) -> dict[str, Handler]:
    from datetime import datetime

    def send(payload: dict[str, Any]) -> None:
        with container.db.session() as session:
            account = session.get(Account, payload["account_id"])
            to = email_on_record(session, account) if account is not None else None
            name = account.display_name if account is not None else ""
        if not to:
            log.info("no e-mail on record for a security notice", extra={"kind": payload["kind"]})
            return
        when = format_datetime(datetime.fromisoformat(payload["at"]))
        body = (f"Kính gửi {name},\n\n{WHAT.get(payload['kind'], 'Có thay đổi bảo mật trên tài khoản của bạn')} "
                f"lúc {when}{' (' + payload['where'] + ')' if payload.get('where') else ''}.\n\n"
                "Nếu đó là bạn, không cần làm gì thêm. Nếu không phải bạn, hãy đăng nhập và đổi mật khẩu, "
                "đăng xuất các phiên lạ trong trang Tài khoản, hoặc liên hệ bộ phận một cửa.\n\n"
                "Thư này được gửi tự động; không trả lời thư này.")
        container.notifier.email.send_email(to, "Thông báo bảo mật tài khoản", body)

    return {NOTICE_JOB: send}
