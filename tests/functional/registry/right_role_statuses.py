"""What a caller with the right role gets from each of registry's role-checked routes, on a database holding
only the test's accounts (path ids exist nowhere, bodies are empty): read by
tests/architecture/test_route_permissions.py. A new route gets its line, with the status its code gives."""

RIGHT_ROLE_STATUS: dict[tuple[str, str], int] = {
    ("GET", "/api/registry/agencies"): 200,
    ("GET", "/api/registry/agencies/{code}"): 404,
    ("GET", "/api/registry/citizens"): 200,
    ("POST", "/api/registry/citizens"): 422,
    ("GET", "/api/registry/citizens/by-personal-id/{personal_id}"): 404,
    ("GET", "/api/registry/citizens/{citizen_id}"): 404,
    ("GET", "/api/registry/enterprises/{tax_code}"): 404,
    ("GET", "/back-office/registry"): 200,
    ("GET", "/back-office/registry/agencies"): 200,
    ("GET", "/back-office/registry/agencies/{code}"): 404,
    ("GET", "/back-office/registry/citizens"): 200,
    ("GET", "/back-office/registry/citizens/export"): 200,
    ("POST", "/back-office/registry/citizens/export"): 200,
    ("GET", "/back-office/registry/citizens/import"): 200,
    ("POST", "/back-office/registry/citizens/import"): 422,
    ("GET", "/back-office/registry/citizens/new"): 200,
    ("POST", "/back-office/registry/citizens/new"): 422,
    ("GET", "/back-office/registry/citizens/{citizen_id}"): 404,
    ("GET", "/back-office/registry/enterprises"): 200,
    ("GET", "/back-office/registry/enterprises/new"): 200,
    ("POST", "/back-office/registry/enterprises/new"): 422,
    ("GET", "/back-office/registry/enterprises/{tax_code}"): 404,
    ("GET", "/back-office/registry/officers"): 200,
    ("GET", "/back-office/registry/officers/{officer_id}"): 404,
}
