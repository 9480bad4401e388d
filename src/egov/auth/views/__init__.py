"""auth's HTML pages: sign-in and account, second factors, identity desk, delegation, organisations, certificates."""

from egov.auth.views.sign_in import safe_next

__all__ = ["safe_next"]
