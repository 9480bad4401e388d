"""JSON shapes of the registry API: lenient input (the service names each broken rule), masked output."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from egov.registry.models import Agency, Citizen
from egov.registry.services import CitizenRecord, EnterpriseRecord


class CitizenIn(BaseModel):
    """A new citizen. Strings are taken as typed: the service validates them and answers 422 naming
    the field and the rule (personal_id.century, phone.format…), in the caller's language."""

    model_config = ConfigDict(extra="forbid")

    personal_id: str = Field(examples=["079090000042"])
    full_name: str = Field(examples=["Nguyễn Văn An"])
    birth_date: str = Field(description="yyyy-mm-dd or dd/mm/yyyy", examples=["1990-05-17"])
    sex: str = Field(description="male | female (nam | nữ)", examples=["male"])
    managing_agency_code: str = Field(examples=["000.00.01.H29"])
    phone: str | None = None
    email: str | None = None
    guardian_personal_id: str | None = None


class GuardianOut(BaseModel):
    id: str
    full_name: str


class CitizenSummaryOut(BaseModel):
    id: str
    personal_id: str
    full_name: str
    birth_date: date
    sex: str
    managing_agency_id: str

    @classmethod
    def of(cls, c: Citizen) -> CitizenSummaryOut:
        return cls(id=c.id, personal_id=c.personal_id, full_name=c.full_name, birth_date=c.birth_date, sex=c.sex,
                   managing_agency_id=c.managing_agency_id)


class CitizenOut(CitizenSummaryOut):
    """One citizen as an officer may see it: decoded ID facts, guardian, contacts masked."""

    age: int
    province_code: str
    province_name: str
    birth_year: int
    managing_agency_code: str
    guardian: GuardianOut | None
    phone_masked: str
    email_masked: str

    @classmethod
    def of_record(cls, r: CitizenRecord) -> CitizenOut:
        c = r.citizen
        return cls(
            id=c.id, personal_id=c.personal_id, full_name=c.full_name, birth_date=c.birth_date, sex=c.sex,
            managing_agency_id=c.managing_agency_id, age=r.age, province_code=r.info.province_code,
            province_name=r.info.province_name_vi, birth_year=r.info.birth_year,
            managing_agency_code=r.managing_agency.code,
            guardian=GuardianOut(id=r.guardian.id, full_name=r.guardian.full_name) if r.guardian else None,
            phone_masked=r.phone_masked, email_masked=r.email_masked,
        )


class CitizenSearchOut(BaseModel):
    query: str
    count: int
    items: list[CitizenSummaryOut]


class AgencyOut(BaseModel):
    id: str
    code: str
    name_vi: str
    name_en: str | None
    parent_code: str | None
    opened_on: date
    closed_on: date | None
    successor_code: str | None
    open_as_of: bool | None = Field(default=None, description="Whether the unit was open on the as_of date asked")
    children: list[str] = Field(default_factory=list, description="Codes of the children open on that date")

    @classmethod
    def of(cls, a: Agency, *, parent: Agency | None = None, successor: Agency | None = None,
           as_of: date | None = None, children: list[Agency] | None = None) -> AgencyOut:
        return cls(
            id=a.id, code=a.code, name_vi=a.name_vi, name_en=a.name_en,
            parent_code=parent.code if parent else None, opened_on=a.opened_on, closed_on=a.closed_on,
            successor_code=successor.code if successor else None,
            open_as_of=a.is_open_on(as_of) if as_of else None,
            children=[c.code for c in children or []],
        )


class EnterpriseOut(BaseModel):
    id: str
    tax_code: str
    name: str
    name_en: str | None
    status: str
    parent_tax_code: str | None
    branches: list[str]
    legal_representative: GuardianOut
    managing_agency_code: str
    registered_on: date | None

    @classmethod
    def of_record(cls, r: EnterpriseRecord) -> EnterpriseOut:
        e = r.enterprise
        return cls(
            id=e.id, tax_code=e.tax_code, name=e.name, name_en=e.name_en, status=e.status,
            parent_tax_code=r.parent.tax_code if r.parent else None, branches=[b.tax_code for b in r.branches],
            legal_representative=GuardianOut(id=r.representative.id, full_name=r.representative.full_name),
            managing_agency_code=r.managing_agency.code, registered_on=e.registered_on,
        )
