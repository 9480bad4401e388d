"""Production policy: officers act with their roles only in a passkey session (phishing-resistant)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.factories.auth import login, make_account

from egov.auth.models import AuthSession
from egov.auth.sessions import new_session_token, session_id_for
from egov.auth.settings import AuthSettings
from egov.contexts import settings_class
from egov.platform.clock import FixedClock
from egov.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_section(AuthSettings, staff_require_passkey=True)


def test_a_password_session_lets_an_officer_set_up_a_passkey_and_nothing_else(
    client: Any, session: Session, clock: FixedClock
) -> None:
    officer = make_account(session, username="canbo.thu", roles=[("registry_clerk", "*")])
    login(client, "canbo.thu")
    desk = client.get("/back-office")
    assert desk.status_code == 200 and 'id="passkey-required"' in desk.text
    assert client.get("/back-office/registry/citizens").status_code == 403
    assert client.get("/api/auth/me").json()["grants"] == []
    assert client.get("/account").status_code == 200  # where the passkey is added
    # The same officer in a passkey session (as Passkeys.authenticate + open_with_passkey leave it) has the role.
    token = new_session_token()
    now = clock.now()
    session.add(AuthSession(id=session_id_for(token), account_id=officer.id, created_at=now, last_seen_at=now,
                            expires_at=now.replace(year=now.year + 1), acr="1", amr="hwk user mfa"))
    session.commit()
    client.cookies.set("egov_session", token)
    me = client.get("/api/auth/me").json()
    assert me["amr"] == ["hwk", "user", "mfa"] and me["grants"]
    assert client.get("/back-office/registry/citizens").status_code == 200


def test_the_policy_is_on_by_default_in_production_only() -> None:
    assert settings_class()(environment="development").section(AuthSettings).staff_require_passkey is False
    prod = settings_class()(environment="production", keystore_passphrase="k" * 32, secret_key="s" * 40,  # type: ignore[arg-type]
                    cookie_secure=True, smtp_host="smtp.example.gov.vn", sms_sender="none")
    assert prod.section(AuthSettings).staff_require_passkey is True
