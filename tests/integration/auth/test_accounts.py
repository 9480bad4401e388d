"""AccountService on the real database: validation, uniqueness, passwords, roles, scope, audit."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.auth import DEFAULT_PASSWORD, make_account

from egov.auth import AccountService, AuthAudit, Passwords, Role, SignInService
from egov.auth.models import Account, AuthSession, RoleAssignment
from egov.bootstrap import Container
from egov.platform.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from egov.platform.permissions import GLOBAL, Principal
from egov.soc.models import AuditEvent

D1, D3 = "agency-district-1", "agency-district-3"


@pytest.fixture
def accounts(container: Container) -> AccountService:
    return AccountService.from_container(container)


def events(session: Session, event_type: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)
                                .order_by(AuditEvent.id)))


def admin_of(agency: str, account_id: str = "admin-account") -> Principal:
    return Principal(account_id, "officer", "Quản trị quận", grants=frozenset({("auth:role:grant", agency)}))


def test_create_account_normalises_and_audits(session: Session, accounts: AccountService,
                                              container: Container) -> None:
    a = accounts.create_account(session, kind="officer", username=" Tran.Thi.B ", display_name=" Trần  Thị B ",
                                password=DEFAULT_PASSWORD, primary_agency_id=D1)
    session.commit()
    assert a.username == "tran.thi.b" and a.display_name == "Trần Thị B"
    assert a.password_hash and a.password_hash.startswith("$argon2id$") and DEFAULT_PASSWORD not in a.password_hash
    assert a.created_at == container.clock.now() == a.password_changed_at
    [event] = events(session, AuthAudit.ACCOUNT_CREATED)
    assert event.object_id == a.id and event.agency_id == D1 and event.occurred_at == container.clock.now()
    assert json.loads(event.details)["username"] == "tran.thi.b"


@pytest.mark.parametrize(("kind", "username", "field"), [
    ("citizen", "07920301234", "username"),
    ("citizen", "nguyen.van.a", "username"),
    ("organisation", "031234567", "username"),
    ("officer", "ab", "username"),
    ("officer", "có dấu", "username"),
    ("wizard", "merlin", "kind"),
])
def test_usernames_must_fit_the_kind(session: Session, accounts: AccountService, kind: str, username: str,
                                     field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        accounts.create_account(session, kind=kind, username=username, display_name="X")
    assert [e.field for e in info.value.errors] == [field]


def test_valid_usernames_per_kind(session: Session, accounts: AccountService) -> None:
    made = [
        accounts.create_account(session, kind="citizen", username="079203012345", display_name="Nguyễn Văn An"),
        accounts.create_account(session, kind="organisation", username="0312345678-001", display_name="Công ty A"),
        accounts.create_account(session, kind="admin", username="Root@HCM", display_name="Quản trị"),
    ]
    session.commit()
    session.expire_all()
    stored = {a.username: a.kind for a in session.scalars(select(Account))}
    assert stored == {"079203012345": "citizen", "0312345678-001": "organisation", "root@hcm": "admin"}
    assert [e.object_id for e in events(session, AuthAudit.ACCOUNT_CREATED)] == [a.id for a in made]


def test_weak_password_and_bad_name_are_reported_together_and_nothing_is_written(
        session: Session, accounts: AccountService) -> None:
    with pytest.raises(ValidationFailed) as info:
        accounts.create_account(session, kind="officer", username="canbo01", display_name="", password="ngắn")
    assert {e.field for e in info.value.errors} == {"display_name", "password"}
    session.rollback()
    assert session.scalar(select(Account)) is None
    assert events(session, AuthAudit.ACCOUNT_CREATED) == []


def test_duplicate_username_is_a_conflict(session: Session, accounts: AccountService) -> None:
    make_account(session, username="canbo01")
    with pytest.raises(Conflict) as info:
        accounts.create_account(session, kind="officer", username="CANBO01", display_name="Khác")
    assert info.value.errors[0].field == "username"


def test_set_password_signs_every_session_out(session: Session, accounts: AccountService,
                                              container: Container) -> None:
    a = make_account(session, username="canbo01")
    sign_in = SignInService.from_container(container)
    first = sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip="10.0.0.1", user_agent="ua")
    session.commit()
    with pytest.raises(ValidationFailed):
        accounts.set_password(session, a.id, "canbo01")
    accounts.set_password(session, a.id, "một mật khẩu mới dài hơn")
    session.commit()
    assert session.get(AuthSession, first.session_id).revoked_at == container.clock.now()  # type: ignore[union-attr]
    assert sign_in.principal_for(session, first.token) is None
    sign_in.sign_in(session, "canbo01", "một mật khẩu mới dài hơn", ip="10.0.0.1", user_agent="ua")
    [event] = events(session, AuthAudit.PASSWORD_CHANGED)
    assert event.object_id == a.id and json.loads(event.details) == {"how": "reset", "sessions_ended": 1}
    assert "một mật khẩu" not in event.details


def test_change_password_needs_the_current_one_and_keeps_this_session(
        session: Session, accounts: AccountService, container: Container) -> None:
    a = make_account(session, username="canbo01")
    sign_in = SignInService.from_container(container)
    here = sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip="10.0.0.1", user_agent="here")
    there = sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip="10.0.0.2", user_agent="there")
    session.commit()
    with pytest.raises(ValidationFailed) as info:
        accounts.change_password(session, a.id, "sai mật khẩu rồi", "một mật khẩu mới dài hơn",
                                 keep_session_id=here.session_id)
    assert info.value.errors[0].field == "current_password"
    session.rollback()
    failed = events(session, AuthAudit.PASSWORD_CHANGED)
    assert [e.outcome for e in failed] == ["failure"]  # committed despite the rollback
    accounts.change_password(session, a.id, DEFAULT_PASSWORD, "một mật khẩu mới dài hơn",
                             keep_session_id=here.session_id)
    session.commit()
    assert sign_in.principal_for(session, here.token) is not None
    assert sign_in.principal_for(session, there.token) is None


def test_grant_and_revoke_are_audited_with_the_agency(session: Session, accounts: AccountService) -> None:
    target = make_account(session, username="canbo01", primary_agency_id=D1)
    admin = admin_of(D1)
    r = accounts.grant_role(session, target.id, Role.REGISTRY_CLERK, D1, actor=admin)
    again = accounts.grant_role(session, target.id, Role.REGISTRY_CLERK, D1, actor=admin)
    session.commit()
    assert again.id == r.id and r.granted_by == "admin-account"
    accounts.revoke_role(session, target.id, Role.REGISTRY_CLERK, D1, actor=admin)
    session.commit()
    assert session.scalar(select(RoleAssignment)) is None
    [granted] = events(session, AuthAudit.ROLE_GRANTED)  # granting twice is one change
    [revoked] = events(session, AuthAudit.ROLE_REVOKED)
    for e in (granted, revoked):
        assert e.object_id == target.id and e.agency_id == D1
        assert json.loads(e.details)["role"] == "registry_clerk"
    with pytest.raises(NotFound):
        accounts.revoke_role(session, target.id, Role.REGISTRY_CLERK, D1, actor=admin)


def test_an_agency_admin_grants_only_in_their_agency(session: Session, accounts: AccountService) -> None:
    target = make_account(session, username="canbo01")
    admin = admin_of(D1)
    for role, agency in [(Role.REGISTRY_CLERK, D3), (Role.REGISTRY_CLERK, GLOBAL), (Role.PLATFORM_ADMIN, D1)]:
        with pytest.raises(PermissionDenied):
            accounts.grant_role(session, target.id, role, agency, actor=admin)
    accounts.grant_role(session, target.id, Role.ACCOUNT_ADMIN, D1, actor=admin)
    with pytest.raises(PermissionDenied):
        accounts.revoke_role(session, target.id, Role.ACCOUNT_ADMIN, D1, actor=admin_of(D3))


def test_nobody_grants_themselves_a_role(session: Session, accounts: AccountService) -> None:
    me = make_account(session, username="canbo01")
    with pytest.raises(PermissionDenied):
        accounts.grant_role(session, me.id, Role.REGISTRY_EDITOR, D1, actor=admin_of(D1, me.id))


def test_global_admin_may_grant_anything_anywhere(session: Session, accounts: AccountService) -> None:
    target = make_account(session, username="canbo01")
    root = Principal("root", "admin", "Root", grants=frozenset({("auth:role:grant", GLOBAL)}))
    accounts.grant_role(session, target.id, Role.PLATFORM_ADMIN, GLOBAL, actor=root)
    accounts.grant_role(session, target.id, Role.AUDITOR, D3, actor=root)
    session.commit()
    assert {(r.role, r.agency_id) for r in accounts.roles_of(session, target.id)} == {
        ("platform_admin", GLOBAL), ("auditor", D3)}


def test_citizens_hold_no_roles_and_roles_must_exist(session: Session, accounts: AccountService) -> None:
    citizen = make_account(session, kind="citizen")
    with pytest.raises(ValidationFailed) as info:
        accounts.grant_role(session, citizen.id, Role.REGISTRY_CLERK, D1)
    assert info.value.errors[0].field == "account"
    officer = make_account(session)
    with pytest.raises(ValidationFailed) as info:
        accounts.grant_role(session, officer.id, "god_mode", D1)
    assert info.value.errors[0].field == "role"


def test_disable_ends_sessions_and_is_audited(session: Session, accounts: AccountService,
                                               container: Container) -> None:
    a = make_account(session, username="canbo01")
    sign_in = SignInService.from_container(container)
    s = sign_in.sign_in(session, "canbo01", DEFAULT_PASSWORD, ip="10.0.0.1", user_agent="ua")
    session.commit()
    accounts.disable(session, a.id)
    session.commit()
    assert sign_in.principal_for(session, s.token) is None
    assert [e.object_id for e in events(session, AuthAudit.ACCOUNT_DISABLED)] == [a.id]


def test_admin_list_is_limited_to_the_admins_agencies(session: Session, accounts: AccountService) -> None:
    make_account(session, username="mine01", primary_agency_id=D1)
    make_account(session, username="helper01", primary_agency_id=D3, roles=[(Role.REGISTRY_CLERK, D1)])
    make_account(session, username="theirs01", primary_agency_id=D3)
    make_account(session, kind="citizen")
    names = [a.username for a, _ in accounts.list_for_admin(session, admin_of(D1))]
    assert names == ["helper01", "mine01"]
    root = Principal("root", "admin", "Root", grants=frozenset({("auth:role:grant", GLOBAL)}))
    assert [a.username for a, _ in accounts.list_for_admin(session, root, "THEIRS")] == ["theirs01"]
    assert accounts.list_for_admin(session, root, "%") == []  # the wildcard is a literal


def test_a_grant_reaches_the_agency_subtree_when_the_registry_says_so(session: Session,
                                                                        container: Container) -> None:
    ward = "agency-ward-1-of-d1"

    def subtree(_: Session, roots: Iterable[str]) -> set[str]:  # a two-level tree standing in for the registry
        return {a for r in roots for a in ({r, ward} if r == D1 else {r})}

    scoped = AccountService(Passwords(), container.clock, subtree=subtree)
    target = make_account(session, username="canbo01", primary_agency_id=ward)
    scoped.grant_role(session, target.id, Role.REGISTRY_CLERK, ward, actor=admin_of(D1))
    with pytest.raises(PermissionDenied):
        scoped.grant_role(session, target.id, Role.REGISTRY_CLERK, D3, actor=admin_of(D1))
    assert [a.username for a, _ in scoped.list_for_admin(session, admin_of(D1))] == ["canbo01"]
    exact = AccountService(Passwords(), container.clock, subtree=None)
    with pytest.raises(PermissionDenied):
        exact.grant_role(session, target.id, Role.AUDITOR, ward, actor=admin_of(D1))
