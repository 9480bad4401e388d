"""Identity proofing: level 1 by the registry and a code to the contact on record (real SMTP via aiosmtpd,
SMS via the development outbox); level 2 in person by an officer who is not the subject."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import date
from email import message_from_bytes
from typing import Any

import pyotp
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import csrf_token, login, make_account
from tests.factories.registry import RegistryTree, make_citizen

from egov import jobs
from egov.auth.models import Account, IdentityProofing, OtpChallenge
from egov.platform.clock import FixedClock
from egov.platform.notify import OutboxSender
from egov.settings import Settings
from egov.soc.models import AuditEvent

PASSWORD = "một cụm mật khẩu dài của Lan"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as s:  # aiosmtpd cannot take port 0: pick a free one first
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def settings(settings: Settings, mailbox: tuple[Mailbox, int]) -> Settings:
    return settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": mailbox[1]})


@pytest.fixture
def lan(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> Any:
    citizen = make_citizen(session, clock, agency=registry_tree.dept_a, full_name="Trần Thị Lan",
                           birth_date=date(1991, 3, 15), sex="female", phone="0912345678",
                           email="lan.tran@example.vn")
    session.commit()
    return citizen


def _start(client: Any, citizen: Any, **over: str) -> Any:
    data = {"personal_id": citizen.personal_id, "full_name": "tran thi LAN", "birth_date": "15/03/1991",
            "channel": "email", "csrf_token": csrf_token(client)} | over
    return client.post("/register", data=data, follow_redirects=False)


def test_a_citizen_registers_with_a_code_mailed_to_the_address_on_record(
    client: Any, session: Session, container: Any, lan: Any, mailbox: tuple[Mailbox, int]
) -> None:
    resp = _start(client, lan)
    assert resp.status_code == 303, resp.text
    challenge = resp.headers["location"].split("c=")[1]
    page = client.get(resp.headers["location"])
    assert "la*" in page.text or "***" in page.text  # the address on record, masked
    assert jobs.runner(container).round() == 1  # the worker sends the mail
    box = mailbox[0]
    assert len(box.messages) == 1 and box.messages[0]["To"] == "lan.tran@example.vn"
    code = re.search(r"\b(\d{6})\b", box.messages[0].get_payload(decode=True).decode()).group(1)  # type: ignore[union-attr]
    wrong = client.post("/register/confirm", data={"challenge_id": challenge, "code": "000000", "password": PASSWORD,
                                                   "password_again": PASSWORD, "csrf_token": csrf_token(client)})
    assert wrong.status_code == 422 and "Mã xác nhận không đúng" in wrong.text
    done = client.post("/register/confirm", data={"challenge_id": challenge, "code": code, "password": PASSWORD,
                                                  "password_again": PASSWORD, "csrf_token": csrf_token(client)},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/login")
    login(client, lan.personal_id, PASSWORD)
    assert client.get("/api/auth/me").json()["acr"] == "1"
    session.rollback()
    account = session.scalars(select(Account).where(Account.username == lan.personal_id)).one()
    assert account.assurance_level == "1" and account.subject_id == lan.id
    proof = session.scalars(select(IdentityProofing).where(IdentityProofing.account_id == account.id)).one()
    assert proof.method == "registry_code_email"
    stored = session.scalars(select(OtpChallenge)).one()
    assert code not in stored.code_hash and stored.used_at is not None
    # The code is never in clear anywhere the platform keeps: not in events, not in job rows.
    assert all(code not in e.details for e in session.scalars(select(AuditEvent)))


def test_sms_goes_to_the_phone_on_record_through_the_development_outbox(
    client: Any, session: Session, container: Any, lan: Any, settings: Settings
) -> None:
    assert _start(client, lan, channel="sms").status_code == 303
    jobs.runner(container).round()
    sms = OutboxSender(settings.data_dir / "outbox").read("sms")
    assert len(sms) == 1 and sms[0]["to"] == "0912345678" and re.search(r"\b\d{6}\b", sms[0]["text"])


def test_details_that_do_not_match_get_one_answer_and_guessing_is_slowed(
    client: Any, session: Session, lan: Any
) -> None:
    wrong_date = _start(client, lan, birth_date="16/03/1991")
    unknown = _start(client, lan, personal_id="079191000999")
    assert wrong_date.status_code == unknown.status_code == 422
    message = "Thông tin không khớp với Cơ sở dữ liệu quốc gia về dân cư."
    assert message in wrong_date.text and message in unknown.text
    assert "79191000999" not in wrong_date.text.replace("079191000999", "")  # nothing about the registry leaks
    bad_digit = _start(client, lan, personal_id="07999100099")
    assert bad_digit.status_code == 422  # 11 digits: a format error naming the rule
    statuses = [_start(client, lan, birth_date=f"{d:02d}/03/1991").status_code for d in range(1, 8)]
    assert statuses[-1] == 429
    session.rollback()
    assert session.scalar(select(Account).where(Account.username == lan.personal_id)) is None
    assert "auth:registration:refused" in set(session.scalars(select(AuditEvent.event_type)))


def test_an_officer_verifies_in_person_and_level_two_needs_a_second_factor(
    client: Any, session: Session, clock: FixedClock, lan: Any, registry_tree: RegistryTree
) -> None:
    citizen = make_account(session, kind="citizen", username=lan.personal_id, display_name="Trần Thị Lan",
                           subject_id=lan.id)
    make_account(session, username="motcua01", roles=[("identity_verifier", registry_tree.dept_a.id)],
                 primary_agency_id=registry_tree.dept_a.id)
    login(client, "motcua01")
    page = client.get(f"/back-office/identity?q={lan.personal_id}")
    assert page.status_code == 200 and "Trần Thị Lan" in page.text
    missing = client.post("/back-office/identity/verify", data={
        "personal_id": lan.personal_id, "evidence_type": "cccd_chip", "evidence_ref": "",
        "csrf_token": csrf_token(client)})
    assert missing.status_code == 422 and "Nhập số giấy tờ" in missing.text
    ok = client.post("/back-office/identity/verify", data={
        "personal_id": lan.personal_id, "evidence_type": "cccd_chip", "evidence_ref": lan.personal_id,
        "csrf_token": csrf_token(client)})
    assert ok.status_code == 200 and "mức 2" in ok.text
    session.rollback()
    session.expire_all()  # the account object from the arrangement is still in this session's identity map
    assert session.get(Account, citizen.id).assurance_level == "2"  # type: ignore[union-attr]
    event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth:identity:verified")).one()
    assert event.actor_name and event.object_id == citizen.id and lan.personal_id not in event.details.replace(
        f'"subject":"{lan.personal_id}"', "")
    # Password only: level 1. With the authenticator app: level 2.
    login(client, lan.personal_id)
    assert client.get("/api/auth/me").json()["acr"] == "1"
    page = client.get("/account/mfa/totp").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    sealed = re.search(r'name="sealed" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    enrolled = client.post("/account/mfa/totp", data={"csrf_token": csrf_token(client), "sealed": sealed,
                                                      "code": pyotp.TOTP(secret).at(clock.now())})
    assert enrolled.status_code == 200, enrolled.text
    clock.advance(seconds=30)
    client.cookies.clear()
    client.get("/login")
    first = client.post("/login", data={"username": lan.personal_id, "password": "mật khẩu thử nghiệm đủ dài",
                                        "next": "/", "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert first.headers["location"].startswith("/login/second-factor"), first.text
    second = client.post("/login/second-factor", data={"code": pyotp.TOTP(secret).at(clock.now()), "next": "/",
                                                       "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert second.status_code == 303, second.text
    assert client.get("/api/auth/me").json()["acr"] == "2"


def test_an_officer_cannot_verify_their_own_account(client: Any, session: Session, lan: Any) -> None:
    """The officer acting is the subject (their own citizen account): refused, nothing changes."""
    from egov.auth.services.proofing import Proofing, SelfVerification
    from egov.platform.permissions import Principal

    own = make_account(session, kind="citizen", username=lan.personal_id, subject_id=lan.id)
    proofing = Proofing.from_container(client.app.state.container)
    me = Principal(account_id=own.id, kind="officer", display_name="Trần Thị Lan",
                   grants=frozenset({("auth:identity:verify", "*")}))
    with pytest.raises(SelfVerification):
        proofing.verify_in_person(session, me, personal_id=lan.personal_id, evidence_type="passport",
                                  evidence_ref="B1234567")
    session.rollback()
    session.expire_all()
    assert session.get(Account, own.id).assurance_level == "1"  # type: ignore[union-attr]


def test_security_notices_go_to_the_address_on_record(
    client: Any, session: Session, clock: FixedClock, container: Any, lan: Any, mailbox: tuple[Mailbox, int]
) -> None:
    make_account(session, kind="citizen", username=lan.personal_id, subject_id=lan.id)
    login(client, lan.personal_id)  # the first sign-in: no "new device" yet
    assert jobs.runner(container).round() == 0
    page = client.get("/account/mfa/totp").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    sealed = re.search(r'name="sealed" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/account/mfa/totp", data={"csrf_token": csrf_token(client), "sealed": sealed,
                                           "code": pyotp.TOTP(secret).at(clock.now())})
    client.cookies.clear()
    client.headers["User-Agent"] = "Mozilla/5.0 (Linux; Android 15) UnknownBrowser/1.0"
    client.get("/login")
    client.post("/login", data={"username": lan.personal_id, "password": "mật khẩu thử nghiệm đủ dài", "next": "/",
                                "csrf_token": csrf_token(client)}, follow_redirects=False)
    clock.advance(seconds=30)
    client.post("/login/second-factor", data={"code": pyotp.TOTP(secret).at(clock.now()), "next": "/",
                                              "csrf_token": csrf_token(client)}, follow_redirects=False)
    assert jobs.runner(container).round() == 2
    box = mailbox[0]
    bodies = [m.get_payload(decode=True).decode() for m in box.messages]
    assert all(m["To"] == "lan.tran@example.vn" for m in box.messages)
    assert any("ứng dụng xác thực vừa được thêm" in b for b in bodies)
    assert any("thiết bị hoặc trình duyệt mới" in b and "UnknownBrowser" in b for b in bodies)
    assert all(secret not in b for b in bodies)


def test_the_desk_look_up_of_a_citizen_is_audited(
    client: Any, session: Session, lan: Any, registry_tree: RegistryTree
) -> None:
    """Reading a citizen's account at the desk is reading personal data: an audit event names the officer."""
    citizen = make_account(session, kind="citizen", username=lan.personal_id, display_name="Trần Thị Lan",
                           subject_id=lan.id)
    officer = make_account(session, username="motcua02", roles=[("identity_verifier", registry_tree.dept_a.id)],
                           primary_agency_id=registry_tree.dept_a.id)
    login(client, "motcua02")
    assert client.get("/back-office/identity").status_code == 200  # the empty form reads nobody
    page = client.get(f"/back-office/identity?q={lan.personal_id}")
    assert page.status_code == 200 and "Trần Thị Lan" in page.text
    assert client.get("/back-office/identity?q=079191000999").status_code == 200  # nobody has this ID
    session.rollback()
    events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "auth:identity:looked_up")
                             .order_by(AuditEvent.id)).all()
    assert [e.object_id for e in events] == [citizen.id, None]
    assert all(e.actor_id == officer.id and e.actor_name for e in events)
    assert lan.personal_id not in events[0].details


def test_a_form_with_mistakes_lists_them_at_the_top_with_links(client: Any) -> None:
    """GOV.UK error summary: the citizen sees what to fix before the form, each item a link to its field."""
    from lxml import html as lxml_html

    client.get("/register")
    resp = client.post("/register", data={"csrf_token": csrf_token(client), "personal_id": "12",
                                          "full_name": "Lê Văn A", "birth_date": "31/02/1990",
                                          "channel": "email"}, follow_redirects=False)
    assert resp.status_code == 422
    doc = lxml_html.fromstring(resp.text)
    (summary,) = doc.xpath('//div[@class="error-summary"]')
    targets = [h.removeprefix("#") for h in summary.xpath(".//a/@href")]
    assert targets and all(doc.xpath(f'//*[@id="{t}"]') for t in targets), targets
