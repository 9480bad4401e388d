"""signing's API boundary: a remote-signing approval, the code that activates it, the one-time token."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ApprovalOut(BaseModel):
    approval_id: str
    document_sha256: str
    document_kind: str
    expires_at: str


class ApproveIn(BaseModel):
    document_sha256: str = Field(min_length=64, max_length=64, description="the SHA-256 the user was shown")
    code: str = Field(min_length=6, max_length=32, description="a current code from the user's authenticator app")


class ActivationOut(BaseModel):
    approval_id: str
    token: str = Field(description="one-time activation token; send it with the same document to /sign")
