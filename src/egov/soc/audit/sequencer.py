"""The single audit sequencer: gives committed events leaf indices and appends them to the Merkle tree.

Why after commit, and how no event is ever skipped
--------------------------------------------------
Events get their primary key from a sequence when they are INSERTed, but many processes commit in
any order: event 100 may commit after event 101 was already sequenced. So the sequencer never
trusts "every id above the last sequenced one"; it looks for events *without a leaf* (an anti-join
on `audit_leaves.event_pk`, which is unique and indexed) and appends them in the order it sees them.
A late commit simply gets a later leaf index. Only one sequencer runs at a time
(`try_singleton_lock`, a PostgreSQL advisory transaction lock; on SQLite the first statement takes
the database's single write lock); the primary key on `leaf_index` and the unique `event_pk` are
the second line of defence, so a lost race fails a transaction instead of forking the tree.

Scanning every event on each pass would cost O(size) work every second, so a pass only looks at ids
above a *low-water mark* L, safe when every event with id <= L that will ever commit already has a
leaf. The argument, with D = `settle_seconds`, the longest time between an event's INSERT (when
its id is drawn) and its COMMIT, clock skew between workers included:

* A pass walks a backlog up the ids in batches, then closes with a batch over the whole window
  (ids > L). It is *complete* when such a closing batch found fewer events than the batch size:
  at that batch's snapshot, taken after the moment s we note just before it, every committed
  event above L has a leaf (and those up to L had one already). An event still without a leaf
  now therefore committed after s, so its id was drawn after s - D.
* Ids come from one sequence (CACHE 1, the default), so they are drawn in increasing order. If
  we know an id W that was drawn before s - D, every unsequenced event has an id above W: L = W.
* Two sources of such a W: marks this process noted in memory (the largest id visible at a
  monotonic instant t; every id <= W was drawn before t), and signed checkpoints (leaf size - 1
  was sequenced, so its event id was drawn, before the checkpoint's created_at). Memory may be
  lost at any time (restart, another worker took over); then the checkpoints still give a mark,
  and with neither the pass simply scans from 0.
* A transaction that outlives D breaks only the fast path, not the log: a *full sweep* (L = 0)
  runs every `full_sweep_seconds` and on a process's first pass, so such an event is sequenced
  late, never lost. `egov audit verify` warns about events still without a leaf after minutes.

Defaults: D = 60 s, a full sweep every 10 minutes. Measured on PostgreSQL with a million leaves:
a steady pass with nothing new costs ~10 ms, a full sweep ~1 s, a backlog goes in at ~30k/s.

Leaf hashes follow the versioned encoding in `leaf.py`. Rows go in with `bulk_load` (binary COPY
on PostgreSQL), leaves and the newly completed perfect subtrees (levels >= 1; level 0 is the leaf
hash itself) in batches of `batch_size`, each batch its own short transaction.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count, repeat
from typing import cast

from sqlalchemy import Table, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from egov.platform.clock import Clock
from egov.platform.db import Database, bulk_load
from egov.platform.db import locks as db_locks
from egov.soc.audit import merkle
from egov.soc.audit.leaf import V1_ORDERED, encode_values
from egov.soc.audit.tree import LEAVES, NODES, StoredNodes, tree_size
from egov.soc.models import AuditCheckpoint, AuditEvent

log = logging.getLogger("egov.soc.audit.sequencer")

EVENTS = cast(Table, AuditEvent.__table__)
CHECKPOINTS = cast(Table, AuditCheckpoint.__table__)
LOCK_NAME = "egov.soc.audit.sequencer"
# id, leaf_version, then the v1 fields in the order encode_values takes them: rows encode as tuples.
_EVENT_COLUMNS = [EVENTS.c.id, EVENTS.c.leaf_version, *(EVENTS.c[name] for name in V1_ORDERED)]
_LEAF_COLUMNS = ("leaf_index", "event_pk", "leaf_hash", "sequenced_at")
_NODE_COLUMNS = ("level", "idx", "hash")


@dataclass(frozen=True)
class SequenceResult:
    sequenced: int  # leaves appended by this call
    tree_size: int  # size after the call (as this process last saw it)
    full_sweep: bool
    low_water_mark: int
    locked_out: bool = False  # another sequencer held the lock; nothing was done


def take_write_lock(session: Session, name: str = LOCK_NAME) -> bool:
    """The sequencer's (and checkpointer's) mutual exclusion, on the checkpoint table (see
    `platform.db.locks.take_write_lock`); False while another process holds it."""
    return db_locks.take_write_lock(session, name, table=CHECKPOINTS.name)


def unsequenced_query(low_water_mark: int, limit: int):  # type: ignore[no-untyped-def]
    """Events above the mark that have no leaf yet, lowest id first (index range + anti-join).

    The leaf side repeats the range on purpose: PostgreSQL does not carry `id > mark` across the
    join, and without it the merge anti-join reads the whole leaf index on every pass.
    """
    has_leaf = exists().where(LEAVES.c.event_pk == EVENTS.c.id, LEAVES.c.event_pk > low_water_mark)
    return (
        select(EVENTS.c.id, EVENTS.c.leaf_hash)
        .where(EVENTS.c.id > low_water_mark, ~has_leaf)
        .order_by(EVENTS.c.id)
        .limit(limit)
    )


class Sequencer:
    """Appends committed events to the log; keep one per process and call `run()` every second or so.

    Safe with any number of processes: one wins the lock per batch, the others return at once.
    The in-memory marks only make passes cheaper; losing them costs time, never correctness.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        batch_size: int = 10_000,
        settle_seconds: float = 60.0,
        full_sweep_seconds: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.db = db
        self.clock = clock
        self.batch_size = batch_size
        self.settle_seconds = settle_seconds
        self.full_sweep_seconds = full_sweep_seconds
        self._mono = monotonic
        self._marks: deque[tuple[float, int]] = deque()  # (monotonic t, W): every id <= W drawn before t
        self._last_complete: tuple[float, datetime] | None = None  # (monotonic, wall) before last snapshot
        self._last_full_sweep: float | None = None

    # --- low-water mark ------------------------------------------------------------------------------

    def _low_water_mark(self, session: Session) -> int:
        """The largest id known safe (see the module docstring); 0 when none is."""
        if self._last_complete is None:
            return 0
        mono_c, wall_c = self._last_complete
        horizon = mono_c - self.settle_seconds
        best = 0
        while len(self._marks) > 1 and self._marks[1][0] <= horizon:
            self._marks.popleft()  # an older mark can never beat a newer safe one
        if self._marks and self._marks[0][0] <= horizon:
            best = self._marks[0][1]
        cutoff = wall_c - timedelta(seconds=self.settle_seconds)
        size = session.execute(
            select(CHECKPOINTS.c.tree_size)
            .where(CHECKPOINTS.c.created_at <= cutoff)
            .order_by(CHECKPOINTS.c.tree_size.desc())
            .limit(1)
        ).scalar()
        if size:
            pk = session.execute(select(LEAVES.c.event_pk).where(LEAVES.c.leaf_index == int(size) - 1)).scalar()
            if pk is not None:
                best = max(best, int(pk))
        return best

    # --- one pass ------------------------------------------------------------------------------------

    def run(self, *, full_sweep: bool = False) -> SequenceResult:
        """Sequence everything committed so far (in batches) unless another sequencer holds the lock."""
        started = self._mono()
        full = (full_sweep or self._last_full_sweep is None
                or started - self._last_full_sweep >= self.full_sweep_seconds)
        low = 0
        total = 0
        size = 0
        first = True
        cursor = 0
        while True:
            with self.db.session() as session:
                if not take_write_lock(session):  # another sequencer, or (SQLite) another writer
                    return SequenceResult(total, size, full, low, locked_out=total == 0)
                if first:
                    low = cursor = 0 if full else self._low_water_mark(session)
                    top = session.execute(select(func.max(EVENTS.c.id))).scalar()
                    mark = (self._mono(), int(top or 0))
                    first = False
                before_snapshot = (self._mono(), self.clock.now())
                try:
                    n, size, last_id = self._batch(session, cursor)
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    # A second sequencer got past a lock it should not have (misconfiguration); the
                    # unique keys stopped the fork. Nothing was written; the next pass continues.
                    log.warning("audit sequencer lost a race on leaf indices; retrying next pass")
                    return SequenceResult(total, size, full, low, locked_out=True)
            total += n
            if n == self.batch_size:
                cursor = last_id  # a backlog: walk up the ids instead of re-scanning the window
            elif cursor != low:
                cursor = low  # a closing batch over the whole window catches lower ids committed meanwhile
            else:
                break  # this batch saw the whole window and took everything: the pass is complete
        self._marks.append(mark)
        self._last_complete = before_snapshot
        if full:
            self._last_full_sweep = started
        if total:
            log.info("audit sequencer appended leaves", extra={"count": total, "tree_size": size})
        return SequenceResult(total, size, full, low)

    def _batch(self, session: Session, after: int) -> tuple[int, int, int]:
        """Append one batch of unsequenced events with ids above `after`; returns (appended, size, last id)."""
        rows = session.execute(unsequenced_query(after, self.batch_size)).all()
        start = tree_size(session)
        if not rows:
            return 0, start, after
        now = self.clock.now()
        hashes = [bytes(row[1]) if row[1] is not None else None for row in rows]
        missing = [row[0] for row, h in zip(rows, hashes, strict=True) if h is None]
        if missing:  # written without a hash (a bulk load): encode them here, as verify does
            encoded = {
                int(r[0]): merkle.leaf_hash(encode_values(r[1], r[2:]))
                for r in session.execute(select(*_EVENT_COLUMNS).where(EVENTS.c.id.in_(missing)))
            }
            hashes = [h if h is not None else encoded[int(row[0])] for row, h in zip(rows, hashes, strict=True)]
        nodes = StoredNodes(session)
        nodes.fetch(merkle.frontier(start))
        # Level 0 is the leaf hash itself, stored in audit_leaves; the node table holds levels >= 1.
        completed = merkle.new_perfect_nodes(start, cast(list[bytes], hashes), nodes.perfect_subtree, from_level=1)
        # Binary COPY: every value is already its column's type (ints, 32-byte hashes, an aware datetime).
        bulk_load(session, LEAVES, _LEAF_COLUMNS,
                  zip(count(start), (row[0] for row in rows), hashes, repeat(now)), binary=True)
        bulk_load(session, NODES, _NODE_COLUMNS, completed, binary=True)
        return len(rows), start + len(rows), int(rows[-1][0])


def sequence_pending(db: Database, clock: Clock, *, batch_size: int = 10_000) -> SequenceResult:
    """One full pass by a throw-away sequencer (CLI, tests): scans every event for missing leaves."""
    return Sequencer(db, clock, batch_size=batch_size).run(full_sweep=True)
