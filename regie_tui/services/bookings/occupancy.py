"""Occupancy of an activity over a month: places held against capacity, per day × unit × group.

Places are held by the states of :data:`~.cells.HOLDING` (reserved, requested and
the attendance states), as the booking rules count them; the waiting list is counted
apart. A day's capacity for a group × unit is its Capacity row of that day, else the
default row (day empty); no row: unlimited (``capacity`` None). Open and closed days come
from the booking rules' opening calendar; a closed day carries its French reason and no
numbers.

Queries: a fixed handful whatever the size of the activity (activity, units, groups,
capacities, the calendar, and one grouped count of the month's bookings).
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import ColumnElement, case, func
from sqlmodel import Session, col, select

from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Activity, AgeGroup, Booking, BookingState, Capacity, Enrollment, Unit
from regie_tui.services.bookings.cells import HOLDING
from regie_tui.services.bookings.opening import opening_calendar
from regie_tui.services.common.sql import id_col, select_columns

MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


@dataclass(frozen=True)
class OccupancyActivity:
    id: int
    name: str


@dataclass(frozen=True)
class OccupancyUnit:
    id: int
    name: str
    start: time
    end: time
    position: int


@dataclass(frozen=True)
class OccupancyGroup:
    id: int
    name: str
    position: int


@dataclass(frozen=True)
class GroupCount:
    """One day × unit × age group."""

    group_id: int
    capacity: int | None  # None: unlimited (no Capacity row)
    booked: int  # places held
    waiting: int  # on the waiting list

    @property
    def left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.booked)

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.booked >= self.capacity


@dataclass(frozen=True)
class UnitCount:
    """One day × unit: its groups in their order, and their totals."""

    unit_id: int
    groups: tuple[GroupCount, ...]

    @property
    def booked(self) -> int:
        return sum(g.booked for g in self.groups)

    @property
    def waiting(self) -> int:
        return sum(g.waiting for g in self.groups)

    @property
    def capacity(self) -> int | None:
        """Places of all groups; None when one of them is unlimited (or there is no group)."""
        if not self.groups or any(g.capacity is None for g in self.groups):
            return None
        return sum(g.capacity or 0 for g in self.groups)

    @property
    def left(self) -> int | None:
        capacity = self.capacity
        return None if capacity is None else sum(g.left or 0 for g in self.groups)

    @property
    def full(self) -> bool:
        """No place left in any group."""
        return bool(self.groups) and all(g.full for g in self.groups)

    @property
    def some_full(self) -> bool:
        """At least one group is full: a child of it would go to the waiting list."""
        return any(g.full for g in self.groups)


@dataclass(frozen=True)
class OccupancyDay:
    day: date
    closed: str  # '' when the activity opens that day, else the French reason
    units: tuple[UnitCount, ...]  # empty on a closed day

    @property
    def booked(self) -> int:
        return sum(u.booked for u in self.units)

    @property
    def waiting(self) -> int:
        return sum(u.waiting for u in self.units)

    @property
    def capacity(self) -> int | None:
        if not self.units or any(u.capacity is None for u in self.units):
            return None
        return sum(u.capacity or 0 for u in self.units)

    @property
    def some_full(self) -> bool:
        """At least one unit × group of the day is full."""
        return any(u.some_full for u in self.units)


@dataclass(frozen=True)
class OccupancyMonth:
    activity: OccupancyActivity
    month: date  # the first day of the month
    units: tuple[OccupancyUnit, ...]  # by position
    groups: tuple[OccupancyGroup, ...]  # by position
    days: tuple[OccupancyDay, ...]  # every day of the month, closed ones included

    @property
    def open_days(self) -> tuple[OccupancyDay, ...]:
        return tuple(d for d in self.days if not d.closed)

    @property
    def full_days(self) -> tuple[OccupancyDay, ...]:
        return tuple(d for d in self.days if d.some_full)

    def unit(self, unit_id: int) -> OccupancyUnit:
        return next(u for u in self.units if u.id == unit_id)

    def group(self, group_id: int) -> OccupancyGroup:
        return next(g for g in self.groups if g.id == group_id)


def month_label(month: date) -> str:
    """'décembre 2026'."""
    return f"{MONTHS[month.month - 1]} {month.year}"


def parse_month(text: str) -> date:
    """'2026-12' (or '12/2026') -> date(2026, 12, 1); a French message otherwise."""
    cleaned = text.strip()
    year_text, month_text = "", ""
    if "-" in cleaned:
        year_text, _, month_text = cleaned.partition("-")
    elif "/" in cleaned:
        month_text, _, year_text = cleaned.partition("/")
    if year_text.isdigit() and month_text.isdigit() and len(year_text) == 4 and 1 <= int(month_text) <= 12:
        return date(int(year_text), int(month_text), 1)
    raise RegieError(f"Mois invalide : « {text} » (attendu AAAA-MM, par exemple 2026-12).")


def shift_month(month: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``month``'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def occupancy_month(db: Session, *, activity_id: int, month: date) -> OccupancyMonth:
    """The occupancy of ``activity_id`` for each day of ``month`` (any day of it)."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    activity = db.exec(select(id_col(Activity.id), col(Activity.name)).where(Activity.id == activity_id)).first()
    if activity is None:
        raise NotFound(f"Activité inconnue (n° {activity_id}).")
    units = tuple(
        OccupancyUnit(unit_id, name, start, end, position)
        for unit_id, name, start, end, position in db.exec(
            select_columns(
                id_col(Unit.id), col(Unit.name), col(Unit.start_time), col(Unit.end_time), col(Unit.position)
            )
            .where(Unit.activity_id == activity_id)
            .order_by(col(Unit.position), col(Unit.start_time), col(Unit.id))
        )
    )
    groups = tuple(
        OccupancyGroup(group_id, name, position)
        for group_id, name, position in db.exec(
            select(id_col(AgeGroup.id), col(AgeGroup.name), col(AgeGroup.position))
            .where(AgeGroup.activity_id == activity_id)
            .order_by(col(AgeGroup.position), col(AgeGroup.min_age), col(AgeGroup.id))
        )
    )
    unit_ids = [u.id for u in units]
    defaults: dict[tuple[int, int], int] = {}
    overrides: dict[tuple[int, int, date], int] = {}
    counts: dict[tuple[int, date, int], list[int]] = {}
    if unit_ids:
        defaults, overrides = _capacities(db, unit_ids, first, last)
        if groups:
            counts = _counts(db, activity_id, unit_ids, groups, first, last)

    opening = opening_calendar(db, activity_ids=[activity_id], first=first, last=last)
    days: list[OccupancyDay] = []
    day = first
    while day <= last:
        closed = opening.closed_reason(day, activity_id)
        day_units: tuple[UnitCount, ...] = ()
        if not closed:
            day_units = tuple(
                UnitCount(
                    unit.id,
                    tuple(
                        GroupCount(
                            group.id,
                            overrides.get((group.id, unit.id, day), defaults.get((group.id, unit.id))),
                            *counts.get((unit.id, day, group.id), (0, 0)),
                        )
                        for group in groups
                    ),
                )
                for unit in units
            )
        days.append(OccupancyDay(day, closed, day_units))
        day += timedelta(days=1)
    return OccupancyMonth(OccupancyActivity(*activity), first, units, groups, tuple(days))


