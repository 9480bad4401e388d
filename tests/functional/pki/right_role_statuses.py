"""What a caller with the right role gets from each of pki's role-checked routes, on a database holding
only the test's accounts (path ids exist nowhere, bodies are empty): read by
tests/architecture/test_route_permissions.py. A new route gets its line, with the status its code gives."""

RIGHT_ROLE_STATUS: dict[tuple[str, str], int] = {
    ("GET", "/api/pki/certificates/{certificate_id}"): 404,
    ("POST", "/api/pki/certificates/{certificate_id}/status"): 422,  # no body
    ("GET", "/api/pki/requests"): 200,
    ("POST", "/api/pki/requests"): 422,
    ("POST", "/api/pki/requests/{request_id}/approve"): 404,
    ("POST", "/api/pki/requests/{request_id}/reject"): 422,  # the reason is required before the lookup
    ("GET", "/back-office/pki"): 200,
    ("GET", "/back-office/pki/certificates/{certificate_id}"): 404,
    ("POST", "/back-office/pki/certificates/{certificate_id}/status"): 404,
    ("GET", "/back-office/pki/requests/new"): 200,
    ("POST", "/back-office/pki/requests/new"): 422,
    ("GET", "/back-office/pki/requests/{request_id}"): 404,
    ("POST", "/back-office/pki/requests/{request_id}/decide"): 404,
    ("GET", "/back-office/pki/requests/{request_id}/submitted"): 200,  # the confirmation page
}
