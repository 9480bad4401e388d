"""Province codes and names (the place of birth registration in a personal ID)."""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources

from egov.registry.identifiers._digits import is_ascii_digits


@dataclass(frozen=True)
class Province:
    """One row of the province table (Circular 07/2016/TT-BCA codes used in the personal ID)."""

    code: str
    name_vi: str
    name_en: str

    def name(self, locale: str = "vi") -> str:
        return self.name_en if locale.startswith("en") else self.name_vi


@functools.cache
def province_table() -> dict[str, Province]:
    """Read the packaged CSV once per process; the table is small and never changes at run time."""
    text = resources.files("egov.registry").joinpath("data/provinces.csv").read_text(encoding="utf-8")
    table: dict[str, Province] = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = row["code"].strip()
        # A broken data file must stop start-up, not quietly accept or refuse real IDs.
        if len(code) != 3 or not is_ascii_digits(code) or code in table:
            raise RuntimeError(f"provinces.csv: bad or duplicate province code {code!r}")
        table[code] = Province(code, row["name_vi"].strip(), row["name_en"].strip())
    return table


def provinces() -> tuple[Province, ...]:
    """All provinces in code order, for pick lists and demo data."""
    return tuple(province_table().values())


def is_province(code: str) -> bool:
    return code in province_table()


def province_name(code: str, locale: str = "vi") -> str | None:
    """The province's name in `locale` ('en…' → English, anything else → Vietnamese); None if unknown.

    None rather than an exception so a template showing an old record with a since-retired code
    still renders.
    """
    province = province_table().get(code)
    return province.name(locale) if province else None
