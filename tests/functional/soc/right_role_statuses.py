"""What a caller with the right role gets from each of soc's role-checked routes, on a database holding
only the test's accounts (path ids exist nowhere, bodies are empty): read by
tests/architecture/test_route_permissions.py. A new route gets its line, with the status its code gives."""

RIGHT_ROLE_STATUS: dict[tuple[str, str], int] = {
    ("GET", "/api/audit/events/{leaf_index}"): 404,
    ("GET", "/back-office/audit"): 200,
    ("GET", "/back-office/audit/events/{event_id}"): 404,
    ("POST", "/back-office/audit/verify"): 200,
}
