"""What can be booked: facilities, activities, periods, units, age groups, capacity, calendar."""

from datetime import date, time
from enum import StrEnum

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from regie_tui.codes import DayOffKind
from regie_tui.models.base import enum_type, partial_index


class FacilityKind(StrEnum):
    SCHOOL = "school"
    LEISURE_CENTRE = "leisure_centre"
    NURSERY = "nursery"


class Facility(SQLModel, table=True):
    """A structure: école Jules Ferry, ALSH Bioule, multi-accueil…"""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    kind: FacilityKind = Field(sa_type=enum_type(FacilityKind, "facility_kind"))
    address: str = Field(default="", max_length=200)


class ActivityKind(StrEnum):
    AFTER_SCHOOL = "after_school"  # périscolaire
    CANTEEN = "canteen"  # restauration scolaire
    WEDNESDAY = "wednesday"  # mercredis
    HOLIDAYS = "holidays"  # accueil de loisirs, vacances
    NURSERY = "nursery"  # multi-accueil


class Activity(SQLModel, table=True):
    """An activity families enrol in, billed by one régie.

    The notice deadline (délai de prévenance): a booking or cancellation for day D
    must reach the régie before ``notice_time`` on the day ``notice_days`` days before
    D, counting only Monday to Friday when ``notice_business_days`` is set.
    """

    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="date_range"),
        CheckConstraint("notice_days >= 0", name="notice_days_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    regie_id: int = Field(foreign_key="regie.id", index=True)
    facility_id: int = Field(foreign_key="facility.id", index=True)
    name: str = Field(max_length=120, unique=True)
    kind: ActivityKind = Field(sa_type=enum_type(ActivityKind, "activity_kind"))
    start_date: date
    end_date: date
    notice_days: int = Field(default=1)
    notice_time: time = Field(default=time(15, 0))
    notice_business_days: bool = Field(default=False)
    portal_booking: bool = Field(default=True, description="families may book on the portal")


class ActivityPeriod(SQLModel, table=True):
    """A date range of an activity and the week days it opens (ISO 1=Monday … 7)."""

    __tablename__ = "activity_period"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="date_range"),
        CheckConstraint("length(weekdays) between 1 and 7", name="weekdays_length"),
        UniqueConstraint("activity_id", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=80)
    start_date: date
    end_date: date
    weekdays: str = Field(max_length=7, description="ISO week days as digits, e.g. '1245'")


class Unit(SQLModel, table=True):
    """A bookable slot of an activity: Matin 07:30-11:45, Repas, Journée…"""

    __table_args__ = (
        CheckConstraint("end_time > start_time", name="time_range"),
        UniqueConstraint("activity_id", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    start_time: time
    end_time: time
    position: int = Field(default=0)
    package: str | None = Field(
        default=None, max_length=80, description="booking it triggers this package (forfait), e.g. Forfait semaine"
    )


class UnitRuleKind(StrEnum):
    REQUIRES_ONE_OF = "requires_one_of"  # unit needs at least one of its listed partners
    EXCLUDES = "excludes"  # unit cannot be booked the same day as the partner


class UnitRule(SQLModel, table=True):
    """Allowed combinations of units on one day (e.g. Repas needs Matin or Après-midi)."""

    __tablename__ = "unit_rule"
    __table_args__ = (
        UniqueConstraint("unit_id", "other_unit_id", "kind"),
        CheckConstraint("unit_id <> other_unit_id", name="distinct_units"),
    )

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True, ondelete="CASCADE")
    other_unit_id: int = Field(foreign_key="unit.id", ondelete="CASCADE")
    kind: UnitRuleKind = Field(sa_type=enum_type(UnitRuleKind, "unit_rule_kind"))


class AgeGroup(SQLModel, table=True):
    """An age group of an activity (MATER 3-4 ans…); ages in whole years, inclusive."""

    __tablename__ = "age_group"
    __table_args__ = (
        CheckConstraint("min_age >= 0 AND max_age >= min_age", name="age_range"),
        UniqueConstraint("activity_id", "name"),
    )

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=60)
    min_age: int
    max_age: int
    position: int = Field(default=0)


class Capacity(SQLModel, table=True):
    """Places for a group × unit: the usual figure (day empty) or one day's override."""

    __table_args__ = (
        CheckConstraint("places >= 0", name="places_positive"),
        partial_index("uq_capacity_default", "age_group_id", "unit_id", where="day IS NULL", unique=True),
        partial_index("uq_capacity_day", "age_group_id", "unit_id", "day", where="day IS NOT NULL", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    age_group_id: int = Field(foreign_key="age_group.id", ondelete="CASCADE")
    unit_id: int = Field(foreign_key="unit.id", ondelete="CASCADE")
    day: date | None = None
    places: int
    reason: str | None = Field(default=None, max_length=120, description="why a day differs (sortie…)")


class DayOff(SQLModel, table=True):
    """The town's calendar: public holidays and school-holiday days, by name."""

    __tablename__ = "day_off"

    day: date = Field(primary_key=True)
    kind: DayOffKind = Field(sa_type=enum_type(DayOffKind, "day_off_kind"))
    name: str = Field(max_length=80)


class Closure(SQLModel, table=True):
    """A day an activity is closed although its period says open (pont, travaux…)."""

    __table_args__ = (UniqueConstraint("activity_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    activity_id: int = Field(foreign_key="activity.id", ondelete="CASCADE")
    day: date
    reason: str = Field(max_length=120)
