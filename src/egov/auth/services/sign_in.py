"""SignInService: password sign-in with expiring backoff, and the sessions it opens, resolves and ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import BindParameter, Select, String, bindparam, exists, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egov.auth.audit import AuthAudit
from egov.auth.interfaces import InvalidCredentials, SecondFactorRequired, SignedIn
from egov.auth.models import Account, Authenticator, AuthSession, RoleAssignment
from egov.auth.passwords import Passwords, WrongPassword
from egov.auth.roles import grants_for
from egov.auth.services.mfa import SecondFactors
from egov.auth.services.notices import notify
from egov.auth.services.passkeys import PASSKEY_AMR, PHISHING_RESISTANT_AMR
from egov.auth.services.proofing import session_acr
from egov.auth.sessions import PASSWORD_AMR, SessionPolicy, new_session_token, session_id_for
from egov.auth.settings import AuthSettings
from egov.auth.usernames import account_throttle_key, looks_like_username, normalise_username
from egov.platform.clock import Clock
from egov.platform.db import table_of
from egov.platform.errors import NotFound, TooManyAttempts, ValidationFailed
from egov.platform.permissions import Principal
from egov.platform.throttle import Throttle
from egov.soc import event_values, insert_with_event, record_event

if TYPE_CHECKING:
    from egov.platform.container import Container

STAFF_KINDS = ("officer", "admin")
_SESSIONS = table_of(AuthSession)
# A source address gets more free failures than an account: a ward office shares one address.
IP_FREE_ATTEMPTS = 20


@dataclass(frozen=True)
class SessionView:
    """What the account page shows about one of the holder's sessions."""

    id: str
    created_at: datetime
    last_seen_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


@cache
def _lookup_statement() -> Select[Account, bool, bool, bool, datetime, bool]:
    """The sign-in lookup, built once: constructing it and computing its cache key on every sign-in
    cost a tenth of the request's own CPU (sign-in is Argon2-bound; what is left must be lean)."""
    keys: list[BindParameter[str]] = [bindparam("acct_key", type_=String), bindparam("ip_key", type_=String)]
    blocked, own_bucket = Throttle.columns(keys, keys[0])
    agent = bindparam("agent", type_=String)
    factor = exists().where(Authenticator.account_id == Account.id, Authenticator.kind == "totp",
                            Authenticator.revoked_at.is_(None))
    seen_any = exists().where(AuthSession.account_id == Account.id)
    # IS NOT DISTINCT FROM: a browser that sent no user agent is "the same browser" as another without one.
    seen_here = exists().where(AuthSession.account_id == Account.id,
                               AuthSession.user_agent.is_not_distinct_from(agent))
    one = select(literal(1).label("one")).subquery()
    return (select(Account, factor.label("f"), seen_any.label("a"), seen_here.label("h"), blocked.label("b"),
                   own_bucket.label("o"))
            .select_from(one).outerjoin(Account, Account.username == bindparam("username")))


