"""Full audit-log verification: recompute every leaf and the tree, check every checkpoint, name what broke.

One streaming pass in leaf order over a consistent snapshot, in chunks, with the tree kept as a
compact range (one hash per level), so memory stays flat at any log size. What it catches:

* altered    an event row no longer hashes to its leaf;
* deleted    a gap in leaf indices, or a leaf whose event row is gone;
* reordered  a leaf's row hashes to another leaf's stored hash (contents or pointers swapped);
* tree       a stored Merkle node that its leaves do not produce (proofs would lie);
* checkpoint a signed checkpoint (stored, or a published file) whose signature or root does not match;
* truncated  a checkpoint bigger than the log: the tail was deleted (the published files catch this
             even when the attacker also deleted the tail's leaves, nodes and checkpoints).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from egov.platform.db import Database
from egov.platform.keys import KeyStore
from egov.settings import Settings
from egov.soc.audit.checkpoints import LATEST_FILE, VKEY_FILE, verifier_keys
from egov.soc.audit.leaf import encode_values
from egov.soc.audit.merkle import EMPTY_ROOT, leaf_hash, node_hash
from egov.soc.audit.sequencer import _EVENT_COLUMNS, EVENTS
from egov.soc.audit.signed_note import CheckpointError, parse_checkpoint, verify_checkpoint
from egov.soc.audit.tree import LEAVES, NODES
from egov.soc.models import AuditCheckpoint
from egov.soc.settings import SocSettings

CHUNK = 20_000
_RUN_GAP = 64  # event ids closer than this are read as one range
_RUN_MIN = 32  # fewer ids than this in a run are read by primary key instead
_IN_CHUNK = 500
_MAX_TRACKED_MISMATCHES = 10_000

# Problem kinds, most specific first: the first problem named is the earliest damaged leaf.
_LEAF_KINDS = ("deleted", "altered", "reordered")


@dataclass(frozen=True)
class Problem:
    kind: str  # altered | deleted | reordered | truncated | tree | checkpoint
    message: str
    leaf_index: int | None = None
    event_pk: int | None = None

    def sort_key(self) -> tuple[int, int]:
        rank = 0 if self.kind in _LEAF_KINDS else 1 if self.kind == "truncated" else 2
        return rank, self.leaf_index if self.leaf_index is not None else -1


@dataclass
class VerifyReport:
    leaves: int = 0
    events: int = 0
    nodes_checked: int = 0
    checkpoints_checked: int = 0
    files_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rate(self) -> float:
        """Leaves verified per second."""
        return self.leaves / self.seconds if self.seconds > 0 else float(self.leaves)

    def summary(self) -> str:
        state = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        return (f"{state}: {self.leaves} leaves, {self.nodes_checked} tree nodes, "
                f"{self.checkpoints_checked} stored checkpoints, {self.files_checked} published files "
                f"in {self.seconds:.2f} s ({self.rate:,.0f} events/s)")


class AuditVerificationError(Exception):
    """The audit log failed verification; the message names the first problem, `report` has them all."""

    def __init__(self, report: VerifyReport) -> None:
        self.report = report
        first = report.problems[0]
        more = len(report.problems) - 1
        super().__init__(first.message + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""))


class _Range:
    """Compact range: the perfect subtrees (largest first) that make up the leaves pushed so far."""

    def __init__(self, stack: list[tuple[int, bytes]] | None = None) -> None:
        self.stack = list(stack or [])
        self.size = 0

    def copy(self) -> _Range:
        other = _Range(self.stack)
        other.size = self.size
        return other

    def push(self, value: bytes, completed: list[tuple[int, int, bytes]] | None = None) -> None:
        index = self.size
        level = 0
        stack = self.stack
        while stack and stack[-1][0] == level:
            value = node_hash(stack.pop()[1], value)
            level += 1
            if completed is not None:
                completed.append((level, index >> level, value))
        stack.append((level, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        acc = self.stack[-1][1]
        for _, value in reversed(self.stack[:-1]):
            acc = node_hash(value, acc)
        return acc


@dataclass(frozen=True)
class _SignedHead:
    size: int
    root: bytes
    where: str  # "stored checkpoint 1234" or the file path


class _Verifier:
    def __init__(self, session: Session, vkeys: dict[bytes, str], origin: str, report: VerifyReport) -> None:
        self.session = session
        self.vkeys = vkeys
        self.origin = origin
        self.report = report

    def problem(self, kind: str, message: str, leaf_index: int | None = None, event_pk: int | None = None) -> None:
        self.report.problems.append(Problem(kind, message, leaf_index, event_pk))

    def check_note(self, note: str, where: str) -> _SignedHead | None:
        """Signature by one of our audit keys and our origin, or a named problem."""
        try:
            parsed = parse_checkpoint(note)
            key = next((self.vkeys[s.key_id] for s in parsed.signatures if s.key_id in self.vkeys), None)
            if key is None:
                raise CheckpointError("not signed by any version of the audit key")
            cp = verify_checkpoint(note, key, origin=self.origin)
        except CheckpointError as exc:
            self.problem("checkpoint", f"{where}: {exc}")
            return None
        return _SignedHead(cp.size, cp.root, where)

    def stored_checkpoints(self) -> Iterator[_SignedHead]:
        last = -1
        while True:
            rows = self.session.execute(
                select(AuditCheckpoint.tree_size, AuditCheckpoint.root_hash, AuditCheckpoint.note)
                .where(AuditCheckpoint.tree_size > last).order_by(AuditCheckpoint.tree_size).limit(1000)
            ).all()
            if not rows:
                return
            for size, root, note in rows:
                last = int(size)
                where = f"stored checkpoint of size {last}"
                self.report.checkpoints_checked += 1
                head = self.check_note(note, where)
                if head is None:
                    continue
                if head.size != last or head.root != bytes(root):
                    self.problem("checkpoint", f"{where}: its row (size, root) differs from its signed note")
                    continue
                yield head


def _published_heads(verifier: _Verifier, directory: Path) -> list[_SignedHead]:
    """Every checkpoint file, read BEFORE the database snapshot: anything published was committed first."""
    heads: list[_SignedHead] = []
    if not directory.is_dir():
        return heads
    vkey_path = directory / VKEY_FILE
    if vkey_path.exists():
        vkey = vkey_path.read_text(encoding="utf-8").strip()
        if vkey not in verifier.vkeys.values():
            verifier.problem("checkpoint", f"{vkey_path}: the published verifier key is not an audit key of this log")
    for path in sorted(directory.iterdir()):
        name = path.name
        numbered = name.startswith(LATEST_FILE + ".") and name[len(LATEST_FILE) + 1:].isdigit()
        if name != LATEST_FILE and not numbered:
            continue
        verifier.report.files_checked += 1
        head = verifier.check_note(path.read_text(encoding="utf-8", errors="replace"), str(path))
        if head is None:
            continue
        if numbered and head.size != int(name.rsplit(".", 1)[1]):
            verifier.problem("checkpoint", f"{path}: holds a checkpoint of size {head.size}")
            continue
        heads.append(head)
    return heads


def completed_ranges(first: int, end: int) -> list[tuple[int, int, int]]:
    """(level, lo, hi) of the nodes (level >= 1) that leaves first..end-1 complete, idx lo..hi inclusive.

    Node (L, i) completes when leaf (i + 1) * 2**L - 1 arrives, so a chunk of leaves reads exactly
    the stored nodes it must agree with, one index range per level.
    """
    ranges = []
    level = 1
    while (1 << level) <= end:
        lo = ((first + (1 << level)) >> level) - 1
        hi = (end >> level) - 1
        if lo <= hi:
            ranges.append((level, lo, hi))
        level += 1
    return ranges


def _node_filter(first: int, end: int):  # type: ignore[no-untyped-def]
    clauses = [and_(NODES.c.level == level, NODES.c.idx.between(lo, hi))
               for level, lo, hi in completed_ranges(first, end)]
    return or_(*clauses) if clauses else None


@contextmanager
def _snapshot(db: Database) -> Iterator[Session]:
    """A read-only session over one consistent snapshot that blocks no writer while verify runs.

    PostgreSQL: REPEATABLE READ, READ ONLY. SQLite: the platform begins transactions IMMEDIATE
    (taking the write lock), which would stall the whole site for the length of a verification;
    a DEFERRED begin reads one WAL snapshot instead and never writes.
    """
    if db.is_postgres:
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with Session(bind=conn) as session, session.begin():
                session.execute(text("SET TRANSACTION READ ONLY"))
                yield session
        return
    with db.engine.execution_options(sqlite_begin="DEFERRED").connect() as conn, \
            Session(bind=conn) as session, session.begin():
        yield session


def verify_log(
    db: Database,
    keys: KeyStore,
    settings: Settings,
    *,
    now: datetime,
    checkpoint_dir: Path | None = None,
    chunk: int = CHUNK,
    stuck_after: timedelta = timedelta(minutes=5),
) -> VerifyReport:
    """Verify the whole log; return the report if it is intact, raise AuditVerificationError naming the damage.

    `checkpoint_dir` defaults to the soc section's checkpoint_dir; pass a copy kept elsewhere (an auditor's)
    to check the log against what was published to them.
    """
    started = time.perf_counter()
    report = VerifyReport()
    origin = settings.section(SocSettings).audit_origin
    vkeys = verifier_keys(keys, settings.section(SocSettings).audit_key_name, origin)
    directory = Path(checkpoint_dir or settings.section(SocSettings).checkpoint_dir or "")
    with _snapshot(db) as session:
        v = _Verifier(session, vkeys, origin, report)
        files = _published_heads(v, directory)
        _stream(v, chunk, files)
        _stuck_events(v, now - stuck_after)
    report.seconds = time.perf_counter() - started
    report.problems.sort(key=Problem.sort_key)
    if report.problems:
        raise AuditVerificationError(report)
    return report


def _stream(v: _Verifier, chunk: int, files: list[_SignedHead]) -> None:
    session, report = v.session, v.report
    stored = _Range()  # over the stored leaf hashes: what the node table must agree with
    recomputed: _Range | None = None  # over the hashes the event rows give; None while identical to `stored`
    mismatches: list[tuple[int, int, bytes, bytes]] = []  # (leaf, event pk, recomputed, stored)
    heads = sorted(files, key=lambda h: h.size)
    db_heads = v.stored_checkpoints()
    next_db = next(db_heads, None)
    expected = 0
    gap = False
    while True:
        rows = session.execute(
            select(LEAVES.c.leaf_index, LEAVES.c.event_pk, LEAVES.c.leaf_hash)
            .where(LEAVES.c.leaf_index >= expected)
            .order_by(LEAVES.c.leaf_index)
            .limit(chunk)
        ).all()
        if not rows:
            break
        events = _events_by_pk(session, sorted(int(r.event_pk) for r in rows))
        first, end = int(rows[0].leaf_index), int(rows[-1].leaf_index) + 1
        stored_nodes: dict[tuple[int, int], bytes] = {}
        node_filter = None if gap or first != stored.size else _node_filter(first, end)
        if node_filter is not None:
            node_rows = session.execute(select(NODES.c.level, NODES.c.idx, NODES.c.hash).where(node_filter))
            for level, idx, value in node_rows:
                stored_nodes[(int(level), int(idx))] = bytes(value)
        completed: list[tuple[int, int, bytes]] = []
        for row in rows:
            index = int(row.leaf_index)
            if index != expected:
                gap = True
                v.problem("deleted", f"deleted: leaves {expected}..{index - 1} are missing from the log "
                                     f"(the events sequenced there were removed)", expected)
                expected = index
            stored_hash = bytes(row.leaf_hash)
            event = events.get(row.event_pk)
            if event is None:
                v.problem("deleted", f"deleted: the event (id {row.event_pk}) of leaf {index} is gone",
                          index, int(row.event_pk))
                value = stored_hash
            else:
                value = leaf_hash(encode_values(event[1], event[2:]))
                if value != stored_hash and len(mismatches) < _MAX_TRACKED_MISMATCHES:
                    mismatches.append((index, int(event[0]), value, stored_hash))
            if value != stored_hash and recomputed is None:
                recomputed = stored.copy()
            stored.push(stored_hash, None if gap else completed)
            if recomputed is not None:
                recomputed.push(value)
            expected = index + 1
            size = (recomputed or stored).size
            while heads and heads[0].size == size:
                _compare_root(v, heads.pop(0), recomputed or stored)
            while next_db is not None and next_db.size <= size:
                if next_db.size == size:
                    _compare_root(v, next_db, recomputed or stored)
                next_db = next(db_heads, None)
        report.leaves += len(rows)
        if node_filter is not None:
            for level, idx, value in completed:
                report.nodes_checked += 1
                have = stored_nodes.get((level, idx))
                if have is None:
                    v.problem("tree", f"tree: stored node (level {level}, index {idx}) is missing",
                              ((idx + 1) << level) - 1)
                elif have != value:
                    v.problem("tree", f"tree: stored node (level {level}, index {idx}) does not match its leaves",
                              ((idx + 1) << level) - 1)
    size = stored.size
    _classify(v, mismatches)
    for head in heads:
        if head.size > size:
            v.problem("truncated", f"truncated: {head.where} commits to {head.size} leaves but the log has only "
                                   f"{size}; leaves {size}..{head.size - 1} were deleted", size)
    while next_db is not None:
        v.problem("truncated", f"truncated: {next_db.where} commits to {next_db.size} leaves but the log has "
                               f"only {size}", size)
        next_db = next(db_heads, None)
    if not gap:
        expected_nodes = sum(size >> level for level in range(1, size.bit_length()))
        stored_count = session.execute(select(func.count()).select_from(NODES)).scalar() or 0
        if stored_count != expected_nodes:
            v.problem("tree", f"tree: {stored_count} stored nodes where {expected_nodes} leaves' worth were expected")


def _events_by_pk(session: Session, pks: list[int]) -> dict[int, Any]:
    """The event rows of one chunk of leaves, by primary key, in a few index-range reads.

    A join would leave the plan to table statistics, which lag right after a big append (seen:
    a merge join sorting a million rows to disk per chunk). Event ids of consecutive leaves are
    nearly consecutive, so dense runs are read as id ranges and the few stragglers by IN lists.
    """
    runs: list[tuple[int, int]] = []
    singles: list[int] = []
    group: list[int] = []

    def close(group: list[int]) -> None:
        if len(group) >= _RUN_MIN:
            runs.append((group[0], group[-1]))
        else:
            singles.extend(group)

    for pk in pks:
        if group and pk - group[-1] > _RUN_GAP:
            close(group)
            group = []
        group.append(pk)
    if group:
        close(group)
    found: dict[int, Any] = {}
    for lo, hi in runs:
        for event in session.execute(select(*_EVENT_COLUMNS).where(EVENTS.c.id.between(lo, hi))).all():
            found[event[0]] = event
    for start in range(0, len(singles), _IN_CHUNK):
        chosen = singles[start:start + _IN_CHUNK]
        for event in session.execute(select(*_EVENT_COLUMNS).where(EVENTS.c.id.in_(chosen))).all():
            found[event[0]] = event
    return found


def _compare_root(v: _Verifier, head: _SignedHead, tree: _Range) -> None:
    if tree.root() != head.root:
        v.problem("checkpoint", f"checkpoint: {head.where} does not match the log recomputed from its events "
                                f"(history before leaf {head.size} was rewritten)", head.size - 1)


def _classify(v: _Verifier, mismatches: list[tuple[int, int, bytes, bytes]]) -> None:
    """A row hashing to ANOTHER damaged leaf's stored hash was moved (reordered); otherwise it was altered."""
    by_stored = {stored: leaf for leaf, _, _, stored in mismatches}
    by_value = {value: leaf for leaf, _, value, _ in mismatches}
    for leaf, pk, value, stored in mismatches:
        other = by_stored.get(value)
        if other is not None and other != leaf:
            v.problem("reordered", f"reordered: event id {pk} at leaf {leaf} holds the content sequenced at "
                                   f"leaf {other}", leaf, pk)
            continue
        other = by_value.get(stored)
        if other is not None and other != leaf:
            v.problem("reordered", f"reordered: the content sequenced at leaf {leaf} now sits at leaf {other} "
                                   f"(event id {pk} was swapped)", leaf, pk)
            continue
        v.problem("altered", f"altered: event id {pk} at leaf {leaf} no longer matches its leaf hash", leaf, pk)


def _stuck_events(v: _Verifier, cutoff: datetime) -> None:
    """Events older than the cutoff without a leaf mean the sequencer is stuck (a warning, not damage)."""
    has_leaf = select(LEAVES.c.event_pk).where(LEAVES.c.event_pk == EVENTS.c.id).exists()
    count, oldest = v.session.execute(
        select(func.count(), func.min(EVENTS.c.occurred_at)).where(~has_leaf, EVENTS.c.occurred_at < cutoff)
    ).one()
    v.report.events = int(v.session.execute(select(func.count()).select_from(EVENTS)).scalar() or 0)
    if count:
        v.report.warnings.append(
            f"{count} event(s) older than {cutoff:%Y-%m-%d %H:%M} UTC have no leaf yet (oldest {oldest}); "
            "is the sequencer (`egov worker`) running?"
        )
