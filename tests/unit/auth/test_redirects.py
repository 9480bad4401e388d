"""The sign-in form's `next` only ever leads to a path on this site."""

from __future__ import annotations

import pytest

from egov.auth.views.sign_in import safe_next


@pytest.mark.parametrize("value", [
    "/account", "/back-office/registry/citizens?q=Nguy%E1%BB%85n&page=2", "/a/b#c", "/",
])
def test_local_paths_are_kept(value: str) -> None:
    assert safe_next(value) == value


@pytest.mark.parametrize("value", [
    "", None, "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example",
    "http:/evil.example", "javascript:alert(1)", "evil.example", "/\tevil", "/x\r\nSet-Cookie: a=b",
    "/login", "/logout", "/" + "a" * 2001, " /account",
])
def test_anything_else_goes_home(value: str | None) -> None:
    assert safe_next(value) == "/"
