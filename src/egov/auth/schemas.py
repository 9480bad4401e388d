"""JSON shapes of the auth API."""

from __future__ import annotations

from pydantic import BaseModel

from egov.platform.permissions import Principal


class GrantOut(BaseModel):
    permission: str
    agency_id: str  # "*" for every agency


class MeOut(BaseModel):
    """The signed-in principal as a relying page or script sees it; no session secret is included."""

    account_id: str
    kind: str
    display_name: str
    subject_id: str | None
    agency_id: str | None
    acr: str
    amr: list[str]
    represented_party: str | None = None  # while acting for a child or an enterprise
    grants: list[GrantOut]

    @classmethod
    def of(cls, p: Principal) -> MeOut:
        return cls(
            account_id=p.account_id, kind=p.kind, display_name=p.display_name, subject_id=p.subject_id,
            agency_id=p.agency_id, acr=p.acr, amr=list(p.amr), represented_party=p.represented_party,
            grants=[GrantOut(permission=perm, agency_id=agency) for perm, agency in sorted(p.grants)],
        )
