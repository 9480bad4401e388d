"""Federation: sign-in through upstream OpenID providers (a VNeID-style national provider), linked by personal ID."""

from egov.auth.federation.service import Federation
from egov.auth.federation.upstream import UpstreamClient, UpstreamError

__all__ = ["Federation", "UpstreamClient", "UpstreamError"]
