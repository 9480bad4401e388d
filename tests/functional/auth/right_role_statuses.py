"""What a caller with the right role gets from each of auth's role-checked routes, on a database holding
only the test's accounts (path ids exist nowhere, bodies are empty): read by
tests/architecture/test_route_permissions.py. A new route gets its line, with the status its code gives."""

RIGHT_ROLE_STATUS: dict[tuple[str, str], int] = {
    ("GET", "/back-office/accounts"): 200,
    ("POST", "/back-office/accounts/grant"): 404,  # no such account
    ("POST", "/back-office/accounts/revoke"): 404,
    ("GET", "/back-office/identity"): 200,
    ("POST", "/back-office/identity/verify"): 422,
    ("GET", "/back-office/oidc-clients"): 200,
    ("POST", "/back-office/oidc-clients"): 422,
    ("POST", "/back-office/oidc-clients/{client_id}/rotate-secret"): 404,
}
