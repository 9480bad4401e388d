"""Citizen export to CSV (the import's columns, so a file round-trips); one audit event per export."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from egov.platform.permissions import Principal, restrict_to
from egov.registry.audit import RegistryAudit
from egov.registry.models import Agency, Citizen
from egov.registry.permissions import RegistryPermission
from egov.registry.services.access import audit, require_any, restrict, scope
from egov.registry.services.importer import ALL_COLUMNS

EXPORT_BATCH = 5_000


def export_citizens(
    session: Session,
    out: TextIO,
    *,
    by: Principal,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write every citizen in the caller's export scope to `out` as CSV; returns the row count.

    Needs registry:citizen:export (a separate grant from read: bulk copies are how personal data
    leaks). Rows stream from a server-side cursor, so memory stays flat at a million rows. Dates are
    ISO (yyyy-mm-dd), unambiguous for machines; the importer reads them back as written.
    """
    require_any(by, RegistryPermission.CITIZEN_EXPORT)
    allowed = scope(session, by, RegistryPermission.CITIZEN_EXPORT)
    guardian = aliased(Citizen)
    stmt = (
        select(
            Citizen.personal_id,
            Citizen.full_name,
            Citizen.birth_date,
            Citizen.sex,
            Citizen.phone,
            Citizen.email,
            Agency.code,
            guardian.personal_id,
        )
        .join(Agency, Agency.id == Citizen.managing_agency_id)
        .outerjoin(guardian, guardian.id == Citizen.guardian_id)
        .order_by(Citizen.personal_id)
    )
    stmt = restrict_to(stmt, allowed, Citizen)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ALL_COLUMNS)
    count = 0
    if allowed.everywhere or allowed.agencies:
        result = session.execute(stmt.execution_options(yield_per=EXPORT_BATCH))
        for part in result.partitions():
            writer.writerows(
                (pid, name, birth.isoformat(), sex, phone or "", email or "", code, gpid or "")
                for pid, name, birth, sex, phone, email, code, gpid in part
            )
            count += len(part)
            if progress:
                progress(count)
    audit(
        session,
        by,
        RegistryAudit.CITIZEN_EXPORTED,
        object_type="citizen_export",
        details={"rows": count, "scope": "all" if allowed.agencies is None else sorted(allowed.agencies)[:50]},
    )
    return count


def count_exportable(session: Session, *, by: Principal) -> int:
    """How many rows an export would write (for the confirmation page; not audited: no personal data)."""
    require_any(by, RegistryPermission.CITIZEN_EXPORT)
    stmt = restrict(select(func.count()).select_from(Citizen), by, RegistryPermission.CITIZEN_EXPORT,
                    session=session, model=Citizen)
    return int(session.scalar(stmt) or 0)
