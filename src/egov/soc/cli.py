"""`egov audit …`: verify the tamper-evident log, sequence, checkpoints, proofs and search from the shell."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from egov.platform.cli import container_or_exit
from egov.soc.settings import SocSettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from egov.platform.container import Container

app = typer.Typer(
    help="Tamper-evident audit log: verify, proofs, checkpoints, search.",
    # The epilog, unlike the help, survives `add_typer(help=…)` in egov.cli, so the lesson lives here.
    epilog=(
        "How it works: every security-relevant action is an audit event, written in the same "
        "transaction as the change. A single sequencer (`egov worker`, or the web process on SQLite) "
        "gives committed events leaf indices and appends them to an RFC 6962 Merkle tree; every few "
        "seconds a checkpoint (tree size + root hash, a C2SP signed note by the Ed25519 key "
        "EGOV_SOC__AUDIT_KEY_NAME) is stored and published as files in EGOV_SOC__CHECKPOINT_DIR (checkpoint, "
        "checkpoint.<size>, vkey) and at GET /api/audit/checkpoint. Keep copies of those files "
        "elsewhere: they prove that nobody truncated the log.\n\n"
        "Typical use: `egov audit verify` (exit code 1 names the first altered, deleted, reordered "
        "or truncated event) · `egov audit proof inclusion 42` · `egov audit search --actor nguyenvana "
        "--since 01/11/2026`."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
proof_app = typer.Typer(help="Merkle proofs (RFC 6962) from the stored tree, checked against the signed checkpoint.",
                        no_args_is_help=True)
app.add_typer(proof_app, name="proof")
out = Console()
err = Console(stderr=True)


def _container() -> Container:
    return container_or_exit()


@contextmanager
def _cli_context() -> Iterator[None]:
    """Audit events written from the shell name the operating-system user as the actor."""
    from egov.platform.context import RequestContext, use_context
    from egov.platform.ids import request_id

    with use_context(RequestContext(request_id=request_id(), channel="cli")):
        yield


def _record(session: Session, event_type: str, *, outcome: str = "success", object_type: str | None = None,
            object_id: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Record an audit event with the operating-system user as the actor (there is no signed-in account)."""
    from egov.soc.audit.recorder import record_event

    user = getpass.getuser()
    with _cli_context():
        record_event(session, event_type, outcome=outcome, object_type=object_type, object_id=object_id,
                     details=details, actor_id=f"os:{user}", actor_name=user, actor_kind="cli")


@app.command()
def verify(
    checkpoint_dir: Annotated[Path | None, typer.Option(
        "--checkpoint-dir", help="Published checkpoints to check against (default EGOV_SOC__CHECKPOINT_DIR); "
        "point it at an auditor's copy to catch a truncated log.")] = None,
    stuck_minutes: Annotated[float, typer.Option(help="Warn about events without a leaf older than this.")] = 5.0,
) -> None:
    """Recompute every leaf and the tree from the events; check every stored and published checkpoint.

    Names the first altered, deleted, reordered or truncated event and exits with code 1; prints
    the rate in events/s. Streams in chunks, so a million events need little memory.
    """
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from egov.soc.audit.types import SocAudit
    from egov.soc.audit.verify import AuditVerificationError, verify_log

    c = _container()
    try:
        report = verify_log(c.db, c.keys, c.settings, now=c.clock.now(), checkpoint_dir=checkpoint_dir,
                            stuck_after=timedelta(minutes=stuck_minutes))
        error = None
    except AuditVerificationError as exc:
        report, error = exc.report, exc
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    try:
        with c.db.session() as session:
            _record(session, SocAudit.LOG_VERIFIED, object_type="audit_log",
                    outcome="success" if error is None else "failure",
                    details={"leaves": report.leaves, "problems": len(report.problems),
                             "first_problem": str(error or "")[:300]})
    except SQLAlchemyError as exc:  # a read-only replica: the verdict still matters more than its audit
        err.print("[yellow]warning:[/yellow] could not record the verification as an audit event: "
                  f"{exc.__class__.__name__}")
    if error is not None:
        err.print(f"[red]audit log verification FAILED:[/red] {error}")
        for problem in report.problems[:50]:
            err.print(f"  [red]{problem.kind}[/red] {problem.message}")
        if len(report.problems) > 50:
            err.print(f"  … {len(report.problems) - 50} more")
        out.print(report.summary())
        raise typer.Exit(1)
    out.print(f"[green]audit log intact[/green] — {report.summary()}")


@app.command()
def sequence() -> None:
    """Run the sequencer once (a full sweep): give every committed event without a leaf its leaf index."""
    from egov.soc.audit.sequencer import sequence_pending

    c = _container()
    result = sequence_pending(c.db, c.clock)
    if result.locked_out:
        err.print("another sequencer holds the lock (an `egov worker` is running); nothing to do here")
        return
    out.print(f"sequenced {result.sequenced} event(s); tree size {result.tree_size}")


@app.command()
def checkpoint(
    now: Annotated[bool, typer.Option("--now", help="Sign one now if the tree grew (sequences first).")] = False,
) -> None:
    """Print the latest signed checkpoint; with --now, make one first and publish it."""
    from egov.soc.audit.checkpoints import Checkpointer, latest_checkpoint
    from egov.soc.audit.sequencer import sequence_pending
    from egov.soc.audit.types import SocAudit

    c = _container()
    if now:
        sequence_pending(c.db, c.clock)
        made = Checkpointer(c.db, c.clock, c.keys, c.settings).run(force=True)
        if made is not None:
            with c.db.session() as session:
                _record(session, SocAudit.CHECKPOINT_SIGNED, object_type="audit_checkpoint",
                        object_id=str(made.size), details={"key_id": made.key_id})
            err.print(f"signed checkpoint of size {made.size} with {made.key_id}")
        else:
            err.print("no new checkpoint: the tree did not grow since the last one")
    with c.db.session() as session:
        latest = latest_checkpoint(session)
    if latest is None:
        err.print("the log has no checkpoint yet (is `egov worker` running? try `egov audit checkpoint --now`)")
        raise typer.Exit(1)
    typer.echo(latest.note, nl=False)


