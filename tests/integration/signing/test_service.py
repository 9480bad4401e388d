"""The signing service on a real database: audit in the same transaction, remote signing bound to the
document's hash by a fresh second factor, and the B-LTA archive renewal job."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from tests.factories.auth import make_account
from tests.factories.signing import SigningWorld, make_pdf

from egov.auth import AuthAudit, SecondFactors, build_step_up_verifier
from egov.auth.models import Account
from egov.bootstrap import Container
from egov.platform.clock import FixedClock
from egov.platform.jobs import JobRunner, enqueue
from egov.platform.permissions import GLOBAL, Principal
from egov.signing import ApprovalRefused, Indication, SigningService, job_handlers
from egov.signing.audit import SigningAudit
from egov.signing.models import ArchivedDocument, RemoteApproval, SignatureRecord
from egov.signing.services import sha256_hex
from egov.signing.tasks import RENEW_ARCHIVES
from egov.soc.models import AuditEvent


class WorldTrust:
    def __init__(self, world: SigningWorld) -> None:
        self.world = world

    def trust_source(self):  # type: ignore[no-untyped-def]
        return self.world.trust_with()


@pytest.fixture
def service(container: Container, signing_world: SigningWorld) -> SigningService:
    svc = SigningService(clock=container.clock, keys=signing_world.keys,
                         secret_key=container.settings.secret_key_bytes(), trust=WorldTrust(signing_world),
                         timestamper=signing_world.timestamper, step_up=build_step_up_verifier(container))
    container.cache["signing.service"] = svc
    return svc


@pytest.fixture
def officer(session: Session, container: Container, clock: FixedClock, service: SigningService,
            signing_world: SigningWorld) -> tuple[Principal, pyotp.TOTP]:
    account = make_account(session, username="canbo.ky", display_name="Nguyễn Văn An")
    factors = SecondFactors.from_container(container)
    enrol = factors.begin_totp(account)
    totp = pyotp.TOTP(enrol.secret)
    factors.confirm_totp(session, account, enrol.sealed, totp.at(clock.now()))
    w = signing_world
    service.register_identity(session, holder=f"account:{account.id}", key_name="officer-an",
                              certificate_der=w.officer.certificate_der, chain_der=w.officer.chain_der,
                              display_name="Nguyễn Văn An", position="Phó Giám đốc",
                              agency_name="Sở Thông tin và Truyền thông")
    session.commit()
    clock.advance(seconds=31)  # the enrolment code's step is used up; the next approval needs a fresh one
    principal = Principal(account_id=account.id, kind="officer", display_name="Nguyễn Văn An",
                          grants=frozenset({("signing:document:sign", "agency-1")}), acr="2")
    return principal, totp


def events(session: Session, event_type: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def test_remote_signing_happy_path_is_audited(session: Session, service: SigningService, clock: FixedClock,
                                              officer: tuple[Principal, Any]) -> None:
    by, totp = officer
    pdf = make_pdf(text="Quyet dinh so 15")
    approval = service.request_approval(session, by, "pdf", pdf, name="quyet-dinh-15.pdf")
    token = service.approve(session, by, approval.id, sha256_hex(pdf), totp.at(clock.now()))
    signed = service.sign_remote(session, by, approval.id, token, pdf, level="B-T")
    session.commit()
    report = service.validate(None, "pdf", signed.data)
    assert report.indication is Indication.TOTAL_PASSED, report.to_dict()
    assert report.signatures[0].level == "B-T"
    for kind in (SigningAudit.REMOTE_REQUESTED, SigningAudit.REMOTE_ACTIVATED, SigningAudit.SIGNED):
        assert len(events(session, kind)) == 1, kind
    row = session.get(SignatureRecord, signed.signature_id)
    assert row is not None and row.document_sha256 == sha256_hex(pdf) and row.approval_id == approval.id


def test_an_approval_signs_only_the_document_shown(session: Session, service: SigningService,
                                                   clock: FixedClock, officer: tuple[Principal, Any]) -> None:
    by, totp = officer
    shown, other = make_pdf(text="Van ban A"), make_pdf(text="Van ban B")
    approval = service.request_approval(session, by, "pdf", shown)
    with pytest.raises(ApprovalRefused):  # confirming a hash other than the one shown
        service.approve(session, by, approval.id, sha256_hex(other), totp.at(clock.now()))
    token = service.approve(session, by, approval.id, sha256_hex(shown), totp.at(clock.now()))
    with pytest.raises(ApprovalRefused, match="differs"):
        service.sign_remote(session, by, approval.id, token, other)
    assert session.scalar(select(SignatureRecord.id)) is None
    service.sign_remote(session, by, approval.id, token, shown)
    with pytest.raises(ApprovalRefused, match="once"):
        service.sign_remote(session, by, approval.id, token, shown)
    assert len(list(session.scalars(select(SignatureRecord)))) == 1
    assert {e.details for e in events(session, SigningAudit.REMOTE_REFUSED)}  # each refusal audited


def test_a_disabled_account_cannot_approve_and_no_code_failure_is_counted(
        session: Session, service: SigningService, clock: FixedClock, officer: tuple[Principal, Any]) -> None:
    """auth's step-up refuses the account itself (StepUpRefused); signing reports it as ApprovalRefused."""
    by, totp = officer
    pdf = make_pdf()
    approval = service.request_approval(session, by, "pdf", pdf)
    session.execute(update(Account).where(Account.id == by.account_id).values(status="disabled"))
    with pytest.raises(ApprovalRefused, match="cannot approve signatures"):
        service.approve(session, by, approval.id, sha256_hex(pdf), totp.at(clock.now()))
    assert events(session, AuthAudit.SECOND_FACTOR_FAILED) == []  # not a wrong code: nothing to throttle


