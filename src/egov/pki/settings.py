"""pki's settings (EGOV_PKI__…): the offline root's key store and certificate validity per profile."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Self

from pydantic import Field

from egov.settings import Section

if TYPE_CHECKING:
    from egov.settings import Settings


class PkiSettings(Section):
    """Validity in days per profile, within Decree 68/2024 Art. 9's caps (subscriber certificates 5
    years, renewals 3 years, CA certificates 20 years). The root's key store is its own directory,
    unlocked only in a two-custodian ceremony (default EGOV_DATA_DIR/pki-root)."""

    legacy_prefix = "pki_"

    root_dir: Path | None = None
    root_validity_days: int = Field(default=20 * 365, ge=1, le=20 * 365 + 5)
    issuing_validity_days: int = Field(default=10 * 365, ge=1, le=20 * 365 + 5)
    subscriber_validity_days: int = Field(default=3 * 365, ge=1, le=5 * 365 + 1)
    renewal_validity_days: int = Field(default=2 * 365, ge=1, le=3 * 365 + 1)
    tls_validity_days: int = Field(default=397, ge=1, le=5 * 365 + 1)
    ocsp_validity_days: int = Field(default=90, ge=1, le=5 * 365 + 1)
    tsu_validity_days: int = Field(default=3 * 365, ge=1, le=5 * 365 + 1)
    crl_hours: int = Field(default=24, ge=1, le=24 * 31)
    ocsp_validity_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)

    def resolve(self, settings: Settings) -> Self:
        return self if self.root_dir else self.model_copy(update={"root_dir": settings.data_dir / "pki-root"})
