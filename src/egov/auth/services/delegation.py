"""Acting for someone else: a parent for a child under 14, a legal representative or an authorised
employee for an enterprise.

Who may act for whom is decided from the registry each time it matters, so it ends by itself: a
guardian link counts only while the registry says so and the child is under 14 on that day; an
enterprise counts for its legal representative while the registry names them; an employee's
delegation (granted by the representative, for chosen services, until a date) counts until that
date or until revoked. A session acting for a party carries it (`acting_for`); every audit event
then names both the actor and the represented party, and tokens carry the RFC 8693 `act` claim.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.models import Account, AccountKind, AuthSession, Delegation, OrganisationMember
from egov.auth.services.organisations import Organisations
from egov.platform.clock import Clock, today_vn
from egov.platform.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from egov.registry import GUARDIAN_AGE_LIMIT, RegistryFacts, age_on, build_registry_facts
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container


@dataclass(frozen=True)
class Party:
    key: str  # "citizen:<id>" | "enterprise:<id>"
    label: str
    via: str  # guardian | legal_representative | member (of the organisation account) | delegation
    services: tuple[str, ...] = ("*",)
    until: date | None = None

    def covers(self, service: str) -> bool:
        """Whether acting for this party reaches `service` (a relying party's client_id or a service code)."""
        return "*" in self.services or service in self.services


class Delegations:
    def __init__(self, clock: Clock, registry: RegistryFacts | None = None) -> None:
        self.clock = clock
        self.registry = registry or build_registry_facts()  # wards and enterprises are the registry's

    @classmethod
    def from_container(cls, container: Container) -> Delegations:
        return cls(container.clock)

    def parties(self, session: Session, account: Account) -> list[Party]:
        """Everyone `account` may act for today (not itself)."""
        today = today_vn(self.clock)
        out: list[Party] = []
        if account.kind == AccountKind.CITIZEN.value and account.subject_id:
            for child in self.registry.wards_of(session, account.subject_id):
                if age_on(child.birth_date, today) < GUARDIAN_AGE_LIMIT:
                    out.append(Party(f"citizen:{child.id}", child.full_name, "guardian"))
            for ent in self.registry.enterprises_represented_by(session, account.subject_id):
                out.append(Party(f"enterprise:{ent.id}", ent.name, "legal_representative"))
        known = {p.key for p in out}
        for org in session.scalars(select(Account).join(
                OrganisationMember, OrganisationMember.organisation_account_id == Account.id).where(
                OrganisationMember.member_account_id == account.id, OrganisationMember.removed_at.is_(None),
                Account.status == "active")):
            if org.subject_id and f"enterprise:{org.subject_id}" not in known:
                out.append(Party(f"enterprise:{org.subject_id}", org.display_name, "member"))
                known.add(f"enterprise:{org.subject_id}")
        for d in session.scalars(select(Delegation).where(Delegation.delegate_account_id == account.id,
                                                          Delegation.revoked_at.is_(None),
                                                          Delegation.valid_until >= today)):
            employer = self.registry.enterprise(session, d.enterprise_id)
            if employer is not None:
                out.append(Party(f"enterprise:{employer.id}", employer.name, "delegation",
                                 tuple(json.loads(d.services)), d.valid_until))
        return out

    def still_allowed(self, session: Session, account: Account, key: str) -> Party | None:
        """The one party `key` names, if `account` may still act for it (checked on every request, so
        it looks that party up alone rather than listing everyone)."""
        kind, _, party_id = key.partition(":")
        today = today_vn(self.clock)
        if kind == "citizen":
            child = self.registry.citizen(session, party_id)
            if (child is not None and account.subject_id and child.guardian_id == account.subject_id
                    and account.kind == AccountKind.CITIZEN.value
                    and age_on(child.birth_date, today) < GUARDIAN_AGE_LIMIT):
                return Party(key, child.full_name, "guardian")
            return None
        if kind != "enterprise":
            return None
        ent = self.registry.enterprise(session, party_id)
        if ent is None:
            return None
        if account.subject_id and ent.legal_representative_id == account.subject_id:
            return Party(key, ent.name, "legal_representative")
        if Organisations(self.clock, self.registry).is_member(session, ent.id, account):
            return Party(key, ent.name, "member")
        d = session.scalar(select(Delegation).where(
            Delegation.delegate_account_id == account.id, Delegation.enterprise_id == party_id,
            Delegation.revoked_at.is_(None), Delegation.valid_until >= today).limit(1))
        return Party(key, ent.name, "delegation", tuple(json.loads(d.services)), d.valid_until) if d else None

    def act_as(self, session: Session, account: Account, session_row: AuthSession, key: str | None) -> Party | None:
        """Start (or with None, stop) acting for a party in this browser session; audited either way."""
        if key is None:
            session_row.acting_for = None
            session_row.acting_label = None
            record_event(session, AuthAudit.DELEGATION_STOPPED, object_type="session", object_id=session_row.id)
            return None
        party = self.still_allowed(session, account, key)
        if party is None:
            raise PermissionDenied("Bạn không được thay mặt người hoặc tổ chức này.",
                                   "You may not act for this person or organisation.")
        session_row.acting_for = party.key
        session_row.acting_label = party.label[:300]
        record_event(session, AuthAudit.DELEGATION_STARTED, object_type="session", object_id=session_row.id,
                     details={"represented": party.key, "via": party.via, "services": list(party.services)})
        return party

    # --- an enterprise's representative manages employees' delegations ---------------------------------

    def grant(self, session: Session, representative: Account, *, enterprise_id: str, delegate_username: str,
              services: list[str], until: date | None) -> Delegation:
        today = today_vn(self.clock)
        if not representative.subject_id or enterprise_id not in {
                e.id for e in self.registry.enterprises_represented_by(session, representative.subject_id)}:
            raise PermissionDenied("Chỉ người đại diện theo pháp luật được uỷ quyền cho doanh nghiệp này.",
                                   "Only the legal representative may delegate for this enterprise.")
        errors: list[FieldError] = []
        delegate = session.scalar(select(Account).where(Account.username == delegate_username.strip().lower()))
        if delegate is None or delegate.id == representative.id:
            errors.append(FieldError("delegate", "unknown", "Không có tài khoản với tên đăng nhập này.",
                                     "No account has this username."))
        if until is None or until < today or (until - today).days > 366:
            errors.append(FieldError("until", "range", "Hạn uỷ quyền phải từ hôm nay đến tối đa một năm.",
                                     "The end date must be between today and one year from now."))
        chosen = sorted({s.strip() for s in services if s.strip()}) or ["*"]
        if errors:
            raise ValidationFailed(errors)
        assert delegate is not None and until is not None
        row = Delegation(enterprise_id=enterprise_id, delegate_account_id=delegate.id, services=json.dumps(chosen),
                         valid_until=until, granted_by=representative.id, created_at=self.clock.now())
        session.add(row)
        session.flush()
        record_event(session, AuthAudit.DELEGATION_GRANTED, object_type="delegation", object_id=row.id,
                     details={"enterprise": enterprise_id, "delegate": delegate.id, "services": chosen,
                              "until": until.isoformat()})
        return row

    def granted_by(self, session: Session, representative: Account) -> list[tuple[Delegation, Account | None]]:
        rows = session.scalars(select(Delegation).where(Delegation.granted_by == representative.id,
                                                        Delegation.revoked_at.is_(None))
                               .order_by(Delegation.created_at))
        return [(d, session.get(Account, d.delegate_account_id)) for d in rows]

    def granted(self, session: Session, representative: Account, delegation_id: str) -> Delegation:
        """A delegation this representative granted and has not revoked; NotFound otherwise (also for
        someone else's: ids are not worth guessing)."""
        row = session.get(Delegation, delegation_id)
        if row is None or row.granted_by != representative.id or row.revoked_at is not None:
            raise NotFound("Không tìm thấy uỷ quyền.", "Delegation not found.")
        return row

    def revoke(self, session: Session, representative: Account, delegation_id: str) -> None:
        """At once: sessions acting under it lose it on their next request (checked every time)."""
        row = self.granted(session, representative, delegation_id)
        row.revoked_at = self.clock.now()
        record_event(session, AuthAudit.DELEGATION_REVOKED, object_type="delegation", object_id=row.id,
                     details={"enterprise": row.enterprise_id, "delegate": row.delegate_account_id})
