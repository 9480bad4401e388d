"""Organisation accounts: opened by the enterprise's legal representative, who adds the members that act for it.

The organisation account (username: the tax code) has no password of its own: people sign in as
themselves and act for the organisation, so every act names a person. Who controls it follows the
registry: whoever the registry names as legal representative today manages the members, together
with the members made administrators; a change of representative needs no migration here.

Opening one asks for a level-2 session (Decree 69/2024 gives organisations their electronic identity
through their representative's level-2 identity): a weaker session is stepped up, not refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.models import Account, AccountKind, AccountStatus, OrganisationMember
from egov.platform.clock import Clock
from egov.platform.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from egov.registry import EnterpriseFacts, RegistryFacts, build_registry_facts
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

OPEN_LEVEL = "2"
ROLES = ("admin", "member")


class LevelTooLow(PermissionDenied):
    """The session is below the level the act requires; the caller steps it up."""

    def __init__(self, needed: str) -> None:
        self.needed = needed
        super().__init__(f"Thao tác này cần phiên đăng nhập mức {needed}.",
                         f"This needs a level {needed} session.")


@dataclass(frozen=True)
class OrganisationView:
    enterprise: EnterpriseFacts
    account: Account | None  # None: not opened yet
    can_manage: bool
    members: list[tuple[OrganisationMember, Account]]


class Organisations:
    def __init__(self, clock: Clock, registry: RegistryFacts | None = None) -> None:
        self.clock = clock
        self.registry = registry or build_registry_facts()  # enterprises and representatives are the registry's

    @classmethod
    def from_container(cls, container: Container) -> Organisations:
        return cls(container.clock)

    @staticmethod
    def account_of(session: Session, enterprise_id: str) -> Account | None:
        return session.scalar(select(Account).where(Account.kind == AccountKind.ORGANISATION.value,
                                                    Account.subject_id == enterprise_id))

    @staticmethod
    def _membership(session: Session, org: Account, person: Account) -> OrganisationMember | None:
        return session.scalar(select(OrganisationMember).where(
            OrganisationMember.organisation_account_id == org.id, OrganisationMember.member_account_id == person.id,
            OrganisationMember.removed_at.is_(None)))

    def is_member(self, session: Session, enterprise_id: str, person: Account) -> bool:
        org = self.account_of(session, enterprise_id)
        return org is not None and org.is_active and self._membership(session, org, person) is not None

    def _manages(self, session: Session, org: Account, person: Account) -> bool:
        enterprise = self.registry.enterprise(session, org.subject_id) if org.subject_id else None
        if enterprise is not None and person.subject_id and enterprise.legal_representative_id == person.subject_id:
            return True
        m = self._membership(session, org, person)
        return m is not None and m.role == "admin"

    def mine(self, session: Session, person: Account) -> list[OrganisationView]:
        """Enterprises the person represents (opened or not) and organisations they belong to."""
        seen: dict[str, OrganisationView] = {}
        represented = self.registry.enterprises_represented_by(session, person.subject_id) if person.subject_id else []
        for ent in represented:
            org = self.account_of(session, ent.id)
            seen[ent.id] = OrganisationView(ent, org, True, self.members(session, org) if org else [])
        for m in session.scalars(select(OrganisationMember).where(OrganisationMember.member_account_id == person.id,
                                                                  OrganisationMember.removed_at.is_(None))):
            member_of = session.get(Account, m.organisation_account_id)
            employer = (self.registry.enterprise(session, member_of.subject_id)
                        if member_of is not None and member_of.subject_id else None)
            if member_of is None or employer is None or employer.id in seen:
                continue
            manage = m.role == "admin"
            seen[employer.id] = OrganisationView(employer, member_of, manage,
                                                 self.members(session, member_of) if manage else [])
        return list(seen.values())

    @staticmethod
    def members(session: Session, org: Account) -> list[tuple[OrganisationMember, Account]]:
        rows = session.execute(select(OrganisationMember, Account)
                               .join(Account, Account.id == OrganisationMember.member_account_id)
                               .where(OrganisationMember.organisation_account_id == org.id,
                                      OrganisationMember.removed_at.is_(None))
                               .order_by(OrganisationMember.added_at))
        return [(m, a) for m, a in rows]

    def open(self, session: Session, representative: Account, enterprise_id: str, *, session_level: str) -> Account:
        enterprise = self.registry.enterprise(session, enterprise_id)
        if (enterprise is None or not representative.subject_id
                or enterprise.legal_representative_id != representative.subject_id):
            raise PermissionDenied("Chỉ người đại diện theo pháp luật được mở tài khoản cho tổ chức này.",
                                   "Only the legal representative may open this organisation's account.")
        if session_level < OPEN_LEVEL:
            raise LevelTooLow(OPEN_LEVEL)
        if enterprise.status != "active":
            raise ValidationFailed.single("enterprise_id", "enterprise.status",
                                          "Doanh nghiệp không còn hoạt động theo cơ sở dữ liệu.",
                                          "The registry says the enterprise is no longer active.")
        if self.account_of(session, enterprise.id) is not None or session.scalar(
                select(Account.id).where(Account.username == enterprise.tax_code)) is not None:
            raise Conflict("Tổ chức này đã có tài khoản.", "This organisation already has an account.")
        now = self.clock.now()
        org = Account(kind=AccountKind.ORGANISATION.value, username=enterprise.tax_code,
                      display_name=enterprise.name[:200], password_hash=None, subject_id=enterprise.id,
                      status=AccountStatus.ACTIVE.value, created_at=now)
        session.add(org)
        session.flush()
        record_event(session, AuthAudit.ORGANISATION_OPENED, object_type="account", object_id=org.id,
                     details={"enterprise": enterprise.id, "tax_code": enterprise.tax_code})
        return org

    def add_member(self, session: Session, actor: Account, org_id: str, username: str, role: str, *,
                   session_level: str) -> OrganisationMember:
        org = self._managed(session, actor, org_id)
        if session_level < OPEN_LEVEL:  # who acts for the organisation is decided at the level it was opened
            raise LevelTooLow(OPEN_LEVEL)
        errors: list[FieldError] = []
        person = session.scalar(select(Account).where(Account.username == username.strip().lower()))
        if person is None or person.kind != AccountKind.CITIZEN.value or not person.is_active:
            errors.append(FieldError("member", "unknown", "Không có tài khoản công dân với tên đăng nhập này.",
                                     "No citizen account has this username."))
        if role not in ROLES:
            errors.append(FieldError("role", "choice", "Vai trò: quản trị hoặc thành viên.",
                                     "Role: admin or member."))
        if errors:
            raise ValidationFailed(errors)
        assert person is not None
        enterprise = self.registry.enterprise(session, org.subject_id) if org.subject_id else None
        if enterprise is not None and person.subject_id == enterprise.legal_representative_id:
            # The representative acts through the registry, not a membership that would outlive the role.
            raise ValidationFailed.single("member", "representative",
                                          "Người đại diện theo pháp luật không cần thêm làm thành viên.",
                                          "The legal representative needs no membership.")
        if self._membership(session, org, person) is not None:
            raise Conflict("Người này đã là thành viên.", "This person is already a member.")
        row = OrganisationMember(organisation_account_id=org.id, member_account_id=person.id, role=role,
                                 added_by=actor.id, added_at=self.clock.now())
        session.add(row)
        session.flush()
        record_event(session, AuthAudit.ORGANISATION_MEMBER_ADDED, object_type="account", object_id=org.id,
                     details={"member": person.id, "role": role})
        return row

    def remove_member(self, session: Session, actor: Account, org_id: str, membership_id: str, *,
                      session_level: str) -> None:
        """At once: a member acting for the organisation loses it on their next request."""
        if session_level < OPEN_LEVEL:
            self._managed(session, actor, org_id)  # not found before "step up", as before
            raise LevelTooLow(OPEN_LEVEL)
        org, row, _ = self.membership(session, actor, org_id, membership_id)
        row.removed_at = self.clock.now()
        record_event(session, AuthAudit.ORGANISATION_MEMBER_REMOVED, object_type="account", object_id=org.id,
                     details={"member": row.member_account_id})

    def membership(self, session: Session, actor: Account, org_id: str,
                   membership_id: str) -> tuple[Account, OrganisationMember, Account | None]:
        """A current member of an organisation `actor` manages, with both accounts; NotFound otherwise
        (looked up before the removal is confirmed, so nothing is asked about an id that is not there)."""
        org = self._managed(session, actor, org_id)
        row = session.get(OrganisationMember, membership_id)
        if row is None or row.organisation_account_id != org.id or row.removed_at is not None:
            raise NotFound("Không tìm thấy thành viên.", "Member not found.")
        return org, row, session.get(Account, row.member_account_id)

    def _managed(self, session: Session, actor: Account, org_id: str) -> Account:
        org = session.get(Account, org_id)
        if org is None or org.kind != AccountKind.ORGANISATION.value or not self._manages(session, org, actor):
            # One answer for "no such organisation" and "not yours": ids are not worth guessing.
            raise NotFound("Không tìm thấy tổ chức.", "Organisation not found.")
        return org
