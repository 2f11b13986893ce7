"""Enrolments of children in activities, and their bookings day by day."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from regie_tui.codes import BookingState
from regie_tui.models.base import Source, created_at_field, enum_type, partial_index, version_field


class EnrollmentStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    WAITING = "waiting"
    REFUSED = "refused"


class Enrollment(SQLModel, table=True):
    """A child admitted (or asking to be) to an activity, in an age group."""

    __table_args__ = (
        UniqueConstraint("child_id", "activity_id"),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="date_range"),
        partial_index("ix_enrollment_requested", "status", where="status = 'requested'"),
    )

    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(foreign_key="child.id", index=True, ondelete="CASCADE")
    activity_id: int = Field(foreign_key="activity.id", index=True)
    age_group_id: int = Field(foreign_key="age_group.id")
    start_date: date | None = Field(default=None, description="empty: from the activity's start")
    end_date: date | None = Field(default=None, description="empty: to the activity's end")
    status: EnrollmentStatus = Field(sa_type=enum_type(EnrollmentStatus, "enrollment_status"))
    source: Source = Field(sa_type=enum_type(Source, "enrollment_source"))
    requested_at: datetime = created_at_field()
    decided_by_id: int | None = Field(default=None, foreign_key="agent.id")
    decided_at: datetime | None = None
    reason: str = Field(default="", max_length=500)
    version: int = version_field()


class Booking(SQLModel, table=True):
    """One child × one day × one unit. Millions of rows: keep it narrow."""

    __table_args__ = (
        UniqueConstraint("child_id", "day", "unit_id"),
        # Covering for the rosters, occupancy and capacity counts: a unit's days read from the index alone.
        Index("ix_booking_unit_day", "unit_id", "day", "state", "enrollment_id"),
        partial_index("ix_booking_requested", "state", where="state = 'requested'"),
    )

    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(foreign_key="child.id", ondelete="CASCADE")
    day: date
    unit_id: int = Field(foreign_key="unit.id")
    enrollment_id: int = Field(foreign_key="enrollment.id", index=True, ondelete="CASCADE")
    state: BookingState = Field(sa_type=enum_type(BookingState, "booking_state"))
    source: Source = Field(sa_type=enum_type(Source, "booking_source"))
    changed_by_id: int | None = Field(default=None, foreign_key="agent.id")
    changed_at: datetime
    version: int = version_field()


class PlaceCount(SQLModel, table=True):
    """Places held per unit × day × age group (bookings in a holding state), for the capacity rules.

    Derived data, kept exact by the database's triggers on booking and enrollment
    (migration 0005): never written by the application. Rows fall to 0, they are not deleted.
    """

    __tablename__ = "place_count"
    __table_args__ = (CheckConstraint("held >= 0", name="held"),)

    unit_id: int = Field(foreign_key="unit.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True)
    age_group_id: int = Field(foreign_key="age_group.id", primary_key=True, ondelete="CASCADE")
    held: int = Field(default=0)
