"""The audit log end to end on a real database: record, sequence, checkpoint, prove, verify, and tampering caught."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from tests.factories.soc import (
    event_pk_at_leaf,
    leave_room_below,
    make_event_with_id,
    make_events,
    sequence_and_checkpoint,
    swap_event_contents,
    tamper,
    truncate_tail,
)

from egov.bootstrap import Container
from egov.platform.db import Database
from egov.soc.audit import merkle
from egov.soc.audit.checkpoints import Checkpointer, CheckpointRefused, latest_checkpoint
from egov.soc.audit.leaf import encode_leaf
from egov.soc.audit.proofs import consistency, inclusion
from egov.soc.audit.recorder import _PENDING as PENDING_KEY
from egov.soc.audit.recorder import COPY_FROM, FLUSH_AT, record_event
from egov.soc.audit.sequencer import sequence_pending
from egov.soc.audit.signed_note import verify_checkpoint
from egov.soc.audit.tree import tree_size
from egov.soc.audit.verify import AuditVerificationError, verify_log
from egov.soc.models import AuditEvent, AuditLeaf
from egov.soc.settings import SocSettings


def _verify(container: Container, checkpoint_dir: Path | None = None):  # type: ignore[no-untyped-def]
    return verify_log(container.db, container.keys, container.settings, now=container.clock.now(),
                      checkpoint_dir=checkpoint_dir)


def _published(container: Container) -> Path:
    assert container.settings.section(SocSettings).checkpoint_dir is not None
    return Path(container.settings.section(SocSettings).checkpoint_dir)


def _log_of(container: Container, session, n: int = 40):  # type: ignore[no-untyped-def]
    make_events(session, n)
    return sequence_and_checkpoint(container)


def test_record_sequence_checkpoint_round_trip(container: Container, session) -> None:  # type: ignore[no-untyped-def]
    events = make_events(session, 37)
    result, cp = sequence_and_checkpoint(container)
    assert result.sequenced == 37 and result.tree_size == 37
    assert cp is not None and cp.size == 37

    # Leaves follow the versioned encoding of the stored rows, and the root is RFC 6962's.
    leaves = session.execute(select(AuditLeaf).order_by(AuditLeaf.leaf_index)).scalars().all()
    assert [leaf.leaf_index for leaf in leaves] == list(range(37))
    by_pk = {e.id: e for e in events}
    hashes = [merkle.leaf_hash(encode_leaf(by_pk[leaf.event_pk])) for leaf in leaves]
    assert [bytes(leaf.leaf_hash) for leaf in leaves] == hashes
    assert cp.root == merkle.root_from_leaf_hashes(hashes)
    session.commit()  # end the read: on SQLite every transaction holds the write lock

    # The published checkpoint verifies with the published verifier key, and says what the DB says.
    directory = _published(container)
    vkey = (directory / "vkey").read_text().strip()
    published = verify_checkpoint((directory / "checkpoint").read_text(), vkey,
                                  origin=container.settings.section(SocSettings).audit_origin)
    assert (published.size, published.root) == (37, cp.root)
    assert (directory / "checkpoint.37").read_text() == cp.note

    # Nothing new: no second checkpoint, nothing to sequence.
    again, cp2 = sequence_and_checkpoint(container)
    assert again.sequenced == 0 and cp2 is None


def test_proofs_verify_against_the_signed_checkpoint(container: Container, session) -> None:  # type: ignore[no-untyped-def]
    make_events(session, 21)
    _, first = sequence_and_checkpoint(container)
    make_events(session, 12)
    _, second = sequence_and_checkpoint(container)
    assert first is not None and second is not None
    vkey = (_published(container) / "vkey").read_text().strip()
    signed = verify_checkpoint(second.note, vkey)
    for index in (0, 1, 20, 21, 32):
        p = inclusion(session, index)
        assert p.tree_size == 33 and p.checkpoint == second.note
        merkle.verify_inclusion(p.leaf_hash, index, signed.size, p.hashes, signed.root)
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(inclusion(session, 3).leaf_hash, 4, signed.size, inclusion(session, 4).hashes,
                                signed.root)
    c = consistency(session, 21)
    merkle.verify_consistency(21, 33, verify_checkpoint(first.note, vkey).root, signed.root, c.hashes)


def test_verify_passes_on_an_intact_log(container: Container, session) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session, 300)
    report = _verify(container)
    assert report.ok and report.leaves == 300 and report.files_checked == 2 and report.checkpoints_checked == 1
    assert report.nodes_checked == sum(300 >> level for level in range(1, 9))
    assert report.rate > 0 and "events/s" in report.summary()


def test_verify_names_an_altered_event(container: Container, session, owner_db: Database) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session)
    pk = event_pk_at_leaf(owner_db, 17)
    tamper(owner_db, ("UPDATE audit_events SET details = :d WHERE id = :id", {"d": '{"i":999}', "id": pk}))
    with pytest.raises(AuditVerificationError) as caught:
        _verify(container)
    first = caught.value.report.problems[0]
    assert (first.kind, first.leaf_index, first.event_pk) == ("altered", 17, pk)
    assert f"altered: event id {pk} at leaf 17" in str(caught.value)


def test_verify_names_a_deleted_event_row(container: Container, session, owner_db: Database) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session)
    pk = event_pk_at_leaf(owner_db, 5)
    tamper(owner_db, ("DELETE FROM audit_events WHERE id = :id", {"id": pk}))
    with pytest.raises(AuditVerificationError) as caught:
        _verify(container)
    first = caught.value.report.problems[0]
    assert (first.kind, first.leaf_index, first.event_pk) == ("deleted", 5, pk)
    assert f"the event (id {pk}) of leaf 5 is gone" in str(caught.value)


def test_verify_names_an_event_deleted_with_its_leaf(container: Container, session, owner_db: Database) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session)
    pk = event_pk_at_leaf(owner_db, 9)
    tamper(owner_db, ("DELETE FROM audit_leaves WHERE leaf_index = 9", {}),
           ("DELETE FROM audit_events WHERE id = :id", {"id": pk}))
    with pytest.raises(AuditVerificationError) as caught:
        _verify(container)
    assert caught.value.report.problems[0].kind == "deleted"
    assert "leaves 9..9 are missing" in str(caught.value)


def test_verify_names_reordered_events(container: Container, session, owner_db: Database) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session)
    a, b = event_pk_at_leaf(owner_db, 11), event_pk_at_leaf(owner_db, 29)
    swap_event_contents(owner_db, a, b)
    with pytest.raises(AuditVerificationError) as caught:
        _verify(container)
    problems = caught.value.report.problems
    assert [(p.kind, p.leaf_index) for p in problems[:2]] == [("reordered", 11), ("reordered", 29)]
    assert f"reordered: event id {a} at leaf 11 holds the content sequenced at leaf 29" in str(caught.value)


def test_truncated_tail_is_caught_only_by_the_published_checkpoint(
    container: Container, session, owner_db: Database, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    make_events(session, 20)
    sequence_and_checkpoint(container)
    make_events(session, 15)
    sequence_and_checkpoint(container)
    truncate_tail(owner_db, 24)  # events, leaves, nodes and checkpoints past leaf 23 are gone
    # The database alone is self-consistent: without the published files nothing looks wrong.
    quiet = _verify(container, checkpoint_dir=tmp_path / "nothing-published")
    assert quiet.ok and quiet.leaves == 24
    with pytest.raises(AuditVerificationError) as caught:
        _verify(container)
    first = caught.value.report.problems[0]
    assert first.kind == "truncated" and first.leaf_index == 24
    assert "commits to 35 leaves but the log has only 24" in str(caught.value)


def test_a_rewritten_leaf_and_tree_is_caught_by_the_checkpoints(
    container: Container, session, owner_db: Database
) -> None:  # type: ignore[no-untyped-def]
    """An attacker who also recomputes the leaf hash still cannot match the signed root."""
    _log_of(container, session, 16)
    pk = event_pk_at_leaf(owner_db, 3)
    tamper(owner_db, ("UPDATE audit_events SET outcome = 'failure' WHERE id = :id", {"id": pk}))
    event = session.get(AuditEvent, pk)
    session.refresh(event)
    new_hash = merkle.leaf_hash(encode_leaf(event))
    session.commit()  # release SQLite's write lock before the attacker writes
    tamper(owner_db, ("UPDATE audit_leaves SET leaf_hash = :h WHERE leaf_index = 3", {"h": new_hash}))
    with pytest.raises(AuditVerificationError) as caught:
        _verify(container)
    kinds = {p.kind for p in caught.value.report.problems}
    assert "tree" in kinds and "checkpoint" in kinds and "altered" not in kinds
    assert "stored node (level 1, index 1) does not match its leaves" in str(caught.value)


def test_the_checkpointer_refuses_to_sign_over_a_tampered_tree(
    container: Container, session, owner_db: Database
) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session, 8)
    tamper(owner_db, ("UPDATE audit_tree_nodes SET hash = :h WHERE level = 3 AND idx = 0", {"h": bytes(32)}))
    make_events(session, 3)
    sequence_pending(container.db, container.clock)
    with pytest.raises(CheckpointRefused):
        Checkpointer(container.db, container.clock, container.keys, container.settings).run(force=True)


def test_stuck_events_are_a_warning_not_an_error(container: Container, session) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session, 3)
    make_events(session, 2)  # committed hours "ago" (BASE_TIME), never sequenced
    report = _verify(container)
    assert report.ok and len(report.warnings) == 1 and "2 event(s)" in report.warnings[0]


def test_a_forged_published_checkpoint_is_named(container: Container, session) -> None:  # type: ignore[no-untyped-def]
    _, cp = _log_of(container, session, 5)
    assert cp is not None
    path = _published(container) / "checkpoint"
    path.write_text(cp.note.replace("\n5\n", "\n4\n"))
    with pytest.raises(AuditVerificationError) as caught:
        _verify(container)
    assert caught.value.report.problems[0].kind == "checkpoint"
    assert "invalid signature" in str(caught.value)


def test_out_of_order_commit_gets_a_later_leaf_exactly_once(container: Container, session, owner_db) -> None:  # type: ignore[no-untyped-def]
    """An event whose id is lower than already-sequenced ones (it committed late) is not skipped."""
    leave_room_below(session, owner_db)
    make_events(session, 4)
    sequence_pending(container.db, container.clock)
    make_event_with_id(session, 500)
    session.commit()
    result = sequence_pending(container.db, container.clock)
    assert result.sequenced == 1
    leaf = session.execute(select(AuditLeaf).where(AuditLeaf.event_pk == 500)).scalar_one()
    assert leaf.leaf_index == 5
    session.commit()
    assert sequence_pending(container.db, container.clock).sequenced == 0
    assert _verify(container).ok


@pytest.mark.postgres_only("SQLite has one writer: two open write transactions cannot exist")
def test_concurrent_commits_out_of_id_order_are_each_sequenced_once(container: Container, db: Database) -> None:
    from egov.soc.audit.sequencer import Sequencer

    slow, fast = db.sessions(), db.sessions()
    try:
        early = make_events(slow, 1, commit=False)[0]
        slow.flush()  # id drawn now, commit later
        late = make_events(fast, 3)  # higher ids, committed first
        seq = Sequencer(db, container.clock)
        assert seq.run().sequenced == 3
        slow.commit()
        second = seq.run()  # a fast pass (not a full sweep) must still find the lower id
        assert not second.full_sweep and second.sequenced == 1
        assert early.id < min(e.id for e in late)
    finally:
        slow.close()
        fast.close()
    with db.session() as s:
        rows = s.execute(select(AuditLeaf.event_pk, AuditLeaf.leaf_index).order_by(AuditLeaf.leaf_index)).all()
    assert [pk for pk, _ in rows] == [*(e.id for e in late), early.id]
    assert _verify(container).ok


def test_the_low_water_mark_skips_settled_ids_and_the_full_sweep_catches_stragglers(
    container: Container, session, owner_db: Database
) -> None:  # type: ignore[no-untyped-def]
    """The documented trade-off: a transaction older than settle_seconds waits for the next full sweep."""
    from egov.soc.audit.sequencer import Sequencer

    now = [1000.0]
    seq = Sequencer(container.db, container.clock, settle_seconds=10, full_sweep_seconds=300,
                    monotonic=lambda: now[0])
    leave_room_below(session, owner_db)
    make_events(session, 3)
    first = seq.run()
    assert first.full_sweep and first.sequenced == 4
    now[0] += 20
    make_events(session, 2)
    second = seq.run()  # no mark is older than 10 s yet: scans from 0, but is no full sweep
    assert not second.full_sweep and second.low_water_mark == 0 and second.sequenced == 2
    now[0] += 20
    third = seq.run()
    assert not third.full_sweep and third.low_water_mark == 1003
    # A straggler: an id below the mark, as if its transaction had stayed open far longer than 10 s.
    make_event_with_id(session, 500)
    session.commit()
    now[0] += 1
    fourth = seq.run()
    assert fourth.low_water_mark == 1005 and fourth.sequenced == 0  # the fast path does not look below
    now[0] += 300
    sweep = seq.run()
    assert sweep.full_sweep and sweep.sequenced == 1  # sequenced late, never lost
    assert tree_size(session) == 7


def test_sequencer_batches_and_builds_the_same_tree(container: Container, session) -> None:  # type: ignore[no-untyped-def]
    from egov.soc.audit.sequencer import Sequencer

    make_events(session, 77)
    result = Sequencer(container.db, container.clock, batch_size=10).run()
    assert result.sequenced == 77
    cp = Checkpointer(container.db, container.clock, container.keys, container.settings).run(force=True)
    leaves = session.execute(select(AuditLeaf.leaf_hash).order_by(AuditLeaf.leaf_index)).scalars().all()
    assert cp is not None and cp.root == merkle.root_from_leaf_hashes([bytes(h) for h in leaves])
    assert _verify(container).nodes_checked == sum(77 >> level for level in range(1, 7))


@pytest.mark.postgres_only("the advisory lock is PostgreSQL's")
def test_two_sequencers_at_once_append_each_event_once(container: Container, db: Database, session) -> None:  # type: ignore[no-untyped-def]
    import threading

    from egov.soc.audit.sequencer import Sequencer

    make_events(session, 3000)
    seqs = [Sequencer(db, container.clock, batch_size=250) for _ in range(4)]
    threads = [threading.Thread(target=s.run) for s in seqs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while sequence_pending(db, container.clock).sequenced:
        pass
    count, distinct, top = session.execute(
        select(func.count(), func.count(func.distinct(AuditLeaf.event_pk)), func.max(AuditLeaf.leaf_index))
    ).one()
    assert count == distinct == 3000 and top == 2999
    Checkpointer(container.db, container.clock, container.keys, container.settings).run(force=True)
    assert _verify(container).ok


# --- PostgreSQL roles and triggers ----------------------------------------------------------------


@pytest.mark.postgres_only("roles are PostgreSQL's")
@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET details = '{}'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events CASCADE",
    "UPDATE audit_leaves SET leaf_hash = leaf_hash",
    "DELETE FROM audit_leaves",
    "TRUNCATE audit_tree_nodes",
    "DELETE FROM audit_tree_nodes",
    "DELETE FROM audit_checkpoints",
    "TRUNCATE audit_checkpoints",
])
def test_the_application_role_cannot_rewrite_the_audit_tables(
    container: Container, db: Database, session, statement: str
) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session, 3)
    with pytest.raises(DBAPIError) as caught, db.engine.begin() as conn:
        conn.execute(text(statement))
    assert "permission denied" in str(caught.value.orig)


@pytest.mark.postgres_only("triggers are PostgreSQL's")
@pytest.mark.parametrize("statement", [
    "UPDATE audit_events SET details = '{}'",
    "DELETE FROM audit_leaves",
    "TRUNCATE audit_tree_nodes",
    "DELETE FROM audit_checkpoints",
])
def test_the_triggers_stop_even_the_owner_without_replica_mode(
    container: Container, owner_db: Database, session, statement: str
) -> None:  # type: ignore[no-untyped-def]
    _log_of(container, session, 3)
    with pytest.raises(DBAPIError) as caught, owner_db.engine.begin() as conn:
        conn.execute(text(statement))
    assert "append-only" in str(caught.value.orig)


def test_latest_checkpoint_and_published_files_survive_a_crash_before_publishing(
    container: Container, session
) -> None:  # type: ignore[no-untyped-def]
    _, cp = _log_of(container, session, 4)
    assert cp is not None
    directory = _published(container)
    for name in ("checkpoint", "checkpoint.4"):
        (directory / name).unlink()
    # The next round finds the files behind the database and republishes the latest checkpoint.
    assert Checkpointer(container.db, container.clock, container.keys, container.settings).run() is None
    assert (directory / "checkpoint").read_text() == cp.note
    latest = latest_checkpoint(session)
    assert latest is not None and latest.size == 4


def test_verify_reads_one_snapshot_and_blocks_no_writer(container: Container, session, db: Database) -> None:  # type: ignore[no-untyped-def]
    from egov.soc.audit.verify import _snapshot

    _log_of(container, session, 6)
    with _snapshot(db) as snap:
        before = snap.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        with db.session() as writer:  # would wait 30 s for the write lock if verify held it
            make_events(writer, 2)
        assert snap.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == before
    assert session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == before + 2


def test_many_events_in_one_transaction_keep_ascending_ids_and_savepoint_rollback(
    container: Container, session
) -> None:  # type: ignore[no-untyped-def]
    """Ids drawn up front for a multi-event flush follow the order of recording; a rolled-back
    savepoint still takes its events with it (the ORM's own unit of work is untouched)."""
    kept = make_events(session, 5, commit=False)
    nested = session.begin_nested()
    make_events(session, 3, event_type="test:thing:undone", commit=False)
    session.flush()
    nested.rollback()
    session.commit()
    ids = [e.id for e in kept]
    assert ids == sorted(ids) and len(set(ids)) == 5
    types = session.execute(select(AuditEvent.event_type)).scalars().all()
    assert sorted(types) == ["test:thing:done"] * 5
    assert sequence_pending(container.db, container.clock).sequenced == 5


def _recorded(session, n: int, event_type: str = "test:held:one") -> list[str]:  # type: ignore[no-untyped-def]
    return [record_event(session, event_type, object_type="thing", object_id=f"held-{i}")["event_id"]
            for i in range(n)]


def _stored_ids(db: Database) -> list[str]:
    with db.deferred_sessions() as other:  # another connection: sees only what was committed
        return list(other.scalars(select(AuditEvent.event_id).order_by(AuditEvent.id)))


def test_events_held_in_the_session_are_written_at_commit_in_recording_order(session, db: Database) -> None:  # type: ignore[no-untyped-def]
    held = _recorded(session, 7)
    assert session.info[PENDING_KEY] and len(session.info[PENDING_KEY]) == 7
    session.commit()
    assert PENDING_KEY not in session.info
    assert _stored_ids(db) == held


def test_held_events_go_with_a_rollback_and_with_a_session_closed_uncommitted(session, db: Database) -> None:  # type: ignore[no-untyped-def]
    _recorded(session, 3)
    session.rollback()
    assert PENDING_KEY not in session.info
    session.commit()
    other = db.sessions()
    _recorded(other, 2)
    other.close()
    assert _stored_ids(db) == []


def test_a_session_reads_its_own_held_events(session) -> None:  # type: ignore[no-untyped-def]
    held = _recorded(session, 2)
    assert list(session.scalars(select(AuditEvent.event_id).order_by(AuditEvent.id))) == held
    session.rollback()
    assert list(session.scalars(select(AuditEvent.event_id))) == []


def test_a_large_batch_is_written_in_chunks_of_flush_at(session, db: Database) -> None:  # type: ignore[no-untyped-def]
    held = _recorded(session, FLUSH_AT + 5)
    assert len(session.info[PENDING_KEY]) == 5  # the first FLUSH_AT already went to the database
    session.commit()
    assert _stored_ids(db) == held


def test_savepoints_keep_the_outer_events_and_drop_only_their_own(session, db: Database) -> None:  # type: ignore[no-untyped-def]
    before = _recorded(session, 2, "test:held:outer")
    with session.begin_nested():
        inner_kept = _recorded(session, 1, "test:held:released")
    nested = session.begin_nested()
    _recorded(session, 2, "test:held:undone")
    nested.rollback()
    after = _recorded(session, 1, "test:held:outer")
    session.commit()
    stored = _stored_ids(db)
    assert sorted(stored) == sorted(before + inner_kept + after)
    types = set(session.scalars(select(AuditEvent.event_type)))
    assert types == {"test:held:outer", "test:held:released"}


def test_the_writer_hashes_each_leaf_and_the_sequencer_falls_back_for_rows_without(
    container: Container, session, owner_db: Database
) -> None:  # type: ignore[no-untyped-def]
    """record_event stores the leaf hash it computed; the sequencer uses it as is, and encodes rows
    loaded without one (a bulk load) itself; verify recomputes every leaf either way."""
    make_events(session, 3)
    with owner_db.session() as s:  # a row as a bulk loader would write it: no hash
        s.execute(text("UPDATE audit_events SET leaf_hash = NULL WHERE id = (SELECT max(id) FROM audit_events)")
                  if owner_db.engine.dialect.name == "sqlite" else text(
                      "SET LOCAL session_replication_role = replica; "
                      "UPDATE audit_events SET leaf_hash = NULL WHERE id = (SELECT max(id) FROM audit_events)"))
    assert sequence_pending(container.db, container.clock).sequenced == 3
    session.rollback()
    rows = session.execute(select(AuditEvent, AuditLeaf.leaf_hash).join(AuditLeaf, AuditLeaf.event_pk == AuditEvent.id)
                           .order_by(AuditEvent.id)).all()
    for event, stored in rows:
        assert stored == merkle.leaf_hash(encode_leaf(event))
    assert [e.leaf_hash is None for e, _ in rows] == [False, False, True]
    assert rows[0][0].leaf_hash == rows[0][1]
    assert _verify(container).ok


@pytest.mark.parametrize("n", [1, 2, COPY_FROM - 1, COPY_FROM, COPY_FROM + 1])
def test_held_events_are_stored_exactly_as_recorded_by_each_write_path(session, db: Database, n: int) -> None:  # type: ignore[no-untyped-def]
    """One event (single INSERT), a few (executemany) and COPY_FROM or more (COPY) on PostgreSQL; the
    ORM session's INSERT on SQLite: every column comes back as record_event made it, and the stored
    leaf hash is the hash of the stored row's leaf."""
    at = datetime(2026, 11, 25, 3, 4, 5, 123456, tzinfo=UTC)
    recorded = [
        record_event(session, f"test:path:{i % 3}", object_type="thing", object_id=f"p-{i}", at=at,
                     outcome="denied" if i % 2 else "success", actor_name="Nguyễn\tThị \\ \"Hoa\"\n",
                     details={"i": i, "note": "100% %s %(x)s", "token": "never stored", "nested": [{"pin": 1}]})
        for i in range(n)
    ]
    session.commit()
    with db.deferred_sessions() as other:
        stored = list(other.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    assert len(stored) == n
    for want, row in zip(recorded, stored, strict=True):
        assert {name: getattr(row, name) for name in want} == want
        assert row.leaf_hash == merkle.leaf_hash(encode_leaf(row))
        assert "never stored" not in row.details and '"pin":"[scrubbed]"' in row.details


def test_binary_bulk_load_round_trips_and_refuses_values_of_another_type(session) -> None:  # type: ignore[no-untyped-def]
    """The sequencer's binary COPY (PostgreSQL; SQLite ignores the flag): values land as sent, and a value
    that is not its column's Python type is refused, never reinterpreted."""
    from egov.platform.db import bulk_load
    from egov.soc.audit.tree import LEAVES, NODES

    at = datetime(2026, 11, 25, 3, 4, 5, 123456, tzinfo=UTC)
    make_events(session, 2, commit=False)
    session.flush()
    pks = list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))
    leaves = [(0, pks[0], bytes(range(32)), at), (1, pks[1], b"\xff" * 32, at)]
    assert bulk_load(session, LEAVES, ("leaf_index", "event_pk", "leaf_hash", "sequenced_at"), leaves, binary=True) == 2
    nodes = [(1, 0, b"\x00" * 32), (2**31 - 1, 2**62, b"\x01" * 32)]
    assert bulk_load(session, NODES, ("level", "idx", "hash"), iter(nodes), binary=True) == 2
    got = session.execute(select(LEAVES.c.leaf_index, LEAVES.c.event_pk, LEAVES.c.leaf_hash, LEAVES.c.sequenced_at)
                          .order_by(LEAVES.c.leaf_index)).all()
    assert [(i, pk, bytes(h), t) for i, pk, h, t in got] == leaves
    got_nodes = session.execute(select(NODES.c.level, NODES.c.idx, NODES.c.hash).order_by(NODES.c.level)).all()
    assert [(lv, i, bytes(h)) for lv, i, h in got_nodes] == nodes
    session.rollback()
    if session.get_bind().dialect.name != "postgresql":
        return
    # a string for an integer or bytea, an int8 too large, an int4 out of range (which psycopg's binary
    # dumper alone would wrap to -2**31), a naive datetime
    for table, columns, bad in [
        (NODES, ("level", "idx", "hash"), ("1", 0, b"\x00" * 32)),
        (NODES, ("level", "idx", "hash"), (1, 0, "00" * 32)),
        (NODES, ("level", "idx", "hash"), (1, 2**63, b"\x00" * 32)),
        (NODES, ("level", "idx", "hash"), (2**31, 0, b"\x00" * 32)),
        (NODES, ("level", "idx", "hash"), (-(2**31) - 1, 0, b"\x00" * 32)),
        (LEAVES, ("leaf_index", "event_pk", "leaf_hash", "sequenced_at"), (0, pks[0], b"", at.replace(tzinfo=None))),
    ]:
        with pytest.raises((TypeError, ValueError, OverflowError)):
            bulk_load(session, table, columns, [bad], binary=True)
        session.rollback()