def test_an_approval_is_short_lived(session: Session, service: SigningService, clock: FixedClock,
                                    officer: tuple[Principal, Any]) -> None:
    by, totp = officer
    pdf = make_pdf()
    approval = service.request_approval(session, by, "pdf", pdf)
    token = service.approve(session, by, approval.id, sha256_hex(pdf), totp.at(clock.now()))
    clock.advance(seconds=301)
    with pytest.raises(ApprovalRefused, match="expired"):
        service.sign_remote(session, by, approval.id, token, pdf)


def test_wrong_code_is_refused_and_the_refusal_survives_the_rollback(
        session: Session, service: SigningService, db: Any, officer: tuple[Principal, Any]) -> None:
    by, _ = officer
    pdf = make_pdf()
    approval = service.request_approval(session, by, "pdf", pdf)
    session.commit()
    with pytest.raises(ApprovalRefused):
        service.approve(session, by, approval.id, sha256_hex(pdf), "000000")
    session.commit()  # as the API does: the refusal (and the throttle) are kept, nothing else changed
    assert len(events(session, SigningAudit.REMOTE_REFUSED)) == 1
    assert session.get(RemoteApproval, approval.id).approved_at is None  # type: ignore[union-attr]


def test_an_operator_with_admin_rights_or_database_access_cannot_sign(
        session: Session, service: SigningService, clock: FixedClock, officer: tuple[Principal, Any]) -> None:
    by, totp = officer
    pdf = make_pdf()
    approval = service.request_approval(session, by, "pdf", pdf)
    session.commit()
    admin = Principal(account_id="admin-1", kind="admin", display_name="Quản trị",
                      grants=frozenset({("signing:document:sign", GLOBAL), ("signing:identity:manage", GLOBAL)}))
    with pytest.raises(ApprovalRefused):  # a global grant does not approve someone else's document
        service.approve(session, admin, approval.id, sha256_hex(pdf), totp.at(clock.now()))
    # With database access the operator marks the approval approved and invents a token hash ...
    session.execute(update(RemoteApproval).where(RemoteApproval.id == approval.id).values(
        approved_at=clock.now(), approved_with="otp", token_hash=sha256_hex(b"operator-token")))
    session.commit()
    for who in (admin, by):  # ... but no token matches without the platform secret and the user's code
        with pytest.raises(ApprovalRefused):
            service.sign_remote(session, who, approval.id, "operator-token", pdf)
    assert session.scalar(select(SignatureRecord.id)) is None


def test_seal_after_officer_and_archive_renewal_job(session: Session, service: SigningService,
                                                    container: Container, clock: FixedClock,
                                                    signing_world: SigningWorld) -> None:
    w = signing_world
    record = service.register_identity(session, holder="agency:agency-1", key_name="seal-stttt",
                                       certificate_der=w.seal.certificate_der, chain_der=w.seal.chain_der,
                                       display_name="Sở TT&TT", agency_name="Sở Thông tin và Truyền thông")
    keeper = Principal(account_id="vanthu-1", kind="officer", display_name="Văn thư",
                       grants=frozenset({("signing:seal:apply", "agency-1")}))
    sealed = service.apply_seal(session, keeper, "agency-1", make_pdf(), level="B-LTA")
    session.commit()
    assert len(events(session, SigningAudit.SEALED)) == 1
    archive = session.scalars(select(ArchivedDocument)).one()
    assert archive.content == sealed.data and archive.renewals == 0
    assert record.id
    # the job: nothing due yet; then the renewal window opens
    runner = JobRunner(container.db, clock, job_handlers(container))
    enqueue(session, RENEW_ARCHIVES, {}, now=clock.now())
    session.commit()
    runner.round()
    runner.round()
    session.expire_all()
    assert session.get(ArchivedDocument, archive.id).renewals == 0  # type: ignore[union-attr]
    session.execute(update(ArchivedDocument).values(renew_after=clock.now() - timedelta(minutes=1)))
    enqueue(session, RENEW_ARCHIVES, {}, now=clock.now())
    session.commit()
    runner.round()
    runner.round()
    session.expire_all()
    renewed = session.get(ArchivedDocument, archive.id)
    assert renewed is not None and renewed.renewals == 1
    assert renewed.content.startswith(sealed.data)
    assert len(PdfFileReader(io.BytesIO(renewed.content)).embedded_timestamp_signatures) == 2
    assert service.validate(None, "pdf", renewed.content).indication is Indication.TOTAL_PASSED
    assert len(events(session, SigningAudit.ARCHIVE_RENEWED)) == 1
    with pytest.raises(Exception, match="permission"):
        service.apply_seal(session, keeper, "agency-2", make_pdf())



