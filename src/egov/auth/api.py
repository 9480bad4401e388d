"""JSON routes of the auth context: who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from egov.auth.schemas import MeOut
from egov.platform.permissions import Principal, authenticated

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.get("/me", response_model=MeOut)
def me(principal: Annotated[Principal, Depends(authenticated)]) -> MeOut:
    """The signed-in account, its level of assurance and its (permission, agency) grants."""
    return MeOut.of(principal)
