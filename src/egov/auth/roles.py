"""The built-in role catalogue (role → permissions): each context declares its roles in its module
(`RoleSpec`), kept in code so they are reviewed like code; the root installs their union at start-up."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import StrEnum

from egov.auth.permissions import ROLES as AUTH_ROLES
from egov.auth.permissions import AuthPermission
from egov.platform.module import RoleSpec
from egov.platform.permissions import GLOBAL


class Role(StrEnum):
    """Names of the built-in roles, for code that refers to one (the demo, the CLI, tests)."""

    REGISTRY_CLERK = "registry_clerk"
    REGISTRY_EDITOR = "registry_editor"
    REGISTRY_EXPORTER = "registry_exporter"
    AUDITOR = "auditor"
    ACCOUNT_ADMIN = "account_admin"
    PLATFORM_ADMIN = "platform_admin"
    IDENTITY_VERIFIER = "identity_verifier"
    PKI_REGISTRAR = "pki_registrar"
    PKI_APPROVER = "pki_approver"
    DOCUMENT_SIGNER = "document_signer"
    SEAL_KEEPER = "seal_keeper"
    SIGNING_IDENTITY_ADMIN = "signing_identity_admin"


class RoleCatalogue:
    """Every context's roles, plus the platform administrator: the union of the roles marked
    `in_platform_admin` and the management of OpenID Connect clients (platform-wide)."""

    def __init__(self, specs: Sequence[RoleSpec]) -> None:
        roles: dict[str, frozenset[str]] = {}
        labels: dict[str, tuple[str, str]] = {}
        admin: set[str] = {AuthPermission.CLIENT_MANAGE.value}
        global_only = {Role.PLATFORM_ADMIN.value}
        for spec in specs:
            if spec.name in roles or spec.name == Role.PLATFORM_ADMIN:
                raise ValueError(f"role {spec.name!r} is declared twice")
            roles[spec.name] = frozenset(str(p) for p in spec.permissions)
            labels[spec.name] = (spec.label_vi, spec.label_en)
            if spec.in_platform_admin:
                admin |= roles[spec.name]
            if spec.global_only:
                global_only.add(spec.name)
        roles[Role.PLATFORM_ADMIN.value] = frozenset(admin)
        labels[Role.PLATFORM_ADMIN.value] = ("Quản trị hệ thống", "Platform administrator")
        self.roles: Mapping[str, frozenset[str]] = roles
        self.labels: Mapping[str, tuple[str, str]] = labels
        # Roles only a holder of a *global* grant may hand out: an agency's account administrator must not
        # be able to mint the platform's most powerful role, even scoped to their own agency.
        self.global_only = frozenset(global_only)


_catalogue = RoleCatalogue(AUTH_ROLES)


def install(specs: Sequence[RoleSpec]) -> None:
    """Called by the composition root with every context's roles (egov.contexts); until then the
    catalogue holds auth's own roles and the platform administrator."""
    global _catalogue
    _catalogue = RoleCatalogue(specs)


class _Live(Mapping[str, object]):
    """A read-only view of the installed catalogue, so `from egov.auth.roles import ROLES` stays current."""

    def __init__(self, field: str) -> None:
        self._field = field

    def _data(self) -> Mapping[str, object]:
        data: Mapping[str, object] = getattr(_catalogue, self._field)
        return data

    def __getitem__(self, key: str) -> object:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


ROLES: Mapping[str, frozenset[str]] = _Live("roles")  # type: ignore[assignment]
ROLE_LABELS: Mapping[str, tuple[str, str]] = _Live("labels")  # type: ignore[assignment]


def global_only_roles() -> frozenset[str]:
    return _catalogue.global_only


def is_role(name: str) -> bool:
    return name in _catalogue.roles


def permissions_of(role: str) -> frozenset[str]:
    """The permissions of `role`; an unknown role (e.g. one removed from the code) grants nothing."""
    return _catalogue.roles.get(role, frozenset())


def grants_for(assignments: Iterable[tuple[str, str]]) -> frozenset[tuple[str, str]]:
    """(permission, agency_id) pairs for Principal.grants from (role, agency_id) assignments.

    Agency subtrees are not expanded here: the registry owns the tree and widens a grant held
    in an agency to its children when it checks a record. A global grant stays "*".
    """
    grants: set[tuple[str, str]] = set()
    for role, agency_id in assignments:
        for permission in permissions_of(role):
            grants.add((permission, agency_id))
    # A global grant makes the same permission's agency-scoped pairs redundant; drop them.
    return frozenset(g for g in grants if g[1] == GLOBAL or (g[0], GLOBAL) not in grants)
