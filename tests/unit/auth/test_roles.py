"""The role catalogue and how role assignments become Principal grants."""

from __future__ import annotations

from egov.auth.roles import ROLE_LABELS, ROLES, Role, grants_for, permissions_of
from egov.platform.permissions import GLOBAL, Principal

HCMC = "agency-hcmc"
DISTRICT = "agency-d1"


def test_editor_includes_clerk_and_platform_admin_includes_everything() -> None:
    assert permissions_of(Role.REGISTRY_CLERK) < permissions_of(Role.REGISTRY_EDITOR)
    everything = set().union(*(perms for role, perms in ROLES.items() if role != Role.PLATFORM_ADMIN))
    # Signing is deliberately not an administrator's: an operator alone must not be able to sign or seal.
    signing = {p for p in everything if p.startswith("signing:")}
    assert signing == {"signing:document:sign", "signing:seal:apply", "signing:identity:manage"}
    # Managing single sign-on clients is platform-wide: no agency-scoped role carries it.
    assert permissions_of(Role.PLATFORM_ADMIN) == (everything - signing) | {"auth:client:manage"}
    assert "auth:client:manage" not in permissions_of(Role.ACCOUNT_ADMIN)
    assert "auth:identity:verify" not in permissions_of(Role.ACCOUNT_ADMIN)


def test_catalogue_contents() -> None:
    assert permissions_of(Role.REGISTRY_CLERK) == {
        "registry:citizen:read", "registry:citizen:search", "registry:agency:read",
        "registry:enterprise:read", "registry:officer:read"}
    assert "registry:citizen:import" in permissions_of(Role.REGISTRY_EDITOR)
    assert "registry:citizen:export" not in permissions_of(Role.REGISTRY_EDITOR)
    assert permissions_of(Role.REGISTRY_EXPORTER) == {"registry:citizen:export", "registry:enterprise:export"}
    assert permissions_of(Role.AUDITOR) == {"soc:audit:read", "soc:audit:verify"}
    assert permissions_of(Role.ACCOUNT_ADMIN) == {"auth:role:grant", "auth:account:read", "auth:account:create"}


def test_every_permission_has_the_context_resource_action_shape() -> None:
    for perms in ROLES.values():
        for p in perms:
            assert len(p.split(":")) == 3, p


def test_every_role_has_labels_in_both_languages() -> None:
    assert set(ROLE_LABELS) == set(ROLES)
    assert all(vi and en for vi, en in ROLE_LABELS.values())


def test_unknown_role_grants_nothing() -> None:
    assert permissions_of("superuser") == frozenset()
    assert grants_for([("superuser", GLOBAL)]) == frozenset()


def test_grants_are_scoped_to_the_agency_of_the_assignment() -> None:
    p = Principal("a", "officer", "Cán bộ", grants=grants_for([(Role.REGISTRY_CLERK, DISTRICT)]))
    assert ("registry:citizen:read", DISTRICT) in p.grants
    assert p.can("registry:citizen:read", DISTRICT)
    assert not p.can("registry:citizen:read", HCMC)
    assert not p.can("registry:citizen:update", DISTRICT)
    assert p.agencies_for("registry:citizen:read") == {DISTRICT}


def test_global_grant_covers_every_agency_and_absorbs_scoped_duplicates() -> None:
    grants = grants_for([(Role.PLATFORM_ADMIN, GLOBAL), (Role.REGISTRY_CLERK, DISTRICT),
                         (Role.AUDITOR, HCMC)])
    assert ("registry:citizen:read", DISTRICT) not in grants  # already held everywhere
    p = Principal("a", "admin", "Quản trị", grants=grants)
    assert p.can("soc:audit:verify", "any-agency")
    assert p.agencies_for("auth:role:grant") is None


def test_roles_in_two_agencies_give_both_pairs() -> None:
    grants = grants_for([(Role.REGISTRY_CLERK, DISTRICT), (Role.REGISTRY_CLERK, HCMC)])
    assert {a for p, a in grants if p == "registry:citizen:read"} == {DISTRICT, HCMC}
