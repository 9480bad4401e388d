"""What a caller with the right role gets from each of signing's role-checked routes, on a database holding
only the test's accounts (path ids exist nowhere, bodies are empty): read by
tests/architecture/test_route_permissions.py. A new route gets its line, with the status its code gives."""

RIGHT_ROLE_STATUS: dict[tuple[str, str], int] = {
    ("POST", "/api/signing/approvals"): 422,
    ("POST", "/api/signing/approvals/{approval_id}/approve"): 422,
    ("POST", "/api/signing/approvals/{approval_id}/sign"): 422,
    ("POST", "/api/signing/seal"): 422,
    ("GET", "/back-office/signing"): 200,
    ("POST", "/back-office/signing"): 422,
    ("GET", "/back-office/signing/{approval_id}"): 404,
    ("POST", "/back-office/signing/{approval_id}"): 422,
    ("GET", "/back-office/signing/{approval_id}/done"): 404,
    ("GET", "/back-office/signing/{approval_id}/download"): 404,
}
