"""The role catalogue is composed from the contexts' declared roles; the platform administrator never signs."""

from __future__ import annotations

import pytest

from egov import contexts
from egov.auth import roles
from egov.platform.module import RoleSpec
from egov.signing.permissions import SigningPermission
from egov.soc.permissions import SocPermission


def test_every_context_role_is_in_the_catalogue_with_its_label() -> None:
    declared = {spec.name: spec for m in contexts.CONTEXTS for spec in m.roles}
    assert set(roles.ROLES) == set(declared) | {"platform_admin"}
    for name, spec in declared.items():
        assert roles.permissions_of(name) == {str(p) for p in spec.permissions}
        assert roles.ROLE_LABELS[name] == (spec.label_vi, spec.label_en)


def test_the_platform_administrator_holds_no_signing_permission() -> None:
    admin = roles.permissions_of("platform_admin")
    assert not admin & {str(p) for p in SigningPermission}
    assert SocPermission.AUDIT_READ in admin and "auth:client:manage" in admin


def test_a_role_declared_twice_is_refused() -> None:
    twice = [RoleSpec("x", "x", "x", frozenset()), RoleSpec("x", "y", "y", frozenset())]
    with pytest.raises(ValueError, match="declared twice"):
        roles.RoleCatalogue(twice)
    with pytest.raises(ValueError, match="declared twice"):
        roles.RoleCatalogue([RoleSpec("platform_admin", "a", "a", frozenset())])


def test_a_new_context_role_joins_the_catalogue_when_installed() -> None:
    extra = RoleSpec("exchange_clerk", "Văn thư liên thông", "Exchange clerk",
                     frozenset({SocPermission.AUDIT_READ}), global_only=True)
    try:
        roles.install([spec for m in contexts.CONTEXTS for spec in m.roles] + [extra])
        assert roles.is_role("exchange_clerk") and "exchange_clerk" in roles.ROLES
        assert "exchange_clerk" in roles.global_only_roles()
    finally:
        contexts.install_roles()
    assert not roles.is_role("exchange_clerk")