def _verify_against(c: Container, note: str | None, check: object) -> str:
    """Check a proof against a signed note with the audit key; 'verified' or the reason it is not."""
    from egov.soc.audit import merkle
    from egov.soc.audit.checkpoints import verifier_keys
    from egov.soc.audit.signed_note import CheckpointError, parse_checkpoint, verify_checkpoint

    if note is None:
        return "no signed checkpoint at this size: check it against one you hold"
    soc = c.settings.section(SocSettings)
    vkeys = verifier_keys(c.keys, soc.audit_key_name, soc.audit_origin)
    try:
        parsed = parse_checkpoint(note)
        key = next((vkeys[s.key_id] for s in parsed.signatures if s.key_id in vkeys), None)
        if key is None:
            return "NOT verified: the checkpoint is not signed by the audit key"
        cp = verify_checkpoint(note, key, origin=c.settings.section(SocSettings).audit_origin)
        check(cp)  # type: ignore[operator]
    except (CheckpointError, merkle.ProofError) as exc:
        return f"NOT verified: {exc}"
    return "verified against the signed checkpoint"


@proof_app.command("inclusion")
def proof_inclusion(
    index: Annotated[int, typer.Argument(help="Leaf index of the event.")],
    size: Annotated[int | None, typer.Option(help="Tree size (default: the latest checkpoint's).")] = None,
) -> None:
    """Audit path proving that leaf INDEX is in the tree of SIZE leaves (JSON, base64 hashes)."""
    from egov.platform.errors import DomainError
    from egov.soc.audit import merkle, proofs

    c = _container()
    try:
        with c.db.session() as session:
            p = proofs.inclusion(session, index, size)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.detail_en}")
        raise typer.Exit(2) from None
    typer.echo(json.dumps(p.as_json(), indent=2))
    status = _verify_against(c, p.checkpoint, lambda cp: merkle.verify_inclusion(
        p.leaf_hash, p.index, cp.size, p.hashes, cp.root))
    err.print(status)


@proof_app.command("consistency")
def proof_consistency(
    old: Annotated[int, typer.Argument(help="The smaller tree size.")],
    new: Annotated[int, typer.Argument(help="The larger tree size.")],
) -> None:
    """Proof that the tree of OLD leaves is a prefix of the tree of NEW leaves (JSON, base64 hashes)."""
    from egov.platform.errors import DomainError
    from egov.soc.audit import merkle, proofs
    from egov.soc.audit.signed_note import parse_checkpoint

    c = _container()
    try:
        with c.db.session() as session:
            p = proofs.consistency(session, old, new)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.detail_en}")
        raise typer.Exit(2) from None
    typer.echo(json.dumps(p.as_json(), indent=2))
    if p.old_checkpoint is None:
        err.print("no signed checkpoint at the old size: check it against one you hold")
        return
    old_root = parse_checkpoint(p.old_checkpoint).root  # its signature is checked with the new one below
    status = _verify_against(c, p.new_checkpoint, lambda cp: merkle.verify_consistency(
        p.old_size, cp.size, old_root, cp.root, p.hashes))
    old_status = _verify_against(c, p.old_checkpoint, lambda cp: None)
    err.print(f"old checkpoint: {old_status}; new checkpoint and proof: {status}")


@app.command()
def search(
    type: Annotated[str, typer.Option("--type", help="Event type; end with ':' for a group (auth:).")] = "",
    actor: Annotated[str, typer.Option(help="Account id, or part of the actor's name.")] = "",
    object: Annotated[str, typer.Option("--object", help="Object id (personal ID, application code…).")] = "",
    since: Annotated[str, typer.Option(help="From this day, dd/mm/yyyy (Vietnam time).")] = "",
    until: Annotated[str, typer.Option(help="To this day included, dd/mm/yyyy.")] = "",
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many events, newest first.")] = 50,
) -> None:
    """Search the log, newest first. The search itself is audited (soc:audit:searched) under your OS user."""
    from egov.platform.clock import format_datetime
    from egov.platform.errors import ValidationFailed
    from egov.soc.audit.types import SocAudit
    from egov.soc.schemas import SearchFilters
    from egov.soc.services import search_events

    try:
        filters = SearchFilters.parse(type, actor, object, since, until)
    except ValidationFailed as exc:
        for e in exc.errors:
            err.print(f"[red]error:[/red] --{e.field}: {e.message_en}")
        raise typer.Exit(2) from None
    c = _container()
    with c.db.session() as session:
        page = search_events(session, filters, agencies=None, per_page=limit)
        _record(session, SocAudit.LOG_SEARCHED, object_type="audit_log",
                details={**filters.as_details(), "results": len(page.items), "limit": limit})
        table = Table("time (Asia/Ho_Chi_Minh)", "type", "outcome", "actor", "object", "agency", "leaf")
        for event in page.items:
            table.add_row(format_datetime(event.occurred_at), event.event_type, event.outcome,
                          event.actor_name or event.actor_id or "system",
                          " ".join(filter(None, [event.object_type, event.object_id])),
                          event.agency_id or "", str(page.leaf_of.get(event.id, "pending")))
    if not page.items:
        err.print("no event matches" + (" these filters" if filters.active else "; the log is empty"))
        return
    out.print(table)
