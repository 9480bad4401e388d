"""How auth names agencies: codes in, ids stored, "code — name" shown; all through the registry's public API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from egov.platform.errors import ValidationFailed
from egov.platform.permissions import GLOBAL
from egov.registry import build_registry_facts

_REGISTRY = build_registry_facts()


def agency_id_for_code(session: Session, code: str, on: date, *, field: str = "agency_code") -> str:
    """The id of the agency open under `code` on `on`; "*" stays "*" (every agency).

    Roles are granted by the code officers know (000.00.15.H29), never by an internal id; a code
    closed by a merger is refused with its successor named, so grants land where work now goes.
    """
    code = code.strip()
    if code == GLOBAL:
        return GLOBAL
    agency = _REGISTRY.agency_as_of(session, code, on)
    if agency is not None:
        return agency.id
    closed = _REGISTRY.agency_by_code(session, code) if code else None
    if closed is not None and closed.successor_id:
        successor = _REGISTRY.agency(session, closed.successor_id)
        hint = successor.code if successor is not None else "?"
        raise ValidationFailed.single(field, "agency_code.closed",
                                      f"Mã cơ quan {code} đã đóng; cơ quan kế thừa là {hint}.",
                                      f"Agency code {code} is closed; its successor is {hint}.")
    raise ValidationFailed.single(field, "agency_code.unknown",
                                  "Không có cơ quan đang hoạt động với mã này.",
                                  "No open agency has this code.")


def agency_labels(session: Session, agency_ids: Iterable[str], locale: str = "vi") -> dict[str, str]:
    """id -> "code — name" for display; "*" reads as every agency, an unknown id as itself."""
    labels: dict[str, str] = {}
    for agency_id in set(agency_ids):
        if agency_id == GLOBAL:
            labels[agency_id] = "Mọi cơ quan" if locale == "vi" else "Every agency"
            continue
        agency = _REGISTRY.agency(session, agency_id)
        labels[agency_id] = f"{agency.code} — {agency.name(locale)}" if agency is not None else agency_id
    return labels


def agency_choices(session: Session, agency_ids: Iterable[str], locale: str = "vi") -> list[tuple[str, str]]:
    """(code, "code — name") of the given agencies that the registry knows, sorted by code, for a picker."""
    found = [a for a in (_REGISTRY.agency(session, i) for i in set(agency_ids) if i != GLOBAL) if a is not None]
    return [(a.code, f"{a.code} — {a.name(locale)}") for a in sorted(found, key=lambda a: a.code)]
