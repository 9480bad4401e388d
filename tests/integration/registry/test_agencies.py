"""Agencies on the real database: the code tree, look-ups as of a date around a merger, scoping by subtree."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories.registry import RegistryTree, make_agency, make_principal

from egov.platform.clock import FixedClock
from egov.platform.errors import PermissionDenied, ValidationFailed
from egov.registry.models import Agency
from egov.registry.permissions import RegistryPermission
from egov.registry.services import (
    SYSTEM_PRINCIPAL,
    agency_as_of,
    agency_tree,
    allowed_agency_ids,
    children_of,
    create_agency,
    effective_agency,
    find_agency_by_code,
    merge,
    subtree_ids,
)
from egov.soc.models import AuditEvent

MERGER_DAY = date(2025, 7, 1)


def rules(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[tuple[str, str]]:
    return {(e.field, e.rule) for e in exc.value.errors}


@pytest.fixture
def merger(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> dict[str, Agency]:
    """Two departments with a unit each; department B and its unit merge into department A on 1/7/2025."""
    unit_a = make_agency(session, clock, "000.01.01.H29", "Phòng A1")
    unit_b = make_agency(session, clock, "000.01.02.H29", "Phòng B1")
    merge(session, clock, ["000.00.02.H29", "000.01.02.H29"], into="000.00.01.H29", on=MERGER_DAY, by=SYSTEM_PRINCIPAL)
    session.commit()
    return {"unit_a": unit_a, "unit_b": unit_b}


def test_parent_comes_from_the_code(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    assert registry_tree.dept_a.parent_id == registry_tree.root.id
    assert registry_tree.root.parent_id is None
    assert [a.code for a in children_of(session, registry_tree.root.id)] == ["000.00.01.H29", "000.00.02.H29"]


def test_bad_codes_are_refused_with_the_rule(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_agency(session, clock, code="000.00.01.H29", name_vi="Trùng", opened_on=date(2024, 1, 1),
                      by=SYSTEM_PRINCIPAL)
    assert ("code", "agency_code.duplicate") in rules(caught)
    with pytest.raises(ValidationFailed) as caught:
        create_agency(session, clock, code="000.05.07.H29", name_vi="Mồ côi", opened_on=date(2024, 1, 1),
                      by=SYSTEM_PRINCIPAL)
    assert ("parent_code", "agency.parent_unknown") in rules(caught)
    with pytest.raises(ValidationFailed) as caught:
        create_agency(session, clock, code="000.03.01.H29", name_vi="Sai cha", parent_code="000.00.02.H29",
                      opened_on=date(2024, 1, 1), by=SYSTEM_PRINCIPAL)
    assert ("code", "agency_code.parent") in rules(caught)
    with pytest.raises(ValidationFailed) as caught:
        create_agency(session, clock, code="0000.00.00.H29", name_vi="x", opened_on=date(2024, 1, 1),
                      by=SYSTEM_PRINCIPAL)
    assert ("code", "agency_code.format") in rules(caught)


def test_a_level_1_unit_needs_a_global_grant(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    officer = make_principal(registry_tree.root, RegistryPermission.AGENCY_UPDATE)
    with pytest.raises(PermissionDenied):
        create_agency(session, clock, code="000.00.00.H01", name_vi="UBND Hà Nội", opened_on=date(2020, 1, 1),
                      by=officer)
    # ...but a unit below the officer's agency is fine.
    unit = create_agency(session, clock, code="000.00.03.H29", name_vi="Sở C", opened_on=date(2024, 1, 1), by=officer)
    assert unit.parent_id == registry_tree.root.id


def test_as_of_lookups_around_a_merger(session: Session, clock: FixedClock, merger: dict[str, Agency]) -> None:
    before, after = date(2025, 6, 30), MERGER_DAY
    assert agency_as_of(session, "000.00.02.H29", before) is not None
    assert agency_as_of(session, "000.00.02.H29", after) is None  # the code is closed that day
    assert agency_as_of(session, "000.00.02.H29", date(2019, 12, 31)) is None  # not opened yet
    closed = find_agency_by_code(session, "000.00.02.H29")  # history stays readable
    assert closed is not None and closed.closed_on == MERGER_DAY
    successor = effective_agency(session, "000.00.02.H29", after)
    assert successor is not None and successor.code == "000.00.01.H29"
    assert effective_agency(session, "000.00.02.H29", before) == closed
    assert effective_agency(session, "000.01.02.H29", after).code == "000.00.01.H29"  # type: ignore[union-attr]


def test_tree_as_of_a_date(session: Session, clock: FixedClock, merger: dict[str, Agency]) -> None:
    def codes(on: date) -> list[str]:
        out: list[str] = []

        def walk(nodes, depth=0):  # type: ignore[no-untyped-def]
            for node in nodes:
                out.append("  " * depth + node.agency.code)
                walk(node.children, depth + 1)

        walk(agency_tree(session, on))
        return out

    assert codes(date(2025, 1, 1)) == [
        "000.00.00.H29",
        "  000.00.01.H29",
        "    000.01.01.H29",
        "  000.00.02.H29",
        "    000.01.02.H29",
    ]
    assert codes(date(2025, 7, 1)) == ["000.00.00.H29", "  000.00.01.H29", "    000.01.01.H29"]


def test_merge_refuses_to_orphan_open_units(session: Session, clock: FixedClock, registry_tree: RegistryTree) -> None:
    make_agency(session, clock, "000.01.02.H29", "Phòng B1")
    with pytest.raises(ValidationFailed) as caught:
        merge(session, clock, ["000.00.02.H29"], into="000.00.01.H29", on=MERGER_DAY, by=SYSTEM_PRINCIPAL)
    assert ("closing_codes", "merge.open_children") in rules(caught)
    assert "000.01.02.H29" in caught.value.errors[0].message_en
    with pytest.raises(ValidationFailed) as caught:
        merge(session, clock, ["000.00.01.H29"], into="000.00.01.H29", on=MERGER_DAY, by=SYSTEM_PRINCIPAL)
    assert ("into", "merge.self") in rules(caught)
    dept_b = find_agency_by_code(session, "000.00.02.H29")
    assert dept_b is not None and dept_b.closed_on is None  # nothing changed


def test_merge_is_audited(session: Session, clock: FixedClock, merger: dict[str, Agency]) -> None:
    events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "registry:agency:merged")).all()
    assert len(events) == 1
    assert "000.00.02.H29" in events[0].details and events[0].actor_kind == "system"


def test_a_grant_covers_the_subtree_and_what_merged_into_it(
    session: Session, clock: FixedClock, registry_tree: RegistryTree, merger: dict[str, Agency]
) -> None:
    dept_a, dept_b = registry_tree.dept_a, registry_tree.dept_b
    covered = subtree_ids(session, [dept_a.id])
    assert covered == {dept_a.id, merger["unit_a"].id, dept_b.id, merger["unit_b"].id}
    assert subtree_ids(session, [merger["unit_a"].id]) == {merger["unit_a"].id}
    officer = make_principal(dept_a, RegistryPermission.CITIZEN_READ)
    assert allowed_agency_ids(session, officer, RegistryPermission.CITIZEN_READ) == covered
    assert allowed_agency_ids(session, officer, RegistryPermission.CITIZEN_EXPORT) == set()
    assert allowed_agency_ids(session, SYSTEM_PRINCIPAL, RegistryPermission.CITIZEN_READ) is None