def test_a_certificate_that_cannot_sign_is_not_registered(session: Session, service: SigningService,
                                                          signing_world: SigningWorld) -> None:
    from datetime import UTC, datetime

    from cryptography.x509.oid import ExtendedKeyUsageOID
    from tests.factories.certs import TestPki, der

    from egov.platform.keys import KeyAlgorithm
    from egov.signing import SigningError
    from egov.signing.models import SigningIdentityRecord

    w = signing_world
    now = datetime.now(UTC)
    info = w.keys.ensure("reg-officer", KeyAlgorithm.ECDSA_P256)
    stranger = TestPki.create(label="không tin cậy")
    cases = {
        "NO_CERTIFICATE_CHAIN_FOUND": (stranger.issue(info.public_key_der, common_name="A"), stranger.chain_der),
        "CHAIN_CONSTRAINTS_FAILURE": (w.pki.issue(info.public_key_der, common_name="B",
                                                  eku=[ExtendedKeyUsageOID.SERVER_AUTH]), w.pki.chain_der),
        "OUT_OF_BOUNDS_NO_POE": (w.pki.issue(info.public_key_der, common_name="C",
                                             not_before=now - timedelta(days=9), not_after=now - timedelta(days=1)),
                                 w.pki.chain_der),
    }
    for reason, (cert, chain) in cases.items():
        with pytest.raises(SigningError, match=reason):
            service.register_identity(session, holder="account:x", key_name="reg-officer",
                                      certificate_der=der(cert), chain_der=chain, display_name="X")
    assert session.scalar(select(SigningIdentityRecord.id)) is None


def test_a_retired_identity_no_longer_signs(session: Session, service: SigningService, clock: FixedClock,
                                            officer: tuple[Principal, Any], signing_world: SigningWorld) -> None:
    by, totp = officer
    pdf = make_pdf()
    approval = service.request_approval(session, by, "pdf", pdf)
    token = service.approve(session, by, approval.id, sha256_hex(pdf), totp.at(clock.now()))
    assert service.retire_identities(session, certificate_der=signing_world.officer.certificate_der,
                                     reason="revoked: key compromise") == 1
    with pytest.raises(ApprovalRefused):
        service.sign_remote(session, by, approval.id, token, pdf)
    with pytest.raises(Exception, match="No valid signing certificate"):
        service.request_approval(session, by, "pdf", pdf)
    assert len(events(session, SigningAudit.IDENTITY_RETIRED)) == 1


@pytest.mark.postgres_only
def test_two_racing_uses_of_one_approval_sign_once(session: Session, service: SigningService, clock: FixedClock,
                                                   db: Any, officer: tuple[Principal, Any]) -> None:
    """The other request claims the approval while this one is signing: this one's signature is dropped
    (row and audit event, with its savepoint) and it is refused."""
    if not db.is_postgres:
        pytest.skip("SQLite has one writer: two open write transactions cannot race")
    by, totp = officer
    pdf = make_pdf()
    approval = service.request_approval(session, by, "pdf", pdf)
    token = service.approve(session, by, approval.id, sha256_hex(pdf), totp.at(clock.now()))
    session.commit()
    real_sign = service.sign

    def sign_then_lose_the_race(*args: Any, **kwargs: Any) -> Any:
        out = real_sign(*args, **kwargs)
        with db.session() as other:  # the winner commits first
            other.execute(update(RemoteApproval).where(RemoteApproval.id == approval.id)
                          .values(consumed_at=clock.now()))
            other.commit()
        return out

    service.sign = sign_then_lose_the_race  # type: ignore[method-assign]
    with pytest.raises(ApprovalRefused, match="once"):
        service.sign_remote(session, by, approval.id, token, pdf)
    session.commit()  # as the API does, keeping the refusal
    assert session.scalar(select(SignatureRecord.id)) is None
    assert events(session, SigningAudit.SIGNED) == []
    assert len(events(session, SigningAudit.REMOTE_REFUSED)) == 1
