"""AccountService: create accounts, set passwords, disable, grant and revoke roles — each one audited."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.models import Account, AccountKind, AccountStatus, AuthSession, RoleAssignment
from egov.auth.passwords import Passwords, WrongPassword, check_password_policy
from egov.auth.permissions import AuthPermission
from egov.auth.roles import global_only_roles, is_role
from egov.auth.settings import AuthSettings
from egov.auth.usernames import USERNAME_RULES, account_throttle_key, normalise_username
from egov.platform.clock import Clock
from egov.platform.errors import Conflict, ErrorCollector, FieldError, NotFound, PermissionDenied, ValidationFailed
from egov.platform.permissions import GLOBAL, Principal, Scope, scope_of
from egov.platform.throttle import Throttle
from egov.registry import build_registry_facts
from egov.soc import record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

ROLE_HOLDER_KINDS = frozenset({AccountKind.OFFICER.value, AccountKind.ADMIN.value})

Subtree = Callable[[Session, Iterable[str]], set[str]]
"""Agency ids below (and merged into) the given ones: the registry's `subtree_ids` (it owns the tree)."""


def _denied() -> PermissionDenied:
    return PermissionDenied("Bạn không có quyền thực hiện thao tác này.", "You do not have permission for this action.")


class AccountService:
    """Creates accounts, sets passwords, disables accounts and grants roles — each one audited.

    `actor` is the principal doing it, or None for the system (CLI, demo loader, migrations of data);
    with a principal, agency scope is checked here, not in the view.
    """

    def __init__(self, passwords: Passwords, clock: Clock, throttle: Throttle | None = None,
                 subtree: Subtree | None = None) -> None:
        self.passwords = passwords
        self.clock = clock
        self.throttle = throttle or Throttle()
        self.subtree = subtree

    @classmethod
    def from_container(cls, container: Container) -> AccountService:
        s = container.settings
        a = s.section(AuthSettings)
        return cls(Passwords.from_settings(s), container.clock,
                   Throttle(free=a.login_free_attempts, base_seconds=a.login_backoff_base_seconds,
                            max_seconds=a.login_backoff_max_seconds),
                   build_registry_facts().subtree_ids)

    def _scope(self, session: Session, actor: Principal) -> Scope:
        """Where `actor` may grant roles: the subtrees of its role:grant agencies when the registry can
        tell (platform.permissions.scope_of, the one record-level mechanism)."""
        return scope_of(session, actor, AuthPermission.ROLE_GRANT, self.subtree)

    # --- reading -------------------------------------------------------------------------------

    def get(self, session: Session, account_id: str) -> Account:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFound("Không tìm thấy tài khoản.", "Account not found.")
        return account

    def by_username(self, session: Session, username: str) -> Account:
        account = session.scalar(select(Account).where(Account.username == normalise_username(username)))
        if account is None:
            raise NotFound("Không tìm thấy tài khoản.", "Account not found.")
        return account

    def roles_of(self, session: Session, account_id: str) -> list[RoleAssignment]:
        return list(session.scalars(
            select(RoleAssignment).where(RoleAssignment.account_id == account_id)
            .order_by(RoleAssignment.agency_id, RoleAssignment.role)
        ))

    def list_for_admin(self, session: Session, actor: Principal, query: str = "",
                       limit: int = 100) -> list[tuple[Account, list[RoleAssignment]]]:
        """Officer and admin accounts `actor` may manage: all with a global grant, else those of their agencies."""
        stmt = select(Account).where(Account.kind.in_(ROLE_HOLDER_KINDS))
        scope = self._scope(session, actor)
        if scope.agencies is not None:  # an account is in scope by its primary agency or a role it holds there
            agencies = sorted(scope.agencies)
            held = select(RoleAssignment.account_id).where(RoleAssignment.agency_id.in_(agencies))
            stmt = stmt.where(or_(Account.primary_agency_id.in_(agencies), Account.id.in_(held)))
        q = query.strip()
        if q:
            stmt = stmt.where(or_(Account.username.contains(q.lower(), autoescape=True),
                                  Account.display_name.icontains(q, autoescape=True)))
        return self._with_roles(session, list(session.scalars(stmt.order_by(Account.username).limit(limit))))

    def list_accounts(self, session: Session, *, kind: str | None = None,
                      limit: int = 200) -> list[tuple[Account, list[RoleAssignment]]]:
        """Every account (of one kind), for operators at the command line."""
        stmt = select(Account).order_by(Account.kind, Account.username).limit(limit)
        if kind:
            stmt = stmt.where(Account.kind == kind)
        return self._with_roles(session, list(session.scalars(stmt)))

    def _with_roles(self, session: Session, accounts: list[Account]) -> list[tuple[Account, list[RoleAssignment]]]:
        roles: dict[str, list[RoleAssignment]] = {a.id: [] for a in accounts}
        if accounts:
            for r in session.scalars(select(RoleAssignment).where(RoleAssignment.account_id.in_(roles))
                                     .order_by(RoleAssignment.role, RoleAssignment.agency_id)):
                roles[r.account_id].append(r)
        return [(a, roles[a.id]) for a in accounts]

    # --- changing ------------------------------------------------------------------------------

    def create_account(
        self,
        session: Session,
        *,
        kind: str,
        username: str,
        display_name: str,
        password: str | None = None,
        subject_id: str | None = None,
        primary_agency_id: str | None = None,
    ) -> Account:
        """Create an active account; without `password` it cannot sign in with one until it is set."""
        name = normalise_username(username)
        display = " ".join(display_name.split())
        errors = ErrorCollector()
        rule = USERNAME_RULES.get(kind)
        if rule is None:
            errors.add("kind", "account.kind", "Loại tài khoản không hợp lệ.", "Unknown account kind.")
        elif not rule[0].fullmatch(name):
            errors.add("username", f"username.{kind}", rule[1], rule[2])
        if not display or len(display) > 200:
            errors.add("display_name", "display_name.length", "Tên hiển thị phải có từ 1 đến 200 ký tự.",
                       "The display name must be 1 to 200 characters long.")
        if password is not None:
            try:
                check_password_policy(password, name)
            except ValidationFailed as exc:
                errors.extend(exc.errors)
        errors.raise_if_any()
        if session.scalar(select(Account.id).where(Account.username == name)) is not None:
            raise Conflict("Tên đăng nhập này đã được sử dụng.", "This username is already taken.",
                           errors=[FieldError("username", "username.taken", "Tên đăng nhập này đã được sử dụng.",
                                              "This username is already taken.")])
        now = self.clock.now()
        account = Account(
            kind=kind, username=name, display_name=display,
            password_hash=self.passwords.hash(password) if password is not None else None,
            subject_id=subject_id, primary_agency_id=primary_agency_id,
            status=AccountStatus.ACTIVE.value, created_at=now,
            password_changed_at=now if password is not None else None,
        )
        session.add(account)
        session.flush()
        record_event(session, AuthAudit.ACCOUNT_CREATED, object_type="account", object_id=account.id,
                     agency_id=primary_agency_id, at=now,
                     details={"kind": kind, "username": name, "subject_id": subject_id})
        return account

    def set_password(self, session: Session, account_id: str, new_password: str, *, field: str = "password") -> None:
        """Set a password without knowing the old one (administrator, CLI); every session is signed out."""
        account = self.get(session, account_id)
        check_password_policy(new_password, account.username, field=field)
        self._store_password(session, account, new_password, keep_session_id=None, how="reset")

    def change_password(self, session: Session, account_id: str, current_password: str, new_password: str,
                        *, keep_session_id: str | None) -> None:
        """The holder changes their own password; the current one is checked (and throttled like a sign-in)."""
        account = self.get(session, account_id)
        key = account_throttle_key(account.username)
        now = self.clock.now()
        self.throttle.check(session, [key], now)
        try:
            if account.password_hash is None:
                raise WrongPassword
            self.passwords.verify(account.password_hash, current_password)
        except WrongPassword:
            self.throttle.fail(session, [key], now)
            record_event(session, AuthAudit.PASSWORD_CHANGED, outcome="failure", object_type="account",
                         object_id=account.id, at=now, details={"reason": "wrong_current_password"})
            session.commit()  # the failed guess must count even though the request fails
            raise ValidationFailed.single(
                "current_password", "current_password.wrong",
                "Mật khẩu hiện tại không đúng.", "The current password is incorrect.") from None
        check_password_policy(new_password, account.username, field="new_password")
        self._store_password(session, account, new_password, keep_session_id=keep_session_id, how="change")

    def _store_password(self, session: Session, account: Account, password: str, *,
                        keep_session_id: str | None, how: str) -> None:
        now = self.clock.now()
        account.password_hash = self.passwords.hash(password)
        account.password_changed_at = now
        ended = _revoke_sessions(session, account.id, now, keep=keep_session_id)
        record_event(session, AuthAudit.PASSWORD_CHANGED, object_type="account", object_id=account.id,
                     agency_id=account.primary_agency_id, at=now,
                     details={"how": how, "sessions_ended": ended})

    def disable(self, session: Session, account_id: str) -> None:
        """Stop an account from signing in and end its sessions; its history and roles stay."""
        account = self.get(session, account_id)
        now = self.clock.now()
        account.status = AccountStatus.DISABLED.value
        ended = _revoke_sessions(session, account.id, now, keep=None)
        record_event(session, AuthAudit.ACCOUNT_DISABLED, object_type="account", object_id=account.id,
                     agency_id=account.primary_agency_id, at=now, details={"sessions_ended": ended})

    def enable(self, session: Session, account_id: str) -> None:
        account = self.get(session, account_id)
        account.status = AccountStatus.ACTIVE.value
        record_event(session, AuthAudit.ACCOUNT_ENABLED, object_type="account", object_id=account.id,
                     agency_id=account.primary_agency_id, at=self.clock.now())

    def grant_role(self, session: Session, account_id: str, role: str, agency_id: str, *,
                   actor: Principal | None = None) -> RoleAssignment:
        """Give `role` in `agency_id` ("*" = every agency); granting what is already held changes nothing."""
        account = self.get(session, account_id)
        self._check_grant(session, actor, account, role, agency_id)
        existing = session.scalar(select(RoleAssignment).where(
            RoleAssignment.account_id == account.id, RoleAssignment.role == role,
            RoleAssignment.agency_id == agency_id))
        if existing is not None:
            return existing
        now = self.clock.now()
        assignment = RoleAssignment(account_id=account.id, role=role, agency_id=agency_id,
                                    granted_by=actor.account_id if actor else None, granted_at=now)
        session.add(assignment)
        session.flush()
        record_event(session, AuthAudit.ROLE_GRANTED, object_type="account", object_id=account.id,
                     agency_id=agency_id, at=now,
                     details={"role": role, "agency_id": agency_id, "username": account.username})
        return assignment

    def revoke_role(self, session: Session, account_id: str, role: str, agency_id: str, *,
                    actor: Principal | None = None) -> None:
        account = self.get(session, account_id)
        self._check_grant(session, actor, account, role, agency_id, revoking=True)
        assignment = session.scalar(select(RoleAssignment).where(
            RoleAssignment.account_id == account.id, RoleAssignment.role == role,
            RoleAssignment.agency_id == agency_id))
        if assignment is None:
            raise NotFound("Tài khoản không có vai trò này tại cơ quan này.",
                           "The account does not hold this role in this agency.")
        session.delete(assignment)
        record_event(session, AuthAudit.ROLE_REVOKED, object_type="account", object_id=account.id,
                     agency_id=agency_id, at=self.clock.now(),
                     details={"role": role, "agency_id": agency_id, "username": account.username})

    def _check_grant(self, session: Session, actor: Principal | None, account: Account, role: str,
                     agency_id: str, revoking: bool = False) -> None:
        errors = ErrorCollector()
        if not is_role(role) and not revoking:
            errors.add("role", "role.unknown", "Vai trò không tồn tại.", "Unknown role.")
        if not agency_id or len(agency_id) > 36:
            errors.add("agency_id", "agency_id.invalid", "Mã cơ quan không hợp lệ.", "Invalid agency id.")
        if account.kind not in ROLE_HOLDER_KINDS and not revoking:
            errors.add("account", "account.kind", "Chỉ tài khoản cán bộ hoặc quản trị mới được giao vai trò.",
                       "Only officer and administrator accounts can hold roles.")
        errors.raise_if_any()
        if actor is None:
            return
        if actor.account_id == account.id and not revoking:
            # Segregation of duties: nobody widens their own rights, not even within their agency.
            raise PermissionDenied("Bạn không thể tự giao vai trò cho chính mình.",
                                   "You cannot grant roles to yourself.")
        scope = GLOBAL if agency_id == GLOBAL or role in global_only_roles() else agency_id
        if scope == GLOBAL:
            if (AuthPermission.ROLE_GRANT.value, GLOBAL) not in actor.grants:
                raise _denied()
        elif not actor.can(AuthPermission.ROLE_GRANT, agency_id) and not self._scope(session, actor).allows(agency_id):
            raise _denied()


def _revoke_sessions(session: Session, account_id: str, now: datetime, *, keep: str | None) -> int:
    rows = session.scalars(select(AuthSession).where(
        AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None))).all()
    ended = 0
    for row in rows:
        if row.id != keep:
            row.revoked_at = now
            ended += 1
    return ended
