"""soc's settings (EGOV_SOC__…): the audit log's checkpoint origin, key, interval and publication folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Self

from pydantic import Field

from egov.settings import Section

if TYPE_CHECKING:
    from egov.settings import Settings


class SocSettings(Section):
    """Checkpoints are C2SP signed notes under `audit_origin`, signed by `audit_key_name` at most every
    `checkpoint_interval_seconds`, and published in `checkpoint_dir` (default EGOV_DATA_DIR/checkpoints),
    outside the database."""

    legacy_prefix = ""

    audit_origin: str = "egov.local/audit"
    audit_key_name: str = "audit-checkpoint"
    checkpoint_interval_seconds: float = Field(default=5.0, gt=0)
    checkpoint_dir: Path | None = None

    def resolve(self, settings: Settings) -> Self:
        if self.checkpoint_dir:
            return self
        return self.model_copy(update={"checkpoint_dir": settings.data_dir / "checkpoints"})
