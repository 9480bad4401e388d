"""signing's settings (EGOV_SIGNING__…): time-stamping, trust for validation, upload and approval limits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Self

from pydantic import Field

from egov.settings import Section

if TYPE_CHECKING:
    from egov.settings import Settings


class SigningSettings(Section):
    """An RFC 3161 time-stamping URL (empty: the platform's own TSA), the directory of trusted roots and
    CRLs for validation (default EGOV_DATA_DIR/trust), the only URL prefixes the validator may fetch
    revocation data from, the public upload limit and how long a remote-signing approval lives."""

    legacy_prefix = "signing_"

    tsa_url: str = ""
    trust_dir: Path | None = None
    fetch_allowlist: list[str] = Field(default_factory=list)
    max_upload_mb: int = Field(default=10, ge=1, le=100)
    approval_seconds: int = Field(default=300, ge=30, le=1800)

    def resolve(self, settings: Settings) -> Self:
        return self if self.trust_dir else self.model_copy(update={"trust_dir": settings.data_dir / "trust"})
