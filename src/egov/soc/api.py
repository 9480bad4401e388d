"""JSON/text API of the audit log: checkpoint and verifier key and proofs (public), events (soc:audit:read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import PlainTextResponse

from egov.platform.container import Container
from egov.platform.errors import NotFound
from egov.platform.permissions import Principal, public, requires
from egov.platform.uow import UnitOfWork
from egov.soc.audit import proofs
from egov.soc.audit.checkpoints import active_vkey, latest_checkpoint
from egov.soc.permissions import SocPermission
from egov.soc.services import AuditLogService
from egov.web.openapi import problems, text_response

router = APIRouter(prefix="/api/audit", tags=["audit"])
Public = Annotated[Principal | None, Depends(public)]
Reader = Annotated[Principal, Depends(requires(SocPermission.AUDIT_READ))]
_TEXT = "text/plain; charset=utf-8"
# Leaf indices and tree sizes are stored as 64-bit integers: a larger one is a 422, not a database error.
MAX_INDEX = 2**63 - 1


def _container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


@router.get("/checkpoint", response_class=PlainTextResponse,
            responses={200: text_response("The signed note."), **problems(404, s404="No checkpoint yet.")})
def checkpoint(session: UnitOfWork, _: Public) -> PlainTextResponse:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note): origin, tree size, root hash."""
    latest = latest_checkpoint(session)
    if latest is None:
        raise NotFound("Nhật ký chưa có điểm kiểm tra (checkpoint) nào.", "The log has no checkpoint yet.")
    return PlainTextResponse(latest.note, media_type=_TEXT)


@router.get("/vkey", response_class=PlainTextResponse, responses={200: text_response("The verifier key.")})
def vkey(request: Request, _: Public) -> PlainTextResponse:
    """The verifier key of the checkpoints, in the Go `note` format `<name>+<key id>+<base64 key>`."""
    c = _container(request)
    return PlainTextResponse(active_vkey(c.keys, c.settings) + "\n", media_type=_TEXT)


@router.get("/proof/inclusion", responses=problems(404, s404="No checkpoint yet, or the leaf or size is beyond it."))
def inclusion_proof(
    session: UnitOfWork,
    _: Public,
    index: Annotated[int, Query(ge=0, le=MAX_INDEX, description="Leaf index of the event.")],
    size: Annotated[int | None, Query(ge=1, le=MAX_INDEX,
                                      description="Tree size; default: the latest checkpoint's.")] = None,
) -> dict[str, Any]:
    """RFC 6962 audit path of a leaf, base64 hashes, nearest the leaf first; check it against the signed checkpoint."""
    return proofs.inclusion(session, index, size).as_json()


@router.get("/proof/consistency", responses=problems(404, s404="No checkpoint yet, or a size is beyond it."))
def consistency_proof(
    session: UnitOfWork,
    _: Public,
    old: Annotated[int, Query(ge=1, le=MAX_INDEX,
                              description="The smaller tree size (one you hold a checkpoint for).")],
    new: Annotated[int | None, Query(ge=1, le=MAX_INDEX,
                                     description="The larger size; default: the latest checkpoint's.")] = None,
) -> dict[str, Any]:
    """RFC 6962 consistency proof that the tree of size `old` is a prefix of the tree of size `new`."""
    return proofs.consistency(session, old, new).as_json()


@router.get("/events/{leaf_index}", responses=problems(404))
def event_at_leaf(leaf_index: Annotated[int, Path(ge=0, le=MAX_INDEX)], request: Request, session: UnitOfWork,
                  principal: Reader) -> dict[str, Any]:
    """One event with its exact leaf bytes (so its hash can be recomputed); the read is audited."""
    return AuditLogService(session, _container(request)).event_at_leaf(principal, leaf_index)