class SignInService:
    """Password sign-in with expiring backoff per account and per source address, and the sessions it opens.

    A refused attempt is committed before the error goes back: the audit event and the throttle
    count must survive the request's rollback, or an attacker would never be slowed down.
    """

    def __init__(self, passwords: Passwords, clock: Clock, policy: SessionPolicy,
                 account_throttle: Throttle | None = None, ip_throttle: Throttle | None = None,
                 factors: SecondFactors | None = None, staff_require_passkey: bool = False) -> None:
        self.factors = factors
        self.staff_require_passkey = staff_require_passkey
        self.passwords = passwords
        self.clock = clock
        self.policy = policy
        self.account_throttle = account_throttle or Throttle()
        self.ip_throttle = ip_throttle or Throttle(free=IP_FREE_ATTEMPTS)

    @classmethod
    def from_container(cls, container: Container) -> SignInService:
        """Built once per container (it holds only settings-derived parts): every sign-in asks for it."""
        return container.get(cls)

    @classmethod
    def build(cls, container: Container) -> SignInService:
        s = container.settings
        backoff: dict[str, Any] = {"base_seconds": s.section(AuthSettings).login_backoff_base_seconds,
                                   "max_seconds": s.section(AuthSettings).login_backoff_max_seconds}
        service = cls(Passwords.from_settings(s), container.clock, SessionPolicy.from_settings(s),
                      Throttle(free=s.section(AuthSettings).login_free_attempts, **backoff),
                      Throttle(free=max(IP_FREE_ATTEMPTS, s.section(AuthSettings).login_free_attempts), **backoff),
                      SecondFactors.from_container(container), bool(s.section(AuthSettings).staff_require_passkey))
        return service

    def sign_in(self, session: Session, username: str, password: str, *, ip: str | None,
                user_agent: str | None, previous_token: str | None = None) -> SignedIn | SecondFactorRequired:
        """Open a session (or ask for the second factor) or raise InvalidCredentials / TooManyAttempts
        (after committing the failure)."""
        now = self.clock.now()
        name = normalise_username(username)
        acct_key, ip_key = account_throttle_key(name), f"ip:{ip or 'unknown'}"
        agent = (user_agent or "")[:300] or None
        # One round trip: the account, its second factor, whether this browser is new to it, and the
        # backoff of both the account and the address (sign-in is Argon2-bound; every extra query runs
        # on caches Argon2's 19 MiB just flushed).
        account, has_factor, new_device, blocked_until, acct_bucket = self._lookup(session, name, agent,
                                                                                   [acct_key, ip_key])
        try:
            Throttle.raise_if_blocked(blocked_until, now)
        except TooManyAttempts:
            self._failed(session, name, None, "throttled", now, keys=None)
            raise
        reason = self._refusal(account, password)
        if reason is not None:
            self._failed(session, name, account, reason, now, keys=(acct_key, ip_key))
            raise InvalidCredentials
        assert account is not None and account.password_hash is not None
        if self.passwords.needs_rehash(account.password_hash):
            account.password_hash = self.passwords.hash(password)
        if acct_bucket:
            self.account_throttle.succeed(session, [acct_key])  # the address keeps its count: see below
        # A success does not clear the address's count: a stuffer holding one valid account of
        # their own could otherwise reset their backoff between guesses at everyone else's.
        if self.factors is not None and has_factor:
            return SecondFactorRequired(self.factors.pending_token(account.id), account.id)
        return self._open(session, account, PASSWORD_AMR, now, ip=ip, user_agent=user_agent,
                          previous_token=previous_token, new_device=new_device)

    @staticmethod
    def _new_device(session: Session, account_id: str, agent: str | None) -> bool:
        """True when the account has signed in before, but never from this browser (user agent)."""
        seen_any = exists().where(AuthSession.account_id == account_id)
        seen_here = exists().where(AuthSession.account_id == account_id, AuthSession.user_agent == agent)
        row = session.execute(select(seen_any.label("any"), seen_here.label("here"))).one()
        return bool(row[0]) and not bool(row[1])

    @staticmethod
    def _lookup(session: Session, name: str, agent: str | None, keys: list[str]
                ) -> tuple[Account | None, bool, bool, datetime | None, bool]:
        """(account, has a second factor, new browser, blocked until, the account's key has a bucket), from
        one query that costs the same whether the account exists or not (no enumeration by timing)."""
        wanted = name if looks_like_username(name) else ""
        row = session.execute(_lookup_statement(), {"username": wanted, "agent": agent, "acct_key": keys[0],
                                                    "ip_key": keys[1]}).one()
        account = row[0]
        return (account, bool(row[1]) and account is not None, account is not None and bool(row[2])
                and not bool(row[3]), row[4], bool(row[5]))

    def complete_second_factor(self, session: Session, pending: str | None, code: str, *, ip: str | None,
                               user_agent: str | None, previous_token: str | None = None) -> SignedIn:
        """Open the session once the second factor checks out; ValidationFailed / TooManyAttempts
        otherwise (a failure is committed first, as for passwords). An expired or forged pending
        state is InvalidCredentials: start again from the password."""
        assert self.factors is not None
        account_id = self.factors.pending_account(pending)
        account = session.get(Account, account_id) if account_id else None
        if account is None or not account.is_active:
            raise InvalidCredentials
        try:
            used = self.factors.check(session, account, code)
        except (ValidationFailed, TooManyAttempts):
            session.rollback()
            self.factors.fail(session, account)
            session.commit()
            raise
        # A recovery code is a printed one-time password: RFC 8176 "otp" either way (the audit log
        # says which); the level stays what the account's proofing gives, never more.
        amr = (*PASSWORD_AMR, "otp")
        return self._open(session, account, amr, self.clock.now(), ip=ip, user_agent=user_agent,
                          previous_token=previous_token, second=used)

    def open_with_passkey(self, session: Session, account: Account, *, ip: str | None, user_agent: str | None,
                          previous_token: str | None = None) -> SignedIn:
        """A verified passkey assertion (Passkeys.authenticate) opens the session on its own."""
        return self._open(session, account, PASSKEY_AMR, self.clock.now(), ip=ip, user_agent=user_agent,
                          previous_token=previous_token, second="passkey")

    def open_vouched(self, session: Session, account: Account, *, acr: str, amr: tuple[str, ...], via: str,
                     ip: str | None, user_agent: str | None, previous_token: str | None = None) -> SignedIn:
        """Something other than our own factors vouched for this person (an upstream provider, a
        certificate): the session carries the level it established; `via` names it in the audit log."""
        return self._open(session, account, amr, self.clock.now(), ip=ip, user_agent=user_agent,
                          previous_token=previous_token, second=via, acr=acr)

    def passkey_failed(self, session: Session, reason: str) -> None:
        """Audit a refused passkey sign-in and commit it before the refusal goes back."""
        self.refused(session, {"reason": "passkey", "detail": reason[:200]}, object_type="account")

    def refused(self, session: Session, details: dict[str, Any], *, object_type: str, object_id: str | None = None,
                keep: Callable[[Session], None] | None = None) -> None:
        """A sign-in refused by other means than a password (passkey, upstream provider, certificate):
        undo the attempt, then audit the refusal (and whatever `keep` must survive, e.g. a spent
        challenge) and commit it before the refusal goes back."""
        session.rollback()
        if keep is not None:
            keep(session)
        record_event(session, AuthAudit.LOGIN_FAILED, outcome="failure", object_type=object_type,
                     object_id=object_id, at=self.clock.now(), details=details)
        session.commit()

    def _open(self, session: Session, account: Account, amr: tuple[str, ...], now: datetime, *, ip: str | None,
              user_agent: str | None, previous_token: str | None, second: str | None = None,
              new_device: bool | None = None, acr: str | None = None) -> SignedIn:
        replaced = self._end_previous(session, previous_token, now)
        agent = (user_agent or "")[:300] or None
        if new_device is None:
            new_device = self._new_device(session, account.id, agent)
        if new_device:
            notify(session, account, "new_device", now=now, where=f"{ip or '?'}, {agent or '?'}")
        token = new_session_token()
        expires = now + self.policy.absolute
        row: dict[str, Any] = {"id": session_id_for(token), "account_id": account.id, "created_at": now,
                               "last_seen_at": now, "expires_at": expires, "ip": ip, "user_agent": agent,
                               "acr": acr or session_acr(account, amr), "amr": " ".join(amr), "acting_for": None,
                               "acting_label": None, "revoked_at": None}
        event = event_values(AuthAudit.LOGIN_SUCCEEDED, object_type="account", object_id=account.id,
                             actor_id=account.id, actor_kind=account.kind, actor_name=account.display_name,
                             agency_id=account.primary_agency_id, at=now,
                             details={"session_id": row["id"], "acr": row["acr"], "amr": list(amr),
                                      "second_factor": second, "replaced_session_id": replaced})
        # The session row and its audit event in one statement (the ORM's flush of one new row cost
        # more than the INSERT itself); still inside the request's transaction, after what the ORM holds
        # (an account created a moment ago must exist before a row that refers to it).
        session.flush()
        insert_with_event(session.connection(), _SESSIONS, row, event)
        return SignedIn(token=token, session_id=row["id"], account_id=account.id, expires_at=expires,
                        kind=account.kind)

    def _refusal(self, account: Account | None, password: str) -> str | None:
        """Why the attempt fails, or None. Every path costs one Argon2 verification."""
        if account is None or account.password_hash is None:
            self.passwords.burn(password)
            return "unknown_account" if account is None else "no_password"
        try:
            self.passwords.verify(account.password_hash, password)
        except WrongPassword:
            return "bad_password"
        if not account.is_active:  # checked after the hash so a disabled account answers as slowly
            return "disabled"
        return None

    def _failed(self, session: Session, name: str, account: Account | None, reason: str, now: datetime,
                keys: tuple[str, str] | None) -> None:
        """Audit and count a refused attempt, and commit both now; retry once if a racing attempt won."""
        session.rollback()  # nothing of this attempt but the failure itself may be kept
        for attempt in range(2):
            try:
                record_event(
                    session, AuthAudit.LOGIN_FAILED, outcome="failure", object_type="account",
                    object_id=account.id if account else None, at=now,
                    agency_id=account.primary_agency_id if account else None,
                    details={"reason": reason, "username": name if looks_like_username(name) else None},
                )
                if keys is not None:
                    self.account_throttle.fail(session, [keys[0]], now)
                    self.ip_throttle.fail(session, [keys[1]], now)
                session.commit()
                return
            except IntegrityError:
                # A concurrent attempt created the same throttle row first; count on top of it.
                session.rollback()
                if attempt:
                    raise

    def _end_previous(self, session: Session, token: str | None, now: datetime) -> str | None:
        """Rotation: whatever session the browser held before this sign-in is over."""
        if not token:
            return None
        old = session.get(AuthSession, session_id_for(token))
        if old is None:
            return None
        if old.revoked_at is None:
            old.revoked_at = now
        return old.id

    def sign_out(self, session: Session, token: str | None) -> None:
        """Revoke the session behind `token`, if it is still open; signing out twice is harmless."""
        if not token:
            return
        row = session.get(AuthSession, session_id_for(token))
        if row is None or row.revoked_at is not None:
            return
        now = self.clock.now()
        row.revoked_at = now
        account = session.get(Account, row.account_id)
        record_event(session, AuthAudit.LOGOUT, object_type="session", object_id=row.id, at=now,
                     actor_id=row.account_id, actor_kind=account.kind if account else None,
                     actor_name=account.display_name if account else None,
                     agency_id=account.primary_agency_id if account else None)

    def revoke_session(self, session: Session, principal: Principal, session_id: str) -> None:
        """End one of the principal's own sessions (e.g. a forgotten browser); others' ids are 404."""
        row = session.get(AuthSession, session_id)
        if row is None or row.account_id != principal.account_id:
            raise NotFound("Không tìm thấy phiên đăng nhập.", "Session not found.")
        if row.revoked_at is not None:
            return
        now = self.clock.now()
        row.revoked_at = now
        record_event(session, AuthAudit.SESSION_REVOKED, object_type="session", object_id=row.id, at=now,
                     details={"current": row.id == principal.session_id})

    def active_sessions(self, session: Session, principal: Principal) -> list[SessionView]:
        now = self.clock.now()
        rows = session.scalars(select(AuthSession).where(
            AuthSession.account_id == principal.account_id, AuthSession.revoked_at.is_(None))
            .order_by(AuthSession.last_seen_at.desc())).all()
        return [SessionView(r.id, r.created_at, r.last_seen_at, r.ip, r.user_agent, r.id == principal.session_id)
                for r in rows if self.policy.is_live(r, now)]

    def principal_for(self, session: Session, token: str) -> Principal | None:
        """The principal of a live session (touching last_seen at most once a minute), or None.

        The caller commits: the only write is the touch.
        """
        now = self.clock.now()
        row = session.get(AuthSession, session_id_for(token))
        if row is None or not self.policy.is_live(row, now):
            return None
        account = session.get(Account, row.account_id)
        if account is None or not account.is_active:
            return None
        if self.policy.needs_touch(row, now):
            row.last_seen_at = now
        amr = tuple(row.amr.split()) if row.amr else PASSWORD_AMR
        assignments = session.execute(select(RoleAssignment.role, RoleAssignment.agency_id)
                                      .where(RoleAssignment.account_id == account.id)).all()
        grants = grants_for((r, a) for r, a in assignments)
        if self.staff_require_passkey and account.kind in STAFF_KINDS and not PHISHING_RESISTANT_AMR & set(amr):
            # Roles only in a phishing-resistant session; this one may still set up a passkey.
            grants = frozenset()
        represented = None
        if row.acting_for:
            from egov.auth.services.delegation import Delegations

            # Checked on every request: a 14th birthday, a new guardian or a revoked delegation ends it.
            if Delegations(self.clock).still_allowed(session, account, row.acting_for) is None:
                record_event(session, AuthAudit.DELEGATION_ENDED, object_type="session", object_id=row.id,
                             actor_id=account.id, actor_kind=account.kind, actor_name=account.display_name,
                             details={"represented": row.acting_for})
                row.acting_for = row.acting_label = None
            else:
                represented = row.acting_for
        return Principal(
            account_id=account.id,
            kind=account.kind,
            display_name=account.display_name,
            subject_id=account.subject_id,
            represented_party=represented,
            represented_label=row.acting_label if represented else None,
            grants=grants,
            acr=row.acr,
            amr=amr,
            session_id=row.id,
            agency_id=account.primary_agency_id,
            authenticated_at=row.created_at,
        )