def _capacities(
    db: Session, unit_ids: list[int], first: date, last: date
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int, date], int]]:
    """The places of each (group, unit): its default row, and the rows of days of the month."""
    defaults: dict[tuple[int, int], int] = {}
    overrides: dict[tuple[int, int, date], int] = {}
    for group_id, unit_id, day, places in db.exec(
        select(col(Capacity.age_group_id), col(Capacity.unit_id), col(Capacity.day), col(Capacity.places)).where(
            col(Capacity.unit_id).in_(unit_ids),
            col(Capacity.day).is_(None) | ((col(Capacity.day) >= first) & (col(Capacity.day) <= last)),
        )
    ):
        if day is None:
            defaults[(group_id, unit_id)] = places
        else:
            overrides[(group_id, unit_id, day)] = places
    return defaults, overrides


def _counts(
    db: Session,
    activity_id: int,
    unit_ids: list[int],
    groups: tuple[OccupancyGroup, ...],
    first: date,
    last: date,
) -> dict[tuple[int, date, int], list[int]]:
    """(unit, day, group) → [places held, children waiting] over the month, in one grouped count.

    Read from ix_booking_unit_day. The group of a booking is its enrollment's: ``enrollment_id
    IN (that group's enrollments)`` lets SQLite look it up in a set built once per group,
    instead of one enrollment row per booking as a join does (a quarter faster on the
    20,000-family town).
    """

    def enrolled_in(group_id: int) -> ColumnElement[bool]:
        return col(Booking.enrollment_id).in_(
            select(id_col(Enrollment.id)).where(
                Enrollment.activity_id == activity_id, Enrollment.age_group_id == group_id
            )
        )

    group_of = case(*((enrolled_in(g.id), g.id) for g in groups), else_=None)
    counted = (*HOLDING, BookingState.WAITING_LIST)
    rows = db.exec(
        select_columns(col(Booking.unit_id), col(Booking.day), group_of, col(Booking.state), func.count())
        .where(
            col(Booking.unit_id).in_(unit_ids),
            Booking.day >= first,
            Booking.day <= last,
            col(Booking.state).in_(counted),
        )
        .group_by(col(Booking.unit_id), col(Booking.day), group_of, col(Booking.state))
    )
    counts: dict[tuple[int, date, int], list[int]] = defaultdict(lambda: [0, 0])
    for unit_id, day, group_id, state, n in rows:
        if group_id is not None:
            counts[(unit_id, day, group_id)][0 if state in HOLDING else 1] += n
    return counts


def activity_choices(db: Session) -> list[OccupancyActivity]:
    """Every activity by start date, then name (the school year's, then each holiday in turn)."""
    rows = db.exec(
        select(id_col(Activity.id), col(Activity.name)).order_by(col(Activity.start_date), col(Activity.name))
    )
    return [OccupancyActivity(activity_id, name) for activity_id, name in rows]


__all__ = [
    "GroupCount",
    "OccupancyActivity",
    "OccupancyDay",
    "OccupancyGroup",
    "OccupancyMonth",
    "OccupancyUnit",
    "UnitCount",
    "activity_choices",
    "month_label",
    "occupancy_month",
    "parse_month",
    "shift_month",
]
