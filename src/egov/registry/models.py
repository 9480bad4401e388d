"""Registry tables: agencies, citizens and their name-word index, enterprises, officers and positions."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, PrimaryKeyConstraint, String, text
from sqlalchemy.orm import Mapped, mapped_column

from egov.platform.db import Base, UtcDateTime

# Keys and ids compare byte-wise ("C" collation on PostgreSQL, SQLite's default BINARY), whatever
# the database's default collation: a prefix range `key >= 'an' AND key < 'ao'` is then exactly
# "starts with an" and is served by a plain btree, the same SQL on both databases; and sorting search
# hits by (name_key, id) compares bytes, not locale rules (strcoll made ties on common names cost
# tens of milliseconds). All registry ids share the collation, so joins between them never mix two.
Id = String(36).with_variant(String(36, collation="C"), "postgresql")
KEY_LENGTH = 100
SearchKey = String(KEY_LENGTH).with_variant(String(KEY_LENGTH, collation="C"), "postgresql")


class Agency(Base):
    """A unit of the agency-code catalogue (Decision 20/2020/QĐ-TTg); closed units stay for history."""

    __tablename__ = "agencies"
    __scope__: ClassVar[str] = "id"  # platform.permissions.restrict: an agency is its own scope
    __table_args__ = (
        CheckConstraint("closed_on IS NULL OR closed_on >= opened_on", name="closed_after_opened"),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(35), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    parent_id: Mapped[str | None] = mapped_column(Id, ForeignKey("agencies.id"), index=True)
    opened_on: Mapped[date] = mapped_column(Date)
    # Open interval: the unit exists on opened_on <= d < closed_on.
    closed_on: Mapped[date | None] = mapped_column(Date)
    successor_id: Mapped[str | None] = mapped_column(Id, ForeignKey("agencies.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def is_open_on(self, day: date) -> bool:
        return self.opened_on <= day and (self.closed_on is None or day < self.closed_on)

    def name(self, locale: str = "vi") -> str:
        return self.name_en if locale.startswith("en") and self.name_en else self.name_vi


class Citizen(Base):
    """A person in the population register, kept by one managing agency (which scopes who may see it)."""

    __tablename__ = "citizens"
    __scope__: ClassVar[str] = "managing_agency_id"  # who may see it: officers of the managing agency (and above)
    __table_args__ = (
        CheckConstraint("sex IN ('male', 'female')", name="sex"),
        # All citizens in name order, the agency alongside: the index-only walk of name search.
        Index("ix_citizens_name_key_id_managing_agency_id", "name_key", "id", "managing_agency_id"),
        # One agency's citizens in name order: the scoped walk of name search, and agency listings.
        Index("ix_citizens_managing_agency_id_name_key_id", "managing_agency_id", "name_key", "id"),
        # Most citizens have no guardian; a partial index keeps the bulk load from writing 1M NULLs.
        Index(
            "ix_citizens_guardian_id",
            "guardian_id",
            postgresql_where=text("guardian_id IS NOT NULL"),
            sqlite_where=text("guardian_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(KEY_LENGTH))
    name_key: Mapped[str] = mapped_column(SearchKey)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))
    phone: Mapped[str | None] = mapped_column(String(10))
    email: Mapped[str | None] = mapped_column(String(254))
    guardian_id: Mapped[str | None] = mapped_column(Id, ForeignKey("citizens.id"))
    managing_agency_id: Mapped[str] = mapped_column(Id, ForeignKey("agencies.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CitizenNameWord(Base):
    """One keyed word of a citizen's name, with what a search needs to decide without the citizens table.

    The primary key (word_key, name_key, citizen_id, managing_agency_id) answers "some word starts
    with x" as a range on word_key; name_key lets the other typed words be checked inside the index,
    managing_agency_id lets an officer's agency scope be checked there too, and the hits come out
    ready to sort by name: an index-only scan whose cost is bounded by the word's frequency, never by
    visits to the table. Both extra columns are copies of the citizen's: whatever changes a
    citizen's name or managing agency rewrites its rows (update_citizen does, in the same
    transaction). The key is unique exactly when (word_key, citizen_id) is.

    No foreign key to citizens on purpose: rows are derived data, written only together with their
    citizen, and an FK would cost a trigger check per word (about 3.5 per citizen) on every bulk load.
    Rows are always addressed by the full primary key (the old values are known when they change), so
    no index on citizen_id alone is needed.
    """

    __tablename__ = "citizen_name_words"
    __scope__: ClassVar[str] = "managing_agency_id"  # a copy of the citizen's, so a scoped search stays in the index
    __table_args__ = (PrimaryKeyConstraint("word_key", "name_key", "citizen_id", "managing_agency_id"),)

    word_key: Mapped[str] = mapped_column(SearchKey)
    name_key: Mapped[str] = mapped_column(SearchKey)
    citizen_id: Mapped[str] = mapped_column(Id)
    managing_agency_id: Mapped[str] = mapped_column(Id)


class Enterprise(Base):
    """An enterprise or organisation identified by its tax code; a branch (-NNN) points to its parent."""

    __tablename__ = "enterprises"
    __scope__: ClassVar[str] = "managing_agency_id"  # who may see it: officers of the managing agency (and above)
    __table_args__ = (CheckConstraint("status IN ('active', 'suspended', 'dissolved')", name="status"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    tax_code: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    name_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(12))
    parent_id: Mapped[str | None] = mapped_column(Id, ForeignKey("enterprises.id"), index=True)
    legal_representative_id: Mapped[str] = mapped_column(Id, ForeignKey("citizens.id"), index=True)
    managing_agency_id: Mapped[str] = mapped_column(Id, ForeignKey("agencies.id"), index=True)
    registered_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Officer(Base):
    """A citizen working for the state; accounts and roles live in the auth context."""

    __tablename__ = "officers"

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    citizen_id: Mapped[str] = mapped_column(Id, ForeignKey("citizens.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OfficerPosition(Base):
    """A title held in one agency for a period; an officer may hold several at once."""

    __tablename__ = "officer_positions"
    __scope__: ClassVar[str] = "agency_id"  # an officer is visible where one of their positions is
    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_starts"),)

    id: Mapped[str] = mapped_column(Id, primary_key=True)
    officer_id: Mapped[str] = mapped_column(Id, ForeignKey("officers.id"), index=True)
    agency_id: Mapped[str] = mapped_column(Id, ForeignKey("agencies.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    # Open interval like agencies: the position is held on starts_on <= d < ends_on.
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    def is_held_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day < self.ends_on)
