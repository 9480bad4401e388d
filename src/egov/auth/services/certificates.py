"""Certificate sign-in at level 2: a person's certificate checked by the TLS proxy, or an agency system that
signs our one-time challenge with its agency certificate's key.

The proxy path believes the certificate header only from the addresses in `EGOV_AUTH__CLIENT_CERT_PROXIES`
(the peer of the connection, never X-Forwarded-For), and validates the certificate again itself:
chain to the trust list, validity, usage, revocation (hard failure). A person's certificate names
their personal ID (UID "CCCD:…"); with an agency code too it is an officer's, and signs in the officer
account. An agency certificate (organizationIdentifier, no person) never opens a browser session: it
only gets an access token for the agency's registered system, through the challenge.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.models import Account, AccountKind, OidcAuthorization, OidcClient
from egov.auth.services.accounts import AccountService
from egov.auth.services.passkeys import CERTIFICATE_AMR
from egov.auth.services.sign_in import SignedIn, SignInService
from egov.platform.clock import Clock, today_vn
from egov.platform.errors import DomainError
from egov.platform.ids import new_token
from egov.registry import build_registry_facts
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container
    from egov.signing import CertificateIdentity

CHALLENGE_TTL = timedelta(minutes=2)
LEVEL = "2"


class CertificateSignInRefused(DomainError):
    status = 401
    code = "certificate_sign_in_refused"
    title_vi = "Không đăng nhập được bằng chứng thư số"
    title_en = "Certificate sign-in refused"

    def __init__(self, reason: str, detail_vi: str, detail_en: str) -> None:
        self.reason = reason
        super().__init__(detail_vi, detail_en)


def _refused(reason: str) -> CertificateSignInRefused:
    return CertificateSignInRefused(
        reason, f"Chứng thư số không dùng được để đăng nhập ({reason}).",
        f"This certificate cannot be used to sign in ({reason}).")


@dataclass(frozen=True)
class Challenge:
    value: str
    expires_in: int


class CertificateSignIn:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.clock: Clock = container.clock
        self.sign_in = SignInService.from_container(container)
        self.accounts = AccountService.from_container(container)
        self.registry = build_registry_facts()  # who the certificate names, per the registry

    def _identity(self, session: Session, certificate_der: bytes, chain_der: list[bytes]) -> CertificateIdentity:
        from egov.signing import CertificateRefused, PkiTrust, authenticate_certificate

        trust = PkiTrust(self.container).trust_source_in(session)
        try:
            return authenticate_certificate(certificate_der, chain_der, trust, moment=self.clock.now())
        except CertificateRefused as exc:
            raise _refused(exc.reason) from None

    # --- a person, through the TLS proxy ---------------------------------------------------------------

    def sign_in_person(self, session: Session, certificate_der: bytes, *, ip: str | None, user_agent: str | None,
                       previous_token: str | None) -> SignedIn:
        try:
            ident = self._identity(session, certificate_der, [])
            account = self._person_account(session, ident)
            return self.sign_in.open_vouched(session, account, acr=LEVEL, amr=CERTIFICATE_AMR,
                                             via=f"certificate:{ident.serial}", ip=ip, user_agent=user_agent,
                                             previous_token=previous_token)
        except CertificateSignInRefused as exc:
            self._audit_refusal(session, exc.reason)
            raise

    def _person_account(self, session: Session, ident: CertificateIdentity) -> Account:
        if ident.personal_id is None:
            raise _refused("not_a_person")
        citizen = self.registry.citizen_by_personal_id(session, ident.personal_id)
        if citizen is None:
            raise _refused("not_in_registry")
        if ident.agency_code is not None:  # an officer's certificate: the officer's own account
            officer = self.registry.officer_of_citizen(session, citizen.id)
            account = session.scalar(select(Account).where(Account.kind == AccountKind.OFFICER.value,
                                                           Account.subject_id == officer.id)) if officer else None
            if officer is None or account is None:
                raise _refused("no_officer_account")
            # The certificate's agency must be one the officer holds a position in today, and open.
            today = today_vn(self.clock)
            agency = self.registry.agency_by_code(session, ident.agency_code)
            if agency is None or not agency.is_open_on(today) or agency.id not in {
                    p.agency_id for p in self.registry.positions_of(session, officer.id, on=today)}:
                raise _refused("agency_mismatch")
        else:
            account = session.scalar(select(Account).where(Account.kind == AccountKind.CITIZEN.value,
                                                           Account.subject_id == citizen.id))
            if account is None:
                account = self.accounts.create_account(session, kind=AccountKind.CITIZEN.value,
                                                       username=ident.personal_id, display_name=citizen.full_name,
                                                       subject_id=citizen.id)
        if not account.is_active:
            raise _refused("disabled")
        return account

    # --- an agency system, by challenge -----------------------------------------------------------------

    def challenge(self, session: Session) -> Challenge:
        value = new_token(32)
        now = self.clock.now()
        session.add(OidcAuthorization(id=hashlib.sha256(value.encode()).hexdigest(), kind="chal", client_id=None,
                                      params="{}", created_at=now, expires_at=now + CHALLENGE_TTL))
        return Challenge(value, int(CHALLENGE_TTL.total_seconds()))

    def agency_token(self, session: Session, body: dict[str, Any]) -> dict[str, Any]:
        """Check the challenge (once), the certificate, the signature and the agency; then a token for the
        agency's registered system. Every refusal is audited with its reason."""
        from egov.auth.oidc import OAuthError, OidcProvider
        from egov.signing import CertificateRefused, verify_possession

        try:
            challenge = str(body.get("challenge") or "")
            row_id = hashlib.sha256(challenge.encode()).hexdigest() if challenge else ""
            now = self.clock.now()
            # One try per challenge, whatever happens next: spent by an atomic update (two requests
            # racing with the same signed body cannot both pass).
            spent = session.execute(update(OidcAuthorization).where(
                OidcAuthorization.id == row_id, OidcAuthorization.kind == "chal",
                OidcAuthorization.used_at.is_(None), OidcAuthorization.expires_at > now).values(used_at=now))
            if spent.rowcount != 1:  # type: ignore[attr-defined]
                raise _refused("challenge")
            try:
                certificate = base64.b64decode(str(body.get("certificate") or ""), validate=True)
                chain = [base64.b64decode(str(c), validate=True) for c in body.get("chain") or []]
                signature = base64.urlsafe_b64decode(_padded(str(body.get("signature") or "")))
            except (binascii.Error, ValueError, TypeError):
                raise _refused("format") from None
            ident = self._identity(session, certificate, chain)
            if ident.agency_code is None or ident.names_a_person:
                raise _refused("not_an_agency")
            try:
                verify_possession(certificate, challenge.encode(), signature, str(body.get("alg") or "ES256"))
            except CertificateRefused as exc:
                raise _refused(exc.reason) from None
            agency = self.registry.agency_by_code(session, ident.agency_code)
            if agency is None or not agency.is_open_on(now.date()):
                raise _refused("agency_closed")
            client = self._agency_client(session, agency.id, body.get("client_id"))
            record_event(session, AuthAudit.CERTIFICATE_SIGN_IN, object_type="oidc_client", object_id=client.id,
                         actor_id=client.id, actor_kind="client", actor_name=client.name, agency_id=agency.id,
                         details={"serial": ident.serial, "issuer": ident.issuer, "agency_code": ident.agency_code})
            scopes = str(body.get("scope") or "").split()
            try:
                return OidcProvider.from_container(self.container).certificate_token(session, client, scopes)
            except OAuthError:
                raise _refused("scope") from None
        except CertificateSignInRefused as exc:
            self._audit_refusal(session, exc.reason, burn=row_id or None)
            raise

    @staticmethod
    def _agency_client(session: Session, agency_id: str, client_id: object) -> OidcClient:
        query = select(OidcClient).where(OidcClient.agency_id == agency_id, OidcClient.status == "active",
                                         OidcClient.client_type == "confidential")
        if isinstance(client_id, str) and client_id:
            query = query.where(OidcClient.id == client_id)
        clients = [c for c in session.scalars(query) if "client_credentials" in json.loads(c.grant_types)]
        if len(clients) != 1:
            raise _refused("no_agency_system" if not clients else "name_the_client_id")
        return clients[0]

    def _audit_refusal(self, session: Session, reason: str, burn: str | None = None) -> None:
        """Undo the attempt but keep its traces: the audit event, and the challenge spent (`burn`)."""

        def spend(work: Session) -> None:
            spent = work.get(OidcAuthorization, burn) if burn is not None else None
            if spent is not None and spent.used_at is None:
                spent.used_at = self.clock.now()

        self.sign_in.refused(session, {"reason": f"certificate:{reason}"}, object_type="certificate", keep=spend)


def _padded(value: str) -> str:
    return value + "=" * (-len(value) % 4)
