"""check_machine_scopes: the one scope rule of machine tokens (client_credentials, certificate challenge, hot path)."""

from __future__ import annotations

import pytest

from egov.auth.oidc.errors import OAuthError
from egov.auth.oidc.provider import check_machine_scopes

HELD = ["openid", "registry.read", "profile", "registry.write"]


def test_no_scope_asked_means_every_machine_scope_the_client_holds() -> None:
    assert check_machine_scopes(HELD, []) == ["registry.read", "registry.write"]


def test_the_scopes_asked_for_when_the_client_holds_them() -> None:
    assert check_machine_scopes(HELD, ["registry.write"]) == ["registry.write"]


@pytest.mark.parametrize("asked", [["registry.delete"], ["registry.read", "openid"], ["profile"]])
def test_a_scope_not_held_or_not_a_machine_scope_is_invalid_scope(asked: list[str]) -> None:
    with pytest.raises(OAuthError) as refused:
        check_machine_scopes(HELD, asked)
    assert refused.value.error == "invalid_scope" and asked[-1] in refused.value.description
