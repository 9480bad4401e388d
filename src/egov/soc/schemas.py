"""soc's boundary schemas: the audit search filters as an officer types them, checked field by field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from egov.platform.errors import ErrorCollector

_DATE_VN = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_vn_date(value: str) -> date:
    """dd/mm/yyyy as Vietnamese forms write it; yyyy-mm-dd (an HTML date input) is accepted too."""
    value = value.strip()
    m = _DATE_VN.fullmatch(value)
    if m:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    return date.fromisoformat(value)


@dataclass(frozen=True)
class SearchFilters:
    event_type: str = ""
    actor: str = ""
    object_id: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, event_type: str = "", actor: str = "", object_id: str = "", since: str = "",
              until: str = "") -> SearchFilters:
        """Filters from user input; ValidationFailed names each bad field, in both languages."""
        errors = ErrorCollector()
        dates: dict[str, date | None] = {"since": None, "until": None}
        for name, raw in (("since", since), ("until", until)):
            if raw.strip():
                try:
                    dates[name] = parse_vn_date(raw)
                except ValueError:
                    errors.add(name, "date.format", "Ngày phải có dạng dd/mm/yyyy, ví dụ 25/11/2026.",
                               "Dates are dd/mm/yyyy, e.g. 25/11/2026.")
        if dates["since"] and dates["until"] and dates["since"] > dates["until"]:
            errors.add("until", "date.order", "Ngày kết thúc phải sau ngày bắt đầu.",
                       "The end date must not be before the start date.")
        for name, raw, limit in (("type", event_type, 80), ("actor", actor, 200), ("object", object_id, 120)):
            if len(raw.strip()) > limit:
                errors.add(name, "length.max", f"Tối đa {limit} ký tự.", f"At most {limit} characters.")
        errors.raise_if_any()
        return cls(event_type.strip(), actor.strip(), object_id.strip(), dates["since"], dates["until"])

    @property
    def active(self) -> bool:
        return any((self.event_type, self.actor, self.object_id, self.since, self.until))

    def as_details(self) -> dict[str, Any]:
        """What the audit event of a search records: the criteria, not the results."""
        out: dict[str, Any] = {}
        for key in ("event_type", "actor", "object_id"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.since:
            out["since"] = self.since.isoformat()
        if self.until:
            out["until"] = self.until.isoformat()
        return out
